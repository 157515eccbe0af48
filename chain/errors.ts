/**
 * The chain's one error class, {@linkcode ChainError}: a gRPC status code (the registry every client of the
 * BlockchainService understands), a stable machine `reason`, where the fault lies, and whether a retry can
 * help. Callers branch on `code` and `reason`, never on message text.
 *
 * @module
 */

// One gRPC status registry for the whole project: the bridge's, since the BlockchainService is reached through it.
import { GrpcStatus } from "../core/mod.ts";
export { GrpcStatus };

/** A gRPC status name. */
export type GrpcStatusName = keyof typeof GrpcStatus;

/**
 * Machine reasons. The table in chain/README.md lists each with its status code.
 */
export type ChainErrorReason =
  | "MALFORMED"
  | "TOO_LARGE"
  | "BAD_SIGNATURE"
  | "WRONG_CHAIN"
  | "BAD_NONCE"
  | "NONCE_TOO_HIGH"
  | "INSUFFICIENT_FUNDS"
  | "FEE_TOO_LOW"
  | "DUPLICATE"
  | "NONCE_PENDING"
  | "MEMPOOL_FULL"
  | "NAME_INVALID"
  | "NAME_RESERVED"
  | "NAME_TAKEN"
  | "NAME_NOT_FOUND"
  | "NAME_EXPIRED"
  | "NOT_OWNER"
  | "NOT_ADMIN"
  | "BAD_VALIDATOR"
  | "COMMITMENT_NOT_FOUND"
  | "COMMITMENT_EXISTS"
  | "COMMITMENT_TOO_NEW"
  | "COMMITMENT_TOO_OLD"
  | "BAD_DURATION"
  | "BAD_RECORDS"
  | "BAD_AMOUNT"
  | "RESERVED_FEATURE"
  | "NOT_FOUND"
  | "BAD_BLOCK"
  | "NOT_PROPOSER"
  | "UNKNOWN_METHOD"
  | "STORAGE"
  | "GENESIS"
  | "UNAVAILABLE";

/** Who caused an error: the caller's input, a peer we called, or ourselves. */
export type ErrorSource = "downstream" | "upstream" | "internal";

/** Options of {@linkcode ChainError}. */
export interface ChainErrorOptions {
  readonly source?: ErrorSource;
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

/**
 * A chain error. `message` reads "Cannot accept transaction: nonce 3, expected 5".
 *
 * @example
 * ```ts
 * throw new ChainError("FAILED_PRECONDITION", "INSUFFICIENT_FUNDS", "Cannot accept transaction: balance 3 < 10");
 * ```
 */
export class ChainError extends Error {
  /** The gRPC status code. */
  readonly code: number;
  /** The gRPC status name. */
  readonly status: GrpcStatusName;
  /** Stable machine reason. */
  readonly reason: ChainErrorReason;
  /** Where the fault lies. */
  readonly source: ErrorSource;
  /** Whether the same request may succeed later. */
  readonly retryable: boolean;

  /** Creates an error; `status` is a gRPC status name. */
  constructor(
    status: GrpcStatusName,
    reason: ChainErrorReason,
    message: string,
    options: ChainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ChainError";
    this.status = status;
    this.code = GrpcStatus[status];
    this.reason = reason;
    this.source = options.source ??
      (status === "INTERNAL" || status === "DATA_LOSS" ? "internal" : "downstream");
    this.retryable = options.retryable ??
      (status === "UNAVAILABLE" || status === "RESOURCE_EXHAUSTED" || status === "ABORTED");
  }
}

/** The gRPC status name for a numeric code (UNKNOWN for codes outside the registry). */
export function grpcStatusName(code: number): GrpcStatusName {
  for (const [k, v] of Object.entries(GrpcStatus)) if (v === code) return k as GrpcStatusName;
  return "UNKNOWN";
}

/** Wraps anything thrown into a ChainError (INTERNAL for non-chain errors). */
export function toChainError(error: unknown): ChainError {
  if (error instanceof ChainError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ChainError("INTERNAL", "STORAGE", `Internal error: ${message}`, {
    cause: error,
    source: "internal",
  });
}
