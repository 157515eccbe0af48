/**
 * Whole answers of authoritative data, keyed by the query's bytes after its ID: a query seen before is answered
 * by copying the stored response and patching the ID and the RA bit, with no decode, lookup or encode. Sans-IO.
 *
 * An entry is only used while the zone that built it reports the same data version
 * ({@linkcode Resolver.versionSource}), and for at most `maxAgeMs`; the key holds every byte that shapes the
 * answer (flags, question with its letter case, EDNS size, DO bit, options) plus the transport, which decides
 * the size limit and padding. Who may recurse (the RA bit) is the one per-client difference, patched per answer.
 * Lookups hash the bytes (FNV-1a) and compare them on a hit: no key string, no allocation.
 *
 * @module
 */

/** Longest query whose answer is cached (queries are small; a long one is not worth keeping). */
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
  /** The normalized question name (for spans). */
  readonly qname: string;
  /** The data version it was built at, and where the current one is read. */
  readonly version: number;
  readonly versionOf: () => number;
  /** Monotonic ms after which it is not used. */
  readonly expiresAt: number;
  /** Counts one query answered from it (its labels bound once). */
  readonly count: (by?: number) => void;
}

interface Entry {
  readonly transport: string;
  /** The query's bytes after its ID. */
  readonly key: Uint8Array;
  readonly answer: StoredAnswer;
}

/** Options of {@linkcode AnswerCache}. */
export interface AnswerCacheOptions {
  /** Entries kept; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** Longest an entry is used, ms. Default 30,000 (also bounds how long DNSSEC signatures are reused). */
  readonly maxAgeMs?: number;
}

/** True when answers to `query` may be cached: a plain query (QR=0, opcode QUERY) of 12 to 512 bytes. */
export function cacheableQuery(query: Uint8Array): boolean {
  return query.length >= 12 && query.length <= MAX_CACHED_QUERY_BYTES && ((query[2] ?? 0) & 0xf8) === 0;
}

/** FNV-1a over the transport's name and the query's bytes after its ID. */
function hashOf(query: Uint8Array, transport: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < transport.length; i++) h = Math.imul(h ^ transport.charCodeAt(i), 0x01000193);
  for (let i = 2; i < query.length; i++) h = Math.imul(h ^ (query[i] ?? 0), 0x01000193);
  return h >>> 0;
}

function sameKey(e: Entry, query: Uint8Array, transport: string): boolean {
  const k = e.key;
  if (e.transport !== transport || k.length !== query.length - 2) return false;
  for (let i = 0; i < k.length; i++) if (k[i] !== query[i + 2]) return false;
  return true;
}

/** The cache (see the module doc). */
export class AnswerCache {
  readonly #entries = new Map<number, Entry>();
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

  /** The live answer to `query` on `transport` at monotonic `now` (a stale or outdated one is dropped). */
  get(query: Uint8Array, transport: string, now: number): StoredAnswer | undefined {
    if (!cacheableQuery(query)) return undefined;
    const h = hashOf(query, transport);
    const e = this.#entries.get(h);
    if (e === undefined || !sameKey(e, query, transport)) return undefined;
    const a = e.answer;
    if (now >= a.expiresAt || a.versionOf() !== a.version) {
      this.#entries.delete(h);
      return undefined;
    }
    return a;
  }

  /** Stores the answer to `query` (a colliding entry is replaced), dropping the oldest when full. */
  set(query: Uint8Array, transport: string, answer: StoredAnswer): void {
    if (!cacheableQuery(query)) return;
    const h = hashOf(query, transport);
    if (this.#entries.size >= this.#max && !this.#entries.has(h)) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(h, { transport, key: query.slice(2), answer });
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
  }
}

/**
 * Writes the answer for one asker into `dest` at `at`: `stored` with the query's ID and the asker's RA bit
 * (the stored bytes are never changed: they may still be in a send). Returns the length written.
 */
export function writeAnswer(
  stored: Uint8Array,
  query: Uint8Array,
  recursionAvailable: boolean,
  dest: Uint8Array,
  at: number,
): number {
  dest.set(stored, at);
  dest[at] = query[0] ?? 0;
  dest[at + 1] = query[1] ?? 0;
  dest[at + 3] = ((stored[3] ?? 0) & 0x7f) | (recursionAvailable ? 0x80 : 0);
  return stored.length;
}

/** {@linkcode writeAnswer} into a new array. */
export function answerFor(stored: Uint8Array, query: Uint8Array, recursionAvailable: boolean): Uint8Array {
  const out = new Uint8Array(stored.length);
  writeAnswer(stored, query, recursionAvailable, out, 0);
  return out;
}
