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
