/**
 * The wallet service's request and response types, their limits, and the validators that turn untrusted request fields into typed values (every field bounded, every error a WalletServiceError with INVALID_ARGUMENT and a reason). The service itself is wallet_service.ts.
 *
 * @module
 */
import { utf8Strict } from "../core/mod.ts";
import { type Address, addressFromPublicKey } from "../crypto/mod.ts";
import { KeyDerivationError, KeystoreError, MultisigError, WalletServiceError } from "./errors.ts";
import { AddressError, CryptoError, SignatureError } from "../crypto/mod.ts";
import { ethereumAddress } from "../crypto/mod.ts";
import { ETHEREUM_DEFAULT_PATH } from "./hd_keys.ts";
import { Keystore } from "./keystore.ts";
import { type KeystoreEntry, type ScryptParams } from "./keystore_file.ts";
import { parseSigningBundle, type SigningBundle } from "./multisig_bundle.ts";
import { type KeyType, parsePublicKey, type PublicKey } from "../crypto/mod.ts";
import { Secret } from "../crypto/mod.ts";
import { DEFAULT_MAX_SIGNED_MESSAGE } from "../crypto/mod.ts";
import { type WalletStore } from "./wallet_store.ts";

/** Default derivation path of Ed25519 accounts (SLIP-0010, all hardened). Coin type 1 ("testnet, all coins" in
 * SLIP-44) until GhostChain registers its own; the path is printed at creation so a mnemonic can be recovered. */
export const GHOST_ED25519_DEFAULT_PATH = "m/44'/1'/0'/0'/0'";
/** Default derivation path of secp256k1 accounts: Ethereum's, so the same mnemonic gives the same address. */
export const GHOST_SECP256K1_DEFAULT_PATH = ETHEREUM_DEFAULT_PATH;

/** Field limits of requests (bytes or characters). */
export const WALLET_REQUEST_LIMITS = {
  /** Messages and transaction bodies. */
  maxMessageBytes: DEFAULT_MAX_SIGNED_MESSAGE,
  /** Passphrases and keystore v3 passwords. */
  maxPassphraseLength: 1024,
  /** Account references, labels, paths, chain ids. */
  maxShortString: 256,
  /** Keystore v3 JSON. */
  maxKeystoreV3Length: 64 * 1024,
  /** One signing bundle (JSON). */
  maxBundleLength: 4 << 20,
  /** Bundles in one CombineMultisig. */
  maxBundles: 16,
} as const;

/** Protobuf enum names of key types. */
export type KeyTypeName = "KEY_TYPE_UNSPECIFIED" | "KEY_TYPE_ED25519" | "KEY_TYPE_SECP256K1";
/** Key type as requests may carry it: the protobuf enum name or number, or the wallet's own name. */
export type KeyTypeInput = KeyTypeName | KeyType | number;
/** Protobuf enum names of signing domains. */
export type SigningDomainInput =
  | "SIGNING_DOMAIN_UNSPECIFIED"
  | "SIGNING_DOMAIN_WALLET_MESSAGE"
  | "SIGNING_DOMAIN_TRANSACTION"
  | "WALLET_MESSAGE"
  | "TRANSACTION"
  | number;

/** `Account` of wallet.proto. */
export interface AccountInfo {
  readonly id: string;
  readonly label: string;
  readonly keyType: KeyTypeName;
  readonly publicKey: Uint8Array;
  readonly address: string;
  readonly ethereumAddress: string;
  readonly createdAt: string;
}

/** `PublicKey` of wallet.proto. */
export interface PublicKeyInfo {
  readonly keyType?: KeyTypeInput;
  readonly publicKey?: Uint8Array;
}

/** `CreateWalletRequest`. */
export interface CreateWalletRequest {
  readonly wallet?: string;
  readonly passphrase?: string;
}
/** `UnlockRequest`. */
export interface UnlockRequest {
  readonly wallet?: string;
  readonly passphrase?: string;
  readonly idleTimeoutSeconds?: number;
}
/** `LockRequest`. */
export interface LockRequest {
  readonly wallet?: string;
}
/** `CreateAccountRequest`. */
export interface CreateAccountRequest {
  readonly wallet?: string;
  readonly label?: string;
  readonly keyType?: KeyTypeInput;
  readonly wordCount?: number;
  readonly derivationPath?: string;
}
/** `ImportAccountRequest`: exactly one of `mnemonic`, `rawKey`, `keystoreV3`. */
export interface ImportAccountRequest {
  readonly wallet?: string;
  readonly label?: string;
  readonly mnemonic?: {
    readonly mnemonic?: string;
    readonly bip39Passphrase?: string;
    readonly keyType?: KeyTypeInput;
    readonly derivationPath?: string;
  } | null;
  readonly rawKey?: { readonly keyType?: KeyTypeInput; readonly privateKey?: Uint8Array } | null;
  readonly keystoreV3?: { readonly json?: string; readonly password?: string } | null;
}
/** `ListAccountsRequest`. */
export interface ListAccountsRequest {
  readonly wallet?: string;
}
/** `SignTransactionRequest`. */
export interface SignTransactionRequest {
  readonly wallet?: string;
  readonly account?: string;
  readonly chainId?: string;
  readonly body?: Uint8Array;
}
/** `SignMessageRequest`. */
export interface SignMessageRequest {
  readonly wallet?: string;
  readonly account?: string;
  readonly message?: Uint8Array;
}
/** `VerifyMessageRequest`. */
export interface VerifyMessageRequest {
  readonly signedMessage?: Uint8Array;
}
/** `GetBalanceRequest`. */
export interface GetBalanceRequest {
  readonly address?: string;
}
/** `CreateMultisigRequest`. */
export interface CreateMultisigRequest {
  readonly threshold?: number;
  readonly members?: readonly PublicKeyInfo[];
  readonly domain?: SigningDomainInput;
  readonly message?: Uint8Array;
}
/** `SignMultisigRequest`. */
export interface SignMultisigRequest {
  readonly wallet?: string;
  readonly account?: string;
  readonly bundleJson?: string;
}
/** `CombineMultisigRequest`. */
export interface CombineMultisigRequest {
  readonly bundleJsons?: readonly string[];
}
/** `VerifyMultisigRequest`. */
export interface VerifyMultisigRequest {
  readonly bundleJson?: string;
}

/** Signer of a signature in responses. */
export interface SignerInfo {
  readonly keyType: KeyTypeName;
  readonly publicKey: Uint8Array;
}

/** What a chain client reports for an address. */
export interface AccountState {
  /** Balance in the smallest unit. */
  readonly balance: bigint;
  /** Next nonce. */
  readonly nonce: bigint;
}

/**
 * What the wallet needs from a chain node. The chain issue implements it (over the bridge or in process); until
 * one is configured, `GetBalance` answers UNAVAILABLE and the CLI's `balance` and `send` say the chain is not
 * in this build.
 */
export interface ChainClient {
  /** The balance and nonce of an address. */
  getBalance(address: Address, signal?: AbortSignal): Promise<AccountState>;
  /** Submits a `SignedTransaction` encoding; resolves to its hash. */
  submitTransaction(signedTransaction: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
}

/** Why a passphrase is asked for. */
export interface PassphraseRequest {
  readonly wallet: string;
  /** `"unlock"` an existing wallet, or `"create"` a new one (a prompt asks twice). */
  readonly purpose: "unlock" | "create";
}

/**
 * Supplies a passphrase when a call needs a locked wallet (the CLI prompts, reads a file or the environment).
 * Without one, such calls fail with FAILED_PRECONDITION until `Unlock`.
 */
export type PassphraseProvider = (request: PassphraseRequest) => Promise<Secret>;

/** Reported around each key derivation (scrypt), so an interface can show progress. */
export type KdfEvent =
  | { readonly phase: "start"; readonly wallet: string; readonly params: ScryptParams }
  | { readonly phase: "done"; readonly wallet: string; readonly params: ScryptParams; readonly ms: number };

/** Options of {@linkcode WalletService}. */
export interface WalletServiceOptions {
  /** The keystore files. */
  readonly store: WalletStore;
  /** Supplies passphrases for locked wallets; without it, callers must `Unlock` first. */
  readonly passphrase?: PassphraseProvider;
  /** Clock in epoch milliseconds (idle timeouts, `createdAt`). Default `Date.now`. */
  readonly now?: () => number;
  /** Idle time after which a session locks. Default {@linkcode DEFAULT_IDLE_TIMEOUT_MS}. */
  readonly idleTimeoutMs?: number;
  /** scrypt parameters of new wallets. Default {@linkcode DEFAULT_KEYSTORE_KDF}; tests use cheap ones. */
  readonly kdf?: ScryptParams;
  /** The chain, when there is one. */
  readonly chain?: ChainClient;
  /** Called before and after each scrypt run. */
  readonly onKdf?: (event: KdfEvent) => void;
}

export interface Session {
  readonly keystore: Keystore;
  readonly idleMs: number;
  lastUsed: number;
}

export const KEY_TYPE_NAME: Readonly<Record<KeyType, KeyTypeName>> = {
  ed25519: "KEY_TYPE_ED25519",
  secp256k1: "KEY_TYPE_SECP256K1",
};

/** Parses a key type; `undefined` for "unspecified". */
export function parseKeyType(v: unknown, what: string): KeyType | undefined {
  if (v === undefined || v === null || v === 0 || v === "" || v === "KEY_TYPE_UNSPECIFIED") return undefined;
  if (v === 1 || v === "KEY_TYPE_ED25519" || v === "ed25519") return "ed25519";
  if (v === 2 || v === "KEY_TYPE_SECP256K1" || v === "secp256k1") return "secp256k1";
  throw invalid(`${what} is not a known key type`);
}

export function parseDomain(v: unknown): "TRANSACTION" | "WALLET_MESSAGE" {
  if (
    v === undefined || v === null || v === 0 || v === "" || v === "SIGNING_DOMAIN_UNSPECIFIED" ||
    v === 2 || v === "SIGNING_DOMAIN_TRANSACTION" || v === "TRANSACTION"
  ) return "TRANSACTION";
  if (v === 1 || v === "SIGNING_DOMAIN_WALLET_MESSAGE" || v === "WALLET_MESSAGE") return "WALLET_MESSAGE";
  throw invalid("domain is not WALLET_MESSAGE or TRANSACTION");
}

export function invalid(reason: string, cause?: unknown): WalletServiceError {
  return new WalletServiceError(
    "INVALID_ARGUMENT",
    `Invalid request: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

export function optString(
  v: unknown,
  what: string,
  max: number = WALLET_REQUEST_LIMITS.maxShortString,
): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalid(`${what} is not a string`);
  if (v.length > max) throw invalid(`${what} is longer than ${max} characters`);
  return v;
}

export function optBytes(v: unknown, what: string, max: number): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (!(v instanceof Uint8Array)) throw invalid(`${what} is not bytes`);
  if (v.length > max) {
    throw new WalletServiceError(
      "RESOURCE_EXHAUSTED",
      `Invalid request: ${what} of ${v.length} bytes exceeds ${max}`,
    );
  }
  return Uint8Array.from(v);
}

export function optUint(v: unknown, what: string, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw invalid(`${what} is not an integer in 0..${max}`);
  }
  return v;
}

export function passphraseOf(v: unknown, what: string): Secret {
  const text = optString(v, what, WALLET_REQUEST_LIMITS.maxPassphraseLength);
  if (text === "") throw invalid(`${what} is empty`);
  return Secret.fromText(text);
}

/**
 * Maps a wallet core error to a service error. `stored` says the error came from reading our own keystore file
 * (damage there is DATA_LOSS, not the caller's fault).
 */
export function toWalletServiceError(error: unknown, stored = false): WalletServiceError {
  if (error instanceof WalletServiceError) return error;
  const msg = error instanceof Error ? error.message : "Unexpected error";
  if (error instanceof KeystoreError) {
    const opts = { reason: error.code, cause: error };
    switch (error.code) {
      case "WRONG_PASSPHRASE":
        return new WalletServiceError("UNAUTHENTICATED", msg, opts);
      case "NOT_FOUND":
        return new WalletServiceError("NOT_FOUND", msg, opts);
      case "DUPLICATE_ENTRY":
        return new WalletServiceError("ALREADY_EXISTS", msg, opts);
      case "LOCKED":
        return new WalletServiceError("FAILED_PRECONDITION", msg, opts);
      default:
        return new WalletServiceError(stored ? "DATA_LOSS" : "INVALID_ARGUMENT", msg, opts);
    }
  }
  if (error instanceof MultisigError) {
    const opts = { reason: error.code, cause: error };
    if (error.code === "NOT_A_MEMBER") return new WalletServiceError("FAILED_PRECONDITION", msg, opts);
    if (error.code === "DUPLICATE_SIGNER") return new WalletServiceError("ALREADY_EXISTS", msg, opts);
    return new WalletServiceError("INVALID_ARGUMENT", msg, opts);
  }
  if (
    error instanceof KeyDerivationError || error instanceof CryptoError || error instanceof SignatureError ||
    error instanceof AddressError
  ) {
    return new WalletServiceError("INVALID_ARGUMENT", msg, { reason: error.code, cause: error });
  }
  // Anything else is a bug or an I/O failure: say nothing that could carry a secret.
  return new WalletServiceError("INTERNAL", "Internal wallet error", { cause: error });
}

export function accountOf(entry: KeystoreEntry): AccountInfo | undefined {
  if (entry.kind === "mnemonic" || entry.publicKey === undefined) return undefined;
  const key = parsePublicKey(entry.kind, entry.publicKey);
  return {
    id: entry.id,
    label: entry.label,
    keyType: KEY_TYPE_NAME[entry.kind],
    publicKey: Uint8Array.from(key.bytes),
    address: addressFromPublicKey(key),
    ethereumAddress: entry.kind === "secp256k1" ? ethereumAddress(key.bytes) : "",
    createdAt: entry.createdAt,
  };
}

export function signerOf(key: PublicKey): SignerInfo {
  return { keyType: KEY_TYPE_NAME[key.type], publicKey: Uint8Array.from(key.bytes) };
}

/**
 * Finds an account by reference: empty = the first account; else its id, a unique id prefix of at least 8
 * characters, its label, its `ghost1...` address or its Ethereum address.
 */
export function findAccount(accounts: readonly AccountInfo[], ref: string): AccountInfo {
  if (ref === "") {
    const first = accounts[0];
    if (first === undefined) {
      throw new WalletServiceError("NOT_FOUND", "Cannot find account: the wallet has none");
    }
    return first;
  }
  const lower = ref.toLowerCase();
  const exact = accounts.filter((a) =>
    a.id === lower || a.address === lower || a.label === ref ||
    (a.ethereumAddress !== "" && a.ethereumAddress.toLowerCase() === lower)
  );
  const hits = exact.length > 0
    ? exact
    : lower.length >= 8
    ? accounts.filter((a) => a.id.startsWith(lower))
    : [];
  if (hits.length === 1 && hits[0] !== undefined) return hits[0];
  if (hits.length > 1) {
    throw new WalletServiceError(
      "INVALID_ARGUMENT",
      `Cannot choose account: "${ref}" matches ${hits.length} accounts`,
    );
  }
  throw new WalletServiceError("NOT_FOUND", `Cannot find account "${ref}"`);
}

/** The chain id a transaction body carries as protobuf field 1 (a string), or `undefined`. */
export function transactionBodyChainId(body: Uint8Array): string | undefined {
  if (body[0] !== 0x0a) return undefined; // field 1, wire type 2 (length-delimited)
  let len = 0;
  let shift = 0;
  let p = 1;
  for (; p < Math.min(body.length, 6); p++) {
    const b = body[p] ?? 0;
    len += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  p++;
  if (p + len > body.length) return undefined;
  try {
    return utf8Strict.decode(body.subarray(p, p + len));
  } catch {
    return undefined;
  }
}

/** Runs a handler body, turning a synchronous throw into a rejection with a service error. */
export function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(toWalletServiceError(error));
  }
}

export function parseBundle(v: unknown, what: string): SigningBundle {
  const text = optString(v, what, WALLET_REQUEST_LIMITS.maxBundleLength);
  if (text === "") throw invalid(`${what} is required`);
  try {
    return parseSigningBundle(text);
  } catch (error) {
    throw toWalletServiceError(error);
  }
}
