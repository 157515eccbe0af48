/**
 * Authoritative zones behind one {@linkcode Resolver}: a {@linkcode Zone} answers for the names under its
 * origin; {@linkcode ZoneResolver} picks the zone with the longest matching origin. A chain-backed `.ghost` /
 * `.zns` zone implements {@linkcode Zone} the same way {@linkcode MemoryZone} does.
 *
 * @module
 */

import type { DnsQuestion } from "../proto/message.ts";
import { isInZone, normalizeName } from "../proto/name.ts";
import type { Resolver, ResolveRequest, ResolveResult } from "./resolver.ts";

/** A zone we are authoritative for. */
export interface Zone {
  /** Normalized origin, e.g. `"example.test"`, `"ghost"`. */
  readonly origin: string;
  /** Answers a question for a name at or below the origin. May be async (chain lookups). */
  lookup(
    question: DnsQuestion,
    signal?: AbortSignal,
    opts?: { readonly dnssecOk?: boolean },
  ): ResolveResult | Promise<ResolveResult>;
  /**
   * A number that changes whenever any answer of the zone may change. A zone without it is never answered from
   * the query handler's answer cache.
   */
  version?(): number;
}

/** Resolves from a set of zones; owns every name under any of their origins. */
export class ZoneResolver implements Resolver {
  /** Always `"zones"`. */
  readonly name = "zones";
  readonly #zones: Zone[];

  /** Builds from zones; the most specific origin wins. */
  constructor(zones: readonly Zone[]) {
    this.#zones = [...zones].sort((a, b) => b.origin.length - a.origin.length);
  }

  /** The zones, most specific first. */
  get zones(): readonly Zone[] {
    return this.#zones;
  }

  /** True when some zone's origin covers `qname`. */
  owns(qname: string): boolean {
    return this.#find(qname) !== undefined;
  }

  /** Asks the owning zone; throws RangeError when none owns the name (callers check `owns()` first). */
  async resolve(request: ResolveRequest): Promise<ResolveResult> {
    const zone = this.#find(normalizeName(request.question.name));
    if (!zone) throw new RangeError(`Cannot resolve ${request.question.name}: no zone owns it`);
    return await zone.lookup(request.question, request.signal, { dnssecOk: request.dnssecOk === true });
  }

  /** Where the owning zone's version is read (see {@linkcode Zone.version}); undefined when not cacheable. */
  versionSource(qname: string): (() => number) | undefined {
    const zone = this.#find(qname);
    const version = zone?.version;
    return zone === undefined || version === undefined ? undefined : () => version.call(zone);
  }

  #find(qname: string): Zone | undefined {
    return this.#zones.find((z) => isInZone(qname, z.origin));
  }
}
