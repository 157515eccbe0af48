/**
 * DNS over QUIC framing and rules (RFC 9250), sans-IO. One query per client-initiated bidirectional stream:
 * a 2-byte length prefix, the DNS message, then the client's FIN (§4.2). The Message ID MUST be 0 (§4.2.1).
 * Violations are {@linkcode DoqError}s carrying the DoQ error code (§8.4) the connection is closed with.
 *
 * @module
 */

import { decodeLengthPrefixed, TransportError } from "../../transport/mod.ts";
import { readHeader } from "./message_codec.ts";
import { decodeMessage } from "./message_codec.ts";
import { DnsFormatError } from "../errors.ts";

/** RFC 9250 §4.1.1: the ALPN token of DoQ. */
export const DOQ_ALPN = "doq";

/** RFC 9250 §8.4 DoQ error codes. */
export const DoqErrorCode = {
  /** No error; used when the connection or stream closes without a problem. */
  NO_ERROR: 0x0,
  /** The DoQ implementation hit an internal error. */
  INTERNAL_ERROR: 0x1,
  /** The peer violated the protocol. */
  PROTOCOL_ERROR: 0x2,
  /** A request was cancelled by the client. */
  REQUEST_CANCELLED: 0x3,
  /** The server is closing the connection because of excessive load. */
  EXCESSIVE_LOAD: 0x4,
  /** No more specific code applies. */
  UNSPECIFIED_ERROR: 0x5,
} as const;

/** A DoQ error code value. */
export type DoqErrorCodeValue = (typeof DoqErrorCode)[keyof typeof DoqErrorCode];

/** RFC 6891 / RFC 7828: the edns-tcp-keepalive option code, forbidden in DoQ (RFC 9250 §5.5.2). */
const EDNS_TCP_KEEPALIVE = 11;

/**
 * A DoQ protocol violation. It extends the transport's error so a connection handler can throw it and the
 * connection is closed with `code` (Deno cannot reset a single stream with a code, RFC 9250 §4.3 allows
 * closing the connection instead).
 */
export class DoqError extends TransportError {
  /** Creates an error with a DoQ code. */
  constructor(code: DoqErrorCodeValue, message: string, options: { cause?: unknown } = {}) {
    super(code, message, {
      source: "downstream",
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "DoqError";
  }
}

/** Largest DoQ stream payload: the prefix plus a 65,535-byte message. */
export const MAX_DOQ_STREAM_BYTES = 2 + 65_535;

/**
 * Reads the one query of a finished stream: exactly one length-prefixed message and nothing after it, with
 * Message ID 0 and no edns-tcp-keepalive option.
 *
 * @throws {DoqError} `PROTOCOL_ERROR` for anything else
 */
export function decodeDoqQuery(stream: Uint8Array): Uint8Array {
  let message: Uint8Array;
  let next: number;
  try {
    [message, next] = decodeLengthPrefixed(stream, 0, {
      prefix: 2,
      maxMessageBytes: 65_535,
      name: "DoQ message",
    });
  } catch (error) {
    throw new DoqError(DoqErrorCode.PROTOCOL_ERROR, error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
  if (next !== stream.length) {
    // RFC 9250 §4.2: one message per stream; the client sends FIN right after it.
    throw new DoqError(
      DoqErrorCode.PROTOCOL_ERROR,
      `Cannot decode DoQ stream: ${stream.length - next} bytes after the query`,
    );
  }
  const header = readHeader(message);
  if (!header) {
    throw new DoqError(DoqErrorCode.PROTOCOL_ERROR, "Cannot decode DoQ query: shorter than a DNS header");
  }
  // RFC 9250 §4.2.1: the Message ID MUST be 0; a server MUST treat any other value as DOQ_PROTOCOL_ERROR.
  if (header.id !== 0) {
    throw new DoqError(
      DoqErrorCode.PROTOCOL_ERROR,
      `Cannot accept DoQ query: Message ID ${header.id} is not 0`,
    );
  }
  try {
    const decoded = decodeMessage(message);
    const opt = decoded.additionals.find((r) => r.type === "OPT");
    if (opt?.options?.some((o) => o.code === EDNS_TCP_KEEPALIVE || o.code === "TCP_KEEPALIVE")) {
      // RFC 9250 §5.5.2: a server receiving edns-tcp-keepalive MUST treat it as DOQ_PROTOCOL_ERROR.
      throw new DoqError(
        DoqErrorCode.PROTOCOL_ERROR,
        "Cannot accept DoQ query: edns-tcp-keepalive is not allowed",
      );
    }
  } catch (error) {
    // A malformed DNS message is the DNS layer's business: it answers FORMERR on the stream.
    if (!(error instanceof DnsFormatError)) throw error;
  }
  return message;
}
