// Private byte helpers of the frame payload codecs: a growable writer and a bounds-checked reader that throws the
// bridge's decode error (MALFORMED_FRAME) on any overrun, so peer bytes never reach a RangeError.

import { decodeError, StreamErrorCode } from "./errors.ts";

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true });

/** Appends big-endian integers, byte strings and length-prefixed strings. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initial = 64) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len += n;
    return at;
  }

  u8(v: number): this {
    const at = this.#room(1);
    this.#view.setUint8(at, v);
    return this;
  }

  u16(v: number): this {
    const at = this.#room(2);
    this.#view.setUint16(at, v);
    return this;
  }

  u32(v: number): this {
    const at = this.#room(4);
    this.#view.setUint32(at, v);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.#room(b.length); // grows #buf: read it after
    this.#buf.set(b, at);
    return this;
  }

  /** A byte string behind a u8 (size 1) or u16 (size 2) length; throws RangeError when it does not fit. */
  lenBytes(b: Uint8Array, size: 1 | 2, what: string): this {
    const max = size === 1 ? 0xff : 0xffff;
    if (b.length > max) throw new RangeError(`Cannot encode ${what}: length ${b.length} exceeds ${max}`);
    return (size === 1 ? this.u8(b.length) : this.u16(b.length)).bytes(b);
  }

  /** A UTF-8 string behind a u8 or u16 length. */
  str(s: string, size: 1 | 2, what: string): this {
    return this.lenBytes(UTF8.encode(s), size, what);
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Reads a payload; every read checks the remaining length first. */
export class ByteReader {
  readonly #b: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #off = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#b = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  get remaining(): number {
    return this.#b.length - this.#off;
  }

  fail(detail: string): never {
    throw decodeError(StreamErrorCode.MALFORMED_FRAME, `Cannot decode ${this.#what}: ${detail}`);
  }

  #need(n: number, field: string): number {
    if (this.remaining < n) {
      this.fail(`${field} needs ${n} bytes at offset ${this.#off}, ${this.remaining} left`);
    }
    const at = this.#off;
    this.#off += n;
    return at;
  }

  u8(field: string): number {
    return this.#view.getUint8(this.#need(1, field));
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#need(2, field));
  }

  u32(field: string): number {
    return this.#view.getUint32(this.#need(4, field));
  }

  /** `n` bytes as a view (no copy). */
  bytes(n: number, field: string): Uint8Array {
    const at = this.#need(n, field);
    return this.#b.subarray(at, at + n);
  }

  /** The rest of the payload as a view. */
  rest(): Uint8Array {
    const at = this.#off;
    this.#off = this.#b.length;
    return this.#b.subarray(at);
  }

  lenBytes(size: 1 | 2, field: string): Uint8Array {
    const n = size === 1 ? this.u8(field) : this.u16(field);
    return this.bytes(n, field);
  }

  str(size: 1 | 2, field: string): string {
    const raw = this.lenBytes(size, field);
    try {
      return UTF8_STRICT.decode(raw);
    } catch {
      return this.fail(`${field} is not valid UTF-8`);
    }
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}
