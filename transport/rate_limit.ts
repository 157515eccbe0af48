/**
 * Sans-IO token bucket, used for the per-connection stream-open budget. Time comes in as an argument.
 *
 * @module
 */

/** Settings of a {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens available at once (the burst). */
  readonly capacity: number;
  /** Tokens added per second, up to `capacity`. */
  readonly refillPerSecond: number;
}

/**
 * A token bucket: starts full, refills continuously, and `take(now)` spends one token when one is there.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, 0);
 * bucket.take(0); // true
 * bucket.take(0); // true
 * bucket.take(0); // false
 * bucket.take(1000); // true
 * ```
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  #tokens: number;
  #last: number;

  /** Creates a full bucket at time `now` (milliseconds). */
  constructor(options: TokenBucketOptions, now: number) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond >= 0)) {
      throw new RangeError(
        `Cannot create token bucket: capacity ${options.capacity} must be >= 1 and refillPerSecond ` +
          `${options.refillPerSecond} >= 0`,
      );
    }
    this.#capacity = options.capacity;
    this.#perMs = options.refillPerSecond / 1000;
    this.#tokens = options.capacity;
    this.#last = now;
  }

  /** Tokens available at `now`. */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Spends `n` tokens (default 1) if available at `now`; returns whether it did. */
  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  #refill(now: number): void {
    // A clock that goes backwards adds nothing.
    const elapsed = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#perMs);
  }
}
