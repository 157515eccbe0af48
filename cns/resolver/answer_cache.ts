/**
 * Whole answers of authoritative data, keyed by the query's bytes after its ID: a query seen before is answered
 * by copying the stored response and patching the ID and the RA bit, with no decode, lookup or encode. Sans-IO.
 *
 * An entry is only used while the resolver that built it reports the same data version for the name
 * ({@linkcode Resolver.cacheVersion}), and for at most `maxAgeMs`; the key holds every byte that shapes the
 * answer (flags, question with its letter case, EDNS size, DO bit, options) plus the transport, which decides
 * the size limit and padding. Who may recurse (the RA bit) is the one per-client difference, patched per answer.
 *
 * @module
 */

import type { Resolver } from "./resolver.ts";

/** Longest query whose answer is cached (queries are small; a long one is not worth a key this size). */
export const MAX_CACHED_QUERY_BYTES = 512;

/** A stored answer. */
export interface StoredAnswer {
  /** The response as built for the first asker (its ID and RA bit are patched per answer). */
  readonly response: Uint8Array;
  /** The truncated (TC=1) form, for UDP answers that response rate limiting slips. */
  readonly slipped: Uint8Array | undefined;
  /** Metric labels of the answer. */
  readonly qtype: string;
  readonly rcode: string;
  /** Who built it, for which normalized name, at which data version. */
  readonly resolver: Resolver;
  readonly qname: string;
  readonly version: number;
  /** Monotonic ms after which it is not used. */
  readonly expiresAt: number;
}

/** Options of {@linkcode AnswerCache}. */
export interface AnswerCacheOptions {
  /** Entries kept; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** Longest an entry is used, ms. Default 30,000 (also bounds how long DNSSEC signatures are reused). */
  readonly maxAgeMs?: number;
}

/** The cache (see the module doc). */
export class AnswerCache {
  readonly #entries = new Map<string, StoredAnswer>();
  readonly #max: number;
  readonly maxAgeMs: number;

  /** An empty cache. */
  constructor(opts: AnswerCacheOptions = {}) {
    this.#max = Math.max(1, opts.maxEntries ?? 10_000);
    this.maxAgeMs = Math.max(0, opts.maxAgeMs ?? 30_000);
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The key of a query on a transport, or undefined when such a query is never cached. */
  static key(query: Uint8Array, transport: string): string | undefined {
    if (query.length < 12 || query.length > MAX_CACHED_QUERY_BYTES) return undefined;
    // Only plain queries: QR=0 and opcode QUERY (0); everything else takes the full path.
    if (((query[2] ?? 0) & 0xf8) !== 0) return undefined;
    return transport + "\u0000" + String.fromCharCode.apply(null, query.subarray(2) as unknown as number[]);
  }

  /** The live entry for `key` at monotonic time `now`, or undefined (a stale or outdated entry is dropped). */
  get(key: string, now: number): StoredAnswer | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (now >= e.expiresAt || e.resolver.cacheVersion?.(e.qname) !== e.version) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Stores an entry, dropping the oldest when full. */
  set(key: string, entry: StoredAnswer): void {
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, entry);
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
  }
}

/**
 * The response for one asker: a copy of `stored` with the query's ID and the asker's RA bit (a response is
 * never mutated in place: it may still be in a send).
 */
export function answerFor(stored: Uint8Array, query: Uint8Array, recursionAvailable: boolean): Uint8Array {
  const out = stored.slice();
  out[0] = query[0] ?? 0;
  out[1] = query[1] ?? 0;
  out[3] = ((out[3] ?? 0) & 0x7f) | (recursionAvailable ? 0x80 : 0);
  return out;
}
