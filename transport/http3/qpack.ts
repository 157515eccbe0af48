/**
 * QPACK (RFC 9204) with the static table only: field sections that never reference a dynamic table (what an
 * endpoint sends before the peer's SETTINGS, or to a peer that allows no table, and error responses), plus the
 * string and integer primitives `qpack_dynamic.ts` builds the dynamic table on. Pure.
 *
 * The decoder bounds the decoded field section (name + value + 32 per field, RFC 9114 §4.2.2
 * SETTINGS_MAX_FIELD_SECTION_SIZE) and each string before allocating; any violation is a {@linkcode QpackError}
 * with QPACK_DECOMPRESSION_FAILED, which HTTP/3 treats as a connection error.
 *
 * @module
 */
import { decodeInteger, encodeInteger, type HeaderField } from "../http2/hpack.ts";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from "../http2/hpack_huffman.ts";
import { QPACK_STATIC_TABLE } from "./qpack_static_table.ts";

export type { HeaderField };

/** QPACK error codes (RFC 9204 §6). */
export const QpackErrorCode = {
  QPACK_DECOMPRESSION_FAILED: 0x200,
  QPACK_ENCODER_STREAM_ERROR: 0x201,
  QPACK_DECODER_STREAM_ERROR: 0x202,
} as const;

/** A field section that cannot be decoded. */
export class QpackError extends SyntaxError {
  /** RFC 9204 §6 code. */
  readonly code: number;
  /** Creates an error naming the rule broken. */
  constructor(message: string, code: number = QpackErrorCode.QPACK_DECOMPRESSION_FAILED) {
    super(message);
    this.name = "QpackError";
    this.code = code;
  }
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function text(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/** A string literal whose length integer has a `prefixBits` prefix and the H flag just above it. @internal */
export function encodeString(
  s: string,
  prefixBits: number,
  first: number,
  huffman: boolean,
  out: number[],
): void {
  const raw = latin1(s);
  const h = 1 << prefixBits;
  if (huffman && huffmanEncodedLength(raw) <= raw.length) {
    const coded = huffmanEncode(raw);
    encodeInteger(coded.length, prefixBits, first | h, out);
    for (const b of coded) out.push(b);
  } else {
    encodeInteger(raw.length, prefixBits, first, out);
    for (const b of raw) out.push(b);
  }
}

/** A string literal at `at` (H flag above a `prefixBits` length prefix), at most `max` bytes decoded. @internal */
export function decodeString(
  bytes: Uint8Array,
  at: number,
  prefixBits: number,
  max: number,
): [string, number] {
  const b0 = bytes[at];
  if (b0 === undefined) throw new QpackError("Cannot decode field section: string truncated");
  const huffman = (b0 & (1 << prefixBits)) !== 0;
  const [len, next] = integer(bytes, at, prefixBits);
  if (len > bytes.length - next) throw new QpackError("Cannot decode field section: string truncated");
  const raw = bytes.subarray(next, next + len);
  if (!huffman) {
    if (len > max) throw new QpackError(`Cannot decode field section: string of ${len} bytes exceeds ${max}`);
    return [text(raw), next + len];
  }
  try {
    return [text(huffmanDecode(raw, max)), next + len];
  } catch (error) {
    throw new QpackError(error instanceof Error ? error.message : String(error));
  }
}

/** A prefixed integer (RFC 7541 §5.1) as a QpackError on failure. @internal */
export function integer(bytes: Uint8Array, at: number, prefixBits: number): [number, number] {
  try {
    return decodeInteger(bytes, at, prefixBits);
  } catch (error) {
    throw new QpackError(error instanceof Error ? error.message : String(error));
  }
}

/** Fields never to be indexed by an intermediary (RFC 9204 §7.1.3): the N bit. */
export const SENSITIVE: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
]);

/** Options of {@linkcode encodeFieldSection}. */
export interface QpackEncodeOptions {
  /** Huffman-code strings unless that is longer. Default true. */
  readonly huffman?: boolean;
}

/** Encodes a field section with the static table only (Required Insert Count 0, Base 0). */
export function encodeFieldSection(
  fields: readonly HeaderField[],
  options: QpackEncodeOptions = {},
): Uint8Array {
  const huffman = options.huffman ?? true;
  // §4.5.1: Required Insert Count 0 (8-bit prefix), then S = 0 and Delta Base 0 (7-bit prefix).
  const out: number[] = [0x00, 0x00];
  for (const [name, value] of fields) {
    let nameIndex = -1;
    let exact = -1;
    for (let i = 0; i < QPACK_STATIC_TABLE.length; i++) {
      const e = QPACK_STATIC_TABLE[i] as HeaderField;
      if (e[0] !== name) continue;
      if (e[1] === value) {
        exact = i;
        break;
      }
      if (nameIndex < 0) nameIndex = i;
    }
    const never = SENSITIVE.has(name) ? 0x20 : 0;
    if (exact >= 0 && never === 0) {
      // §4.5.2 Indexed Field Line, T = 1 (static): 1 1 index(6).
      encodeInteger(exact, 6, 0xc0, out);
    } else if (nameIndex >= 0 || exact >= 0) {
      // §4.5.4 Literal Field Line with Name Reference, T = 1: 0 1 N 1 index(4), then the value (H, 7-bit length).
      encodeInteger(exact >= 0 ? exact : nameIndex, 4, 0x50 | never, out);
      encodeString(value, 7, 0x00, huffman, out);
    } else {
      // §4.5.6 Literal Field Line with Literal Name: 0 0 1 N H namelen(3), name, then the value.
      encodeString(name, 3, 0x20 | (never ? 0x10 : 0), huffman, out);
      encodeString(value, 7, 0x00, huffman, out);
    }
  }
  return Uint8Array.from(out);
}

/** Options of {@linkcode decodeFieldSection}. */
export interface QpackDecodeOptions {
  /** SETTINGS_MAX_FIELD_SECTION_SIZE this side advertised: bound on the decoded section. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
}

/**
 * Decodes a field section. With no dynamic table (capacity 0), a Required Insert Count above 0, a dynamic or
 * post-base reference, is QPACK_DECOMPRESSION_FAILED (RFC 9204 §2.2.1, §4.5.1.1).
 */
export function decodeFieldSection(bytes: Uint8Array, options: QpackDecodeOptions = {}): HeaderField[] {
  const max = options.maxFieldSectionSize ?? 64 * 1024;
  const [ric, afterRic] = integer(bytes, 0, 8);
  if (ric !== 0) {
    throw new QpackError(`Cannot decode field section: Required Insert Count ${ric} with no dynamic table`);
  }
  if (bytes[afterRic] === undefined) throw new QpackError("Cannot decode field section: prefix truncated");
  let [, at] = integer(bytes, afterRic, 7); // Delta Base: meaningless without dynamic references
  const fields: HeaderField[] = [];
  let size = 0;
  const emit = (name: string, value: string): void => {
    size += name.length + value.length + 32;
    if (size > max) throw new QpackError(`Cannot decode field section: larger than ${max}`);
    fields.push([name, value]);
  };
  const staticEntry = (index: number): HeaderField => {
    const e = QPACK_STATIC_TABLE[index];
    if (e === undefined) {
      throw new QpackError(`Cannot decode field section: static index ${index} out of range`);
    }
    return e;
  };
  while (at < bytes.length) {
    const b = bytes[at] ?? 0;
    if ((b & 0x80) !== 0) {
      // Indexed Field Line: 1 T index(6).
      if ((b & 0x40) === 0) throw new QpackError("Cannot decode field section: dynamic table reference");
      const [index, next] = integer(bytes, at, 6);
      at = next;
      const [n, v] = staticEntry(index);
      emit(n, v);
    } else if ((b & 0x40) !== 0) {
      // Literal Field Line with Name Reference: 0 1 N T index(4).
      if ((b & 0x10) === 0) throw new QpackError("Cannot decode field section: dynamic table reference");
      const [index, next] = integer(bytes, at, 4);
      const [value, after] = decodeString(bytes, next, 7, max);
      at = after;
      emit(staticEntry(index)[0], value);
    } else if ((b & 0x20) !== 0) {
      // Literal Field Line with Literal Name: 0 0 1 N H namelen(3).
      const [name, next] = decodeString(bytes, at, 3, max);
      const [value, after] = decodeString(bytes, next, 7, max);
      at = after;
      // An uppercase or empty name decodes fine; it makes the message malformed (RFC 9114 §4.2), a stream
      // error the field rules report, not a decompression failure that would end the connection.
      emit(name, value);
    } else {
      // 0001xxxx Indexed Field Line with Post-Base Index, 0000xxxx Literal with Post-Base Name Reference.
      throw new QpackError("Cannot decode field section: post-base (dynamic table) reference");
    }
  }
  return fields;
}
