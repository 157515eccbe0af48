/**
 * {@linkcode Keystore}: one encrypted keystore per wallet holding several BIP-39 mnemonics and imported
 * Ed25519 / secp256k1 keys. Sans-IO: it turns file bytes into an unlocked keystore and back; reading and
 * writing files is `deno_keystore.ts`. The file format is specified in `keystore_file.ts`.
 *
 * Cryptography: scrypt (`@noble/hashes`, memory-hard; default n = 2^17, r = 8, p = 1, i.e. 128 MiB) derives
 * the keys; XChaCha20-Poly1305 (`@noble/ciphers`) encrypts with the whole header as associated data; a
 * fresh random 24-byte nonce is drawn for every {@linkcode Keystore.seal}.
 *
 * @module
 */

import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hmac } from "@noble/hashes/hmac.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { equalBytes, utf8 } from "../core/mod.ts";
import { ed25519PublicKey } from "../crypto/mod.ts";
import { KeystoreError } from "./errors.ts";
import {
  checkScryptParams,
  encodeKeystoreFile,
  KEYSTORE_LIMITS,
  keystoreAssociatedData,
  type KeystoreEntry,
  type KeystoreEntryKind,
  type KeystoreFile,
  type KeystoreRecord,
  packKeystoreRecords,
  parseKeystoreFile,
  type ScryptParams,
  unpackKeystoreRecords,
  uuidFromBytes,
} from "./keystore_file.ts";
import { mnemonicToSeedSecret, parseMnemonic } from "./mnemonic.ts";
import type { KeyType, SigningKey } from "../crypto/mod.ts";
import { secp256k1PublicKey } from "../crypto/mod.ts";
import { Secret, wipeBytes } from "../crypto/mod.ts";

/** Production scrypt parameters: 2^17 x 8 x 1 (128 MiB, about a second in JavaScript). */
export const DEFAULT_KEYSTORE_KDF: ScryptParams = { n: 1 << 17, r: 8, p: 1 };

const CHECK_LABEL = utf8.encode("ghostchain-keystore/v1 passphrase check");

/** Options of {@linkcode Keystore.create} and {@linkcode Keystore.changePassphrase}. */
export interface KeystoreOptions {
  /** scrypt parameters for new files. Default {@linkcode DEFAULT_KEYSTORE_KDF}; tests use small n. */
  readonly kdf?: ScryptParams;
  /** Randomness source (salt, nonces, ids). Default `crypto.getRandomValues`. */
  readonly random?: (length: number) => Uint8Array;
  /** Clock for `createdAt`. Default `Date.now`. */
  readonly now?: () => number;
}

interface Slot {
  readonly entry: KeystoreEntry;
  readonly secret: Secret;
  readonly extra: Secret;
}

function defaultRandom(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function passBytes(passphrase: string | Secret): Uint8Array {
  return typeof passphrase === "string" ? utf8.encode(passphrase) : Uint8Array.from(passphrase.expose());
}

async function deriveKeys(passphrase: string | Secret, params: ScryptParams, salt: Uint8Array): Promise<{
  key: Secret;
  check: Uint8Array;
}> {
  const pass = passBytes(passphrase);
  try {
    const dk = await scryptAsync(pass, salt, {
      N: params.n,
      r: params.r,
      p: params.p,
      dkLen: 64,
      maxmem: KEYSTORE_LIMITS.maxMemoryBytes + 1024 * 1024,
    });
    const checkKey = dk.slice(32);
    const check = hmac(sha256, checkKey, CHECK_LABEL);
    const key = Secret.from(dk.slice(0, 32));
    wipeBytes(dk, checkKey);
    return { key, check };
  } finally {
    wipeBytes(pass);
  }
}

/**
 * An unlocked keystore. Its secrets live in {@linkcode Secret}s until {@linkcode Keystore.lock}.
 *
 * @example
 * ```ts
 * const ks = await Keystore.create("correct horse", { kdf: { n: 1024, r: 8, p: 1 } });
 * const entry = ks.addMnemonic(generateMnemonic(), { label: "main" });
 * const bytes = ks.seal();
 * const again = await Keystore.unlock(bytes, "correct horse");
 * again.entries()[0]?.id === entry.id; // true
 * ```
 */
export class Keystore {
  readonly #id: string;
  #kdf: ScryptParams & { readonly salt: Uint8Array };
  #key: Secret;
  #check: Uint8Array;
  #slots: Slot[];
  readonly #random: (length: number) => Uint8Array;
  readonly #now: () => number;
  #locked = false;

  private constructor(
    id: string,
    kdf: ScryptParams & { readonly salt: Uint8Array },
    key: Secret,
    check: Uint8Array,
    slots: Slot[],
    options: KeystoreOptions,
  ) {
    this.#id = id;
    this.#kdf = kdf;
    this.#key = key;
    this.#check = check;
    this.#slots = slots;
    this.#random = options.random ?? defaultRandom;
    this.#now = options.now ?? Date.now;
  }

  /** A new, empty keystore protected by `passphrase`. Runs the KDF once. */
  static async create(passphrase: string | Secret, options: KeystoreOptions = {}): Promise<Keystore> {
    const random = options.random ?? defaultRandom;
    const params = checkScryptParams(options.kdf ?? DEFAULT_KEYSTORE_KDF);
    const salt = random(32);
    const { key, check } = await deriveKeys(passphrase, params, salt);
    return new Keystore(uuidFromBytes(random(16)), { ...params, salt }, key, check, [], options);
  }

  /**
   * Parses and decrypts keystore file bytes. Throws {@linkcode KeystoreError}: `MALFORMED` / `UNSUPPORTED`
   * from parsing, `WRONG_PASSPHRASE` when the check value differs, `TAMPERED` when authentication fails
   * with the right passphrase, `MALFORMED` when the decrypted content does not match the header. Never
   * returns a partly loaded keystore.
   */
  static async unlock(
    data: Uint8Array | string,
    passphrase: string | Secret,
    options: KeystoreOptions = {},
  ): Promise<Keystore> {
    const file = parseKeystoreFile(data);
    const { key, check } = await deriveKeys(passphrase, file.kdf, file.kdf.salt);
    if (!equalBytes(check, file.check)) {
      key.wipe();
      throw new KeystoreError("WRONG_PASSPHRASE", "Cannot unlock keystore: wrong passphrase");
    }
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(key.expose(), file.nonce, keystoreAssociatedData(file)).decrypt(
        file.ciphertext,
      );
    } catch (cause) {
      key.wipe();
      throw new KeystoreError(
        "TAMPERED",
        "Cannot unlock keystore: authentication failed (header or ciphertext modified)",
        {
          cause,
        },
      );
    }
    let records: KeystoreRecord[] = [];
    try {
      records = unpackKeystoreRecords(plaintext, file.entries.length);
      const slots = file.entries.map((entry, i) => {
        const rec = records[i] as KeystoreRecord;
        checkRecord(entry, rec);
        return { entry, secret: Secret.from(rec.secret), extra: Secret.from(rec.extra) };
      });
      return new Keystore(file.id, file.kdf, key, check, slots, options);
    } catch (error) {
      key.wipe();
      for (const r of records) wipeBytes(r.secret, r.extra);
      throw error;
    } finally {
      wipeBytes(plaintext);
    }
  }

  /** The keystore UUID. */
  get id(): string {
    return this.#id;
  }

  /** The scrypt parameters of the file. */
  get kdf(): ScryptParams {
    return { n: this.#kdf.n, r: this.#kdf.r, p: this.#kdf.p };
  }

  /** Whether {@linkcode lock} was called. */
  get locked(): boolean {
    return this.#locked;
  }

  /** Public descriptions of the entries, in file order. */
  entries(): readonly KeystoreEntry[] {
    this.#assertUnlocked();
    return this.#slots.map((s) => s.entry);
  }

  /** Stores a mnemonic (validated first) with an optional BIP-39 passphrase. */
  addMnemonic(
    mnemonic: string | Secret,
    options: { label?: string; bip39Passphrase?: string | Secret } = {},
  ): KeystoreEntry {
    this.#assertUnlocked();
    const normalized = parseMnemonic(mnemonic);
    const pass = options.bip39Passphrase;
    const extra = pass === undefined ? Secret.from(new Uint8Array()) : Secret.from(passBytes(pass));
    if (
      this.#slots.some((s) =>
        s.entry.kind === "mnemonic" && s.secret.equals(normalized) && s.extra.equals(extra)
      )
    ) {
      normalized.wipe();
      extra.wipe();
      throw new KeystoreError("DUPLICATE_ENTRY", "Cannot add mnemonic: it is already stored");
    }
    return this.#add("mnemonic", normalized, extra, options.label ?? "", undefined);
  }

  /** Stores an imported 32-byte secret key (copied). */
  importKey(type: KeyType, secretKey: Secret | Uint8Array, options: { label?: string } = {}): KeystoreEntry {
    this.#assertUnlocked();
    const secret = secretKey instanceof Secret ? secretKey.clone() : Secret.copy(secretKey);
    let publicKey: Uint8Array;
    try {
      publicKey = type === "ed25519" ? ed25519PublicKey(secret) : secp256k1PublicKey(secret);
    } catch (error) {
      secret.wipe();
      throw error;
    }
    if (this.#slots.some((s) => s.entry.kind === type && s.secret.equals(secret))) {
      secret.wipe();
      throw new KeystoreError("DUPLICATE_ENTRY", "Cannot import key: it is already stored");
    }
    return this.#add(type, secret, Secret.from(new Uint8Array()), options.label ?? "", publicKey);
  }

  /** Removes an entry and wipes its secret. */
  remove(id: string): void {
    const slot = this.#slot(id);
    slot.secret.wipe();
    slot.extra.wipe();
    this.#slots = this.#slots.filter((s) => s !== slot);
  }

  /** A copy of a mnemonic entry's phrase and BIP-39 passphrase; wipe both when done. */
  mnemonic(id: string): { readonly mnemonic: Secret; readonly bip39Passphrase: Secret } {
    const slot = this.#slot(id, "mnemonic");
    return { mnemonic: slot.secret.clone(), bip39Passphrase: slot.extra.clone() };
  }

  /** The BIP-39 seed of a mnemonic entry (64 bytes); wipe it when done. */
  async seed(id: string): Promise<Secret> {
    const { mnemonic, bip39Passphrase } = this.mnemonic(id);
    try {
      return await mnemonicToSeedSecret(mnemonic, bip39Passphrase);
    } finally {
      mnemonic.wipe();
      bip39Passphrase.wipe();
    }
  }

  /** A copy of an imported key as a {@linkcode SigningKey}; wipe its secret when done. */
  signingKey(id: string): SigningKey {
    const slot = this.#slot(id);
    if (slot.entry.kind === "mnemonic") {
      throw new KeystoreError(
        "NOT_FOUND",
        "Cannot get signing key: the entry is a mnemonic; derive a key from its seed",
      );
    }
    return { type: slot.entry.kind, secretKey: slot.secret.clone() };
  }

  /** Re-keys the keystore under a new passphrase (new salt, optionally new KDF parameters). */
  async changePassphrase(passphrase: string | Secret, options: { kdf?: ScryptParams } = {}): Promise<void> {
    this.#assertUnlocked();
    const params = checkScryptParams(options.kdf ?? this.kdf);
    const salt = this.#random(32);
    const { key, check } = await deriveKeys(passphrase, params, salt);
    this.#key.wipe();
    this.#key = key;
    this.#check = check;
    this.#kdf = { ...params, salt };
  }

  /** Encrypts the current content into file bytes with a fresh nonce. */
  seal(): Uint8Array {
    this.#assertUnlocked();
    const header: Omit<KeystoreFile, "ciphertext"> = {
      id: this.#id,
      kdf: this.#kdf,
      check: this.#check,
      nonce: this.#random(24),
      entries: this.#slots.map((s) => s.entry),
    };
    const plaintext = packKeystoreRecords(
      this.#slots.map((s) => ({ secret: s.secret.expose(), extra: s.extra.expose() })),
    );
    try {
      const ciphertext = xchacha20poly1305(this.#key.expose(), header.nonce, keystoreAssociatedData(header))
        .encrypt(plaintext);
      return encodeKeystoreFile({ ...header, ciphertext });
    } finally {
      wipeBytes(plaintext);
    }
  }

  /** Wipes every secret and the derived key; the keystore is unusable afterwards. */
  lock(): void {
    for (const s of this.#slots) {
      s.secret.wipe();
      s.extra.wipe();
    }
    this.#slots = [];
    this.#key.wipe();
    this.#locked = true;
  }

  /** Redacted. */
  toString(): string {
    return `Keystore(${this.#id}, ${this.#slots.length} entries${this.#locked ? ", locked" : ""})`;
  }

  /** Public metadata only. */
  toJSON(): { id: string; entries: number; locked: boolean } {
    return { id: this.#id, entries: this.#slots.length, locked: this.#locked };
  }

  /** Deno inspect hook: same as toString. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #add(
    kind: KeystoreEntryKind,
    secret: Secret,
    extra: Secret,
    label: string,
    publicKey: Uint8Array | undefined,
  ): KeystoreEntry {
    if (label.length > KEYSTORE_LIMITS.maxLabelLength) {
      secret.wipe();
      extra.wipe();
      throw new RangeError(
        `Cannot add entry: label longer than ${KEYSTORE_LIMITS.maxLabelLength} characters`,
      );
    }
    if (this.#slots.length >= KEYSTORE_LIMITS.maxEntries) {
      secret.wipe();
      extra.wipe();
      throw new RangeError(`Cannot add entry: the keystore holds ${KEYSTORE_LIMITS.maxEntries} entries`);
    }
    const base = {
      id: uuidFromBytes(this.#random(16)),
      kind,
      label,
      createdAt: new Date(this.#now()).toISOString(),
    };
    const entry: KeystoreEntry = publicKey === undefined ? base : { ...base, publicKey };
    this.#slots.push({ entry, secret, extra });
    return entry;
  }

  #slot(id: string, kind?: KeystoreEntryKind): Slot {
    this.#assertUnlocked();
    const slot = this.#slots.find((s) => s.entry.id === id && (kind === undefined || s.entry.kind === kind));
    if (slot === undefined) throw new KeystoreError("NOT_FOUND", `Cannot find keystore entry ${id}`);
    return slot;
  }

  #assertUnlocked(): void {
    if (this.#locked) throw new KeystoreError("LOCKED", "Cannot use keystore: it is locked");
  }
}

/** Checks that a decrypted record fits its header entry. */
function checkRecord(entry: KeystoreEntry, rec: KeystoreRecord): void {
  const bad = (why: string) =>
    new KeystoreError("MALFORMED", `Cannot unlock keystore: entry ${entry.id} ${why}`);
  if (entry.kind === "mnemonic") {
    try {
      parseMnemonic(Secret.from(Uint8Array.from(rec.secret))).wipe();
    } catch {
      throw bad("does not hold a valid mnemonic");
    }
    return;
  }
  if (rec.secret.length !== 32 || rec.extra.length !== 0) throw bad("does not hold a 32-byte key");
  let pub: Uint8Array;
  try {
    pub = entry.kind === "ed25519" ? ed25519PublicKey(rec.secret) : secp256k1PublicKey(rec.secret);
  } catch {
    throw bad("holds an invalid key");
  }
  if (entry.publicKey === undefined || !equalBytes(pub, entry.publicKey)) {
    throw bad("public key does not match its secret");
  }
}
