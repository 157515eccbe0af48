/**
 * The caching forwarder: a {@linkcode Resolver} that sends questions to configured upstream servers. The logic
 * is here and sans-IO; sockets come from an injected {@linkcode UpstreamTransport} (deno_upstream.ts in
 * production, an in-memory fake in tests), time and randomness are injected too.
 *
 * Spoofing defences (RFC 5452): a random 16-bit ID per query, a fresh random source port per query (the
 * transport's job), and an answer is accepted only when its ID, QR bit and question (name compared
 * case-insensitively, type, class) match what we asked; anything else is ignored while we keep waiting.
 * Identical questions in flight share one upstream exchange.
 *
 * @module
 */

import { type CacheHit, cacheKey, type DnsCache } from "./dns_cache.ts";
import type { CnsMetrics } from "./cns_metrics.ts";
import { DnsFormatError, UpstreamError, type UpstreamFailure } from "../errors.ts";
import { optRecord } from "../proto/edns.ts";
import { type DnsQuestion, FLAG, RCODE, rcodeOf } from "../proto/message.ts";
import { type DecodedMessage, decodeMessage, encodeMessage } from "../proto/message_codec.ts";
import { sameName } from "../proto/name.ts";
import { policyResult, type Resolver, type ResolveRequest, type ResolveResult } from "./resolver.ts";

/** An upstream server. */
export interface UpstreamTarget {
  readonly hostname: string;
  readonly port: number;
}

/** Sends one query to one upstream. Implementations must use a fresh random source port per UDP query. */
export interface UpstreamTransport {
  /**
   * Sends `query` over UDP and returns the first datagram from `target` that `accept` takes, or `undefined`
   * after `timeoutMs`. Datagrams `accept` refuses are ignored and the wait goes on.
   */
  udp(
    target: UpstreamTarget,
    query: Uint8Array,
    options: { readonly timeoutMs: number; readonly accept: (bytes: Uint8Array) => boolean },
  ): Promise<Uint8Array | undefined>;
  /** Sends `query` over TCP (2-byte length prefix) and returns the response, or `undefined` on timeout. */
  tcp(
    target: UpstreamTarget,
    query: Uint8Array,
    options: { readonly timeoutMs: number },
  ): Promise<Uint8Array | undefined>;
}

/** Options of {@linkcode Forwarder}. */
export interface ForwarderOptions {
  /** Upstream servers; empty means every forwarded question is REFUSED. */
  readonly upstreams: readonly UpstreamTarget[];
  /** How queries reach them. */
  readonly transport: UpstreamTransport;
  /** Answer cache; none means no caching. */
  readonly cache?: DnsCache;
  /** Timeout of one exchange, ms. Default 2,000. */
  readonly timeoutMs?: number;
  /** Exchanges tried per question, moving to the next upstream each time. Default 3. */
  readonly attempts?: number;
  /** Answer from a stale cache entry when every upstream failed (RFC 8767). Default false. */
  readonly serveStale?: boolean;
  /** EDNS UDP size we advertise upstream. Default 1232. */
  readonly udpSize?: number;
  /** Clock, ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Random integer in [0, n). Default from `crypto.getRandomValues`. */
  readonly random?: (n: number) => number;
  /** Metrics. */
  readonly metrics?: CnsMetrics;
}

/** Default random source: unbiased integers from the platform CSPRNG. */
export function cryptoRandom(n: number): number {
  const buf = new Uint32Array(1);
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  while (true) {
    crypto.getRandomValues(buf);
    const v = buf[0] ?? 0;
    if (v < limit) return v % n;
  }
}

/** The forwarding resolver. Owns no names: the server asks it only for clients allowed to recurse. */
export class Forwarder implements Resolver {
  /** Always `"forwarder"`. */
  readonly name = "forwarder";
  readonly #o: Required<Omit<ForwarderOptions, "cache" | "metrics">> & {
    readonly cache: DnsCache | undefined;
    readonly metrics: CnsMetrics | undefined;
  };
  readonly #inflight = new Map<string, Promise<ResolveResult>>();

  /** Creates a forwarder. */
  constructor(options: ForwarderOptions) {
    this.#o = {
      upstreams: options.upstreams,
      transport: options.transport,
      timeoutMs: options.timeoutMs ?? 2000,
      attempts: options.attempts ?? 3,
      serveStale: options.serveStale ?? false,
      udpSize: options.udpSize ?? 1232,
      now: options.now ?? Date.now,
      random: options.random ?? cryptoRandom,
      cache: options.cache,
      metrics: options.metrics,
    };
  }

  /** Owns nothing. */
  owns(_qname: string): boolean {
    return false;
  }

  /**
   * Answers from the cache or the upstreams. With RD=0 only the cache is used (a miss is REFUSED).
   *
   * @throws {UpstreamError} when no upstream answered and nothing stale could be served
   */
  async resolve(request: ResolveRequest): Promise<ResolveResult> {
    const q = request.question;
    const key = cacheKey(q.name, q.type, q.class ?? "IN");
    const cache = this.#o.cache;
    const hit = cache?.get(key, this.#o.now());
    if (hit) {
      this.#o.metrics?.cache.inc(1, { result: "hit" });
      return fromCache(hit);
    }
    if (cache) this.#o.metrics?.cache.inc(1, { result: "miss" });
    if (!request.recursionDesired) return policyResult(RCODE.REFUSED);
    const running = this.#inflight.get(key);
    if (running) return await running;
    const task = this.#fetch(q, key);
    this.#inflight.set(key, task);
    try {
      return await task;
    } finally {
      this.#inflight.delete(key);
    }
  }

  async #fetch(q: DnsQuestion, key: string): Promise<ResolveResult> {
    try {
      const response = await this.exchange(q);
      const answers = response.answers;
      const authorities = response.authorities;
      const rcode = rcodeOf(response.flags);
      this.#o.cache?.set(key, { rcode, answers, authorities }, this.#o.now());
      return {
        rcode,
        answers,
        authorities,
        additionals: response.additionals.filter((r) => r.type !== "OPT"),
        authoritative: false,
        source: "upstream",
      };
    } catch (error) {
      if (error instanceof UpstreamError && this.#o.serveStale && error.failure !== "none") {
        const stale = this.#o.cache?.get(key, this.#o.now(), { allowStale: true });
        if (stale) {
          this.#o.metrics?.cache.inc(1, { result: "stale" });
          return { ...fromCache(stale), source: "stale" };
        }
      }
      throw error;
    }
  }

  /**
   * Asks the upstreams in turn (starting at a random one) until one gives a usable answer: UDP first, TCP when
   * the UDP answer is truncated. SERVFAIL, REFUSED, NOTIMP and FORMERR answers move on to the next upstream.
   *
   * @throws {UpstreamError} when every attempt failed, or `failure: "none"` without upstreams
   */
  async exchange(q: DnsQuestion): Promise<DecodedMessage> {
    const ups = this.#o.upstreams;
    if (ups.length === 0) throw new UpstreamError("none", `Cannot forward ${q.name}: no upstream configured`);
    const start = this.#o.random(ups.length);
    let failure: UpstreamFailure = "timeout";
    let cause: unknown;
    for (let attempt = 0; attempt < this.#o.attempts; attempt++) {
      const target = ups[(start + attempt) % ups.length] as UpstreamTarget;
      const id = this.#o.random(0x10000);
      const query = encodeMessage({
        id,
        type: "query",
        flags: FLAG.RD,
        questions: [{ name: q.name, type: q.type, class: q.class ?? "IN" }],
        additionals: [optRecord(this.#o.udpSize)],
      });
      const began = performance.now();
      let decoded: DecodedMessage | undefined;
      const accept = (bytes: Uint8Array): boolean => {
        const m = matchResponse(bytes, id, q);
        if (m) decoded = m;
        return m !== undefined;
      };
      let result = "ok";
      try {
        const udp = await this.#o.transport.udp(target, query, { timeoutMs: this.#o.timeoutMs, accept });
        if (udp === undefined) {
          failure = "timeout";
          result = "timeout";
          continue;
        }
        if (decoded && (decoded.flags & FLAG.TC) !== 0) {
          // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated answer is retried over TCP.
          decoded = undefined;
          const tcp = await this.#o.transport.tcp(target, query, { timeoutMs: this.#o.timeoutMs });
          if (tcp === undefined || !accept(tcp)) {
            failure = tcp === undefined ? "timeout" : "malformed";
            result = failure;
            continue;
          }
        }
        if (!decoded) {
          failure = "malformed";
          result = failure;
          continue;
        }
        const rcode = rcodeOf(decoded.flags);
        if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) {
          failure = rcode === RCODE.REFUSED ? "refused" : "servfail";
          result = failure;
          continue;
        }
        return decoded;
      } catch (error) {
        failure = "network";
        result = failure;
        cause = error;
      } finally {
        this.#o.metrics?.upstreamSeconds.observe((performance.now() - began) / 1000, { result });
      }
    }
    throw new UpstreamError(
      failure,
      `Cannot resolve ${q.name} ${q.type}: ${this.#o.attempts} upstream attempts failed (last: ${failure})`,
      { cause },
    );
  }
}

/**
 * Decodes an upstream datagram and returns it when it answers our question: QR set, same ID, exactly one
 * question equal to ours (RFC 5452 §9.1). Anything else, including malformed bytes, gives `undefined`.
 */
export function matchResponse(bytes: Uint8Array, id: number, q: DnsQuestion): DecodedMessage | undefined {
  // Cheap checks before decoding: header, QR, ID.
  if (
    bytes.length < 12 || ((bytes[0] ?? 0) << 8 | (bytes[1] ?? 0)) !== id || ((bytes[2] ?? 0) & 0x80) === 0
  ) {
    return undefined;
  }
  let m: DecodedMessage;
  try {
    m = decodeMessage(bytes);
  } catch (error) {
    if (error instanceof DnsFormatError) return undefined;
    throw error;
  }
  const asked = m.questions[0];
  if (m.questions.length !== 1 || !asked) return undefined;
  if (!sameName(asked.name, q.name) || asked.type !== q.type || (asked.class ?? "IN") !== (q.class ?? "IN")) {
    return undefined;
  }
  return m;
}

function fromCache(hit: CacheHit): ResolveResult {
  return {
    rcode: hit.rcode,
    answers: hit.answers,
    authorities: hit.authorities,
    additionals: [],
    authoritative: false,
    source: hit.stale ? "stale" : "cache",
  };
}
