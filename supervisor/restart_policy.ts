/**
 * When to restart a crashed service worker: exponential backoff, reset once the worker has been stable, and
 * giving up on a service that keeps failing before it ever became ready (a bad port, a bad certificate).
 * Sans-IO: time comes in as arguments.
 *
 * @module
 */

/** Tuning for {@link RestartPolicy}. */
export interface RestartPolicyOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Consecutive failures of a never-ready worker before giving up. */
  readonly maxStartFailures: number;
  /** A worker that stayed up this long resets the backoff. Default 60 s. */
  readonly stableAfterMs?: number;
}

/** What to do after a worker exited abnormally. */
export type RestartDecision =
  | { readonly action: "restart"; readonly delayMs: number; readonly failures: number }
  | { readonly action: "give-up"; readonly failures: number; readonly reason: string };

/** Per-service restart bookkeeping. */
export class RestartPolicy {
  readonly #opts: Required<RestartPolicyOptions>;
  #failures = 0;
  #everReady = false;
  #readyAt: number | undefined;

  /** Creates a policy for one service. */
  constructor(opts: RestartPolicyOptions) {
    this.#opts = { stableAfterMs: 60_000, ...opts };
  }

  /** The worker reported ready at `now` (ms). */
  handleReady(now: number): void {
    this.#everReady = true;
    this.#readyAt = now;
  }

  /** The worker died at `now` (ms); returns whether and when to start it again. */
  handleExit(now: number): RestartDecision {
    if (this.#readyAt !== undefined && now - this.#readyAt >= this.#opts.stableAfterMs) this.#failures = 0;
    this.#readyAt = undefined;
    this.#failures++;
    if (!this.#everReady && this.#failures >= this.#opts.maxStartFailures) {
      return {
        action: "give-up",
        failures: this.#failures,
        reason: `failed ${this.#failures} times in a row without becoming ready`,
      };
    }
    const delayMs = Math.min(this.#opts.maxMs, this.#opts.initialMs * 2 ** (this.#failures - 1));
    return { action: "restart", delayMs, failures: this.#failures };
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }
}
