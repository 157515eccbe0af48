/**
 * The wallet's error classes. Each concept has one class whose `code` comes from a small registry below;
 * callers branch on `code`, never on message text. Messages are sentence case without a final period and
 * never contain secret material (keys, mnemonics, passphrases, plaintexts).
 *
 * @module
 */

/** Options shared by the wallet's error classes. */
export interface WalletErrorOptions {
  /** The underlying error, if any. It must not carry secrets either. */
  readonly cause?: unknown;
}

function causeOf(options: WalletErrorOptions): { cause: unknown } | undefined {
  return options.cause === undefined ? undefined : { cause: options.cause };
}

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
  constructor(code: CryptoErrorCodeValue, message: string, options: WalletErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "CryptoError";
    this.code = code;
  }
}

/**
 * Codes of {@linkcode KeyDerivationError}.
 *
 * | code | meaning |
 * |---|---|
 * | BAD_MNEMONIC_LENGTH | the phrase does not have 12, 15, 18, 21 or 24 words |
 * | BAD_MNEMONIC_WORD | a word is not in the BIP-39 English wordlist |
 * | BAD_MNEMONIC_CHECKSUM | the words do not carry a valid BIP-39 checksum |
 * | BAD_PATH | a derivation path is malformed or an index is out of range |
 * | NON_HARDENED | SLIP-0010 Ed25519 allows only hardened indices |
 * | BAD_SEED | a seed is not 16..64 bytes |
 * | BAD_EXTENDED_KEY | an xprv/xpub string does not decode |
 */
export const KeyDerivationErrorCode = {
  BAD_MNEMONIC_LENGTH: "BAD_MNEMONIC_LENGTH",
  BAD_MNEMONIC_WORD: "BAD_MNEMONIC_WORD",
  BAD_MNEMONIC_CHECKSUM: "BAD_MNEMONIC_CHECKSUM",
  BAD_PATH: "BAD_PATH",
  NON_HARDENED: "NON_HARDENED",
  BAD_SEED: "BAD_SEED",
  BAD_EXTENDED_KEY: "BAD_EXTENDED_KEY",
} as const;

/** A {@linkcode KeyDerivationErrorCode} value. */
export type KeyDerivationErrorCodeValue =
  (typeof KeyDerivationErrorCode)[keyof typeof KeyDerivationErrorCode];

/** A mnemonic, seed or derivation path that cannot be used. Never echoes mnemonic words. */
export class KeyDerivationError extends RangeError {
  /** Why the input was rejected. */
  readonly code: KeyDerivationErrorCodeValue;

  /** Creates an error with a registry code and a message. */
  constructor(code: KeyDerivationErrorCodeValue, message: string, options: WalletErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "KeyDerivationError";
    this.code = code;
  }
}

/**
 * Codes of {@linkcode KeystoreError}.
 *
 * | code | meaning |
 * |---|---|
 * | MALFORMED | the file is not a keystore: bad JSON, wrong types, truncated, or over a limit |
 * | UNSUPPORTED | a format, version, KDF or cipher we do not implement, or KDF parameters outside our bounds |
 * | WRONG_PASSPHRASE | the passphrase does not match (checked before any decryption) |
 * | TAMPERED | the passphrase matches but authentication failed: header or ciphertext was modified |
 * | DUPLICATE_ENTRY | an entry with the same id or the same secret is already stored |
 * | NOT_FOUND | no entry with that id |
 * | LOCKED | the keystore was locked and its secrets wiped |
 */
export const KeystoreErrorCode = {
  MALFORMED: "MALFORMED",
  UNSUPPORTED: "UNSUPPORTED",
  WRONG_PASSPHRASE: "WRONG_PASSPHRASE",
  TAMPERED: "TAMPERED",
  DUPLICATE_ENTRY: "DUPLICATE_ENTRY",
  NOT_FOUND: "NOT_FOUND",
  LOCKED: "LOCKED",
} as const;

/** A {@linkcode KeystoreErrorCode} value. */
export type KeystoreErrorCodeValue = (typeof KeystoreErrorCode)[keyof typeof KeystoreErrorCode];

/** A keystore (ours or Ethereum v3) that cannot be read, unlocked or changed. */
export class KeystoreError extends Error {
  /** Why the operation failed. */
  readonly code: KeystoreErrorCodeValue;

  /** Creates an error with a registry code and a message. */
  constructor(code: KeystoreErrorCodeValue, message: string, options: WalletErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "KeystoreError";
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
  constructor(code: AddressErrorCodeValue, message: string, options: WalletErrorOptions = {}) {
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
  constructor(code: SignatureErrorCodeValue, message: string, options: WalletErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "SignatureError";
    this.code = code;
  }
}

/**
 * Codes of {@linkcode MultisigError}.
 *
 * | code | meaning |
 * |---|---|
 * | BAD_ACCOUNT | threshold or member list invalid (threshold 0 or > N, N > 16, duplicate member) |
 * | MALFORMED_BUNDLE | a signing bundle does not parse, or exceeds a limit |
 * | ACCOUNT_MISMATCH | a bundle's address does not match its members and threshold, or bundles differ |
 * | NOT_A_MEMBER | a signature comes from a key outside the account |
 * | DUPLICATE_SIGNER | two signatures from the same member |
 * | BAD_SIGNATURE | a partial signature does not verify |
 * | BELOW_THRESHOLD | fewer valid signatures than the threshold |
 */
export const MultisigErrorCode = {
  BAD_ACCOUNT: "BAD_ACCOUNT",
  MALFORMED_BUNDLE: "MALFORMED_BUNDLE",
  ACCOUNT_MISMATCH: "ACCOUNT_MISMATCH",
  NOT_A_MEMBER: "NOT_A_MEMBER",
  DUPLICATE_SIGNER: "DUPLICATE_SIGNER",
  BAD_SIGNATURE: "BAD_SIGNATURE",
  BELOW_THRESHOLD: "BELOW_THRESHOLD",
} as const;

/** A {@linkcode MultisigErrorCode} value. */
export type MultisigErrorCodeValue = (typeof MultisigErrorCode)[keyof typeof MultisigErrorCode];

/** A multisig account, bundle or signature set that is invalid. */
export class MultisigError extends Error {
  /** Why the account, bundle or set was rejected. */
  readonly code: MultisigErrorCodeValue;

  /** Creates an error with a registry code and a message. */
  constructor(code: MultisigErrorCodeValue, message: string, options: WalletErrorOptions = {}) {
    super(message, causeOf(options));
    this.name = "MultisigError";
    this.code = code;
  }
}

/**
 * gRPC status codes the wallet service returns (the registry of grpc/grpc `doc/statuscodes.md`; the same
 * numbers as `GrpcStatus` in `bridge/`, repeated here so the wallet does not depend on the bridge).
 */
export const WalletStatus = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A {@linkcode WalletStatus} name. */
export type WalletStatusName = keyof typeof WalletStatus;

/**
 * A wallet service call that failed, with the gRPC status code a transport sends back. `reason` is the code of
 * the underlying wallet error when there is one (e.g. `WRONG_PASSPHRASE`, `NOT_A_MEMBER`). Messages never
 * contain secrets.
 *
 * | status | when |
 * |---|---|
 * | INVALID_ARGUMENT | malformed request: bad key, mnemonic, path, address, bundle, size over a field limit |
 * | NOT_FOUND | no such wallet or account |
 * | ALREADY_EXISTS | the wallet, key or signature is already there |
 * | FAILED_PRECONDITION | the wallet is locked (call Unlock) or the account cannot do this (not a member) |
 * | UNAUTHENTICATED | wrong passphrase or keystore v3 password |
 * | UNAVAILABLE | no chain client is configured |
 * | DATA_LOSS | a stored keystore file is damaged or was modified |
 * | RESOURCE_EXHAUSTED | a request or response over the message size limit |
 * | UNIMPLEMENTED | unknown method |
 * | INTERNAL | a bug; the message says nothing more |
 */
export class WalletServiceError extends Error {
  /** gRPC status code. */
  readonly code: number;
  /** Status name, e.g. `"UNAUTHENTICATED"`. */
  readonly status: WalletStatusName;
  /** The underlying wallet error code, or the status name. */
  readonly reason: string;

  /** Creates an error with a status name and a message. */
  constructor(
    status: WalletStatusName,
    message: string,
    options: WalletErrorOptions & { readonly reason?: string } = {},
  ) {
    super(message, causeOf(options));
    this.name = "WalletServiceError";
    this.status = status;
    this.code = WalletStatus[status];
    this.reason = options.reason ?? status;
  }
}
