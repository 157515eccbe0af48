/**
 * {@linkcode Secret}: a holder for secret bytes (private keys, seeds, mnemonics, derived keys) that never shows
 * its content through `toString`, `JSON.stringify`, `console.log` / `Deno.inspect` or Node's `util.inspect`,
 * and that can be wiped.
 *
 * JavaScript cannot guarantee erasure (the engine may have copied the bytes, strings are immutable), so
 * wiping is best effort: we keep secrets in `Uint8Array`s we own and zero them as soon as they are not needed.
 *
 * @module
 */

const REDACTED = "[redacted]";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Secret bytes with redacted printing and explicit wiping.
 *
 * @example
 * ```ts
 * const key = Secret.from(crypto.getRandomValues(new Uint8Array(32)));
 * console.log(`${key}`); // "Secret([redacted])"
 * key.use((bytes) => bytes.length); // 32
 * key.wipe();
 * ```
 */
export class Secret {
  #bytes: Uint8Array;
  #wiped = false;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Takes ownership of `bytes` (no copy): wiping the Secret zeroes them. */
  static from(bytes: Uint8Array): Secret {
    return new Secret(bytes);
  }

  /** Copies `bytes` into a new Secret; the caller keeps (and should wipe) its own buffer. */
  static copy(bytes: Uint8Array): Secret {
    return new Secret(Uint8Array.from(bytes));
  }

  /** UTF-8 encodes `text` (a mnemonic, a passphrase). The string itself cannot be wiped. */
  static fromText(text: string): Secret {
    return new Secret(encoder.encode(text));
  }

  /** Number of secret bytes (0 after wiping). */
  get length(): number {
    return this.#bytes.length;
  }

  /** Whether {@linkcode Secret.wipe} was called. */
  get wiped(): boolean {
    return this.#wiped;
  }

  /**
   * The live bytes, for passing to a crypto function. Do not keep, log or send the returned array.
   * Throws a `TypeError` after wiping.
   */
  expose(): Uint8Array {
    if (this.#wiped) throw new TypeError("Cannot use secret: it was wiped");
    return this.#bytes;
  }

  /** The bytes decoded as UTF-8 (mnemonics). The returned string cannot be wiped: keep it short-lived. */
  exposeText(): string {
    return decoder.decode(this.expose());
  }

  /** Runs `fn` with the live bytes and returns its result. */
  use<T>(fn: (bytes: Uint8Array) => T): T {
    return fn(this.expose());
  }

  /** A new Secret with a copy of the bytes. */
  clone(): Secret {
    return Secret.copy(this.expose());
  }

  /** Constant-time comparison with another secret (lengths are not secret). */
  equals(other: Secret): boolean {
    const a = this.expose();
    const b = other.expose();
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
    return diff === 0;
  }

  /** Zeroes the bytes and makes the Secret unusable. Safe to call twice. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#bytes = new Uint8Array(0);
    this.#wiped = true;
  }

  /** Always `"Secret([redacted])"`. */
  toString(): string {
    return `Secret(${REDACTED})`;
  }

  /** Always `"[redacted]"`, so `JSON.stringify` never leaks the bytes. */
  toJSON(): string {
    return REDACTED;
  }

  /** Deno's `console.log` / `Deno.inspect` hook. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** Node's `util.inspect` hook (used by `node:` modules and npm packages). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Zeroes every given array (ignores `undefined`). */
export function wipeBytes(...arrays: ReadonlyArray<Uint8Array | undefined>): void {
  for (const a of arrays) a?.fill(0);
}
