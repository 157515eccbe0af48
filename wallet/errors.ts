/**
 * The wallet's error classes (keys, keystore, multisig, the wallet service). Each concept has one class whose
 * `code` comes from a small registry below; callers branch on `code`, never on message text. Messages are
 * sentence case without a final period and never contain secret material (keys, mnemonics, passphrases,
 * plaintexts). The crypto primitives' errors (`CryptoError`, `AddressError`, `SignatureError`) live in crypto/.
 *
 * @module
 */
import { causeOf, type ErrorOptions as BaseErrorOptions, GrpcStatus } from "../core/mod.ts";

/** Options shared by the wallet's error classes. */
export interface WalletErrorOptions extends BaseErrorOptions {}

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
 * gRPC status codes the wallet service returns: the shared registry of `core/grpc_status.ts`.
 */
export const WalletStatus = GrpcStatus;

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
