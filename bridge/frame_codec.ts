/**
 * The GhostBridge frame: the seed's header kept bit-exact, `version (u8) | type (u8) | length (u16 BE) |
 * payload`, with its five frame types and the types this implementation adds for what those cannot carry (message
 * chunks, half-close, status with trailers, cancellation, stream errors, authentication). A push decoder with
 * per-type length limits turns a stream's bytes into frames.
 *
 * See bridge/README.md for the specification of every frame.
 *
 * @module
 */

import { decodeError, StreamErrorCode } from "./errors.ts";

/** The only protocol version: the first byte of every frame. */
export const FRAME_VERSION = 1;

/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 4;

/** The largest payload a u16 length carries. */
export const MAX_FRAME_PAYLOAD = 0xffff;

/** The ALPN protocol id of GhostBridge over QUIC. */
export const BRIDGE_ALPN = "ghostbridge/1";

/** Frame types. 0x01-0x05 are the seed's; 0x06-0x0C are defined by this implementation (README "Frames"). */
export const FrameType = {
  GRPC_REQUEST: 0x01,
  GRPC_RESPONSE: 0x02,
  SERVICE_REGISTER: 0x03,
  SERVICE_DISCOVERY: 0x04,
  HEALTH_CHECK: 0x05,
  MESSAGE: 0x06,
  MESSAGE_CONTINUATION: 0x07,
  HALF_CLOSE: 0x08,
  STATUS: 0x09,
  CANCEL: 0x0a,
  STREAM_ERROR: 0x0b,
  AUTH: 0x0c,
} as const;

/** A frame type name. */
export type FrameTypeName = keyof typeof FrameType;

const TYPE_NAMES: ReadonlyMap<number, FrameTypeName> = new Map(
  Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]),
);

/** The name of a frame type, or its hex value when unknown. */
export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `0x${type.toString(16).padStart(2, "0")}`;
}

/** A decoded frame: its type and payload (a view into the decoder's input: copy it to keep it past the next push). */
export interface Frame {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** Per-type payload limits of a decoder. Every value is at most {@linkcode MAX_FRAME_PAYLOAD}. */
export interface FrameLimits {
  /** MESSAGE and MESSAGE_CONTINUATION payloads. Default 65,535. */
  readonly maxMessageFrameBytes: number;
  /** GRPC_REQUEST, GRPC_RESPONSE and STATUS (they carry metadata). Default 16,384. */
  readonly maxHeaderFrameBytes: number;
  /** SERVICE_REGISTER, SERVICE_DISCOVERY, HEALTH_CHECK and AUTH. Default 65,535 (a discovery answer lists instances). */
  readonly maxControlFrameBytes: number;
}

/** Defaults of {@linkcode FrameLimits}. */
export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxMessageFrameBytes: MAX_FRAME_PAYLOAD,
  maxHeaderFrameBytes: 16_384,
  maxControlFrameBytes: MAX_FRAME_PAYLOAD,
};

/** The payload limit of a frame type under `limits`; `undefined` for unknown types. */
export function frameLimit(type: number, limits: FrameLimits): number | undefined {
  switch (type) {
    case FrameType.MESSAGE:
    case FrameType.MESSAGE_CONTINUATION:
      return limits.maxMessageFrameBytes;
    case FrameType.GRPC_REQUEST:
    case FrameType.GRPC_RESPONSE:
    case FrameType.STATUS:
      return limits.maxHeaderFrameBytes;
    case FrameType.SERVICE_REGISTER:
    case FrameType.SERVICE_DISCOVERY:
    case FrameType.HEALTH_CHECK:
      return limits.maxControlFrameBytes;
    case FrameType.AUTH:
      return 1024;
    case FrameType.HALF_CLOSE:
      return 0; // README: HALF_CLOSE has an empty payload
    case FrameType.CANCEL:
      return 1;
    case FrameType.STREAM_ERROR:
      return 2 + 2 + 1024;
    default:
      return undefined;
  }
}

/** Encodes one frame. Throws RangeError when the payload exceeds 65,535 bytes (a local bug, not peer input). */
export function encodeFrame(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(
      `Cannot encode ${frameTypeName(type)} frame: length ${payload.length} exceeds 65535`,
    );
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, type, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Writes a header at `offset` of `into`. */
export function writeFrameHeader(into: Uint8Array, offset: number, type: number, length: number): void {
  into[offset] = FRAME_VERSION;
  into[offset + 1] = type;
  into[offset + 2] = length >>> 8; // u16 big-endian (seed: "Length (2 bytes)")
  into[offset + 3] = length & 0xff;
}

/**
 * Decodes one whole frame at `offset`: `[frame, next]`. Throws the bridge's decode error for a short, unknown,
 * wrong-version or oversized frame.
 */
export function decodeFrame(
  bytes: Uint8Array,
  offset = 0,
  limits: FrameLimits = DEFAULT_FRAME_LIMITS,
): [Frame, number] {
  const decoder = new FrameDecoder(limits);
  const end = offset + FRAME_HEADER_BYTES +
    (bytes.length - offset >= FRAME_HEADER_BYTES
      ? ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)
      : 0);
  const frames = decoder.push(bytes.subarray(offset, Math.min(end, bytes.length)));
  const frame = frames[0];
  if (frame === undefined) {
    throw decodeError(StreamErrorCode.MALFORMED_FRAME, "Cannot decode GhostBridge frame: truncated");
  }
  return [frame, end];
}

/**
 * Push decoder of GhostBridge frames. `push(chunk)` returns the frames the chunk completes (`[]` when more bytes
 * are needed, never throwing for that). The header is checked before any body is buffered: version 1, a known
 * type, and the type's length limit; a violation throws {@linkcode BridgeError} with its stream error code and
 * the decoder stays failed.
 */
export class FrameDecoder {
  readonly #limits: FrameLimits;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #type = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #failure: Error | undefined;

  /** Creates a decoder with explicit per-type limits. */
  constructor(limits: FrameLimits = DEFAULT_FRAME_LIMITS) {
    this.#limits = limits;
  }

  /** True while a frame is incomplete. */
  get pending(): boolean {
    return this.#headerFill > 0 || this.#body !== undefined;
  }

  /** Adds bytes; returns every frame they complete. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failure) throw this.#failure;
    try {
      return this.#push(chunk);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  /** At the end of the stream: throws TRUNCATED when it ended inside a frame. */
  finish(): void {
    if (this.#failure) throw this.#failure;
    if (this.pending) {
      throw (this.#failure = decodeError(
        StreamErrorCode.TRUNCATED,
        "Cannot decode GhostBridge frame: stream ended inside a frame",
      ));
    }
  }

  #push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.#body === undefined) {
        let length: number;
        let type: number;
        if (this.#headerFill === 0 && chunk.length - off >= FRAME_HEADER_BYTES) {
          // Fast path: the whole header is in this chunk.
          type = this.#checkHeader(
            chunk[off] ?? 0,
            chunk[off + 1] ?? 0,
            chunk[off + 2] ?? 0,
            chunk[off + 3] ?? 0,
          );
          length = ((chunk[off + 2] ?? 0) << 8) | (chunk[off + 3] ?? 0);
          off += FRAME_HEADER_BYTES;
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.length - off);
          this.#header.set(chunk.subarray(off, off + take), this.#headerFill);
          this.#headerFill += take;
          off += take;
          if (this.#headerFill < FRAME_HEADER_BYTES) continue;
          const h = this.#header;
          type = this.#checkHeader(h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0);
          length = ((h[2] ?? 0) << 8) | (h[3] ?? 0);
          this.#headerFill = 0;
        }
        if (length === 0) {
          out.push({ type, payload: new Uint8Array(0) });
        } else if (chunk.length - off >= length) {
          out.push({ type, payload: chunk.subarray(off, off + length) });
          off += length;
        } else {
          // Allocation happens only here, after the type's limit was checked.
          this.#body = new Uint8Array(length);
          this.#bodyFill = 0;
          this.#type = type;
        }
      } else {
        const body = this.#body;
        const take = Math.min(body.length - this.#bodyFill, chunk.length - off);
        body.set(chunk.subarray(off, off + take), this.#bodyFill);
        this.#bodyFill += take;
        off += take;
        if (this.#bodyFill === body.length) {
          out.push({ type: this.#type, payload: body });
          this.#body = undefined;
        }
      }
    }
    return out;
  }

  #checkHeader(version: number, type: number, hi: number, lo: number): number {
    if (version !== FRAME_VERSION) {
      throw decodeError(
        StreamErrorCode.UNSUPPORTED_VERSION,
        `Cannot decode GhostBridge frame: version ${version} is not ${FRAME_VERSION}`,
      );
    }
    const limit = frameLimit(type, this.#limits);
    if (limit === undefined) {
      throw decodeError(
        StreamErrorCode.UNKNOWN_FRAME_TYPE,
        `Cannot decode GhostBridge frame: unknown type ${frameTypeName(type)}`,
      );
    }
    const length = (hi << 8) | lo;
    if (length > limit) {
      throw decodeError(
        StreamErrorCode.FRAME_TOO_LARGE,
        `Cannot decode ${frameTypeName(type)} frame: length ${length} exceeds ${limit}`,
      );
    }
    return type;
  }
}
