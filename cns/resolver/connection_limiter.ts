/**
 * Counts open connections per client address and in total, for the TCP and DoQ listeners (RFC 7766 §6.2.2:
 * servers should limit connections per client and overall). Sans-IO.
 *
 * @module
 */

/** Limits of {@linkcode ConnectionLimiter}. */
export interface ConnectionLimiterOptions {
  /** Open connections allowed in total. */
  readonly maxTotal: number;
  /** Open connections allowed per client address. */
  readonly maxPerClient: number;
}

/** Tracks open connections. */
export class ConnectionLimiter {
  readonly #opts: ConnectionLimiterOptions;
  readonly #perClient = new Map<string, number>();
  #total = 0;

  /** Creates a limiter. */
  constructor(options: ConnectionLimiterOptions) {
    this.#opts = options;
  }

  /** Connections open now. */
  get total(): number {
    return this.#total;
  }

  /** Takes a slot for `client`; false (nothing taken) when a limit is reached. */
  tryAcquire(client: string): boolean {
    const n = this.#perClient.get(client) ?? 0;
    if (this.#total >= this.#opts.maxTotal || n >= this.#opts.maxPerClient) return false;
    this.#perClient.set(client, n + 1);
    this.#total++;
    return true;
  }

  /** Gives back a slot taken by `tryAcquire`. */
  release(client: string): void {
    const n = this.#perClient.get(client) ?? 0;
    if (n <= 0) return;
    if (n === 1) this.#perClient.delete(client);
    else this.#perClient.set(client, n - 1);
    this.#total--;
  }
}
