// Private helpers: racing a promise against a timer without leaking the timer or an unhandled rejection.

/** Marker value a timed-out race resolves to. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Resolves to the promise's value, or to {@linkcode TIMED_OUT} after `ms` milliseconds (`ms <= 0` or
 * `Infinity` waits forever). The timer is always cleared. When the race is lost, a later rejection of `promise`
 * is swallowed so it cannot become an unhandled rejection.
 */
export function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  if (!(ms > 0) || ms === Infinity) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).then(
    (value) => {
      clearTimeout(timer);
      if (value === TIMED_OUT) promise.catch(() => {});
      return value;
    },
    (error) => {
      clearTimeout(timer);
      throw error;
    },
  );
}

/** Resolves after `ms` milliseconds or when `signal` aborts, whichever is first; clears its timer either way. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A promise that resolves when `signal` aborts, plus a disposer that detaches the listener. */
export function abortPromise(signal: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  let dispose = (): void => {};
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    dispose = () => signal.removeEventListener("abort", onAbort);
  });
  return { promise, dispose };
}

/** A pending deadline of {@linkcode CoarseDeadlines}. */
export interface Deadline {
  readonly at: number;
  readonly fn: () => void;
  /** The engine's timer when the deadline is short enough to get one of its own. */
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Deadlines for many streams on one ticking timer. Every accepted stream has a read deadline and every writer a
 * stall watchdog; a timer each (a `setTimeout`/`clearTimeout` pair per stream) was 3% of a DoQ server's thread
 * under load, while a set insert and delete is a few nanoseconds. Deadlines of at least ten ticks fire up to
 * one tick late (10% at most); shorter ones get an engine timer of their own, so they stay exact. The tick is
 * unref'd (what waits for a deadline, a read or a write, keeps the process alive by itself) and stops at the
 * first tick with nothing pending: stopping it whenever the set emptied restarted it for nearly every stream
 * of a DoQ server, whose reads finish as fast as they start.
 */
export class CoarseDeadlines {
  readonly #tickMs: number;
  readonly #pending = new Set<Deadline>();
  #ticker: ReturnType<typeof setInterval> | undefined;

  /** `tickMs` is the lateness allowed; deadlines shorter than ten ticks get their own timer. */
  constructor(tickMs = 100) {
    this.#tickMs = tickMs;
  }

  /** Calls `fn` once, `ms` from now (up to one tick late), unless cancelled first. */
  add(ms: number, fn: () => void): Deadline {
    const at = performance.now() + ms;
    if (ms < 10 * this.#tickMs) return { at, fn, timer: setTimeout(fn, ms) };
    const d: Deadline = { at, fn, timer: undefined };
    this.#pending.add(d);
    if (this.#ticker === undefined) {
      this.#ticker = setInterval(() => this.#tick(), this.#tickMs);
      Deno.unrefTimer(this.#ticker);
    }
    return d;
  }

  /** Forgets `d`; it will not fire. Cancelling one that fired or was cancelled does nothing. */
  cancel(d: Deadline): void {
    if (d.timer !== undefined) clearTimeout(d.timer);
    else this.#pending.delete(d);
  }

  /** Whether the tick is running. */
  get ticking(): boolean {
    return this.#ticker !== undefined;
  }

  /** Coarse deadlines not yet fired or cancelled. */
  get pending(): number {
    return this.#pending.size;
  }

  #tick(): void {
    const now = performance.now();
    for (const d of this.#pending) {
      if (d.at > now) continue;
      this.#pending.delete(d);
      try {
        d.fn();
      } catch (error) {
        // One callback's error must not stop the others: report it as an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }
}

/** The process's shared deadlines for stream reads and write watchdogs. */
export const deadlines: CoarseDeadlines = new CoarseDeadlines();
