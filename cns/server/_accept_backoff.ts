/**
 * Backoff for a listener loop whose accept/receive keeps failing (EMFILE, ENOBUFS): without it a persistent
 * error becomes a hot spin. Delays double from 5 ms to 1 s and reset on the next success.
 *
 * @module
 */

/** Tracks consecutive failures of one loop. */
export class AcceptBackoff {
  #delayMs = 0;

  /** A successful accept/receive: the next failure starts over at 5 ms. */
  reset(): void {
    this.#delayMs = 0;
  }

  /** Waits after a failure; returns the delay used. */
  async wait(): Promise<number> {
    this.#delayMs = this.#delayMs === 0 ? 5 : Math.min(1000, this.#delayMs * 2);
    await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    return this.#delayMs;
  }
}
