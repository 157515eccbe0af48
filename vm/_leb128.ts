// Private: a bounds-checked byte reader for the WebAssembly binary format (LEB128 integers, vectors, names)
// and the matching writer. Every read checks the remaining length first; errors are WasmDecodeError.

import { WasmDecodeError } from "./errors.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a WebAssembly binary front to back. `end` bounds every read (a section's or a body's end). */
export class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(code: "TRUNCATED" | "BAD_LEB128" | "BAD_VALUE" | "BAD_UTF8", what: string): never {
    throw new WasmDecodeError(code, this.pos, `Cannot decode wasm module: ${what} at offset ${this.pos}`);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail("TRUNCATED", "input ends");
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128, at most 5 bytes, value < 2^32 (binary format §5.2.2). */
  u32(): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      if (i === 4 && b > 0x0f) this.fail("BAD_LEB128", "u32 out of range");
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return result;
    }
    return this.fail("BAD_LEB128", "u32 longer than 5 bytes");
  }

  /** Signed LEB128 for i32, at most 5 bytes; the unused bits of the last byte must extend the sign. */
  s32(): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      if (i === 4) {
        if ((b & 0x80) !== 0) this.fail("BAD_LEB128", "s32 longer than 5 bytes");
        const high = b & 0x78;
        if (high !== 0 && high !== 0x78) this.fail("BAD_LEB128", "s32 out of range");
        return (result | (b << 28)) | 0;
      }
      result |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) {
        const shift = 7 * (i + 1);
        return shift < 32 && (b & 0x40) !== 0 ? result | (-1 << shift) : result | 0;
      }
    }
    return this.fail("BAD_LEB128", "s32 longer than 5 bytes");
  }

  /** Signed LEB128 for i64, at most 10 bytes. Returns the value as a bigint. */
  s64(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      if (i === 9) {
        if ((b & 0x80) !== 0) this.fail("BAD_LEB128", "s64 longer than 10 bytes");
        const rest = b & 0x7f;
        if (rest !== 0 && rest !== 0x7f) this.fail("BAD_LEB128", "s64 out of range");
        return BigInt.asIntN(64, result | (BigInt(b & 1) << 63n));
      }
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        const shift = BigInt(7 * (i + 1));
        return BigInt.asIntN(64, (b & 0x40) !== 0 ? result | (-1n << shift) : result);
      }
    }
    return this.fail("BAD_LEB128", "s64 longer than 10 bytes");
  }

  take(n: number): Uint8Array {
    if (n > this.remaining) this.fail("TRUNCATED", `input ends inside ${n} bytes`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A vector length, checked against `max` and against the bytes left (each element takes >= `minBytes`). */
  count(max: number, minBytes: number, what: string, onLimit: (n: number) => never): number {
    const n = this.u32();
    if (n > max) onLimit(n);
    if (n * minBytes > this.remaining) this.fail("TRUNCATED", `${what} count ${n} exceeds the bytes left`);
    return n;
  }

  name(maxBytes: number): string {
    const len = this.u32();
    if (len > maxBytes) this.fail("BAD_VALUE", `name of ${len} bytes exceeds ${maxBytes}`);
    const raw = this.take(len);
    try {
      return UTF8.decode(raw);
    } catch {
      return this.fail("BAD_UTF8", "name is not UTF-8");
    }
  }
}

/** Appends bytes to a growable buffer. */
export class Writer {
  #buf = new Uint8Array(256);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  byte(b: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  u32(v: number): this {
    let n = v >>> 0;
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
    return this;
  }

  s32(v: number): this {
    let n = v | 0;
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  s64(v: bigint): this {
    let n = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u32(b.length).bytes(b);
  }

  /** Writes a section: id, u32 size, then the payload produced by `body`. */
  section(id: number, body: (w: Writer) => void): this {
    const inner = new Writer();
    body(inner);
    return this.byte(id).u32(inner.length).bytes(inner.finish());
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
