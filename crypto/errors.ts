/**
 * The error classes of the crypto primitives. Each concept has one class whose `code` comes from a small
 * registry below; callers branch on `code`, never on message text. Messages are sentence case without a final
 * period and never contain secret material (keys, plaintexts).
 *
 * @module
 */
import { causeOf, type ErrorOptions as BaseErrorOptions } from "../core/mod.ts";

/** Options shared by the crypto error classes. */
export interface CryptoErrorOptions extends BaseErrorOptions {}

/**
 * Codes of {@linkcode CryptoError}.
 *
 * | code | meaning |
 * |---|---|
 * | BAD_LENGTH | a key, signature or hash has the wrong number of bytes |
 * | BAD_SECRET_KEY | a secret key is outside the curve's valid range |
 * | BAD_PUBLIC_KEY | a public key does not decode to a valid point |
 * | BAD_SIGNATURE | a signature's scalars are out of range (r or s = 0, r or s >= n) |
 * | HIGH_S | a secp256k1 signature has s > n/2 (malleable form; we accept only low-S) |
 * | BAD_RECOVERY_ID | a recovery id is not 0 or 1, or recovery found no key |
 */
export const CryptoErrorCode = {
  BAD_LENGTH: "BAD_LENGTH",
  BAD_SECRET_KEY: "BAD_SECRET_KEY",
  BAD_PUBLIC_KEY: "BAD_PUBLIC_KEY",
  BAD_SIGNATURE: "BAD_SIGNATURE",
  HIGH_S: "HIGH_S",
  BAD_RECOVERY_ID: "BAD_RECOVERY_ID",
} as const;

/** A {@linkcode CryptoErrorCode} value. */
export type CryptoErrorCodeValue = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/**
 * Malformed key or signature material handed to a crypto function.
 *
 * @example
 * ```ts
 * throw new CryptoError("HIGH_S", "Cannot decode secp256k1 signature: s is in the upper half of the order");
 * ```
 */
export class CryptoError extends TypeError {
  /** Why the input was rejected. */
  readonly code: CryptoErrorCodeValue;

  /** Creates an error with a registry code and a message. */
  constructor(code: CryptoErrorCodeValue, message: string, options: CryptoErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "CryptoError";
    this.code = code;
  }
}

/**
 * Codes of {@linkcode AddressError}.
 *
 * | code | meaning |
 * |---|---|
 * | NOT_A_STRING | the input is not a string |
 * | BAD_LENGTH | too short, too long, or the payload is not 20 bytes |
 * | MIXED_CASE | upper and lower case letters mixed (bech32) |
 * | BAD_CHARACTER | a character outside the bech32 or hex alphabet |
 * | MISSING_SEPARATOR | no "1" between prefix and data (bech32) or no "0x" (Ethereum) |
 * | WRONG_PREFIX | the human-readable part is not the expected one |
 * | BAD_CHECKSUM | the checksum does not match |
 * | BECH32_NOT_M | a valid bech32 (BIP-173) checksum where bech32m (BIP-350) is required |
 * | BAD_PADDING | non-zero padding bits in the data part |
 */
export const AddressErrorCode = {
  NOT_A_STRING: "NOT_A_STRING",
  BAD_LENGTH: "BAD_LENGTH",
  MIXED_CASE: "MIXED_CASE",
  BAD_CHARACTER: "BAD_CHARACTER",
  MISSING_SEPARATOR: "MISSING_SEPARATOR",
  WRONG_PREFIX: "WRONG_PREFIX",
  BAD_CHECKSUM: "BAD_CHECKSUM",
  BECH32_NOT_M: "BECH32_NOT_M",
  BAD_PADDING: "BAD_PADDING",
} as const;

/** An {@linkcode AddressErrorCode} value. */
export type AddressErrorCodeValue = (typeof AddressErrorCode)[keyof typeof AddressErrorCode];

/** An address string that does not decode. */
export class AddressError extends SyntaxError {
  /** Why the address was rejected. */
  readonly code: AddressErrorCodeValue;

  /** Creates an error with a registry code and a message. */
  constructor(code: AddressErrorCodeValue, message: string, options: CryptoErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "AddressError";
    this.code = code;
  }
}

/**
 * Codes of {@linkcode SignatureError}.
 *
 * | code | meaning |
 * |---|---|
 * | MALFORMED | an encoded signed message does not decode, or exceeds a limit |
 * | UNKNOWN_DOMAIN | a domain that is not in the registry |
 * | WRONG_DOMAIN | the message was signed for another domain than the one expected |
 * | BAD_SIGNATURE | the signature does not verify |
 */
export const SignatureErrorCode = {
  MALFORMED: "MALFORMED",
  UNKNOWN_DOMAIN: "UNKNOWN_DOMAIN",
  WRONG_DOMAIN: "WRONG_DOMAIN",
  BAD_SIGNATURE: "BAD_SIGNATURE",
} as const;

/** A {@linkcode SignatureErrorCode} value. */
export type SignatureErrorCodeValue = (typeof SignatureErrorCode)[keyof typeof SignatureErrorCode];

/** A signed message that does not decode or does not verify. */
export class SignatureError extends Error {
  /** Why the message was rejected. */
  readonly code: SignatureErrorCodeValue;

  /** Creates an error with a registry code and a message. */
  constructor(code: SignatureErrorCodeValue, message: string, options: CryptoErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "SignatureError";
    this.code = code;
  }
}
