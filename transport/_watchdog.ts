// Private: stall detection with one lazily re-armed timer per stream instead of a timer per read or write.
// A setTimeout/clearTimeout pair per operation cost about 5% of bulk throughput in the transport bench.

import { type Deadline, deadlines, TIMED_OUT } from "./_deadline.ts";

/**
 * Detects "no progress for `ms`" across many operations on one stream. Progress is the completion of a watched
 * operation. The single timer keeps running between operations and lapses when it fires with nothing in flight;
 * call `stop()` when the stream is done so that it does not outlive the stream.
 */
export class Watchdog {
  readonly #ms: number;
  #timer: Deadline | undefined;
  #last = 0;
  #onExpire: (() => void) | undefined;

  /** `ms <= 0` disables the watchdog. */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /**
   * Resolves to `op`'s value, or to {@linkcode TIMED_OUT} when `op` makes no progress for `ms` (counted from
   * the start of `op` or the end of the previous watched operation, whichever is later). A later rejection of a
   * timed-out `op` is swallowed.
   */
  watch<T>(op: Promise<T>): Promise<T | typeof TIMED_OUT> {
    if (!(this.#ms > 0) || this.#ms === Infinity) return op;
    // The stall clock starts when we start waiting, not at some earlier, finished operation.
    if (this.#onExpire === undefined) this.#last = performance.now();
    if (this.#timer === undefined) this.#arm(this.#ms);
    return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
      const expire = (): void => {
        op.catch(() => {});
        resolve(TIMED_OUT);
      };
      this.#onExpire = expire;
      op.then(
        (value) => {
          if (this.#onExpire === expire) this.#onExpire = undefined;
          this.#last = performance.now();
          resolve(value);
        },
        (error) => {
          if (this.#onExpire === expire) this.#onExpire = undefined;
          reject(error);
        },
      );
    });
  }

  /** Clears the timer; the watchdog can be used again afterwards. */
  stop(): void {
    if (this.#timer !== undefined) deadlines.cancel(this.#timer);
    this.#timer = undefined;
    this.#onExpire = undefined;
  }

  #arm(ms: number): void {
    this.#timer = deadlines.add(ms, () => this.#check());
  }

  #check(): void {
    this.#timer = undefined;
    const expire = this.#onExpire;
    if (expire === undefined) return; // nothing in flight: lapse until the next watched operation
    const idle = performance.now() - this.#last;
    if (idle >= this.#ms - 1) {
      this.#onExpire = undefined;
      expire();
      return;
    }
    this.#arm(this.#ms - idle);
  }
}
