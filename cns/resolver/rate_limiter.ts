/**
 * Response rate limiting for UDP (after BIND's RRL): each client prefix (/24 IPv4, /56 IPv6) gets a token
 * bucket of responses per second. Over the limit, every `slip`-th response goes out as a tiny TC=1 answer (a
 * real client retries over TCP, a spoofed victim receives almost nothing) and the rest are dropped. This bounds
 * how much traffic our server can be made to reflect at someone else. Sans-IO: time comes in as `now` (ms).
 *
 * @module
 */

import { clientPrefix } from "../proto/ip_prefix.ts";

/** Options of {@linkcode ResponseRateLimiter}. */
export interface RateLimiterOptions {
  /** Responses per second per prefix; 0 disables limiting. */
  readonly responsesPerSecond: number;
  /** Burst allowance in responses. Defaults to `responsesPerSecond`. */
  readonly burst?: number;
  /** Every n-th limited response slips as TC=1; 0 drops all, 1 slips all. Default 2. */
  readonly slip?: number;
  /** Prefixes tracked at most (the oldest is forgotten first). Default 100,000. */
  readonly maxPrefixes?: number;
}

/** What to do with one response. */
export type RateDecision = "send" | "slip" | "drop";

interface Bucket {
  tokens: number;
  last: number;
  limited: number;
}

/** Per-prefix response limiter. */
export class ResponseRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #slip: number;
  readonly #max: number;
  readonly #buckets = new Map<string, Bucket>();

  /** Creates a limiter. */
  constructor(options: RateLimiterOptions) {
    this.#rate = options.responsesPerSecond;
    this.#burst = options.burst ?? Math.max(1, options.responsesPerSecond);
    this.#slip = options.slip ?? 2;
    this.#max = options.maxPrefixes ?? 100_000;
  }

  /** Prefixes tracked now. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** Decides for one response to `address` at `now`. */
  check(address: string, now: number): RateDecision {
    if (this.#rate <= 0) return "send";
    const key = clientPrefix(address);
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
      b.tokens = Math.min(this.#burst, b.tokens + (Math.max(0, now - b.last) / 1000) * this.#rate);
      b.last = Math.max(b.last, now);
    } else {
      b = { tokens: this.#burst, last: now, limited: 0 };
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
    }
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return "send";
    }
    b.limited++;
    return this.#slip > 0 && b.limited % this.#slip === 0 ? "slip" : "drop";
  }
}
