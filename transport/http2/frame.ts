/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, a push decoder bounded by SETTINGS_MAX_FRAME_SIZE, the
 * payload parsers with every length rule of §6, and the encoders. Pure.
 *
 * @module
 */

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Flags (RFC 9113 §6). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** The name of an error code, or `0x..` for unknown ones. */
export function errorCodeName(code: number): string {
  return ERROR_NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** Settings identifiers (RFC 9113 §6.5.2). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Frame header length. */
export const FRAME_HEADER_LENGTH = 9;
/** The smallest SETTINGS_MAX_FRAME_SIZE, and every peer's default (RFC 9113 §4.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** Largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fffffff;

/**
 * An HTTP/2 error: a connection error (`streamId` 0: GOAWAY and close) or a stream error (RST_STREAM that stream),
 * with its RFC 9113 §7 code.
 */
export class Http2Error extends Error {
  /** RFC 9113 §7 error code. */
  readonly code: number;
  /** 0 for a connection error, else the stream to reset. */
  readonly streamId: number;
  /** Creates an error. */
  constructor(code: number, message: string, streamId = 0) {
    super(message);
    this.name = "Http2Error";
    this.code = code;
    this.streamId = streamId;
  }
}

/** A frame as read off the wire. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Uint8Array;
}

/** Encodes a frame header and payload. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  out[0] = (payload.length >>> 16) & 0xff;
  out[1] = (payload.length >>> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId & 0x7fffffff);
  out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}

/**
 * Splits a byte stream into frames. A length over `maxFrameSize` is a connection FRAME_SIZE_ERROR (§4.2), raised
 * from the header alone before the payload is buffered. Incomplete input returns nothing and never throws.
 */
export class FrameDecoder {
  #buf: Uint8Array = new Uint8Array(0);
  #maxFrameSize: number;

  /** `maxFrameSize`: the SETTINGS_MAX_FRAME_SIZE this side advertised. */
  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.#maxFrameSize = maxFrameSize;
  }

  /** Bytes held, waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Adds bytes; returns the complete frames. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#buf.length === 0) this.#buf = chunk;
    else {
      const b = new Uint8Array(this.#buf.length + chunk.length);
      b.set(this.#buf);
      b.set(chunk, this.#buf.length);
      this.#buf = b;
    }
    const frames: Frame[] = [];
    let at = 0;
    const buf = this.#buf;
    while (buf.length - at >= FRAME_HEADER_LENGTH) {
      const len = ((buf[at] ?? 0) << 16) | ((buf[at + 1] ?? 0) << 8) | (buf[at + 2] ?? 0);
      if (len > this.#maxFrameSize) {
        throw new Http2Error(
          ErrorCode.FRAME_SIZE_ERROR,
          `Frame of ${len} bytes exceeds ${this.#maxFrameSize}`,
        );
      }
      if (buf.length - at < FRAME_HEADER_LENGTH + len) break;
      const view = new DataView(buf.buffer, buf.byteOffset + at);
      frames.push({
        type: buf[at + 3] ?? 0,
        flags: buf[at + 4] ?? 0,
        // §4.1: the reserved bit is ignored on receipt.
        streamId: view.getUint32(5) & 0x7fffffff,
        payload: buf.slice(at + FRAME_HEADER_LENGTH, at + FRAME_HEADER_LENGTH + len),
      });
      at += FRAME_HEADER_LENGTH + len;
    }
    this.#buf = at === buf.length ? new Uint8Array(0) : buf.slice(at);
    return frames;
  }
}

/** Strips padding (§6.1, §6.2): the pad length must leave room for itself and the padding. */
function unpad(f: Frame): Uint8Array {
  if ((f.flags & Flag.PADDED) === 0) return f.payload;
  const padLength = f.payload[0];
  if (padLength === undefined || padLength >= f.payload.length) {
    throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "Padding exceeds the frame payload");
  }
  return f.payload.subarray(1, f.payload.length - padLength);
}

/** DATA (§6.1). */
export function parseData(f: Frame): { data: Uint8Array; endStream: boolean } {
  if (f.streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
  return { data: unpad(f), endStream: (f.flags & Flag.END_STREAM) !== 0 };
}

/** HEADERS (§6.2): the header block fragment, without padding and priority fields. */
export function parseHeaders(f: Frame): { fragment: Uint8Array; endStream: boolean; endHeaders: boolean } {
  if (f.streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
  let body = unpad(f);
  if ((f.flags & Flag.PRIORITY) !== 0) {
    if (body.length < 5) {
      throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "HEADERS priority fields truncated");
    }
    const dep = new DataView(body.buffer, body.byteOffset).getUint32(0) & 0x7fffffff;
    // §5.3.1: a stream cannot depend on itself.
    if (dep === f.streamId) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "Stream depends on itself", f.streamId);
    }
    body = body.subarray(5);
  }
  return {
    fragment: body,
    endStream: (f.flags & Flag.END_STREAM) !== 0,
    endHeaders: (f.flags & Flag.END_HEADERS) !== 0,
  };
}

/** PRIORITY (§6.3): deprecated by RFC 9113 but still checked for length. */
export function parsePriority(f: Frame): void {
  if (f.streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
  if (f.payload.length !== 5) {
    throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY payload is not 5 bytes", f.streamId);
  }
}

/** RST_STREAM (§6.4). */
export function parseRstStream(f: Frame): number {
  if (f.streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
  if (f.payload.length !== 4) {
    throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM payload is not 4 bytes");
  }
  return new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0);
}

/** A SETTINGS parameter. */
export type Setting = readonly [id: number, value: number];

/** SETTINGS (§6.5): validated values; unknown identifiers are ignored (§6.5.2). */
export function parseSettings(f: Frame): { ack: boolean; settings: Setting[] } {
  if (f.streamId !== 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
  const ack = (f.flags & Flag.ACK) !== 0;
  if (ack) {
    if (f.payload.length !== 0) {
      throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
    }
    return { ack, settings: [] };
  }
  if (f.payload.length % 6 !== 0) {
    throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS payload is not a multiple of 6");
  }
  const v = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.length);
  const settings: Setting[] = [];
  for (let at = 0; at < f.payload.length; at += 6) {
    const id = v.getUint16(at);
    const value = v.getUint32(at + 2);
    if (id === SettingId.ENABLE_PUSH && value > 1) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH is not 0 or 1");
    }
    if (id === SettingId.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) {
      throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE exceeds 2^31-1");
    }
    if (id === SettingId.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff)) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
    }
    settings.push([id, value]);
  }
  return { ack, settings };
}

/** PING (§6.7). */
export function parsePing(f: Frame): { ack: boolean; data: Uint8Array } {
  if (f.streamId !== 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
  if (f.payload.length !== 8) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "PING payload is not 8 bytes");
  return { ack: (f.flags & Flag.ACK) !== 0, data: f.payload };
}

/** GOAWAY (§6.8). */
export function parseGoaway(f: Frame): { lastStreamId: number; code: number; debug: Uint8Array } {
  if (f.streamId !== 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
  if (f.payload.length < 8) {
    throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY payload shorter than 8 bytes");
  }
  const v = new DataView(f.payload.buffer, f.payload.byteOffset);
  return { lastStreamId: v.getUint32(0) & 0x7fffffff, code: v.getUint32(4), debug: f.payload.subarray(8) };
}

/** WINDOW_UPDATE (§6.9): an increment of 0 is an error of the stream it names (or the connection). */
export function parseWindowUpdate(f: Frame): number {
  if (f.payload.length !== 4) {
    throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE payload is not 4 bytes");
  }
  const inc = new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0) & 0x7fffffff;
  if (inc === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE increment of 0", f.streamId);
  return inc;
}

/** A SETTINGS frame (or its ACK with no settings). */
export function encodeSettings(settings: readonly Setting[], ack = false): Uint8Array {
  const p = new Uint8Array(settings.length * 6);
  const v = new DataView(p.buffer);
  settings.forEach(([id, value], i) => {
    v.setUint16(i * 6, id);
    v.setUint32(i * 6 + 2, value);
  });
  return encodeFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, p);
}

/** A PING frame. */
export function encodePing(data: Uint8Array, ack = false): Uint8Array {
  return encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

/** A GOAWAY frame. */
export function encodeGoaway(lastStreamId: number, code: number, debug = ""): Uint8Array {
  const d = new TextEncoder().encode(debug.slice(0, 256));
  const p = new Uint8Array(8 + d.length);
  const v = new DataView(p.buffer);
  v.setUint32(0, lastStreamId & 0x7fffffff);
  v.setUint32(4, code);
  p.set(d, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, p);
}

/** An RST_STREAM frame. */
export function encodeRstStream(streamId: number, code: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, p);
}

/** A WINDOW_UPDATE frame. */
export function encodeWindowUpdate(streamId: number, increment: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, increment & 0x7fffffff);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}
