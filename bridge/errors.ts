/**
 * The bridge's error class and the two registries it draws on: gRPC status codes (the `code` of every
 * {@linkcode BridgeError}) and the GhostBridge stream error codes carried by STREAM_ERROR frames.
 *
 * @module
 */

import { GrpcStatus, type GrpcStatusCode, grpcStatusName } from "../core/mod.ts";

/** gRPC status codes: the shared registry (core/grpc_status.ts). */
export { GrpcStatus, type GrpcStatusCode, grpcStatusName };

/**
 * GhostBridge stream error codes, sent in a STREAM_ERROR frame (type 0x0B) before the sender ends the stream.
 * See bridge/README.md "Stream errors".
 */
export const StreamErrorCode = {
  /** The frame's version byte is not 1. */
  UNSUPPORTED_VERSION: 0x01,
  /** The frame type is not defined by this version. */
  UNKNOWN_FRAME_TYPE: 0x02,
  /** The frame's length exceeds the limit for its type. */
  FRAME_TOO_LARGE: 0x03,
  /** The payload does not decode. */
  MALFORMED_FRAME: 0x04,
  /** A valid frame arrived in a state where it is not allowed. */
  UNEXPECTED_FRAME: 0x05,
  /** A gRPC message exceeds the receiver's message limit. */
  MESSAGE_TOO_LARGE: 0x06,
  /** The peer is not authenticated (or not on the allow-list). */
  UNAUTHENTICATED: 0x07,
  /** The stream ended (FIN) before the call was complete. */
  TRUNCATED: 0x08,
  /** An internal error of the sender. */
  INTERNAL: 0x09,
} as const;

/** A stream error code name. */
export type StreamErrorName = keyof typeof StreamErrorCode;

const STREAM_ERROR_NAMES: ReadonlyMap<number, StreamErrorName> = new Map(
  Object.entries(StreamErrorCode).map(([name, value]) => [value, name as StreamErrorName]),
);

/** The registry name of a stream error code, or its hex value. */
export function streamErrorName(code: number): string {
  return STREAM_ERROR_NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** The gRPC status a caller sees when a stream ends with a stream error. */
export function streamErrorStatus(code: number): GrpcStatusCode {
  switch (code) {
    case StreamErrorCode.FRAME_TOO_LARGE:
    case StreamErrorCode.MESSAGE_TOO_LARGE:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case StreamErrorCode.UNAUTHENTICATED:
      return GrpcStatus.UNAUTHENTICATED;
    case StreamErrorCode.UNSUPPORTED_VERSION:
    case StreamErrorCode.UNKNOWN_FRAME_TYPE:
      return GrpcStatus.UNIMPLEMENTED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** Where an error came from: the side that called us, a side we called, or ourselves. */
export type ErrorSource = "downstream" | "upstream" | "internal";

/** Options of {@linkcode BridgeError}. */
export interface BridgeErrorOptions {
  /** Short machine-readable reason, e.g. a stream error name (`"FRAME_TOO_LARGE"`) or `"no_instance"`. */
  readonly reason?: string;
  /** The underlying error. */
  readonly cause?: unknown;
  /** Who caused it. Defaults to `"internal"`. */
  readonly source?: ErrorSource;
  /** The stream error code to send, for decode errors. */
  readonly streamError?: number;
  /** Whether a retry on another instance may succeed (retry logic reads this, never the message). */
  readonly retryable?: boolean;
  /** Trailing metadata that came with a status. */
  readonly trailers?: ReadonlyArray<readonly [string, Uint8Array]>;
}

/**
 * The bridge's one error class. `code` is a gRPC status code ({@linkcode GrpcStatus}); decode errors of peer
 * bytes also carry the {@linkcode StreamErrorCode} sent back in STREAM_ERROR.
 *
 * @example
 * ```ts
 * throw new BridgeError(GrpcStatus.RESOURCE_EXHAUSTED, "Cannot decode GhostBridge frame: length 9000 exceeds 4096", {
 *   source: "downstream",
 *   streamError: StreamErrorCode.FRAME_TOO_LARGE,
 * });
 * ```
 */
export class BridgeError extends Error {
  /** gRPC status code. */
  readonly code: GrpcStatusCode;
  /** Short machine-readable reason. */
  readonly reason: string;
  /** Who caused the error. */
  readonly source: ErrorSource;
  /** The GhostBridge stream error code, when this error resets a stream. */
  readonly streamError: number | undefined;
  /** Whether a retry on another instance may succeed. */
  readonly retryable: boolean;
  /** Trailing metadata received with the status (empty when none). */
  readonly trailers: ReadonlyArray<readonly [string, Uint8Array]>;

  /** Creates an error with a gRPC status code and a sentence-case message without a final period. */
  constructor(code: GrpcStatusCode, message: string, options: BridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BridgeError";
    this.code = code;
    this.streamError = options.streamError;
    this.reason = options.reason ??
      (options.streamError !== undefined ? streamErrorName(options.streamError) : grpcStatusName(code));
    this.source = options.source ?? "internal";
    this.retryable = options.retryable ?? false;
    this.trailers = options.trailers ?? [];
  }

  /** The name of {@linkcode BridgeError.code}. */
  get codeName(): string {
    return grpcStatusName(this.code);
  }
}

/** A decode error of peer bytes: `streamError` set, `source` downstream unless told otherwise. */
export function decodeError(
  streamError: number,
  message: string,
  source: ErrorSource = "downstream",
): BridgeError {
  return new BridgeError(streamErrorStatus(streamError), message, { streamError, source });
}

/** Wraps any thrown value as a BridgeError (BridgeErrors pass through). */
export function toBridgeError(error: unknown, code: GrpcStatusCode = GrpcStatus.INTERNAL): BridgeError {
  if (error instanceof BridgeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BridgeError(code, message, { cause: error });
}
