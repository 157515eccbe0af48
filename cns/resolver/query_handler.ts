/**
 * The transport-independent core of the server: query bytes in, response bytes out (or `null`: send nothing).
 * Every listener (UDP, TCP, DoQ, DoH) calls {@linkcode QueryHandler.handle}; it decodes with limits, applies
 * policy (opcode, EDNS version, class, recursion allow-list), asks the resolvers, builds the response with our
 * OPT record, fits it to the transport's size (TC=1 on UDP when it does not fit) and, on UDP, applies response
 * rate limiting. Malformed queries get FORMERR when the header is readable and nothing otherwise.
 *
 * @module
 */

import { endSpan, SpanKind, startSpan, tracingEnabled, withSpan } from "../../core/mod.ts";
import type { CnsMetrics } from "./cns_metrics.ts";
import { type AnswerCache, answerFor, type StoredAnswer, writeAnswer } from "./answer_cache.ts";
import { qtypeLabel, rcodeLabel } from "./cns_metrics.ts";
import { type EdnsInfo, ednsOf, optRecord, paddingLength, udpResponseLimit } from "../proto/edns.ts";
import { DnsFormatError, type HeaderInfo, UpstreamError } from "../errors.ts";
import type { AllowList } from "../proto/ip_prefix.ts";
import {
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  FLAG,
  OPCODE_QUERY,
  opcodeOf,
  RCODE,
} from "../proto/message.ts";
import {
  type DecodedMessage,
  decodeMessage,
  DEFAULT_WIRE_LIMITS,
  encodeMessage,
  type WireLimits,
} from "../proto/message_codec.ts";
import { normalizeName } from "../proto/name.ts";
import type { ResponseRateLimiter } from "./rate_limiter.ts";
import { type ClientInfo, policyResult, type Resolver, type ResolveResult } from "./resolver.ts";

/** RFC 1035 §4.2.2 / RFC 9250 §4.2: a stream transport carries at most 65,535 bytes per message. */
export const MAX_STREAM_MESSAGE = 65_535;

/** Options of {@linkcode QueryHandler}. */
export interface QueryHandlerOptions {
  /** Authoritative resolvers, asked in order; the first that `owns()` a name answers it. */
  readonly authoritative: readonly Resolver[];
  /** The recursive resolver (forwarder) for everything else; only for clients on `recursionAllow`. */
  readonly recursive?: Resolver;
  /** Who may use the recursive resolver. */
  readonly recursionAllow: AllowList;
  /** Largest UDP response we send and the size we advertise in our OPT. Default 1232. */
  readonly ednsUdpMax?: number;
  /** UDP response rate limiting. */
  readonly rateLimiter?: ResponseRateLimiter;
  /** Decoder limits. */
  readonly limits?: WireLimits;
  /** Metrics. */
  readonly metrics?: CnsMetrics;
  /** Clock for rate limiting, ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Told about resolver failures (for logging); must not throw. */
  readonly onError?: (error: unknown, client: ClientInfo) => void;
  /** Whole answers of authoritative data (see `answer_cache.ts`); none when absent. */
  readonly answerCache?: AnswerCache;
}

/** What an answer cache entry needs to know about who answered. */
interface Cacheable {
  readonly versionOf: () => number;
  readonly qname: string;
  readonly version: number;
}

/** The classes dns-packet can encode back; a question in any other class is answered without its question. */
const KNOWN_CLASSES = new Set(["IN", "CS", "CH", "HS", "ANY"]);

/** The server core. */
export class QueryHandler {
  readonly #o: QueryHandlerOptions;
  readonly #udpMax: number;
  readonly #now: () => number;

  readonly #hits: ((by?: number) => void) | undefined;

  /** Creates the core. */
  constructor(options: QueryHandlerOptions) {
    this.#o = options;
    this.#hits = options.metrics?.answerCache.bind({ result: "hit" });
    this.#udpMax = options.ednsUdpMax ?? 1232;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Answers one query. Never throws for any input bytes.
   *
   * @returns the response bytes, or `null` when nothing must be sent (unreadable header, a response sent to us,
   *   or a UDP response dropped by rate limiting)
   */
  async handle(bytes: Uint8Array, client: ClientInfo): Promise<Uint8Array | null> {
    const started = performance.now();
    const cache = this.#o.answerCache;
    const hit = cache?.get(bytes, client.transport, started);
    if (hit !== undefined) {
      const out = this.#fromCache(hit, bytes, client, undefined, 0);
      if (out !== null) this.#seconds(client.transport)((performance.now() - started) / 1000);
      return out;
    }
    return await this.#handleFull(bytes, client, started);
  }

  /**
   * The answer when the answer cache holds it, at once (no promise, no decode); `undefined` when it does not
   * (then call {@linkcode QueryHandler.handle}). Listeners use it to skip their async machinery on hot names.
   */
  answerCached(bytes: Uint8Array, client: ClientInfo): Uint8Array | null | undefined {
    const started = performance.now();
    const hit = this.#o.answerCache?.get(bytes, client.transport, started);
    if (hit === undefined) return undefined;
    const out = this.#fromCache(hit, bytes, client, undefined, 0);
    if (out !== null) this.#seconds(client.transport)((performance.now() - started) / 1000);
    return out;
  }

  /**
   * {@linkcode QueryHandler.answerCached} writing the answer into `dest` at `at` (a send buffer): returns its
   * length, `null` when nothing is to be sent, `undefined` when the cache does not hold it. `now` is the
   * caller's monotonic ms (one clock read per batch); the caller reports the batch's time with
   * {@linkcode QueryHandler.observeCached}.
   */
  answerCachedInto(
    bytes: Uint8Array,
    client: ClientInfo,
    dest: Uint8Array,
    at: number,
    now: number,
  ): number | null | undefined {
    const hit = this.#o.answerCache?.get(bytes, client.transport, now);
    if (hit === undefined) return undefined;
    return this.#fromCache(hit, bytes, client, dest, at);
  }

  /** Records `count` answers from the cache that took `seconds` each (a batch's time). */
  observeCached(transport: ClientInfo["transport"], count: number, seconds: number): void {
    if (count > 0) this.#seconds(transport)(seconds, count);
  }

  readonly #secondsByTransport = new Map<string, (value: number, times?: number) => void>();
  #seconds(transport: string): (value: number, times?: number) => void {
    let f = this.#secondsByTransport.get(transport);
    if (f === undefined) {
      const h = this.#o.metrics?.querySeconds;
      f = h === undefined ? () => {} : h.bind({ transport });
      this.#secondsByTransport.set(transport, f);
    }
    return f;
  }

  async #handleFull(bytes: Uint8Array, client: ClientInfo, started: number): Promise<Uint8Array | null> {
    const m = this.#o.metrics;
    const cache = this.#o.answerCache;
    let query: DecodedMessage;
    try {
      query = decodeMessage(bytes, this.#o.limits ?? DEFAULT_WIRE_LIMITS);
    } catch (error) {
      const header = error instanceof DnsFormatError ? error.header : undefined;
      if (!header || (header.flags & FLAG.QR) !== 0) {
        m?.dropped.inc(1, { transport: client.transport, reason: "malformed" });
        return null;
      }
      m?.queries.inc(1, { transport: client.transport, qtype: "OTHER", rcode: "FORMERR" });
      return formErr(header);
    }
    if (query.type === "response") {
      m?.dropped.inc(1, { transport: client.transport, reason: "response" });
      return null;
    }
    const edns = ednsOf(query);
    const question = query.questions[0];
    // One span per answered query (under OTEL_DENO=true): lookups it makes (the chain through the bridge,
    // upstreams) are its children.
    const span = startSpan("cns", "dns.query", {
      kind: SpanKind.SERVER,
      attributes: {
        "dns.transport": client.transport,
        ...(question
          ? { "dns.question.name": question.name.slice(0, 255), "dns.question.type": question.type }
          : {}),
      },
    });
    const { result, extended, cacheable } = await withSpan(
      span,
      () => this.#answer(query, question, edns, client),
    );
    const qtype = question ? qtypeLabel(question.type) : "OTHER";
    const rcodeValue = extended ? RCODE.BADVERS : result.rcode;
    if (span !== undefined) {
      span.setAttribute("dns.response.rcode", rcodeLabel(rcodeValue));
      endSpan(span, rcodeValue === RCODE.SERVFAIL ? "SERVFAIL" : undefined);
    }
    const recursionOk = this.#o.recursive !== undefined && this.#o.recursionAllow.allows(client.address);
    const limit = client.transport === "udp" ? udpResponseLimit(edns, this.#udpMax) : MAX_STREAM_MESSAGE;
    // RFC 7830 §4 / RFC 9250 §5.4: a padded query over an encrypted transport gets a padded response (RFC 8467
    // block-length policy); RFC 7830 §6 forbids padding in the clear, so UDP and TCP answers stay unpadded.
    const padded = edns.padded && (client.transport === "doq" || client.transport === "doh");
    const build = (r: ResolveResult, truncated: boolean, padding = padded ? 0 : undefined): DnsMessage => ({
      id: query.id,
      type: "response",
      flags: (query.flags & (0x7800 | FLAG.RD | FLAG.CD)) | // RFC 1035 §4.1.1: OPCODE and RD are copied
        (r.authoritative ? FLAG.AA : 0) |
        (recursionOk ? FLAG.RA : 0) |
        (truncated ? FLAG.TC : 0) |
        (result.rcode & 0xf),
      questions: question && KNOWN_CLASSES.has((question.class ?? "IN").toUpperCase()) ? [question] : [],
      answers: truncated ? [] : r.answers,
      authorities: truncated ? [] : r.authorities,
      // RFC 6891 §7: a response to an EDNS query carries our OPT.
      additionals: [
        ...(truncated ? [] : r.additionals.filter((x) => x.type !== "OPT")),
        // RFC 3225 §3: the DO bit of the query is copied into the response's OPT.
        ...(edns.present ? [optRecord(this.#udpMax, extended ? 1 : 0, edns.dnssecOk, padding)] : []),
      ],
    });
    let truncated = false;
    let out = encodeMessage(build(result, false));
    if (out.length > limit) {
      // RFC 2181 §9 / RFC 6891 §7: what does not fit is cut and TC set; the client retries over TCP.
      truncated = true;
      out = encodeMessage(build(result, true));
    }
    const pad = padded ? paddingLength(out.length) : 0;
    if (pad > 0 && out.length + pad <= limit) out = encodeMessage(build(result, truncated, pad));
    const limited = client.transport === "udp" && this.#o.rateLimiter !== undefined;
    if (cache !== undefined && cacheable !== undefined && !extended) {
      const rcode = rcodeLabel(rcodeValue);
      const queries = m?.queries.bind({ transport: client.transport, qtype, rcode });
      cache.set(bytes, client.transport, {
        response: out,
        slipped: limited ? encodeMessage(build(result, true)) : undefined,
        qtype,
        rcode,
        ...cacheable,
        expiresAt: started + cache.maxAgeMs,
        count: queries ?? (() => {}),
      });
      m?.answerCache.inc(1, { result: "stored" });
    }
    if (limited && this.#o.rateLimiter) {
      const decision = this.#o.rateLimiter.check(client.address, this.#now());
      if (decision !== "send") {
        m?.rateLimited.inc(1, { action: decision });
        if (decision === "drop") return null;
        out = encodeMessage(build(result, true));
      }
    }
    m?.queries.inc(1, { transport: client.transport, qtype, rcode: rcodeLabel(rcodeValue) });
    m?.querySeconds.observe((performance.now() - started) / 1000, { transport: client.transport });
    return out;
  }

  /**
   * A query answered from the answer cache: the same counting, rate limiting and span as the full path. Writes
   * into `dest` at `at` when given (returns the length), else returns a new array.
   */
  #fromCache<D extends Uint8Array | undefined>(
    hit: StoredAnswer,
    bytes: Uint8Array,
    client: ClientInfo,
    dest: D,
    at: number,
  ): (D extends Uint8Array ? number : Uint8Array) | null {
    this.#hits?.();
    if (tracingEnabled()) {
      endSpan(startSpan("cns", "dns.query", {
        kind: SpanKind.SERVER,
        attributes: {
          "dns.transport": client.transport,
          "dns.question.name": hit.qname,
          "dns.question.type": hit.qtype,
          "dns.response.rcode": hit.rcode,
          "ghost.cns.answer_cache": "hit",
        },
      }));
    }
    let stored = hit.response;
    if (client.transport === "udp" && this.#o.rateLimiter) {
      const decision = this.#o.rateLimiter.check(client.address, this.#now());
      if (decision !== "send") {
        this.#o.metrics?.rateLimited.inc(1, { action: decision });
        if (decision === "drop" || hit.slipped === undefined) return null;
        stored = hit.slipped;
      }
    }
    const recursionOk = this.#o.recursive !== undefined && this.#o.recursionAllow.allows(client.address);
    hit.count();
    type Out = D extends Uint8Array ? number : Uint8Array;
    if (dest === undefined) return answerFor(stored, bytes, recursionOk) as Out;
    return writeAnswer(stored, bytes, recursionOk, dest, at) as Out;
  }

  async #answer(
    query: DecodedMessage,
    question: DnsQuestion | undefined,
    edns: EdnsInfo,
    client: ClientInfo,
  ): Promise<{ result: ResolveResult; extended: boolean; cacheable?: Cacheable }> {
    const plain = (rcode: number) => ({ result: policyResult(rcode), extended: false });
    if (opcodeOf(query.flags) !== OPCODE_QUERY) return plain(RCODE.NOTIMP);
    // RFC 6891 §6.1.3: an EDNS version we do not speak gets BADVERS.
    if (edns.present && edns.version > 0) return { result: policyResult(0), extended: true };
    // RFC 9619: a query holds exactly one question.
    if (!question || query.questions.length !== 1) return plain(RCODE.FORMERR);
    if (question.type === "OPT") return plain(RCODE.FORMERR);
    if ((question.class ?? "IN").toUpperCase() !== "IN") return plain(RCODE.REFUSED);
    if (question.type === "AXFR" || question.type === "IXFR") return plain(RCODE.REFUSED);
    const qname = normalizeName(question.name);
    const request = {
      question,
      recursionDesired: (query.flags & FLAG.RD) !== 0,
      client,
      dnssecOk: edns.dnssecOk,
    };
    const owner = this.#o.authoritative.find((r) => r.owns(qname));
    try {
      if (owner) {
        // The data version is read before the lookup: a change during it makes the entry outdated at once.
        const versionOf = this.#o.answerCache === undefined ? undefined : owner.versionSource?.(qname);
        const version = versionOf?.();
        const result = await owner.resolve(request);
        const cacheable = versionOf === undefined || version === undefined || result.source === "policy"
          ? undefined
          : { versionOf, qname, version };
        return { result, extended: false, ...(cacheable ? { cacheable } : {}) };
      }
      if (this.#o.recursive && this.#o.recursionAllow.allows(client.address)) {
        return { result: await this.#o.recursive.resolve(request), extended: false };
      }
      return plain(RCODE.REFUSED);
    } catch (error) {
      if (!(error instanceof UpstreamError) || error.failure !== "none") this.#report(error, client);
      return plain(error instanceof UpstreamError ? error.code : RCODE.SERVFAIL);
    }
  }

  #report(error: unknown, client: ClientInfo): void {
    try {
      this.#o.onError?.(error, client);
    } catch {
      // A failing logger must not fail a query.
    }
  }
}

/** A FORMERR reply built from a header alone: ID and OPCODE copied, no sections (RFC 1035 §4.1.1). */
export function formErr(header: HeaderInfo): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = header.id >>> 8;
  out[1] = header.id & 0xff;
  const flags = FLAG.QR | (header.flags & (0x7800 | FLAG.RD)) | RCODE.FORMERR;
  out[2] = flags >>> 8;
  out[3] = flags & 0xff;
  return out;
}

/** Re-exported for adapters that only need the record type. */
export type { DnsRecord };
