/**
 * The DNS error class: malformed peer bytes become a {@linkcode DnsFormatError}, whose `code` is the RCODE it
 * maps to (FORMERR, RFC 1035 §4.1.1). Upstream failures are {@linkcode UpstreamError}s, tagged retryable.
 *
 * @module
 */

import { RCODE } from "./proto/message.ts";

/** The readable part of a header, when at least 12 bytes arrived. */
export interface HeaderInfo {
  /** Message ID. */
  readonly id: number;
  /** The 16-bit flags word, QR included. */
  readonly flags: number;
}

/** Options of {@linkcode DnsFormatError}. */
export interface DnsFormatErrorOptions {
  /** Byte offset where decoding failed. */
  readonly offset?: number;
  /** The header, when it could be read: the server answers FORMERR; without it the message is dropped. */
  readonly header?: HeaderInfo;
  /** The underlying error (e.g. one thrown inside dns-packet). */
  readonly cause?: unknown;
}

/**
 * A DNS message that cannot be decoded. Thrown only for peer bytes; its `code` is always FORMERR (1).
 *
 * @example
 * ```ts
 * throw new DnsFormatError("Cannot decode name: pointer at offset 12 points forward to 40", { offset: 12 });
 * ```
 */
export class DnsFormatError extends SyntaxError {
  /** The RCODE this error maps to (FORMERR). */
  readonly code: number = RCODE.FORMERR;
  /** Byte offset where decoding failed, when known. */
  readonly offset: number | undefined;
  /** The readable header, when at least 12 bytes arrived. */
  readonly header: HeaderInfo | undefined;
  /** Always `"downstream"` or `"upstream"`: whoever sent the bytes. */
  readonly source: "downstream" | "upstream";

  /** Creates an error with a sentence-case message without a final period. */
  constructor(message: string, options: DnsFormatErrorOptions & { source?: "downstream" | "upstream" } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DnsFormatError";
    this.offset = options.offset;
    this.header = options.header;
    this.source = options.source ?? "downstream";
  }
}

/** Why an upstream exchange failed. */
export type UpstreamFailure = "timeout" | "network" | "malformed" | "servfail" | "refused" | "none";

/**
 * An upstream query failed on every attempt. `code` is the RCODE the client gets (SERVFAIL, or REFUSED when no
 * upstream is configured). Retry logic reads `retryable`, never the message.
 */
export class UpstreamError extends Error {
  /** The RCODE to answer with. */
  readonly code: number;
  /** What went wrong on the last attempt. */
  readonly failure: UpstreamFailure;
  /** Always `"upstream"`. */
  readonly source = "upstream" as const;
  /** Whether asking again later may succeed. */
  readonly retryable: boolean;

  /** Creates an error for a failed upstream exchange. */
  constructor(failure: UpstreamFailure, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UpstreamError";
    this.failure = failure;
    this.code = failure === "none" ? RCODE.REFUSED : RCODE.SERVFAIL;
    this.retryable = failure !== "none";
  }
}
