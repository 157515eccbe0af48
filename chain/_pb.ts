/**
 * A strict, canonical subset of the protobuf wire format (proto3) for GhostChain's consensus data.
 *
 * Why not protobufjs for signed and hashed data: protobuf allows many encodings of one value (any field
 * order, repeated scalars where the last wins, unknown fields, non-minimal varints, explicit default values).
 * A signature or hash over such bytes would let a relay change bytes without changing meaning, and two
 * nodes could disagree on a hash. So consensus objects are written here in exactly one way and the reader
 * refuses every other encoding. The schema is `ghostchain.proto`; tests check that protobufjs, given that
 * schema, decodes our bytes to the same values and re-encodes them byte for byte.
 *
 * Canonical form (consensus-relevant; every writer and reader below keeps it):
 * - fields in ascending field-number order; a repeated field's elements are consecutive;
 * - a non-repeated field appears at most once; unknown field numbers are refused;
 * - varints are minimal (no trailing 0x80 groups); uint32 fields fit 32 bits; bools are 0 or 1;
 * - proto3 defaults are omitted: a zero number, `false`, empty bytes or an empty string is never written,
 *   and the reader refuses one that is (embedded messages and oneof members are written even when empty,
 *   because their presence carries meaning);
 * - strings are valid UTF-8.
 *
 * @module
 */
import { concatBytes, toHex, tryFromHex } from "../core/mod.ts";

/** Concatenates byte arrays (the shared helper). */
export const concat: (...parts: readonly Uint8Array[]) => Uint8Array = concatBytes;
export { toHex };

import { ChainError } from "./errors.ts";

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const utf8Enc = new TextEncoder();
const utf8Dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Appends protobuf fields to a growing buffer. Callers write fields in ascending number order. */
export class PbWriter {
  #buf = new Uint8Array(128);
  #pos = 0;

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  #varint(v: bigint | number): void {
    this.#ensure(10);
    if (typeof v === "number") {
      // Non-negative safe integers only (uint32 fields and lengths).
      while (v > 0x7f) {
        this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
        v = Math.floor(v / 128);
      }
      this.#buf[this.#pos++] = v;
      return;
    }
    while (v > 0x7fn) {
      this.#buf[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#pos++] = Number(v);
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** A uint64 field; omitted when 0. */
  uint64(field: number, v: bigint): this {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new RangeError(`Cannot encode field ${field}: ${v} is not a uint64`);
    }
    if (v !== 0n) {
      this.#tag(field, WIRE_VARINT);
      this.#varint(v);
    }
    return this;
  }

  /** A uint32 field; omitted when 0. */
  uint32(field: number, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new RangeError(`Cannot encode field ${field}: ${v} is not a uint32`);
    }
    if (v !== 0) {
      this.#tag(field, WIRE_VARINT);
      this.#varint(v);
    }
    return this;
  }

  /** A bool field; omitted when false. */
  bool(field: number, v: boolean): this {
    if (v) {
      this.#tag(field, WIRE_VARINT);
      this.#varint(1);
    }
    return this;
  }

  /** A bytes field; omitted when empty unless `always` (repeated elements, oneof members). */
  bytes(field: number, v: Uint8Array, always = false): this {
    if (v.length === 0 && !always) return this;
    this.#tag(field, WIRE_LEN);
    this.#varint(v.length);
    this.#ensure(v.length);
    this.#buf.set(v, this.#pos);
    this.#pos += v.length;
    return this;
  }

  /** A string field; omitted when empty unless `always`. */
  string(field: number, v: string, always = false): this {
    return this.bytes(field, utf8Enc.encode(v), always);
  }

  /** An embedded message (already encoded); always written. */
  message(field: number, encoded: Uint8Array): this {
    return this.bytes(field, encoded, true);
  }

  /** The bytes written so far (a copy-free view). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Raised for any non-canonical or malformed input; maps to gRPC INVALID_ARGUMENT. */
export function malformed(what: string, reason: string): ChainError {
  return new ChainError("INVALID_ARGUMENT", "MALFORMED", `Cannot decode ${what}: ${reason}`);
}

/**
 * Reads a message strictly (see the module doc). Usage:
 * `while (r.next()) switch (r.field) { case 1: x = r.uint64(); break; default: r.unknown(); }`.
 */
export class PbReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  #pos = 0;
  #last = 0;
  #repeat = false;
  #wire = 0;
  /** The current field number (after {@linkcode next}). */
  field = 0;

  /** `what` names the message in errors, e.g. `"transaction"`. */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#what = what;
  }

  #fail(reason: string): ChainError {
    return malformed(this.#what, reason);
  }

  #varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#bytes.length) throw this.#fail("truncated varint");
      const b = this.#bytes[this.#pos++] ?? 0;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        // Minimal: the last byte of a multi-byte varint is never 0.
        if (b === 0 && i > 0) throw this.#fail("non-minimal varint");
        if (result > 0xffff_ffff_ffff_ffffn) throw this.#fail("varint exceeds 64 bits");
        return result;
      }
      shift += 7n;
    }
    throw this.#fail("varint longer than 10 bytes");
  }

  #smallVarint(max: number, what: string): number {
    const v = this.#varint();
    if (v > BigInt(max)) throw this.#fail(`${what} ${v} exceeds ${max}`);
    return Number(v);
  }

  /** Advances to the next field; false at the end. Enforces ascending order. */
  next(): boolean {
    if (this.#pos >= this.#bytes.length) return false;
    const tag = this.#smallVarint(0xffff_ffff, "tag");
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw this.#fail("field number 0");
    if (field < this.#last) throw this.#fail(`field ${field} after field ${this.#last} (fields must ascend)`);
    this.#repeat = field === this.#last;
    this.#last = field;
    this.field = field;
    this.#wire = wire;
    return true;
  }

  #expect(wire: number, repeated: boolean): void {
    if (this.#wire !== wire) {
      throw this.#fail(`field ${this.field} has wire type ${this.#wire}, expected ${wire}`);
    }
    if (this.#repeat && !repeated) throw this.#fail(`field ${this.field} appears twice`);
  }

  /** A uint64 field (must be non-zero: zero is never written). */
  uint64(): bigint {
    this.#expect(WIRE_VARINT, false);
    const v = this.#varint();
    if (v === 0n) throw this.#fail(`field ${this.field} holds an explicit default`);
    return v;
  }

  /** A uint32 field. */
  uint32(): number {
    const v = this.uint64();
    if (v > 0xffff_ffffn) throw this.#fail(`field ${this.field} exceeds uint32`);
    return Number(v);
  }

  /** A uint64 field that must fit a safe integer (heights, counts). */
  safeInt(): number {
    const v = this.uint64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.#fail(`field ${this.field} exceeds 2^53 - 1`);
    return Number(v);
  }

  /** A bool field (only `true` is ever written). */
  bool(): boolean {
    const v = this.uint64();
    if (v !== 1n) throw this.#fail(`field ${this.field} is not a bool`);
    return true;
  }

  /**
   * A bytes field of at most `max` bytes (checked before slicing). `repeated` allows consecutive elements
   * and empty ones; a singular field must be non-empty (empty is never written).
   */
  bytes(max: number, repeated = false, allowEmpty = repeated): Uint8Array {
    this.#expect(WIRE_LEN, repeated);
    const len = this.#smallVarint(Number.MAX_SAFE_INTEGER, "length");
    if (len > max) throw this.#fail(`field ${this.field} length ${len} exceeds ${max}`);
    if (this.#pos + len > this.#bytes.length) throw this.#fail(`field ${this.field} truncated`);
    if (len === 0 && !allowEmpty) throw this.#fail(`field ${this.field} holds an explicit default`);
    const out = this.#bytes.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  /** A fixed-length bytes field. */
  fixed(len: number): Uint8Array {
    const b = this.bytes(len);
    if (b.length !== len) throw this.#fail(`field ${this.field} is ${b.length} bytes, expected ${len}`);
    return b;
  }

  /** An embedded message's bytes (may be empty). */
  message(max: number, repeated = false): Uint8Array {
    return this.bytes(max, repeated, true);
  }

  /** A UTF-8 string of at most `max` bytes. */
  string(max: number, repeated = false): string {
    const b = this.bytes(max, repeated);
    try {
      return utf8Dec.decode(b);
    } catch {
      throw this.#fail(`field ${this.field} is not valid UTF-8`);
    }
  }

  /** Skips the current field (readers of responses that do not need every field; not for consensus data). */
  skip(): void {
    if (this.#wire === WIRE_VARINT) this.#varint();
    else if (this.#wire === WIRE_LEN) this.bytes(Number.MAX_SAFE_INTEGER, true, true);
    else throw this.#fail(`field ${this.field} has unsupported wire type ${this.#wire}`);
  }

  /** Refuses the current field as unknown. */
  unknown(): never {
    throw this.#fail(`unknown field ${this.field}`);
  }
}

/** Parses lower- or upper-case hex; throws TypeError naming `what`. */
export function fromHex(s: string, what = "hex"): Uint8Array {
  const out = tryFromHex(s);
  if (out === undefined) throw new TypeError(`Invalid ${what}: not hex`);
  return out;
}

/** Byte equality and lexicographic order: core's, under the names chain/ uses. */
export { compareBytes, equalBytes as bytesEqual } from "../core/mod.ts";

/** UTF-8 encode. */
export function utf8(s: string): Uint8Array {
  return utf8Enc.encode(s);
}
