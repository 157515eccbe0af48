/**
 * The resolution strategy interface. A {@linkcode Resolver} answers one question; cns composes several: local
 * authoritative zones (memory_zone.ts), later a chain-backed `.ghost`/`.zns` zone and an ENS resolver for
 * `.eth`, and the caching forwarder (forwarder.ts) for everything else.
 *
 * @module
 */

import type { DnsQuestion, DnsRecord } from "../proto/message.ts";

/** The transports a query can arrive on. */
export type DnsTransport = "udp" | "tcp" | "doq" | "doh";

/** Who asked, as the listener saw it. */
export interface ClientInfo {
  /** The client's IP address (no port). */
  readonly address: string;
  /** The transport the query came on. */
  readonly transport: DnsTransport;
}

/** One question to resolve. */
export interface ResolveRequest {
  /** The question as asked (original case). */
  readonly question: DnsQuestion;
  /** The query's RD bit. */
  readonly recursionDesired: boolean;
  /** Who asked. */
  readonly client: ClientInfo;
  /** Aborted when the client is gone or the server drains. */
  readonly signal?: AbortSignal;
  /** The query's EDNS DO bit (RFC 3225): the client wants DNSSEC records. */
  readonly dnssecOk?: boolean;
}

/** Where an answer came from, for metrics and logs. */
export type AnswerSource = "zone" | "cache" | "upstream" | "stale" | "policy";

/** An answer: RCODE plus the three record sections (the OPT record is the server's business, not a resolver's). */
export interface ResolveResult {
  /** RCODE (0..15). */
  readonly rcode: number;
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
  /** Sets AA: true for answers from a zone we are authoritative for. */
  readonly authoritative: boolean;
  readonly source: AnswerSource;
}

/**
 * A name resolution strategy. Authoritative resolvers say which names they own with `owns()`; the server asks
 * the first owner and never forwards those names. A recursive resolver (the forwarder) owns nothing and is asked
 * only for allowed clients.
 */
export interface Resolver {
  /** Short name for logs and metrics, e.g. `"zones"`, `"forwarder"`, `"ghost-chain"`, `"ens"`. */
  readonly name: string;
  /** True when this resolver is authoritative for `qname` (normalized: lower case, no trailing dot). */
  owns(qname: string): boolean;
  /** Answers a question. Failures that the client should see as SERVFAIL may be thrown. */
  resolve(request: ResolveRequest): Promise<ResolveResult>;
  /**
   * For an authoritative resolver whose answers depend only on the question and its data: where to read a
   * number that changes whenever an answer for `qname` may change; undefined (or absent) when its answers must
   * not be cached whole.
   */
  versionSource?(qname: string): (() => number) | undefined;
}

/** An empty answer with an RCODE, from policy (REFUSED, NOTIMP...). */
export function policyResult(rcode: number): ResolveResult {
  return { rcode, answers: [], authorities: [], additionals: [], authoritative: false, source: "policy" };
}
