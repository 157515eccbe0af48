/**
 * The in-memory response cache: entries by key (method-less: GET only) with their Vary variants, bounded in bytes
 * with least-recently-used eviction, and one upstream fetch for concurrent misses of the same key (coalescing).
 * Sans-IO apart from the promises coalescing hands out.
 *
 * @module
 */
import type { HeaderField } from "../transport/http/mod.ts";
import { fieldValue } from "./cache_policy.ts";

/** A stored response. */
export interface CacheEntry {
  readonly key: string;
  readonly status: number;
  /** Response fields as stored (hop-by-hop already removed). */
  fields: HeaderField[];
  readonly body: Uint8Array;
  /** Seconds. */
  requestTime: number;
  /** Seconds. */
  responseTime: number;
  /** The Vary-named request fields and their values when this variant was stored. */
  readonly vary: readonly [string, string | null][];
  /** Bytes counted against the cache's bound. */
  readonly size: number;
}

/** Counters of a cache. */
export interface CacheStats {
  entries: number;
  bytes: number;
  evictions: number;
}

/** The store (see the module doc). */
export class ResponseCache {
  readonly maxBytes: number;
  readonly maxObjectBytes: number;
  /** key -> variants, in LRU order of keys (a Map keeps insertion order; a hit re-inserts). */
  readonly #entries = new Map<string, CacheEntry[]>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly stats: CacheStats = { entries: 0, bytes: 0, evictions: 0 };

  constructor(maxBytes: number, maxObjectBytes: number) {
    this.maxBytes = maxBytes;
    this.maxObjectBytes = maxObjectBytes;
  }

  /** The size an entry counts for: its body, its fields and a fixed overhead. */
  static sizeOf(fields: readonly HeaderField[], body: Uint8Array, key: string): number {
    let n = 256 + key.length + body.length;
    for (const [name, value] of fields) n += name.length + value.length + 16;
    return n;
  }

  /** The variant of `key` whose Vary values match the request's, if any (marks the key recently used). */
  get(key: string, requestField: (name: string) => string | null): CacheEntry | undefined {
    const variants = this.#entries.get(key);
    if (variants === undefined) return undefined;
    const hit = variants.find((e) => e.vary.every(([n, v]) => requestField(n) === v));
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, variants);
    }
    return hit;
  }

  /** Stores a variant, replacing one with the same Vary values, evicting the least recently used keys to fit. */
  put(entry: CacheEntry): boolean {
    if (entry.size > this.maxObjectBytes || entry.size > this.maxBytes) return false;
    const variants = (this.#entries.get(entry.key) ?? []).filter((e) => {
      const same = e.vary.length === entry.vary.length &&
        e.vary.every(([n, v], i) => entry.vary[i]?.[0] === n && entry.vary[i]?.[1] === v);
      if (same) this.#forget(e);
      return !same;
    });
    variants.push(entry);
    this.#entries.delete(entry.key);
    this.#entries.set(entry.key, variants);
    this.stats.entries++;
    this.stats.bytes += entry.size;
    for (const [key, list] of this.#entries) {
      if (this.stats.bytes <= this.maxBytes) break;
      if (key === entry.key && list.length === 1) continue;
      for (const e of list.splice(0, key === entry.key ? list.length - 1 : list.length)) {
        this.#forget(e);
        this.stats.evictions++;
      }
      if (list.length === 0) this.#entries.delete(key);
    }
    return true;
  }

  #forget(e: CacheEntry): void {
    this.stats.entries--;
    this.stats.bytes -= e.size;
  }

  /** Removes one key (every variant); returns how many entries went. */
  delete(key: string): number {
    const list = this.#entries.get(key);
    if (list === undefined) return 0;
    for (const e of list) this.#forget(e);
    this.#entries.delete(key);
    return list.length;
  }

  /** Removes every key starting with `prefix`; returns how many entries went. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) n += this.delete(key);
    return n;
  }

  /**
   * Coalescing: the first caller for `key` gets `leader: true` and must call `done()` when its fetch has stored
   * (or not) the response; the others get a promise that settles then, and look the cache up again.
   */
  join(key: string): { leader: true; done: () => void } | { leader: false; wait: Promise<void> } {
    const wait = this.#inflight.get(key);
    if (wait !== undefined) return { leader: false, wait };
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#inflight.set(key, promise);
    return {
      leader: true,
      done: () => {
        if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
        resolve();
      },
    };
  }
}

/** The cache key of a request: scheme, authority (lowercase host) and the target; GET only. */
export function cacheKey(url: URL): string {
  return `${url.protocol}//${url.host.toLowerCase()}${url.pathname}${url.search}`;
}

/** Whether a stored entry carries validators (ETag or Last-Modified) so it can be revalidated. */
export function hasValidators(fields: readonly HeaderField[]): boolean {
  return fieldValue(fields, "etag") !== null || fieldValue(fields, "last-modified") !== null;
}
