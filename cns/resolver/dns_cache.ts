/**
 * The answer cache: positive answers for the smallest TTL of their records, negative answers (NXDOMAIN and
 * NODATA) for the SOA's negative TTL (RFC 2308 §5), TTLs decremented on the way out, a size bound with LRU
 * eviction, and optional serve-stale (RFC 8767). Sans-IO: every call takes `now` in milliseconds.
 *
 * @module
 */

import type { DnsRecord } from "../proto/message.ts";
import { RCODE } from "../proto/message.ts";
import { normalizeName } from "../proto/name.ts";

/** Options of {@linkcode DnsCache}. */
export interface DnsCacheOptions {
  /** Entries kept at most; the least recently used goes first. */
  readonly maxEntries: number;
  /** Upper bound of any cached TTL, seconds (RFC 8767 §4 suggests 7 days; we default to 1 day). */
  readonly maxTtlS?: number;
  /** Upper bound of negative TTLs, seconds (RFC 2308 §5: 1-3 hours). Default 3,600. */
  readonly maxNegativeTtlS?: number;
  /** How long past expiry an entry may be served stale, seconds; 0 disables serve-stale. Default 0. */
  readonly staleMaxS?: number;
}

/** What is cached for one question. */
export interface CachedAnswer {
  readonly rcode: number;
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
}

/** A cache hit: the answer with TTLs as of `now`, and whether it is past its TTL (served stale). */
export interface CacheHit extends CachedAnswer {
  readonly stale: boolean;
}

interface Entry {
  readonly answer: CachedAnswer;
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly staleUntil: number;
}

/** RFC 8767 §4: stale answers go out with a TTL of 30 seconds. */
export const STALE_TTL_S = 30;

/** The cache key of a question: normalized name, type and class. */
export function cacheKey(name: string, type: string, klass = "IN"): string {
  return `${normalizeName(name)}\u0000${type.toUpperCase()}\u0000${klass.toUpperCase()}`;
}

/** The cache. */
export class DnsCache {
  readonly #max: number;
  readonly #maxTtl: number;
  readonly #maxNeg: number;
  readonly #staleMax: number;
  readonly #entries = new Map<string, Entry>();

  /** Creates an empty cache. */
  constructor(options: DnsCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 0) {
      throw new RangeError(`Cannot create cache: maxEntries ${options.maxEntries} is not an integer >= 0`);
    }
    this.#max = options.maxEntries;
    this.#maxTtl = options.maxTtlS ?? 86_400;
    this.#maxNeg = options.maxNegativeTtlS ?? 3_600;
    this.#staleMax = options.staleMaxS ?? 0;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * A fresh entry, or with `allowStale` one expired less than `staleMaxS` ago. TTLs are decremented by the
   * time spent in the cache; stale answers carry {@linkcode STALE_TTL_S}.
   */
  get(key: string, now: number, options: { readonly allowStale?: boolean } = {}): CacheHit | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (now >= e.staleUntil) {
      this.#entries.delete(key);
      return undefined;
    }
    const stale = now >= e.expiresAt;
    if (stale && !options.allowStale) return undefined;
    // LRU: a hit moves the entry to the young end.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    const ttl = (r: DnsRecord): DnsRecord =>
      r.type === "OPT" ? r : { ...r, ttl: stale ? STALE_TTL_S : Math.max(0, (r.ttl ?? 0) - elapsed) };
    return {
      rcode: e.answer.rcode,
      answers: e.answer.answers.map(ttl),
      authorities: e.answer.authorities.map(ttl),
      stale,
    };
  }

  /**
   * Stores an answer if it is cacheable: NOERROR with answers (for their smallest TTL), or NXDOMAIN / NODATA
   * with a SOA in the authority section (RFC 2308 §5: the lesser of the SOA's TTL and MINIMUM). Other RCODEs
   * and negative answers without a SOA are not cached. Returns the TTL used, 0 when not stored.
   */
  set(key: string, answer: CachedAnswer, now: number): number {
    if (this.#max === 0) return 0;
    const ttl = this.#ttlOf(answer);
    if (ttl <= 0) return 0;
    // Stored TTLs are capped so decrementing never shows more than the cap.
    const cap = (r: DnsRecord): DnsRecord => r.type === "OPT" ? r : { ...r, ttl: Math.min(r.ttl ?? 0, ttl) };
    const stored: CachedAnswer = {
      rcode: answer.rcode,
      answers: answer.answers.map(cap),
      authorities: answer.authorities.map(cap),
    };
    const expiresAt = now + ttl * 1000;
    this.#entries.delete(key);
    this.#entries.set(key, {
      answer: stored,
      storedAt: now,
      expiresAt,
      staleUntil: expiresAt + this.#staleMax * 1000,
    });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    return ttl;
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
  }

  #ttlOf(a: CachedAnswer): number {
    if (a.rcode === RCODE.NOERROR && a.answers.length > 0) {
      const min = Math.min(...a.answers.map((r) => r.ttl ?? 0));
      return Math.min(min, this.#maxTtl);
    }
    if (a.rcode === RCODE.NXDOMAIN || (a.rcode === RCODE.NOERROR && a.answers.length === 0)) {
      const soa = a.authorities.find((r) => r.type === "SOA");
      if (!soa) return 0; // RFC 2308 §5: without a SOA, negative answers are not cached
      const minimum = (soa.data as { minimum?: unknown } | undefined)?.minimum;
      const m = typeof minimum === "number" ? minimum : 0;
      return Math.min(soa.ttl ?? 0, m, this.#maxNeg);
    }
    return 0;
  }
}
