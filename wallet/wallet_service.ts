/**
 * {@linkcode WalletService}: the handlers of `ghostchain.wallet.v1.WalletService` (`wallet/wallet.proto`) as a
 * transport-independent core. Each method takes a decoded request object and returns the response object, or
 * throws a {@linkcode WalletServiceError} carrying a gRPC status code. Bytes in and out (protobuf, limits) are
 * `wallet_rpc.ts`; files are behind the injected {@linkcode WalletStore}; time is the injected clock.
 *
 * ## Wallets, accounts, sessions
 * A wallet is one keystore file (`keystore.ts`) holding mnemonics and keys. An **account** is a key entry
 * (Ed25519 or secp256k1); creating an account from a mnemonic stores the mnemonic (for recovery) and the key
 * derived from it (for signing) side by side. Listing reads only the file's public header, so it needs no
 * passphrase. Signing needs the wallet unlocked: `Unlock` (or the injected {@linkcode PassphraseProvider}, which
 * the CLI uses to prompt) opens an **unlock session** that locks itself, wiping every secret, after an idle
 * timeout measured on the injected clock. Calls on one wallet run one at a time.
 *
 * ## Transactions
 * `SignTransaction` signs the exact body bytes in the `TRANSACTION` domain (`signingPayload("TRANSACTION",
 * body)`, as `chain/` verifies). The chain id is inside those bytes: the body must start with protobuf field 1
 * (`Transaction.chain_id` of `chain/ghostchain.proto`) equal to the request's `chain_id`, so the caller states
 * which chain it signs for and a signature can never be replayed on another chain.
 *
 * @module
 */

import { isRecord, toHex, utf8Strict } from "../core/mod.ts";
import { type Address, addressFromPublicKey, parseAddress } from "../crypto/mod.ts";
import { KeyDerivationError, KeystoreError, MultisigError, WalletServiceError } from "./errors.ts";
import { AddressError, CryptoError, SignatureError } from "../crypto/mod.ts";
import {
  decryptEthKeystoreV3,
  encryptEthKeystoreV3,
  type EthKeystoreEncryptOptions,
  type EthKeystoreV3Json,
} from "./eth_keystore_v3.ts";
import { ethereumAddress } from "../crypto/mod.ts";
import {
  deriveEd25519Key,
  deriveSecp256k1Key,
  ETHEREUM_DEFAULT_PATH,
  parseDerivationPath,
} from "./hd_keys.ts";
import { DEFAULT_KEYSTORE_KDF, Keystore } from "./keystore.ts";
import { type KeystoreEntry, parseKeystoreFile, type ScryptParams } from "./keystore_file.ts";
import { generateMnemonic, mnemonicToSeedSecret, type MnemonicWordCount, parseMnemonic } from "./mnemonic.ts";
import { createMultisigAccount } from "./multisig.ts";
import {
  addBundleSignature,
  createSigningBundle,
  encodeSigningBundle,
  mergeSigningBundles,
  parseSigningBundle,
  type SigningBundle,
  verifySigningBundle,
} from "./multisig_bundle.ts";
import { type KeyType, parsePublicKey, type PublicKey, type SigningKey } from "../crypto/mod.ts";
import { Secret } from "../crypto/mod.ts";
import {
  decodeSignedMessage,
  DEFAULT_MAX_SIGNED_MESSAGE,
  encodeSignedMessage,
  signMessage,
  signPayload,
  verifySignedMessage,
} from "../crypto/mod.ts";
import { parseWalletName, type WalletStore } from "./wallet_store.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS } from "./limits.ts";

export { DEFAULT_IDLE_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS };

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

interface Session {
  readonly keystore: Keystore;
  readonly idleMs: number;
  lastUsed: number;
}

const KEY_TYPE_NAME: Readonly<Record<KeyType, KeyTypeName>> = {
  ed25519: "KEY_TYPE_ED25519",
  secp256k1: "KEY_TYPE_SECP256K1",
};

/** Parses a key type; `undefined` for "unspecified". */
function parseKeyType(v: unknown, what: string): KeyType | undefined {
  if (v === undefined || v === null || v === 0 || v === "" || v === "KEY_TYPE_UNSPECIFIED") return undefined;
  if (v === 1 || v === "KEY_TYPE_ED25519" || v === "ed25519") return "ed25519";
  if (v === 2 || v === "KEY_TYPE_SECP256K1" || v === "secp256k1") return "secp256k1";
  throw invalid(`${what} is not a known key type`);
}

function parseDomain(v: unknown): "TRANSACTION" | "WALLET_MESSAGE" {
  if (
    v === undefined || v === null || v === 0 || v === "" || v === "SIGNING_DOMAIN_UNSPECIFIED" ||
    v === 2 || v === "SIGNING_DOMAIN_TRANSACTION" || v === "TRANSACTION"
  ) return "TRANSACTION";
  if (v === 1 || v === "SIGNING_DOMAIN_WALLET_MESSAGE" || v === "WALLET_MESSAGE") return "WALLET_MESSAGE";
  throw invalid("domain is not WALLET_MESSAGE or TRANSACTION");
}

function invalid(reason: string, cause?: unknown): WalletServiceError {
  return new WalletServiceError(
    "INVALID_ARGUMENT",
    `Invalid request: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

function optString(v: unknown, what: string, max: number = WALLET_REQUEST_LIMITS.maxShortString): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalid(`${what} is not a string`);
  if (v.length > max) throw invalid(`${what} is longer than ${max} characters`);
  return v;
}

function optBytes(v: unknown, what: string, max: number): Uint8Array {
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

function optUint(v: unknown, what: string, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw invalid(`${what} is not an integer in 0..${max}`);
  }
  return v;
}

function passphraseOf(v: unknown, what: string): Secret {
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

function accountOf(entry: KeystoreEntry): AccountInfo | undefined {
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

function signerOf(key: PublicKey): SignerInfo {
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

/**
 * The wallet service core. See the module doc.
 *
 * @example
 * ```ts
 * const wallet = new WalletService({ store: new MemoryWalletStore(), kdf: { n: 1024, r: 8, p: 1 } });
 * await wallet.createWallet({ passphrase: "correct horse battery staple" });
 * const { account, mnemonic } = await wallet.createAccount({ label: "main" });
 * const signed = await wallet.signMessage({ account: account.id, message: new TextEncoder().encode("hi") });
 * ```
 */
export class WalletService {
  readonly #store: WalletStore;
  readonly #passphrase: PassphraseProvider | undefined;
  readonly #now: () => number;
  readonly #idleMs: number;
  readonly #kdf: ScryptParams;
  readonly #chain: ChainClient | undefined;
  readonly #onKdf: ((event: KdfEvent) => void) | undefined;
  readonly #sessions = new Map<string, Session>();
  readonly #queues = new Map<string, Promise<unknown>>();

  /** Creates the service; nothing is read until the first call. */
  constructor(options: WalletServiceOptions) {
    this.#store = options.store;
    this.#passphrase = options.passphrase;
    this.#now = options.now ?? Date.now;
    this.#idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (!(this.#idleMs > 0 && this.#idleMs <= MAX_IDLE_TIMEOUT_MS)) {
      throw new RangeError(
        `Cannot create wallet service: idle timeout ${this.#idleMs} ms is not in 1..${MAX_IDLE_TIMEOUT_MS}`,
      );
    }
    this.#kdf = options.kdf ?? DEFAULT_KEYSTORE_KDF;
    this.#chain = options.chain;
    this.#onKdf = options.onKdf;
  }

  /** Whether a chain client is configured. */
  get hasChain(): boolean {
    return this.#chain !== undefined;
  }

  /** Names of the wallets whose sessions are open (and not yet expired by the clock). */
  unlockedWallets(): string[] {
    this.lockExpired();
    return [...this.#sessions.keys()].sort();
  }

  /** Locks every session idle past its timeout; returns how many. The worker calls this on a timer. */
  lockExpired(): number {
    const now = this.#now();
    let n = 0;
    for (const [wallet, s] of this.#sessions) {
      if (now - s.lastUsed >= s.idleMs) {
        s.keystore.lock();
        this.#sessions.delete(wallet);
        n++;
      }
    }
    return n;
  }

  /** Locks every session (drain, shutdown). */
  lockAll(): void {
    for (const s of this.#sessions.values()) s.keystore.lock();
    this.#sessions.clear();
  }

  /** `CreateWallet`: a new, empty keystore file, left unlocked. */
  async createWallet(req: CreateWalletRequest): Promise<{ wallet: string }> {
    const wallet = parseWalletName(req.wallet);
    const pass = passphraseOf(req.passphrase, "passphrase");
    return await this.#exclusive(wallet, async () => {
      try {
        if ((await this.#store.read(wallet)) !== undefined) {
          throw new WalletServiceError("ALREADY_EXISTS", `Cannot create wallet ${wallet}: it exists`);
        }
        await this.#create(wallet, pass);
        return { wallet };
      } finally {
        pass.wipe();
      }
    });
  }

  /** `Unlock`: opens a session that locks after `idleTimeoutSeconds` (0 = default) without calls. */
  async unlock(req: UnlockRequest): Promise<{ wallet: string; idleTimeoutSeconds: number }> {
    const wallet = parseWalletName(req.wallet);
    const seconds = optUint(req.idleTimeoutSeconds, "idle_timeout_seconds", MAX_IDLE_TIMEOUT_MS / 1000);
    const idleMs = seconds === 0 ? this.#idleMs : seconds * 1000;
    const pass = passphraseOf(req.passphrase, "passphrase");
    return await this.#exclusive(wallet, async () => {
      try {
        const keystore = await this.#open(wallet, pass);
        this.#drop(wallet);
        this.#sessions.set(wallet, { keystore, idleMs, lastUsed: this.#now() });
        return { wallet, idleTimeoutSeconds: Math.round(idleMs / 1000) };
      } finally {
        pass.wipe();
      }
    });
  }

  /** `Lock`: wipes the wallet's secrets from memory. */
  async lock(req: LockRequest): Promise<{ wasUnlocked: boolean }> {
    const wallet = parseWalletName(req.wallet);
    return await this.#exclusive(wallet, () => {
      this.lockExpired();
      return Promise.resolve({ wasUnlocked: this.#drop(wallet) });
    });
  }

  /**
   * `CreateAccount`: a new BIP-39 mnemonic and the account derived from it at `derivationPath` (default
   * {@linkcode GHOST_ED25519_DEFAULT_PATH} or {@linkcode GHOST_SECP256K1_DEFAULT_PATH}). Both are stored; the
   * mnemonic is returned once for the user to write down.
   */
  async createAccount(
    req: CreateAccountRequest,
  ): Promise<{ account: AccountInfo; mnemonic: string; derivationPath: string }> {
    const wallet = parseWalletName(req.wallet);
    const label = optString(req.label, "label", 128);
    const type = parseKeyType(req.keyType, "key_type") ?? "ed25519";
    const words = optUint(req.wordCount, "word_count", 24) || 24;
    if (![12, 15, 18, 21, 24].includes(words)) throw invalid("word_count is not 12, 15, 18, 21 or 24");
    const path = this.#path(type, req.derivationPath);
    return await this.#exclusive(wallet, async () => {
      const keystore = await this.#unlocked(wallet, true);
      const mnemonic = generateMnemonic(words as MnemonicWordCount);
      try {
        const account = await this.#addDerived(
          wallet,
          keystore,
          mnemonic,
          Secret.fromText(""),
          type,
          path,
          label,
        );
        return { account, mnemonic: mnemonic.exposeText(), derivationPath: path };
      } finally {
        mnemonic.wipe();
      }
    });
  }

  /** `ImportAccount`: from a mnemonic (and path), a raw 32-byte key, or an Ethereum keystore v3 file. */
  async importAccount(req: ImportAccountRequest): Promise<{ account: AccountInfo }> {
    const wallet = parseWalletName(req.wallet);
    const label = optString(req.label, "label", 128);
    const sources = [req.mnemonic, req.rawKey, req.keystoreV3].filter((s) => s !== undefined && s !== null);
    if (sources.length !== 1) throw invalid("exactly one of mnemonic, raw_key, keystore_v3 is required");
    return await this.#exclusive(wallet, async () => {
      if (isRecord(req.mnemonic)) {
        const m = req.mnemonic;
        const type = parseKeyType(m.keyType, "mnemonic.key_type") ?? "ed25519";
        const path = this.#path(type, m.derivationPath);
        const phrase = optString(m.mnemonic, "mnemonic.mnemonic", 1024);
        const mnemonic = (() => {
          try {
            return parseMnemonic(phrase);
          } catch (error) {
            throw toWalletServiceError(error);
          }
        })();
        const bip39 = Secret.fromText(optString(m.bip39Passphrase, "mnemonic.bip39_passphrase", 1024));
        try {
          const keystore = await this.#unlocked(wallet, true);
          return { account: await this.#addDerived(wallet, keystore, mnemonic, bip39, type, path, label) };
        } finally {
          mnemonic.wipe();
          bip39.wipe();
        }
      }
      let type: KeyType;
      let key: Secret;
      if (isRecord(req.rawKey)) {
        const t = parseKeyType(req.rawKey.keyType, "raw_key.key_type");
        if (t === undefined) throw invalid("raw_key.key_type is required");
        const bytes = optBytes(req.rawKey.privateKey, "raw_key.private_key", 32);
        if (bytes.length !== 32) throw invalid("raw_key.private_key is not 32 bytes");
        type = t;
        key = Secret.from(bytes);
      } else {
        const v3 = req.keystoreV3 ?? {};
        const json = optString(v3.json, "keystore_v3.json", WALLET_REQUEST_LIMITS.maxKeystoreV3Length);
        const password = Secret.fromText(
          optString(v3.password, "keystore_v3.password", WALLET_REQUEST_LIMITS.maxPassphraseLength),
        );
        try {
          key = await decryptEthKeystoreV3(json, password);
        } catch (error) {
          const e = toWalletServiceError(error);
          throw e.reason === "WRONG_PASSPHRASE"
            ? new WalletServiceError("UNAUTHENTICATED", "Cannot import keystore v3: wrong password", {
              reason: "WRONG_PASSPHRASE",
            })
            : e;
        } finally {
          password.wipe();
        }
        type = "secp256k1";
      }
      try {
        const keystore = await this.#unlocked(wallet, true);
        return { account: await this.#addKey(wallet, keystore, type, key, label) };
      } finally {
        key.wipe();
      }
    });
  }

  /** `ListAccounts`: reads the public header only, so a locked wallet lists too. */
  async listAccounts(
    req: ListAccountsRequest,
  ): Promise<{ accounts: AccountInfo[]; mnemonics: number; unlocked: boolean }> {
    const wallet = parseWalletName(req.wallet);
    return await this.#exclusive(wallet, async () => {
      const entries = await this.#entries(wallet);
      return {
        accounts: entries.flatMap((e) => accountOf(e) ?? []),
        mnemonics: entries.filter((e) => e.kind === "mnemonic").length,
        unlocked: this.#sessions.has(wallet),
      };
    });
  }

  /** `SignTransaction`: signs `body` in the TRANSACTION domain after checking it carries `chainId`. */
  async signTransaction(
    req: SignTransactionRequest,
  ): Promise<{ signature: Uint8Array; signer: SignerInfo; address: string }> {
    const wallet = parseWalletName(req.wallet);
    const ref = optString(req.account, "account");
    const chainId = optString(req.chainId, "chain_id", 64);
    if (chainId === "") throw invalid("chain_id is required");
    const body = optBytes(req.body, "body", WALLET_REQUEST_LIMITS.maxMessageBytes);
    const carried = transactionBodyChainId(body);
    if (carried !== chainId) {
      throw invalid(
        carried === undefined
          ? "body does not start with a chain id (Transaction field 1)"
          : `body is for chain "${carried}", not "${chainId}"`,
      );
    }
    return await this.#withKey(wallet, ref, (key, account) => ({
      signature: signPayload("TRANSACTION", body, key),
      signer: { keyType: account.keyType, publicKey: account.publicKey },
      address: account.address,
    }));
  }

  /** `SignMessage`: signs in the WALLET_MESSAGE domain; returns the bare signature and the "GSM" encoding. */
  async signMessage(
    req: SignMessageRequest,
  ): Promise<{ signature: Uint8Array; signer: SignerInfo; address: string; signedMessage: Uint8Array }> {
    const wallet = parseWalletName(req.wallet);
    const ref = optString(req.account, "account");
    const message = optBytes(req.message, "message", WALLET_REQUEST_LIMITS.maxMessageBytes);
    return await this.#withKey(wallet, ref, (key, account) => {
      const signed = signMessage("WALLET_MESSAGE", message, key);
      return {
        signature: signed.signature,
        signer: signerOf(signed.signer),
        address: account.address,
        signedMessage: encodeSignedMessage(signed),
      };
    });
  }

  /** `VerifyMessage`: checks a "GSM" signed message in the WALLET_MESSAGE domain. Never needs a wallet. */
  async verifyMessage(
    req: VerifyMessageRequest,
  ): Promise<{ valid: boolean; reason: string; address: string; message: Uint8Array }> {
    const bytes = optBytes(req.signedMessage, "signed_message", WALLET_REQUEST_LIMITS.maxMessageBytes + 256);
    let decoded;
    try {
      const [msg, end] = decodeSignedMessage(bytes);
      if (end !== bytes.length) {
        throw new SignatureError("MALFORMED", "Cannot decode signed message: trailing bytes");
      }
      decoded = msg;
    } catch (error) {
      if (error instanceof SignatureError) {
        return { valid: false, reason: error.code, address: "", message: new Uint8Array(0) };
      }
      throw toWalletServiceError(error);
    }
    const address = addressFromPublicKey(decoded.signer);
    try {
      await verifySignedMessage(decoded, "WALLET_MESSAGE");
      return { valid: true, reason: "", address, message: decoded.message };
    } catch (error) {
      if (error instanceof SignatureError) {
        return { valid: false, reason: error.code, address, message: decoded.message };
      }
      throw toWalletServiceError(error);
    }
  }

  /** `GetBalance`: UNAVAILABLE until a {@linkcode ChainClient} is configured. */
  async getBalance(req: GetBalanceRequest): Promise<{ address: string; balance: string; nonce: string }> {
    let address: Address;
    try {
      address = parseAddress(optString(req.address, "address")).address;
    } catch (error) {
      throw toWalletServiceError(error);
    }
    if (this.#chain === undefined) {
      throw new WalletServiceError(
        "UNAVAILABLE",
        "Cannot get balance: no chain client is configured (the chain service is not part of this build)",
      );
    }
    const state = await this.#chain.getBalance(address);
    return { address, balance: state.balance.toString(), nonce: state.nonce.toString() };
  }

  /** `CreateMultisig`: an M-of-N account and an unsigned signing bundle for `message`. */
  createMultisig(req: CreateMultisigRequest): Promise<{ address: string; bundleJson: string }> {
    return attempt(() => this.#createMultisig(req));
  }

  #createMultisig(req: CreateMultisigRequest): Promise<{ address: string; bundleJson: string }> {
    const threshold = optUint(req.threshold, "threshold", 16);
    const members = (req.members ?? []).map((m, i) => {
      const type = parseKeyType(m.keyType, `members[${i}].key_type`);
      if (type === undefined) throw invalid(`members[${i}].key_type is required`);
      try {
        return parsePublicKey(type, optBytes(m.publicKey, `members[${i}].public_key`, 33));
      } catch (error) {
        throw toWalletServiceError(error);
      }
    });
    const domain = parseDomain(req.domain);
    const message = optBytes(req.message, "message", WALLET_REQUEST_LIMITS.maxMessageBytes);
    try {
      const account = createMultisigAccount(members, threshold);
      return Promise.resolve({
        address: account.address,
        bundleJson: encodeSigningBundle(createSigningBundle(account, domain, message)),
      });
    } catch (error) {
      throw toWalletServiceError(error);
    }
  }

  /**
   * `SignMultisig`: adds this wallet's partial signature to a bundle. An empty `account` picks the wallet's
   * first account that is a member.
   */
  async signMultisig(
    req: SignMultisigRequest,
  ): Promise<{ signature: Uint8Array; signer: SignerInfo; bundleJson: string }> {
    const wallet = parseWalletName(req.wallet);
    const ref = optString(req.account, "account");
    const bundle = parseBundle(req.bundleJson, "bundle_json");
    const memberRef = (accounts: readonly AccountInfo[]): string => {
      if (ref !== "") return ref;
      const member = accounts.find((a) =>
        bundle.account.members.some((m) =>
          KEY_TYPE_NAME[m.type] === a.keyType && toHex(m.bytes) === toHex(a.publicKey)
        )
      );
      if (member === undefined) {
        throw new WalletServiceError(
          "FAILED_PRECONDITION",
          `Cannot sign bundle: no account of wallet ${wallet} is a member of ${bundle.account.address}`,
          { reason: "NOT_A_MEMBER" },
        );
      }
      return member.id;
    };
    return await this.#withKey(wallet, memberRef, (key) => {
      const next = addBundleSignature(bundle, key);
      const partial = next.signatures[next.signatures.length - 1];
      if (partial === undefined) throw new WalletServiceError("INTERNAL", "Internal wallet error");
      return {
        signature: partial.signature,
        signer: signerOf(partial.signer),
        bundleJson: encodeSigningBundle(next),
      };
    });
  }

  /** `CombineMultisig`: merges bundles of one account, domain and message. */
  combineMultisig(
    req: CombineMultisigRequest,
  ): Promise<{ bundleJson: string; signatures: number; threshold: number }> {
    return attempt(() => this.#combineMultisig(req));
  }

  #combineMultisig(
    req: CombineMultisigRequest,
  ): Promise<{ bundleJson: string; signatures: number; threshold: number }> {
    const list = req.bundleJsons ?? [];
    if (list.length === 0 || list.length > WALLET_REQUEST_LIMITS.maxBundles) {
      throw invalid(`bundle_jsons must hold 1..${WALLET_REQUEST_LIMITS.maxBundles} bundles`);
    }
    const bundles = list.map((b, i) => parseBundle(b, `bundle_jsons[${i}]`));
    try {
      const merged = bundles.slice(1).reduce(mergeSigningBundles, bundles[0] as SigningBundle);
      return Promise.resolve({
        bundleJson: encodeSigningBundle(merged),
        signatures: merged.signatures.length,
        threshold: merged.account.threshold,
      });
    } catch (error) {
      throw toWalletServiceError(error);
    }
  }

  /** `VerifyMultisig`: whether the bundle's signatures meet its threshold; `reason` is the failure code. */
  async verifyMultisig(req: VerifyMultisigRequest): Promise<{
    valid: boolean;
    reason: string;
    address: string;
    signers: SignerInfo[];
    threshold: number;
  }> {
    const bundle = parseBundle(req.bundleJson, "bundle_json");
    const base = { address: bundle.account.address, threshold: bundle.account.threshold };
    try {
      const verified = await verifySigningBundle(bundle);
      return { valid: true, reason: "", ...base, signers: verified.signers.map(signerOf) };
    } catch (error) {
      if (error instanceof MultisigError) return { valid: false, reason: error.code, ...base, signers: [] };
      throw toWalletServiceError(error);
    }
  }

  /**
   * Exports a secp256k1 account as Ethereum keystore v3 JSON under its own password. Local only: it is not in
   * wallet.proto, so the service never sends a private key over the network (the CLI's `export-v3` uses it).
   */
  async exportKeystoreV3(req: {
    readonly wallet?: string;
    readonly account?: string;
    readonly password: Secret;
    readonly options?: EthKeystoreEncryptOptions;
  }): Promise<{ json: EthKeystoreV3Json; account: AccountInfo }> {
    const wallet = parseWalletName(req.wallet);
    const ref = optString(req.account, "account");
    if (req.password.length === 0) throw invalid("password is empty");
    return await this.#withKey(wallet, ref, async (key, account) => {
      if (key.type !== "secp256k1") {
        throw new WalletServiceError(
          "FAILED_PRECONDITION",
          `Cannot export account ${account.id} as keystore v3: it is ${key.type}; v3 holds secp256k1 keys`,
        );
      }
      return { json: await encryptEthKeystoreV3(key.secretKey, req.password, req.options ?? {}), account };
    });
  }

  // ---- internals ----

  #path(type: KeyType, v: unknown): string {
    const path = optString(v, "derivation_path") ||
      (type === "ed25519" ? GHOST_ED25519_DEFAULT_PATH : GHOST_SECP256K1_DEFAULT_PATH);
    try {
      const indices = parseDerivationPath(path);
      if (type === "ed25519" && indices.some((i) => i < 0x8000_0000)) {
        throw invalid("derivation_path must be all hardened for Ed25519 (SLIP-0010)");
      }
    } catch (error) {
      throw toWalletServiceError(error);
    }
    return path;
  }

  /** Runs `fn` after every earlier call on `wallet` finished. */
  #exclusive<T>(wallet: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(wallet) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(() => {}, () => {});
    this.#queues.set(wallet, tail);
    void tail.then(() => {
      if (this.#queues.get(wallet) === tail) this.#queues.delete(wallet);
    });
    return run.catch((error) => {
      throw toWalletServiceError(error);
    });
  }

  #drop(wallet: string): boolean {
    const s = this.#sessions.get(wallet);
    if (s === undefined) return false;
    s.keystore.lock();
    this.#sessions.delete(wallet);
    return true;
  }

  async #timedKdf<T>(wallet: string, params: ScryptParams, fn: () => Promise<T>): Promise<T> {
    this.#onKdf?.({ phase: "start", wallet, params });
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.#onKdf?.({ phase: "done", wallet, params, ms: performance.now() - t0 });
    }
  }

  async #create(wallet: string, pass: Secret): Promise<Keystore> {
    const keystore = await this.#timedKdf(
      wallet,
      this.#kdf,
      () => Keystore.create(pass, { kdf: this.#kdf, now: this.#now }),
    );
    try {
      await this.#store.create(wallet, keystore.seal());
    } catch (error) {
      keystore.lock();
      throw error;
    }
    this.#drop(wallet);
    this.#sessions.set(wallet, { keystore, idleMs: this.#idleMs, lastUsed: this.#now() });
    return keystore;
  }

  async #open(wallet: string, pass: Secret): Promise<Keystore> {
    const data = await this.#store.read(wallet);
    if (data === undefined) throw new WalletServiceError("NOT_FOUND", `Cannot find wallet ${wallet}`);
    let params: ScryptParams;
    try {
      params = parseKeystoreFile(data).kdf;
    } catch (error) {
      throw toWalletServiceError(error, true);
    }
    try {
      return await this.#timedKdf(wallet, params, () => Keystore.unlock(data, pass, { now: this.#now }));
    } catch (error) {
      throw toWalletServiceError(error, true);
    }
  }

  /** The session's keystore, opening one through the passphrase provider when there is none. */
  async #unlocked(wallet: string, createIfMissing: boolean): Promise<Keystore> {
    this.lockExpired();
    const s = this.#sessions.get(wallet);
    if (s !== undefined) {
      s.lastUsed = this.#now();
      return s.keystore;
    }
    const exists = (await this.#store.read(wallet)) !== undefined;
    if (!exists && !createIfMissing) {
      throw new WalletServiceError("NOT_FOUND", `Cannot find wallet ${wallet}`);
    }
    if (this.#passphrase === undefined) {
      throw exists
        ? new WalletServiceError(
          "FAILED_PRECONDITION",
          `Cannot use wallet ${wallet}: it is locked (call Unlock)`,
          {
            reason: "LOCKED",
          },
        )
        : new WalletServiceError("NOT_FOUND", `Cannot find wallet ${wallet}: create it with CreateWallet`);
    }
    const pass = await this.#passphrase({ wallet, purpose: exists ? "unlock" : "create" });
    try {
      if (!exists) return await this.#create(wallet, pass);
      const keystore = await this.#open(wallet, pass);
      this.#sessions.set(wallet, { keystore, idleMs: this.#idleMs, lastUsed: this.#now() });
      return keystore;
    } finally {
      pass.wipe();
    }
  }

  async #entries(wallet: string): Promise<readonly KeystoreEntry[]> {
    this.lockExpired();
    const s = this.#sessions.get(wallet);
    if (s !== undefined) return s.keystore.entries();
    const data = await this.#store.read(wallet);
    if (data === undefined) throw new WalletServiceError("NOT_FOUND", `Cannot find wallet ${wallet}`);
    try {
      return parseKeystoreFile(data).entries;
    } catch (error) {
      throw toWalletServiceError(error, true);
    }
  }

  /** Seals and writes; on failure removes `added` entries again so memory matches the file. */
  async #persist(wallet: string, keystore: Keystore, added: readonly string[]): Promise<void> {
    try {
      await this.#store.write(wallet, keystore.seal());
    } catch (error) {
      for (const id of added) keystore.remove(id);
      throw error;
    }
  }

  async #addKey(
    wallet: string,
    keystore: Keystore,
    type: KeyType,
    key: Secret,
    label: string,
  ): Promise<AccountInfo> {
    const entry = keystore.importKey(type, key, { label });
    await this.#persist(wallet, keystore, [entry.id]);
    const account = accountOf(entry);
    if (account === undefined) throw new WalletServiceError("INTERNAL", "Internal wallet error");
    return account;
  }

  async #addDerived(
    wallet: string,
    keystore: Keystore,
    mnemonic: Secret,
    bip39: Secret,
    type: KeyType,
    path: string,
    label: string,
  ): Promise<AccountInfo> {
    const seed = await mnemonicToSeedSecret(mnemonic, bip39);
    let key: Secret;
    try {
      key = type === "ed25519"
        ? deriveEd25519Key(seed, path).privateKey
        : deriveSecp256k1Key(seed, path).privateKey;
    } finally {
      seed.wipe();
    }
    const added: string[] = [];
    let entry: KeystoreEntry;
    try {
      try {
        added.push(keystore.addMnemonic(mnemonic, { label, bip39Passphrase: bip39 }).id);
      } catch (error) {
        // The same mnemonic may back several accounts (other paths or key types): keep one copy.
        if (!(error instanceof KeystoreError && error.code === "DUPLICATE_ENTRY")) throw error;
      }
      entry = keystore.importKey(type, key, { label });
      added.push(entry.id);
    } catch (error) {
      for (const id of added) keystore.remove(id);
      throw error;
    } finally {
      key.wipe();
    }
    await this.#persist(wallet, keystore, added);
    const account = accountOf(entry);
    if (account === undefined) throw new WalletServiceError("INTERNAL", "Internal wallet error");
    return account;
  }

  /** Runs `fn` with the account's signing key (wiped afterwards), under the wallet's lock. */
  #withKey<T>(
    wallet: string,
    ref: string | ((accounts: readonly AccountInfo[]) => string),
    fn: (key: SigningKey, account: AccountInfo) => T | Promise<T>,
  ): Promise<T> {
    return this.#exclusive(wallet, async () => {
      const keystore = await this.#unlocked(wallet, false);
      const accounts = keystore.entries().flatMap((e) => accountOf(e) ?? []);
      const account = findAccount(accounts, typeof ref === "string" ? ref : ref(accounts));
      const key = keystore.signingKey(account.id);
      try {
        return await fn(key, account);
      } finally {
        key.secretKey.wipe();
      }
    });
  }
}

/** Runs a handler body, turning a synchronous throw into a rejection with a service error. */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(toWalletServiceError(error));
  }
}

function parseBundle(v: unknown, what: string): SigningBundle {
  const text = optString(v, what, WALLET_REQUEST_LIMITS.maxBundleLength);
  if (text === "") throw invalid(`${what} is required`);
  try {
    return parseSigningBundle(text);
  } catch (error) {
    throw toWalletServiceError(error);
  }
}
