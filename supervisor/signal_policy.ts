/**
 * What a shutdown signal means, decided without IO: the first starts a drain; a copy of it that arrives within
 * the echo window is the same keypress (a terminal's Ctrl-C reaches every process of its foreground group, so
 * `deno task start` and the supervisor under it both get one, and `deno task` forwards its own too) and is
 * ignored; a signal after the window is the user insisting, and exits at once.
 *
 * @module
 */

/** What to do with one signal. */
export type SignalAction = "drain" | "ignore" | "force";

/** How long after the first signal another one counts as the same keypress. */
export const SIGNAL_ECHO_WINDOW_MS = 1_000;

/** Decides each shutdown signal from its arrival time (ms). */
export class SignalPolicy {
  #first: number | undefined;
  readonly #windowMs: number;

  /** `windowMs`: see {@linkcode SIGNAL_ECHO_WINDOW_MS}. */
  constructor(windowMs: number = SIGNAL_ECHO_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** The action for a signal arriving at `now`. */
  /** Whether a first signal came (a drain is under way or done). */
  get signalled(): boolean {
    return this.#first !== undefined;
  }

  onSignal(now: number): SignalAction {
    if (this.#first === undefined) {
      this.#first = now;
      return "drain";
    }
    return now - this.#first <= this.#windowMs ? "ignore" : "force";
  }
}
