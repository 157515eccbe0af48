/**
 * Waiting for SIGIO: the wake-up of FFI file descriptors made `O_ASYNC` (the kernel raises SIGIO for this
 * process when data arrives on them). Used by cns's batched UDP listener and ghostlink's TUN interface: they
 * arm `O_ASYNC` only while asleep, read once more (data queued before arming raises no signal), then wait here.
 * A lost signal costs at most the timeout. Signals carry no fd, so every waiter wakes and checks its own.
 *
 * @module
 */

/** A SIGIO listener and one sleeper (see the module doc). */
export class SigioWaiter {
  #pending = false;
  #wake: (() => void) | undefined;
  readonly #listener = (): void => this.wake();

  /** Listens for SIGIO from now on (before any descriptor is armed, so none finds the process unprepared). */
  constructor() {
    Deno.addSignalListener("SIGIO", this.#listener);
  }

  /** Whether a signal (or wake()) came since the last clear(). */
  get pending(): boolean {
    return this.#pending;
  }

  /** Forgets earlier signals: call before a read that may find nothing. */
  clear(): void {
    this.#pending = false;
  }

  /** Resolves at the next signal or wake(), at once if one is pending, or after `timeoutMs`. */
  wait(timeoutMs = 250): Promise<void> {
    if (this.#pending) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#wake = done;
    });
  }

  /** Marks a signal and wakes the sleeper (also how a closing owner ends a wait). */
  wake(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** Stops listening. */
  close(): void {
    Deno.removeSignalListener("SIGIO", this.#listener);
  }
}
