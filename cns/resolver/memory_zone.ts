/**
 * An in-memory authoritative zone: static records from configuration and tests. Answers exact matches, ANY,
 * in-zone CNAME chains, NODATA and NXDOMAIN with the SOA for negative caching (RFC 2308 §3), and `*.` wildcards
 * (RFC 4592, simplified: a wildcard matches names with no records of their own).
 *
 * @module
 */

import type { DnsQuestion, DnsRecord } from "../proto/message.ts";
import { RCODE } from "../proto/message.ts";
import { isInZone, normalizeName, parseDomainName } from "../proto/name.ts";
import { parseRecordText } from "../proto/record_text.ts";
import type { ResolveResult } from "./resolver.ts";
import type { Zone } from "./zone.ts";

/** How many CNAMEs a chain may have inside one zone before we stop (loops end here too). */
export const MAX_CNAME_CHAIN = 8;

/** Options of {@linkcode MemoryZone}. */
export interface MemoryZoneOptions {
  /** The zone's origin, e.g. `example.test`. */
  readonly origin: string;
  /** Records, as values or zone-file lines. Each must lie in the zone. Without a SOA one is made up. */
  readonly records?: readonly (DnsRecord | string)[];
  /** TTL of the made-up SOA and its negative-caching minimum. Default 300. */
  readonly soaTtl?: number;
}

/** A zone held in memory. */
export class MemoryZone implements Zone {
  /** Normalized origin. */
  readonly origin: string;
  readonly #byName = new Map<string, DnsRecord[]>();
  /** Every ancestor of an owner name down from the origin: they exist even without records (RFC 4592 §2.2.2). */
  readonly #ancestors = new Set<string>();
  readonly #soa: DnsRecord;
  #version = 0;

  /**
   * Builds the zone.
   *
   * @throws {RangeError} for a record outside the zone, a bad record line, or a CNAME beside other data
   */
  constructor(options: MemoryZoneOptions) {
    this.origin = parseDomainName(options.origin);
    for (const r of options.records ?? []) this.add(typeof r === "string" ? parseRecordText(r) : r);
    const soa = this.#byName.get(this.origin)?.find((r) => r.type === "SOA");
    const ttl = options.soaTtl ?? 300;
    const apex = this.origin === "" ? "." : this.origin;
    this.#soa = soa ?? {
      name: apex,
      type: "SOA",
      class: "IN",
      ttl,
      data: {
        mname: `ns.${apex}`.replace(/\.\.$/, "."),
        rname: `hostmaster.${apex}`.replace(/\.\.$/, "."),
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: ttl,
      },
    };
    if (!soa) this.add(this.#soa);
  }

  /** Changes on every {@linkcode MemoryZone.add}: cached answers from this zone are valid while it stays. */
  version(): number {
    return this.#version;
  }

  /** Adds one record. */
  add(record: DnsRecord): void {
    this.#version++;
    const name = normalizeName(record.name);
    if (!isInZone(name, this.origin)) {
      throw new RangeError(
        `Cannot add ${record.name} ${record.type} to zone "${this.origin}": outside the zone`,
      );
    }
    const list = this.#byName.get(name) ?? [];
    // RFC 1034 §3.6.2: a CNAME owner has no other data.
    if ((record.type === "CNAME" && list.length > 0) || list.some((r) => r.type === "CNAME")) {
      throw new RangeError(`Cannot add ${record.name} ${record.type}: a CNAME owner holds no other records`);
    }
    list.push(record);
    this.#byName.set(name, list);
    let n = name;
    while (n !== this.origin && n !== "") {
      n = n.includes(".") ? n.slice(n.indexOf(".") + 1) : "";
      this.#ancestors.add(n);
    }
  }

  /** Answers a question (the name must be in this zone). */
  lookup(question: DnsQuestion): ResolveResult {
    const qtype = question.type.toUpperCase();
    const answers: DnsRecord[] = [];
    let name = normalizeName(question.name);
    for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      const { records, exists } = this.#recordsAt(name, question.name);
      if (!exists) {
        // A chain that leaves the data we hold ends with what it has; a miss on the first name is NXDOMAIN.
        return answers.length > 0 ? this.#result(RCODE.NOERROR, answers, []) : this.#negative(RCODE.NXDOMAIN);
      }
      const cname = records.find((r) => r.type === "CNAME");
      if (cname && qtype !== "CNAME" && qtype !== "ANY") {
        answers.push(cname);
        const target = normalizeName(typeof cname.data === "string" ? cname.data : "");
        if (!isInZone(target, this.origin)) return this.#result(RCODE.NOERROR, answers, []);
        name = target;
        continue;
      }
      const matching = qtype === "ANY" ? records : records.filter((r) => r.type === qtype);
      if (matching.length === 0) {
        return answers.length > 0 ? this.#result(RCODE.NOERROR, answers, []) : this.#negative(RCODE.NOERROR);
      }
      answers.push(...matching);
      return this.#result(RCODE.NOERROR, answers, []);
    }
    return this.#result(RCODE.NOERROR, answers, []);
  }

  /** Records at a name (with the wildcard fallback), and whether the name exists at all. */
  #recordsAt(name: string, asked: string): { records: DnsRecord[]; exists: boolean } {
    const own = this.#byName.get(name);
    if (own) return { records: own, exists: true };
    // RFC 4592 §2.2.2: an empty non-terminal exists (NODATA, not NXDOMAIN).
    if (this.#ancestors.has(name)) return { records: [], exists: true };
    // Wildcard: the closest encloser's `*` child, owner rewritten to the name asked.
    let parent = name;
    while (parent !== this.origin && parent.includes(".")) {
      parent = parent.slice(parent.indexOf(".") + 1);
      const wild = this.#byName.get(parent === "" ? "*" : `*.${parent}`);
      if (wild) return { records: wild.map((r) => ({ ...r, name: asked })), exists: true };
      if (this.#byName.has(parent)) break;
    }
    return { records: [], exists: false };
  }

  #result(rcode: number, answers: DnsRecord[], authorities: DnsRecord[]): ResolveResult {
    return { rcode, answers, authorities, additionals: [], authoritative: true, source: "zone" };
  }

  /** RFC 2308 §3: negative answers carry the SOA, its TTL the lesser of its TTL and MINIMUM. */
  #negative(rcode: number): ResolveResult {
    const data = this.#soa.data as { minimum?: number } | undefined;
    const ttl = Math.min(this.#soa.ttl ?? 0, data?.minimum ?? 0);
    return this.#result(rcode, [], [{ ...this.#soa, ttl }]);
  }
}
