/**
 * HPACK (RFC 7541): header field compression for HTTP/2. Pure and synchronous: an {@linkcode HpackEncoder} and an
 * {@linkcode HpackDecoder}, each with its own dynamic table, both bounded.
 *
 * The decoder is where a peer attacks (the "HPACK bomb"): it bounds the decoded header list (RFC 7541 §4.1 size:
 * name + value + 32 per field) by `maxHeaderListSize`, each string by that too before allocating, the dynamic table
 * by the size this side advertised, and it accepts a dynamic table size update only at the start of a block
 * (§4.2). Any violation is an {@linkcode HpackError}, which HTTP/2 turns into a COMPRESSION_ERROR.
 *
 * @module
 */
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from "./hpack_huffman.ts";

import type { HeaderField } from "../http/fields.ts";

/** A header field: lowercase name and value, as strings (ISO-8859-1 bytes kept one to one). */
export type { HeaderField };

/** A header block could not be decoded (HTTP/2 COMPRESSION_ERROR). */
export class HpackError extends SyntaxError {
  /** Creates an error naming the rule broken. */
  constructor(message: string) {
    super(message);
    this.name = "HpackError";
  }
}

/** RFC 7541 Appendix A. Index 1 is the first entry. */
export const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/** The dynamic table (RFC 7541 §2.3.2): newest first, evicting the oldest to stay within its size. */
export class DynamicTable {
  #entries: HeaderField[] = [];
  #size = 0;
  #maxSize: number;

  /** `maxSize`: the current limit in RFC 7541 §4.1 units. */
  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** Current size. */
  get size(): number {
    return this.#size;
  }

  /** Current limit. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** Entries, newest first. */
  get length(): number {
    return this.#entries.length;
  }

  /** The entry at dynamic index `i` (0 = newest). */
  at(i: number): HeaderField | undefined {
    return this.#entries[i];
  }

  /** Changes the limit, evicting as needed (§4.3). */
  resize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evict(0);
  }

  /** Adds an entry (§4.4): evicts first; an entry larger than the table empties it and is not added. */
  add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.#evict(size);
    if (size <= this.#maxSize) {
      this.#entries.unshift([name, value]);
      this.#size += size;
    }
  }

  /** Index of an exact match, or of a name match, in the dynamic table (0-based), for the encoder. */
  find(name: string, value: string): { index: number; exact: boolean } | undefined {
    let nameOnly: number | undefined;
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries[i];
      if (e === undefined || e[0] !== name) continue;
      if (e[1] === value) return { index: i, exact: true };
      nameOnly ??= i;
    }
    return nameOnly === undefined ? undefined : { index: nameOnly, exact: false };
  }

  #evict(incoming: number): void {
    while (this.#entries.length > 0 && this.#size + incoming > this.#maxSize) {
      const e = this.#entries.pop();
      if (e !== undefined) this.#size -= entrySize(e[0], e[1]);
    }
    if (this.#entries.length === 0) this.#size = 0;
  }
}

// ---- primitives (§5.1, §5.2) ----

/** Encodes an integer with an N-bit prefix; `first` holds the pattern bits above the prefix. */
export function encodeInteger(value: number, prefixBits: number, first: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Decodes an integer with an N-bit prefix at `offset`; returns `[value, next]`. Bounded to 2^31 - 1. */
export function decodeInteger(bytes: Uint8Array, offset: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1;
  const b0 = bytes[offset];
  if (b0 === undefined) throw new HpackError("Cannot decode integer: truncated");
  let value = b0 & max;
  let at = offset + 1;
  if (value < max) return [value, at];
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    if (b === undefined) throw new HpackError("Cannot decode integer: truncated");
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0x7fffffff) throw new HpackError("Cannot decode integer: larger than 2^31-1");
    if ((b & 0x80) === 0) return [value, at];
    if (shift > 28) throw new HpackError("Cannot decode integer: too many continuation bytes");
  }
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function latin1String(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

function encodeString(s: string, huffman: boolean, out: number[]): void {
  const raw = latin1Bytes(s);
  if (huffman && huffmanEncodedLength(raw) <= raw.length) {
    const h = huffmanEncode(raw);
    encodeInteger(h.length, 7, 0x80, out);
    for (const b of h) out.push(b);
  } else {
    encodeInteger(raw.length, 7, 0, out);
    for (const b of raw) out.push(b);
  }
}

function decodeString(bytes: Uint8Array, offset: number, maxLength: number): [string, number] {
  const b0 = bytes[offset];
  if (b0 === undefined) throw new HpackError("Cannot decode string: truncated");
  const [len, at] = decodeInteger(bytes, offset, 7);
  // Checked before allocating: a peer cannot make us hold more than the header list limit.
  if (len > bytes.length - at) throw new HpackError("Cannot decode string: truncated");
  const raw = bytes.subarray(at, at + len);
  if ((b0 & 0x80) !== 0) {
    try {
      return [latin1String(huffmanDecode(raw, maxLength)), at + len];
    } catch (error) {
      throw new HpackError(error instanceof Error ? error.message : String(error));
    }
  }
  if (len > maxLength) throw new HpackError(`Cannot decode string: ${len} bytes exceeds ${maxLength}`);
  return [latin1String(raw), at + len];
}

// ---- decoder ----

/** Options of {@linkcode HpackDecoder}. */
export interface HpackDecoderOptions {
  /** SETTINGS_HEADER_TABLE_SIZE this side advertises (the most the peer may use). Default 4096. */
  readonly maxTableSize?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: bound on a decoded block (§4.1 units). Default 64 KiB. */
  readonly maxHeaderListSize?: number;
}

/** Decodes header blocks (one per HEADERS + CONTINUATION sequence), keeping the peer's dynamic table. */
export class HpackDecoder {
  readonly #table: DynamicTable;
  #limit: number;
  readonly #maxList: number;

  /** Creates a decoder with an empty dynamic table. */
  constructor(options: HpackDecoderOptions = {}) {
    this.#limit = options.maxTableSize ?? 4096;
    this.#table = new DynamicTable(this.#limit);
    this.#maxList = options.maxHeaderListSize ?? 64 * 1024;
  }

  /** The dynamic table (for tests and metrics). */
  get table(): DynamicTable {
    return this.#table;
  }

  /** Lowers or raises the table size this side allows (after our SETTINGS are acknowledged). */
  setMaxTableSize(size: number): void {
    this.#limit = size;
    if (this.#table.maxSize > size) this.#table.resize(size);
  }

  /** Decodes one complete header block. Throws {@linkcode HpackError}; the connection must then close. */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    let listSize = 0;
    let at = 0;
    let fieldsSeen = false;
    const lookup = (index: number): HeaderField => {
      if (index === 0) throw new HpackError("Cannot decode header block: index 0");
      if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as HeaderField;
      const e = this.#table.at(index - STATIC_TABLE.length - 1);
      if (e === undefined) throw new HpackError(`Cannot decode header block: index ${index} out of range`);
      return e;
    };
    const emit = (name: string, value: string): void => {
      listSize += entrySize(name, value);
      if (listSize > this.#maxList) {
        throw new HpackError(`Cannot decode header block: header list exceeds ${this.#maxList}`);
      }
      fields.push([name, value]);
    };
    while (at < block.length) {
      const b = block[at] ?? 0;
      if ((b & 0x80) !== 0) {
        // §6.1 indexed header field
        const [index, next] = decodeInteger(block, at, 7);
        at = next;
        const [n, v] = lookup(index);
        emit(n, v);
        fieldsSeen = true;
      } else if ((b & 0x40) !== 0 || (b & 0xf0) === 0 || (b & 0xf0) === 0x10) {
        // §6.2.1 with incremental indexing (6-bit prefix); §6.2.2 without / §6.2.3 never indexed (4-bit)
        const indexing = (b & 0x40) !== 0;
        const [index, next] = decodeInteger(block, at, indexing ? 6 : 4);
        at = next;
        let name: string;
        if (index === 0) [name, at] = decodeString(block, at, this.#maxList);
        else name = lookup(index)[0];
        let value: string;
        [value, at] = decodeString(block, at, this.#maxList);
        emit(name, value);
        if (indexing) this.#table.add(name, value);
        fieldsSeen = true;
      } else {
        // §6.3 dynamic table size update: only at the start of a block, never above our limit.
        if (fieldsSeen) throw new HpackError("Cannot decode header block: table size update after a field");
        const [size, next] = decodeInteger(block, at, 5);
        at = next;
        if (size > this.#limit) {
          throw new HpackError(`Cannot decode header block: table size ${size} exceeds ${this.#limit}`);
        }
        this.#table.resize(size);
      }
    }
    return fields;
  }
}

// ---- encoder ----

/** Options of {@linkcode HpackEncoder}. */
export interface HpackEncoderOptions {
  /** The dynamic table size to use (at most the peer's SETTINGS_HEADER_TABLE_SIZE). Default 4096. */
  readonly maxTableSize?: number;
  /** Huffman-code strings unless that is longer (RFC 7541 C.6 codes equal lengths too). Default true. */
  readonly huffman?: boolean;
  /**
   * How a field not found whole in a table is sent: added to the table (`index`), not added (`no`), or marked never
   * to be indexed by intermediaries (`never`, RFC 7541 §7.1.3). Default: secrets `never`; paths, lengths, dates and
   * other per-request values `no`; fields over half the table `no`; the rest `index`.
   */
  readonly indexing?: (name: string, value: string) => "index" | "no" | "never";
}

/** Headers never added to a table: secrets (RFC 7541 §7.1.3) and values that change on every request. */
const NEVER_INDEXED = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
const NOT_INDEXED = new Set([":path", "content-length", "date", "etag", "grpc-timeout", "grpc-message"]);

/** Encodes header blocks, keeping this side's dynamic table (which the peer's decoder mirrors). */
export class HpackEncoder {
  readonly #table: DynamicTable;
  readonly #huffman: boolean;
  readonly #indexing: (name: string, value: string) => "index" | "no" | "never";
  #pendingSizeUpdate: number | undefined;

  /** Creates an encoder with an empty dynamic table. */
  constructor(options: HpackEncoderOptions = {}) {
    this.#table = new DynamicTable(options.maxTableSize ?? 4096);
    this.#huffman = options.huffman ?? true;
    this.#indexing = options.indexing ??
      ((name, value) =>
        NEVER_INDEXED.has(name)
          ? "never"
          : NOT_INDEXED.has(name) || entrySize(name, value) > this.#table.maxSize / 2
          ? "no"
          : "index");
  }

  /** The dynamic table (for tests). */
  get table(): DynamicTable {
    return this.#table;
  }

  /** Uses a new table size (the peer's SETTINGS_HEADER_TABLE_SIZE, or less); signalled in the next block. */
  setMaxTableSize(size: number): void {
    this.#table.resize(size);
    this.#pendingSizeUpdate = size;
  }

  /** Encodes one header block. Names must be lowercase (HTTP/2 requires it; this does not change them). */
  encode(fields: readonly HeaderField[]): Uint8Array {
    const out: number[] = [];
    if (this.#pendingSizeUpdate !== undefined) {
      encodeInteger(this.#pendingSizeUpdate, 5, 0x20, out);
      this.#pendingSizeUpdate = undefined;
    }
    for (const [name, value] of fields) this.#field(name, value, out);
    return Uint8Array.from(out);
  }

  #field(name: string, value: string, out: number[]): void {
    let staticName = 0;
    for (let i = 0; i < STATIC_TABLE.length; i++) {
      const e = STATIC_TABLE[i] as HeaderField;
      if (e[0] !== name) continue;
      if (e[1] === value) {
        encodeInteger(i + 1, 7, 0x80, out);
        return;
      }
      if (staticName === 0) staticName = i + 1;
    }
    const dyn = this.#table.find(name, value);
    if (dyn?.exact === true) {
      encodeInteger(STATIC_TABLE.length + 1 + dyn.index, 7, 0x80, out);
      return;
    }
    const nameIndex = staticName !== 0
      ? staticName
      : dyn !== undefined
      ? STATIC_TABLE.length + 1 + dyn.index
      : 0;
    const how = this.#indexing(name, value);
    if (how === "never") {
      encodeInteger(nameIndex, 4, 0x10, out);
    } else if (how === "no") {
      encodeInteger(nameIndex, 4, 0x00, out);
    } else {
      encodeInteger(nameIndex, 6, 0x40, out);
      this.#table.add(name, value);
    }
    if (nameIndex === 0) encodeString(name, this.#huffman, out);
    encodeString(value, this.#huffman, out);
  }
}
