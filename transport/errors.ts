/**
 * The transport's error class and its registry of QUIC application close codes.
 *
 * QUIC (RFC 9000 §20.2) leaves application error codes to the application protocol. The codes below are the
 * ones `transport/` itself sends in CONNECTION_CLOSE frames when it enforces a limit, and the ones our own
 * protocols (`ghost-ping/1`, `ghostbridge/1`) use. The first five match DNS-over-QUIC (RFC 9250 §8.4), so a DoQ
 * handler can use them unchanged; protocols with their own registry (HTTP/3, RFC 9114 §8.1) map the others through
 * the server's `closeCodes` option.
 *
 * @module
 */

/**
 * Our QUIC application close codes. Values 0x0-0x4 equal the DoQ codes of RFC 9250 §8.4.
 *
 * | name | value | sent when |
 * |---|---|---|
 * | NO_ERROR | 0x0 | a graceful close |
 * | INTERNAL_ERROR | 0x1 | a bug or an unexpected exception in a handler |
 * | PROTOCOL_ERROR | 0x2 | the peer sent malformed framing |
 * | CANCELLED | 0x3 | the application gave up on an operation |
 * | EXCESSIVE_LOAD | 0x4 | the server is over capacity |
 * | MESSAGE_TOO_LARGE | 0x10 | a message exceeds the configured maximum |
 * | STREAM_LIMIT | 0x11 | the peer opened streams faster than its budget allows |
 * | STALLED | 0x12 | the peer stopped sending in the middle of a message |
 * | TIMEOUT | 0x13 | a handshake, connect or read deadline passed |
 * | SHUTDOWN | 0x14 | the server is draining; retry elsewhere or later |
 * | CONNECT_FAILED | 0x15 | local only, never sent: a connection could not be established |
 * | CLOSED | 0x16 | local only, never sent: the connection or stream is already closed |
 */
export const CloseCode = {
  NO_ERROR: 0x0,
  INTERNAL_ERROR: 0x1,
  PROTOCOL_ERROR: 0x2,
  CANCELLED: 0x3,
  EXCESSIVE_LOAD: 0x4,
  MESSAGE_TOO_LARGE: 0x10,
  STREAM_LIMIT: 0x11,
  STALLED: 0x12,
  TIMEOUT: 0x13,
  SHUTDOWN: 0x14,
  CONNECT_FAILED: 0x15,
  CLOSED: 0x16,
} as const;

/** The name of a registered close code, e.g. `"STREAM_LIMIT"`. */
export type CloseCodeName = keyof typeof CloseCode;

/** A registered close code value. Codes received from peers may be any varint, so fields use `number`. */
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** Where an error came from: the peer that called us, a peer we called, or ourselves. */
export type ErrorSource = "downstream" | "upstream" | "internal";

const NAMES: ReadonlyMap<number, CloseCodeName> = new Map(
  Object.entries(CloseCode).map(([name, value]) => [value, name as CloseCodeName]),
);

/** Codes whose failures a caller may retry (on a new connection) without changing the request. */
const RETRYABLE: ReadonlySet<number> = new Set<number>([
  CloseCode.EXCESSIVE_LOAD,
  CloseCode.TIMEOUT,
  CloseCode.SHUTDOWN,
  CloseCode.CONNECT_FAILED,
  CloseCode.CLOSED,
]);

/**
 * The registry name of a close code, or its hex value when it is not ours (e.g. `"0x10c"`).
 *
 * @example
 * ```ts
 * closeCodeName(0x11); // "STREAM_LIMIT"
 * ```
 */
export function closeCodeName(code: number): string {
  return NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** Options of {@linkcode TransportError}. */
export interface TransportErrorOptions {
  /** Short text sent to the peer in CONNECTION_CLOSE. Defaults to the message. */
  readonly reason?: string;
  /** The underlying error. */
  readonly cause?: unknown;
  /** Who caused it. Defaults to `"internal"`. */
  readonly source?: ErrorSource;
  /** Whether a retry may succeed. Defaults to what the code implies (see the registry). */
  readonly retryable?: boolean;
}

/**
 * An error of the QUIC transport layer, carrying the application close code that it maps to.
 *
 * Retry logic reads `retryable` and `code`, never the message.
 *
 * @example
 * ```ts
 * throw new TransportError(CloseCode.MESSAGE_TOO_LARGE, "Cannot read message: length 70000 exceeds 65535", {
 *   source: "downstream",
 * });
 * ```
 */
export class TransportError extends Error {
  /** The close code (see {@linkcode CloseCode}); for errors received from a peer, the peer's code. */
  readonly code: number;
  /** Short text for CONNECTION_CLOSE, at most {@linkcode MAX_REASON_BYTES} UTF-8 bytes. */
  readonly reason: string;
  /** Who caused the error. */
  readonly source: ErrorSource;
  /** Whether a retry may succeed. */
  readonly retryable: boolean;

  /** Creates an error with a close code and a sentence-case message without a final period. */
  constructor(code: number, message: string, options: TransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TransportError";
    this.code = code;
    this.reason = truncateReason(options.reason ?? message);
    this.source = options.source ?? "internal";
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }

  /** The registry name of {@linkcode TransportError.code}. */
  get codeName(): string {
    return closeCodeName(this.code);
  }
}

/**
 * The longest reason we put into CONNECTION_CLOSE. The frame must fit one packet (RFC 9000 §19.19), so we keep
 * reasons short.
 */
export const MAX_REASON_BYTES = 120;

/** Cuts a reason to at most {@linkcode MAX_REASON_BYTES} UTF-8 bytes without splitting a character. */
export function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  let end = MAX_REASON_BYTES;
  // Back off to a UTF-8 character boundary (continuation bytes are 0b10xxxxxx).
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** Wraps any thrown value as a TransportError, keeping TransportErrors as they are. */
export function toTransportError(
  error: unknown,
  fallbackCode: number = CloseCode.INTERNAL_ERROR,
  source: ErrorSource = "internal",
): TransportError {
  if (error instanceof TransportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransportError(fallbackCode, message, { cause: error, source });
}
