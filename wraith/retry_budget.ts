/**
 * A retry budget, sans-IO: retries may add at most `percent` % to the requests of the last 10 seconds, plus
 * `minPerSecond` (so a quiet proxy can still retry). It keeps a failing backend from getting a retry storm on
 * top of its load; Finagle and Linkerd bound retries the same way. One-second buckets, clock injected.
 *
 * @module
 */

const WINDOW_S = 10;

/** The budget (see the module doc). */
export class RetryBudget {
  readonly #percent: number;
  readonly #minPerSecond: number;
  readonly #now: () => number;
  readonly #requests = new Array<number>(WINDOW_S).fill(0);
  readonly #retries = new Array<number>(WINDOW_S).fill(0);
  #second = -1;
  /** Retries refused by the budget. */
  refused = 0;

  constructor(percent: number, minPerSecond: number, now: () => number = Date.now) {
    this.#percent = percent;
    this.#minPerSecond = minPerSecond;
    this.#now = now;
  }

  #roll(): number {
    const s = Math.floor(this.#now() / 1000);
    if (this.#second < 0) this.#second = s;
    if (s - this.#second >= WINDOW_S) {
      this.#requests.fill(0);
      this.#retries.fill(0);
    } else {
      for (let t = this.#second + 1; t <= s; t++) {
        this.#requests[t % WINDOW_S] = 0;
        this.#retries[t % WINDOW_S] = 0;
      }
    }
    this.#second = Math.max(this.#second, s);
    return s % WINDOW_S;
  }

  /** A request (first try) started. */
  request(): void {
    const i = this.#roll();
    this.#requests[i] = (this.#requests[i] ?? 0) + 1;
  }

  /** Asks for one retry; counts it when granted. */
  tryRetry(): boolean {
    const i = this.#roll();
    const requests = this.#requests.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    const allowed = this.#minPerSecond * WINDOW_S + (requests * this.#percent) / 100;
    if (retries + 1 > allowed) {
      this.refused++;
      return false;
    }
    this.#retries[i] = (this.#retries[i] ?? 0) + 1;
    return true;
  }
}
