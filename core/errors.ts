/**
 * Helpers shared by every error class of the project. Each protocol or service keeps its own error class with a
 * `code` from its spec's registry; these only carry what is common.
 *
 * @module
 */

/** Options every error class of the project takes. */
export interface ErrorOptions {
  /** The underlying error, if any. It must not carry secrets. */
  readonly cause?: unknown;
}

/** The `cause` option for `super(message, ...)`, or `undefined` when there is none. */
export function causeOf(options: ErrorOptions): { cause: unknown } | undefined {
  return options.cause === undefined ? undefined : { cause: options.cause };
}

/** The message of any thrown value, for logs and replies (never its stack). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
