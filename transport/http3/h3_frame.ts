/**
 * HTTP/3 frames (RFC 9114 §7): types, error codes, the rules of which frame may appear on which stream, and the
 * SETTINGS and GOAWAY payloads. Built on `transport/`'s varint frames (`varintFrameFormat`,
 * `encodeVarintFrame`). Pure.
 *
 * @module
 */
import {
  decodeVarint,
  decodeVarintBigInt,
  encodeVarint,
  encodeVarintFrame,
  FrameDecoder,
  type VarintFrame,
  varintFrameFormat,
  varintLength,
} from "../mod.ts";

/** Frame types (RFC 9114 §7.2, §11.2.1). */
export const H3FrameType = {
  DATA: 0x00n,
  HEADERS: 0x01n,
  CANCEL_PUSH: 0x03n,
  SETTINGS: 0x04n,
  PUSH_PROMISE: 0x05n,
  GOAWAY: 0x07n,
  MAX_PUSH_ID: 0x0dn,
} as const;

/** HTTP/2 frame types that must not appear in HTTP/3 (RFC 9114 §7.2.8): H3_FRAME_UNEXPECTED. */
const HTTP2_ONLY = new Set([0x02n, 0x06n, 0x08n, 0x09n]);

/** Error codes (RFC 9114 §8.1). */
export const H3ErrorCode = {
  H3_NO_ERROR: 0x100,
  H3_GENERAL_PROTOCOL_ERROR: 0x101,
  H3_INTERNAL_ERROR: 0x102,
  H3_STREAM_CREATION_ERROR: 0x103,
  H3_CLOSED_CRITICAL_STREAM: 0x104,
  H3_FRAME_UNEXPECTED: 0x105,
  H3_FRAME_ERROR: 0x106,
  H3_EXCESSIVE_LOAD: 0x107,
  H3_ID_ERROR: 0x108,
  H3_SETTINGS_ERROR: 0x109,
  H3_MISSING_SETTINGS: 0x10a,
  H3_REQUEST_REJECTED: 0x10b,
  H3_REQUEST_CANCELLED: 0x10c,
  H3_REQUEST_INCOMPLETE: 0x10d,
  H3_MESSAGE_ERROR: 0x10e,
  H3_CONNECT_ERROR: 0x10f,
  H3_VERSION_FALLBACK: 0x110,
} as const;

/** Settings identifiers (RFC 9114 §7.2.4.1, RFC 9204 §5). */
export const H3Setting = {
  QPACK_MAX_TABLE_CAPACITY: 0x01,
  MAX_FIELD_SECTION_SIZE: 0x06,
  QPACK_BLOCKED_STREAMS: 0x07,
} as const;

/** HTTP/2 setting identifiers reserved in HTTP/3 (§7.2.4.1): receiving one is H3_SETTINGS_ERROR. */
const HTTP2_SETTINGS = new Set([0x02, 0x03, 0x04, 0x05]);

/** An HTTP/3 error with its RFC 9114 §8.1 code; `stream` when it ends a request stream only. */
export class H3Error extends Error {
  /** RFC 9114 §8.1 code. */
  readonly code: number;
  /** True for a stream error (reset the request), false for a connection error. */
  readonly stream: boolean;
  /** Creates an error. */
  constructor(code: number, message: string, stream = false) {
    super(message);
    this.name = "H3Error";
    this.code = code;
    this.stream = stream;
  }
}

/** Whether a type is reserved for greasing (`0x1f * N + 0x21`, §7.2.8): ignored on receipt. */
export function isReservedType(type: bigint): boolean {
  return type >= 0x21n && (type - 0x21n) % 0x1fn === 0n;
}

/** Where a frame arrived. */
export type H3StreamKind = "control" | "request" | "push";

/**
 * Checks that a frame may appear on a stream of `kind` (RFC 9114 §7.2, Table 1); returns false for a frame to
 * ignore (unknown or reserved types), throws H3_FRAME_UNEXPECTED for one that must not be there. `first` is
 * whether it is the first frame on the control stream, which must be SETTINGS (§6.2.1).
 */
export function checkFrameAllowed(type: bigint, kind: H3StreamKind, first: boolean): boolean {
  const unexpected = (): never => {
    throw new H3Error(
      kind === "control" && first ? H3ErrorCode.H3_MISSING_SETTINGS : H3ErrorCode.H3_FRAME_UNEXPECTED,
      `Frame type 0x${type.toString(16)} not allowed ${
        first && kind === "control" ? "before SETTINGS " : ""
      }on a ${kind} stream`,
    );
  };
  if (HTTP2_ONLY.has(type)) unexpected();
  if (kind === "control" && first && type !== H3FrameType.SETTINGS) unexpected();
  switch (type) {
    case H3FrameType.DATA:
    case H3FrameType.HEADERS:
      if (kind === "control") unexpected();
      return true;
    case H3FrameType.SETTINGS:
      if (kind !== "control" || !first) unexpected();
      return true;
    case H3FrameType.GOAWAY:
    case H3FrameType.MAX_PUSH_ID:
    case H3FrameType.CANCEL_PUSH:
      if (kind !== "control") unexpected();
      return true;
    case H3FrameType.PUSH_PROMISE:
      // We never send MAX_PUSH_ID, so a server may not push (§4.6); a client never receives it elsewhere.
      if (kind !== "request") unexpected();
      return true;
    default:
      // Unknown and reserved types are ignored (§9).
      return false;
  }
}

/** Largest payload accepted per frame type: DATA up to `maxData`, control frames small. */
export function h3Decoder(maxData: number, maxFieldSection: number): FrameDecoder<bigint, VarintFrame> {
  return new FrameDecoder(varintFrameFormat("HTTP/3 frame"), {
    maxBodyLength: (type) =>
      type === H3FrameType.DATA ? maxData : type === H3FrameType.HEADERS ? maxFieldSection : 16 * 1024,
  });
}

/** A SETTINGS payload: id/value pairs; duplicates and HTTP/2 identifiers are H3_SETTINGS_ERROR (§7.2.4). */
export function parseH3Settings(payload: Uint8Array): Map<number, bigint> {
  const out = new Map<number, bigint>();
  let at = 0;
  try {
    while (at < payload.length) {
      const [id, a] = decodeVarint(payload, at);
      const [value, b] = decodeVarintBigInt(payload, a);
      at = b;
      if (HTTP2_SETTINGS.has(id)) {
        throw new H3Error(H3ErrorCode.H3_SETTINGS_ERROR, `HTTP/2 setting 0x${id.toString(16)} in HTTP/3`);
      }
      if (out.has(id)) {
        throw new H3Error(H3ErrorCode.H3_SETTINGS_ERROR, `Setting 0x${id.toString(16)} repeated`);
      }
      out.set(id, value);
    }
  } catch (error) {
    if (error instanceof H3Error) throw error;
    throw new H3Error(H3ErrorCode.H3_FRAME_ERROR, "SETTINGS payload truncated");
  }
  return out;
}

/** A SETTINGS frame. */
export function encodeH3Settings(settings: ReadonlyMap<number, number | bigint>): Uint8Array {
  const parts: number[] = [];
  for (const [id, value] of settings) {
    for (const b of encodeVarint(id)) parts.push(b);
    for (const b of encodeVarint(value)) parts.push(b);
  }
  return encodeVarintFrame(H3FrameType.SETTINGS, Uint8Array.from(parts));
}

/** A GOAWAY payload: one varint, the stream (or push) id (§7.2.6). */
export function parseH3Goaway(payload: Uint8Array): bigint {
  try {
    const [id, end] = decodeVarintBigInt(payload, 0);
    if (end !== payload.length) throw new Error("trailing bytes");
    return id;
  } catch {
    throw new H3Error(H3ErrorCode.H3_FRAME_ERROR, "GOAWAY payload is not one varint");
  }
}

/** A GOAWAY frame. */
export function encodeH3Goaway(id: number | bigint): Uint8Array {
  const p = new Uint8Array(varintLength(id));
  encodeVarint(id, p, 0);
  return encodeVarintFrame(H3FrameType.GOAWAY, p);
}
