/**
 * The keystore file codec: bytes <-> a typed, bounded {@linkcode KeystoreFile}, plus the associated data the
 * AEAD authenticates. Pure (no I/O, no KDF, no decryption); `keystore.ts` does the cryptography.
 *
 * ## File format, version 1 (UTF-8 JSON)
 * ```json
 * {
 *   "format": "ghostchain-keystore",
 *   "version": 1,
 *   "id": "<uuid>",
 *   "kdf": { "name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<hex, 16..64 bytes>" },
 *   "check": "<hex, 32 bytes>",
 *   "cipher": { "name": "xchacha20-poly1305", "nonce": "<hex, 24 bytes>" },
 *   "entries": [
 *     { "id": "<uuid>", "kind": "mnemonic" | "ed25519" | "secp256k1", "label": "...", "createdAt": "<ISO 8601>",
 *       "publicKey": "<hex, imported keys only>" }
 *   ],
 *   "ciphertext": "<base64>"
 * }
 * ```
 * - `scrypt(passphrase, salt, n, r, p)` yields 64 bytes: the first 32 are the XChaCha20-Poly1305 key, the
 *   last 32 the check key; `check = HMAC-SHA256(check key, "ghostchain-keystore/v1 passphrase check")` tells
 *   a wrong passphrase apart from a tampered file without decrypting.
 * - The associated data is the canonical JSON of every field except `ciphertext` (see
 *   {@linkcode keystoreAssociatedData}): editing any header field, entry list included, fails authentication.
 * - The plaintext is, for each header entry in order: `u32be len || secret || u32be len || extra`, where the
 *   secret is the mnemonic (UTF-8) or the 32-byte key and `extra` is the BIP-39 passphrase (mnemonics) or
 *   empty. Binary, so secrets never become JavaScript strings on the way in or out.
 *
 * @module
 */

import { isRecord, toBase64, toHex, tryFromBase64, tryFromHex, utf8, utf8Strict } from "../core/mod.ts";
import { KeystoreError } from "./errors.ts";

/** `format` of every keystore file. */
export const KEYSTORE_FORMAT = "ghostchain-keystore";
/** The version this code writes and reads. */
export const KEYSTORE_VERSION = 1;
/** Bounds on the files we accept. */
export const KEYSTORE_LIMITS = {
  /** Largest file in bytes. */
  maxFileBytes: 4 << 20,
  /** Most entries. */
  maxEntries: 256,
  /** Longest label in characters. */
  maxLabelLength: 128,
  /** scrypt cost bounds (powers of two). Files outside them are refused as UNSUPPORTED. */
  minN: 1 << 10,
  maxN: 1 << 22,
  maxR: 32,
  maxP: 16,
  /** scrypt memory bound: 128 * n * r bytes. */
  maxMemoryBytes: 1 << 30,
} as const;

/** Kinds of keystore entries. */
export type KeystoreEntryKind = "mnemonic" | "ed25519" | "secp256k1";

/** scrypt parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly n: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** The public description of one entry (no secret). */
export interface KeystoreEntry {
  /** Random UUID. */
  readonly id: string;
  /** What the secret is. */
  readonly kind: KeystoreEntryKind;
  /** User label. */
  readonly label: string;
  /** ISO 8601 creation time. */
  readonly createdAt: string;
  /** Public key of an imported key (33 bytes secp256k1, 32 bytes Ed25519). */
  readonly publicKey?: Uint8Array;
}

/** A parsed keystore file. */
export interface KeystoreFile {
  /** Keystore UUID. */
  readonly id: string;
  /** KDF parameters and salt. */
  readonly kdf: ScryptParams & { readonly salt: Uint8Array };
  /** Passphrase check value. */
  readonly check: Uint8Array;
  /** 24-byte XChaCha20 nonce. */
  readonly nonce: Uint8Array;
  /** Entries, in plaintext order. */
  readonly entries: readonly KeystoreEntry[];
  /** AEAD ciphertext with its 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function malformed(reason: string, cause?: unknown): KeystoreError {
  return new KeystoreError(
    "MALFORMED",
    `Cannot read keystore: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

function unsupported(reason: string): KeystoreError {
  return new KeystoreError("UNSUPPORTED", `Cannot read keystore: ${reason}`);
}

function hexField(v: unknown, what: string, min: number, max: number): Uint8Array {
  if (typeof v !== "string" || v.length > 2 * max) throw malformed(`${what} is not hex`);
  const b = tryFromHex(v);
  if (b === undefined || b.length < min || b.length > max) {
    throw malformed(`${what} is not ${min}..${max} bytes of hex`);
  }
  return b;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
}

/** Checks scrypt parameters against {@linkcode KEYSTORE_LIMITS}; throws `UNSUPPORTED`. */
export function checkScryptParams(params: ScryptParams): ScryptParams {
  const { n, r, p } = params;
  if (!isPowerOfTwo(n) || n < KEYSTORE_LIMITS.minN || n > KEYSTORE_LIMITS.maxN) {
    throw unsupported(`scrypt n ${n} is not a power of two in 2^10..2^22`);
  }
  if (!Number.isInteger(r) || r < 1 || r > KEYSTORE_LIMITS.maxR) {
    throw unsupported(`scrypt r ${r} is not in 1..32`);
  }
  if (!Number.isInteger(p) || p < 1 || p > KEYSTORE_LIMITS.maxP) {
    throw unsupported(`scrypt p ${p} is not in 1..16`);
  }
  if (128 * n * r > KEYSTORE_LIMITS.maxMemoryBytes) throw unsupported("scrypt memory 128*n*r exceeds 1 GiB");
  return { n, r, p };
}

function parseEntry(v: unknown, i: number): KeystoreEntry {
  if (!isRecord(v)) throw malformed(`entry ${i + 1} is not an object`);
  const { id, kind, label, createdAt } = v;
  if (typeof id !== "string" || !UUID_RE.test(id)) throw malformed(`entry ${i + 1} id is not a UUID`);
  if (kind !== "mnemonic" && kind !== "ed25519" && kind !== "secp256k1") {
    throw malformed(`entry ${i + 1} kind is unknown`);
  }
  if (typeof label !== "string" || label.length > KEYSTORE_LIMITS.maxLabelLength) {
    throw malformed(
      `entry ${i + 1} label is not a string of at most ${KEYSTORE_LIMITS.maxLabelLength} characters`,
    );
  }
  if (typeof createdAt !== "string" || !ISO_RE.test(createdAt)) {
    throw malformed(`entry ${i + 1} createdAt is not ISO 8601`);
  }
  if (kind === "mnemonic") {
    if (v.publicKey !== undefined) throw malformed(`entry ${i + 1} is a mnemonic with a publicKey`);
    return { id, kind, label, createdAt };
  }
  const len = kind === "ed25519" ? 32 : 33;
  return {
    id,
    kind,
    label,
    createdAt,
    publicKey: hexField(v.publicKey, `entry ${i + 1} publicKey`, len, len),
  };
}

/**
 * Parses keystore file bytes (or text) into a typed value. Throws {@linkcode KeystoreError}: `MALFORMED` for
 * anything that is not a well-formed keystore (including truncation), `UNSUPPORTED` for other versions,
 * KDFs, ciphers or out-of-bounds KDF parameters.
 */
export function parseKeystoreFile(data: Uint8Array | string): KeystoreFile {
  const size = typeof data === "string" ? data.length : data.length;
  if (size > KEYSTORE_LIMITS.maxFileBytes) {
    throw malformed(`${size} bytes exceed ${KEYSTORE_LIMITS.maxFileBytes}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === "string" ? data : utf8Strict.decode(data));
  } catch (cause) {
    throw malformed("not UTF-8 JSON (truncated or corrupted?)", cause);
  }
  if (!isRecord(raw)) throw malformed("not a JSON object");
  if (raw.format !== KEYSTORE_FORMAT) throw malformed(`format is not "${KEYSTORE_FORMAT}"`);
  if (raw.version !== KEYSTORE_VERSION) {
    throw typeof raw.version === "number"
      ? unsupported(`version ${raw.version}, expected 1`)
      : malformed("version missing");
  }
  if (typeof raw.id !== "string" || !UUID_RE.test(raw.id)) throw malformed("id is not a UUID");
  const kdf = raw.kdf;
  if (!isRecord(kdf)) throw malformed("kdf is not an object");
  if (kdf.name !== "scrypt") throw unsupported("kdf is not scrypt");
  if (typeof kdf.n !== "number" || typeof kdf.r !== "number" || typeof kdf.p !== "number") {
    throw malformed("kdf n, r, p are not numbers");
  }
  const params = checkScryptParams({ n: kdf.n, r: kdf.r, p: kdf.p });
  const salt = hexField(kdf.salt, "kdf salt", 16, 64);
  const check = hexField(raw.check, "check", 32, 32);
  const cipher = raw.cipher;
  if (!isRecord(cipher)) throw malformed("cipher is not an object");
  if (cipher.name !== "xchacha20-poly1305") throw unsupported("cipher is not xchacha20-poly1305");
  const nonce = hexField(cipher.nonce, "cipher nonce", 24, 24);
  if (!Array.isArray(raw.entries) || raw.entries.length > KEYSTORE_LIMITS.maxEntries) {
    throw malformed(`entries is not a list of at most ${KEYSTORE_LIMITS.maxEntries}`);
  }
  const entries = raw.entries.map(parseEntry);
  if (new Set(entries.map((e) => e.id)).size !== entries.length) throw malformed("two entries share an id");
  if (typeof raw.ciphertext !== "string") throw malformed("ciphertext is not a string");
  const ciphertext = tryFromBase64(raw.ciphertext);
  if (ciphertext === undefined || ciphertext.length < 16) {
    throw malformed("ciphertext is not base64 with a 16-byte tag");
  }
  return { id: raw.id, kdf: { ...params, salt }, check, nonce, entries, ciphertext };
}

function headerJson(file: Omit<KeystoreFile, "ciphertext">): Record<string, unknown> {
  return {
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
    id: file.id,
    kdf: { name: "scrypt", n: file.kdf.n, r: file.kdf.r, p: file.kdf.p, salt: toHex(file.kdf.salt) },
    check: toHex(file.check),
    cipher: { name: "xchacha20-poly1305", nonce: toHex(file.nonce) },
    entries: file.entries.map((e) => {
      const out: Record<string, unknown> = { id: e.id, kind: e.kind, label: e.label, createdAt: e.createdAt };
      if (e.publicKey !== undefined) out.publicKey = toHex(e.publicKey);
      return out;
    }),
  };
}

/**
 * The AEAD associated data: the canonical JSON (fixed key order, no whitespace) of every header field,
 * built from typed values so formatting changes to the file do not matter but content changes do.
 */
export function keystoreAssociatedData(file: Omit<KeystoreFile, "ciphertext">): Uint8Array {
  return utf8.encode(JSON.stringify(headerJson(file)));
}

/** Encodes a keystore file as pretty-printed UTF-8 JSON. */
export function encodeKeystoreFile(file: KeystoreFile): Uint8Array {
  const json = { ...headerJson(file), ciphertext: toBase64(file.ciphertext) };
  return utf8.encode(JSON.stringify(json, null, 2) + "\n");
}

/** One decrypted record: the secret and its extra field. */
export interface KeystoreRecord {
  /** Mnemonic UTF-8 bytes or a 32-byte key. */
  readonly secret: Uint8Array;
  /** BIP-39 passphrase UTF-8 bytes (mnemonics) or empty. */
  readonly extra: Uint8Array;
}

/** Packs records into the plaintext layout. The caller wipes the result. */
export function packKeystoreRecords(records: readonly KeystoreRecord[]): Uint8Array {
  let size = 0;
  for (const r of records) size += 8 + r.secret.length + r.extra.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const r of records) {
    view.setUint32(off, r.secret.length, false);
    out.set(r.secret, off + 4);
    off += 4 + r.secret.length;
    view.setUint32(off, r.extra.length, false);
    out.set(r.extra, off + 4);
    off += 4 + r.extra.length;
  }
  return out;
}

/** Unpacks exactly `count` records (copies); throws `MALFORMED` on any mismatch. */
export function unpackKeystoreRecords(plaintext: Uint8Array, count: number): KeystoreRecord[] {
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  const out: KeystoreRecord[] = [];
  let off = 0;
  const take = (): Uint8Array => {
    if (off + 4 > plaintext.length) throw malformed("plaintext is truncated");
    const len = view.getUint32(off, false);
    if (off + 4 + len > plaintext.length) throw malformed("plaintext is truncated");
    const b = plaintext.slice(off + 4, off + 4 + len);
    off += 4 + len;
    return b;
  };
  for (let i = 0; i < count; i++) out.push({ secret: take(), extra: take() });
  if (off !== plaintext.length) throw malformed("plaintext has trailing bytes");
  return out;
}

/** A random RFC 4122 version 4 UUID from 16 random bytes. */
export function uuidFromBytes(random: Uint8Array): string {
  const b = Uint8Array.from(random.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
