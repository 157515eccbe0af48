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

import { isRecord, toHex } from "../core/mod.ts";
import { type Address, addressFromPublicKey, parseAddress } from "../crypto/mod.ts";
import { KeystoreError, MultisigError, WalletServiceError } from "./errors.ts";
import { SignatureError } from "../crypto/mod.ts";
import {
  decryptEthKeystoreV3,
  encryptEthKeystoreV3,
  type EthKeystoreEncryptOptions,
  type EthKeystoreV3Json,
} from "./eth_keystore_v3.ts";
import { deriveEd25519Key, deriveSecp256k1Key, parseDerivationPath } from "./hd_keys.ts";
import { DEFAULT_KEYSTORE_KDF, Keystore } from "./keystore.ts";
import { type KeystoreEntry, parseKeystoreFile, type ScryptParams } from "./keystore_file.ts";
import { generateMnemonic, mnemonicToSeedSecret, type MnemonicWordCount, parseMnemonic } from "./mnemonic.ts";
import { createMultisigAccount } from "./multisig.ts";
import {
  addBundleSignature,
  createSigningBundle,
  encodeSigningBundle,
  mergeSigningBundles,
  type SigningBundle,
  verifySigningBundle,
} from "./multisig_bundle.ts";
import { type KeyType, parsePublicKey, type SigningKey } from "../crypto/mod.ts";
import { ed25519Sign, Secret } from "../crypto/mod.ts";
import { isRequestSignatureBase } from "../transport/http/mod.ts";
import {
  decodeSignedMessage,
  encodeSignedMessage,
  signMessage,
  signPayload,
  verifySignedMessage,
} from "../crypto/mod.ts";
import { parseWalletName, type WalletStore } from "./wallet_store.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS } from "./limits.ts";
import {
  type AccountInfo,
  accountOf,
  attempt,
  type ChainClient,
  type CombineMultisigRequest,
  type CreateAccountRequest,
  type CreateMultisigRequest,
  type CreateWalletRequest,
  findAccount,
  type GetBalanceRequest,
  GHOST_ED25519_DEFAULT_PATH,
  GHOST_SECP256K1_DEFAULT_PATH,
  type ImportAccountRequest,
  invalid,
  type KdfEvent,
  KEY_TYPE_NAME,
  type ListAccountsRequest,
  type LockRequest,
  optBytes,
  optString,
  optUint,
  parseBundle,
  parseDomain,
  parseKeyType,
  passphraseOf,
  type PassphraseProvider,
  type Session,
  type SignerInfo,
  signerOf,
  type SignMessageRequest,
  type SignMultisigRequest,
  type SignTransactionRequest,
  toWalletServiceError,
  transactionBodyChainId,
  type UnlockRequest,
  type VerifyMessageRequest,
  type VerifyMultisigRequest,
  WALLET_REQUEST_LIMITS,
  type WalletServiceOptions,
} from "./wallet_requests.ts";
export {
  type AccountInfo,
  type AccountState,
  type ChainClient,
  type CombineMultisigRequest,
  type CreateAccountRequest,
  type CreateMultisigRequest,
  type CreateWalletRequest,
  findAccount,
  type GetBalanceRequest,
  GHOST_ED25519_DEFAULT_PATH,
  GHOST_SECP256K1_DEFAULT_PATH,
  type ImportAccountRequest,
  type KdfEvent,
  type KeyTypeInput,
  type KeyTypeName,
  type ListAccountsRequest,
  type LockRequest,
  type PassphraseProvider,
  type PassphraseRequest,
  type PublicKeyInfo,
  type SignerInfo,
  type SigningDomainInput,
  type SignMessageRequest,
  type SignMultisigRequest,
  type SignTransactionRequest,
  toWalletServiceError,
  transactionBodyChainId,
  type UnlockRequest,
  type VerifyMessageRequest,
  type VerifyMultisigRequest,
  WALLET_REQUEST_LIMITS,
  type WalletServiceOptions,
} from "./wallet_requests.ts";

export { DEFAULT_IDLE_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS };
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

  /**
   * Signs an HTTP request for wraith's `ghost-auth` (RFC 9421, ed25519): the bytes must be an RFC 9421 signature
   * base whose `@signature-params` name this account's address as `keyid` and `alg="ed25519"`. Such text (a
   * quoted line per component) cannot be mistaken for the binary payloads of the other signing domains.
   */
  async signHttpRequest(
    req: { wallet?: unknown; account?: unknown; base?: unknown },
  ): Promise<{ signature: Uint8Array; publicKey: Uint8Array; address: string }> {
    const wallet = parseWalletName(req.wallet);
    const ref = optString(req.account, "account");
    if (typeof req.base !== "string" || req.base.length > 8_192) {
      throw new WalletServiceError(
        "INVALID_ARGUMENT",
        "base must be a signature base of at most 8192 characters",
      );
    }
    const base = req.base;
    return await this.#withKey(wallet, ref, (key, account) => {
      if (key.type !== "ed25519") {
        throw new WalletServiceError(
          "FAILED_PRECONDITION",
          "HTTP request signatures need an ed25519 account",
        );
      }
      if (!isRequestSignatureBase(base, account.address)) {
        throw new WalletServiceError("INVALID_ARGUMENT", "not an RFC 9421 signature base for this account");
      }
      return {
        signature: ed25519Sign(key.secretKey, new TextEncoder().encode(base)),
        publicKey: account.publicKey,
        address: account.address,
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
