/**
 * The few pieces of the Solidity ABI the ENS resolver needs: call data for `f(bytes32)` and
 * `f(bytes32,string)`, and strict decoders for an `address`, a `uint256` that must fit 64 bits, and dynamic
 * `bytes` / `string` results. JSON-RPC results are peer bytes: every offset and length is checked against the
 * data and a caller's bound before anything is copied. Pure.
 *
 * @module
 */
import { keccak256 } from "../../crypto/mod.ts";

/** A malformed ABI result. */
export class AbiDecodeError extends SyntaxError {
  /** Builds the error; `message` says what was wrong. */
  constructor(message: string) {
    super(`Cannot decode ABI result: ${message}`);
    this.name = "AbiDecodeError";
  }
}

const enc = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The 4-byte function selector of a signature such as `addr(bytes32)`. */
export function selector(signature: string): Uint8Array {
  return keccak256(enc.encode(signature)).slice(0, 4);
}

function word(n: number): Uint8Array {
  const w = new Uint8Array(32);
  new DataView(w.buffer).setBigUint64(24, BigInt(n));
  return w;
}

/** Call data of `signature` with one `bytes32` argument, or `bytes32` then a `string`. */
export function encodeCall(signature: string, node: Uint8Array, text?: string): Uint8Array {
  if (node.length !== 32) throw new RangeError(`Cannot encode call: node is ${node.length} bytes, not 32`);
  const parts = [selector(signature), node];
  if (text !== undefined) {
    const bytes = enc.encode(text);
    const padded = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
    padded.set(bytes);
    parts.push(word(64), word(bytes.length), padded);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function readWord(data: Uint8Array, offset: number): Uint8Array {
  if (offset < 0 || offset + 32 > data.length) {
    throw new AbiDecodeError(`word at ${offset} is outside ${data.length} bytes`);
  }
  return data.subarray(offset, offset + 32);
}

/** A word as a number, refusing values above 2^32 (offsets and lengths). */
function readSmall(data: Uint8Array, offset: number): number {
  const w = readWord(data, offset);
  for (let i = 0; i < 28; i++) {
    if (w[i] !== 0) throw new AbiDecodeError(`integer at ${offset} is too large`);
  }
  return new DataView(w.buffer, w.byteOffset + 28, 4).getUint32(0);
}

/** An `address` result (20 bytes; the 12 leading bytes must be zero). */
export function decodeAddress(data: Uint8Array): Uint8Array {
  const w = readWord(data, 0);
  for (let i = 0; i < 12; i++) if (w[i] !== 0) throw new AbiDecodeError("address word has high bytes set");
  return w.slice(12);
}

/** A `uint` result that must fit in 64 bits (e.g. an ENS TTL). */
export function decodeUint64(data: Uint8Array): bigint {
  const w = readWord(data, 0);
  for (let i = 0; i < 24; i++) if (w[i] !== 0) throw new AbiDecodeError("integer does not fit 64 bits");
  return new DataView(w.buffer, w.byteOffset + 24, 8).getBigUint64(0);
}

/** A dynamic `bytes` result of at most `maxBytes`. */
export function decodeBytes(data: Uint8Array, maxBytes: number): Uint8Array {
  const offset = readSmall(data, 0);
  const length = readSmall(data, offset);
  if (length > maxBytes) throw new AbiDecodeError(`length ${length} exceeds ${maxBytes}`);
  const start = offset + 32;
  if (start + length > data.length) {
    throw new AbiDecodeError(`bytes of ${length} at ${start} exceed ${data.length}`);
  }
  return data.slice(start, start + length);
}

/** A `string` result (strict UTF-8) of at most `maxBytes`. */
export function decodeString(data: Uint8Array, maxBytes: number): string {
  const bytes = decodeBytes(data, maxBytes);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AbiDecodeError("string is not UTF-8");
  }
}

/** `0x`-prefixed hex (even length) to bytes, at most `maxBytes`; anything else is an error. */
export function hexToBytes(hex: unknown, maxBytes: number): Uint8Array {
  if (typeof hex !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new AbiDecodeError("result is not 0x-hex");
  }
  if ((hex.length - 2) / 2 > maxBytes) {
    throw new AbiDecodeError(`result of ${(hex.length - 2) / 2} bytes exceeds ${maxBytes}`);
  }
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

/** Bytes as `0x`-prefixed lowercase hex. */
export function bytesToHex(b: Uint8Array): string {
  return "0x" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
