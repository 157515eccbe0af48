/**
 * Import and export of Ethereum keystore v3 JSON ("Web3 Secret Storage Definition") for secp256k1 keys:
 * scrypt or PBKDF2-HMAC-SHA256 key derivation, AES-128-CTR (`@noble/ciphers`), and the Keccak-256 MAC over
 * `derivedKey[16..32] || ciphertext`.
 *
 * PBKDF2 runs in WebCrypto (native: 262,144 rounds take milliseconds); scrypt runs in `@noble/hashes`.
 * Parameters are bounded before any work so a hostile file cannot ask for unbounded memory or time.
 *
 * @module
 */

import { ctr } from "@noble/ciphers/aes.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { bufferSource, concatBytes, equalBytes, isRecord, toHex, tryFromHex, utf8 } from "../core/mod.ts";
import { ethereumAddress } from "../crypto/mod.ts";
import { KeystoreError } from "./errors.ts";
import { keccak256 } from "../crypto/mod.ts";
import { secp256k1PublicKey } from "../crypto/mod.ts";
import { Secret, wipeBytes } from "../crypto/mod.ts";

/** Bounds for imported files. */
export const ETH_KEYSTORE_LIMITS = {
  /** Largest scrypt n (2^20: 1 GiB at r = 8). */
  maxScryptN: 1 << 20,
  maxScryptR: 32,
  maxScryptP: 16,
  maxScryptMemoryBytes: 1 << 30,
  /** Most PBKDF2 rounds. */
  maxPbkdf2Rounds: 10_000_000,
  /** Largest JSON text. */
  maxTextLength: 64 * 1024,
} as const;

/** KDF parameters of a v3 file. */
export type EthKdfParams =
  | {
    readonly kdf: "scrypt";
    readonly n: number;
    readonly r: number;
    readonly p: number;
    readonly salt: Uint8Array;
  }
  | { readonly kdf: "pbkdf2"; readonly c: number; readonly salt: Uint8Array };

/** A parsed v3 keystore. */
export interface EthKeystoreV3 {
  /** UUID (not checked for format beyond being a string). */
  readonly id: string;
  /** Address field, when present (lower-case hex without 0x). */
  readonly address: string | undefined;
  /** KDF and parameters. */
  readonly kdf: EthKdfParams;
  /** 16-byte AES-CTR IV. */
  readonly iv: Uint8Array;
  /** Encrypted key. */
  readonly ciphertext: Uint8Array;
  /** Keccak-256 MAC. */
  readonly mac: Uint8Array;
}

function malformed(reason: string): KeystoreError {
  return new KeystoreError("MALFORMED", `Cannot read Ethereum keystore: ${reason}`);
}

function unsupported(reason: string): KeystoreError {
  return new KeystoreError("UNSUPPORTED", `Cannot read Ethereum keystore: ${reason}`);
}

function hexOf(v: unknown, what: string, min: number, max: number): Uint8Array {
  if (typeof v !== "string" || v.length > 2 * max + 2) throw malformed(`${what} is not hex`);
  const b = tryFromHex(v.startsWith("0x") ? v.slice(2) : v);
  if (b === undefined || b.length < min || b.length > max) {
    throw malformed(`${what} is not ${min}..${max} bytes of hex`);
  }
  return b;
}

function intOf(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    // Only numbers are echoed: other peer values (objects without a prototype, huge strings) are described.
    const shown = typeof v === "number" ? String(v) : `(a ${v === null ? "null" : typeof v})`;
    throw unsupported(`${what} ${shown} is not an integer in ${min}..${max}`);
  }
  return v;
}

/**
 * Parses v3 JSON (text or an already parsed value). Throws `KeystoreError` `MALFORMED` or `UNSUPPORTED`.
 */
export function parseEthKeystoreV3(input: unknown): EthKeystoreV3 {
  let raw = input;
  if (typeof input === "string") {
    if (input.length > ETH_KEYSTORE_LIMITS.maxTextLength) throw malformed("text too long");
    try {
      raw = JSON.parse(input);
    } catch {
      throw malformed("not JSON");
    }
  }
  if (!isRecord(raw)) throw malformed("not an object");
  if (raw.version !== 3) throw unsupported("version is not 3");
  // go-ethereum writes "crypto"; some old tools wrote "Crypto".
  const c = raw.crypto ?? raw.Crypto;
  if (!isRecord(c)) throw malformed("crypto is not an object");
  if (c.cipher !== "aes-128-ctr") throw unsupported("cipher is not aes-128-ctr");
  if (!isRecord(c.cipherparams)) throw malformed("cipherparams is not an object");
  const iv = hexOf(c.cipherparams.iv, "iv", 16, 16);
  const ciphertext = hexOf(c.ciphertext, "ciphertext", 1, 32);
  const mac = hexOf(c.mac, "mac", 32, 32);
  const kp = c.kdfparams;
  if (!isRecord(kp)) throw malformed("kdfparams is not an object");
  if (kp.dklen !== 32) throw unsupported("dklen is not 32");
  const salt = hexOf(kp.salt, "salt", 1, 128);
  let kdf: EthKdfParams;
  if (c.kdf === "scrypt") {
    const n = intOf(kp.n, "scrypt n", 2, ETH_KEYSTORE_LIMITS.maxScryptN);
    if ((n & (n - 1)) !== 0) throw unsupported(`scrypt n ${n} is not a power of two`);
    const r = intOf(kp.r, "scrypt r", 1, ETH_KEYSTORE_LIMITS.maxScryptR);
    const p = intOf(kp.p, "scrypt p", 1, ETH_KEYSTORE_LIMITS.maxScryptP);
    if (128 * n * r > ETH_KEYSTORE_LIMITS.maxScryptMemoryBytes) {
      throw unsupported("scrypt memory exceeds 1 GiB");
    }
    kdf = { kdf: "scrypt", n, r, p, salt };
  } else if (c.kdf === "pbkdf2") {
    if (kp.prf !== "hmac-sha256") throw unsupported("pbkdf2 prf is not hmac-sha256");
    kdf = { kdf: "pbkdf2", c: intOf(kp.c, "pbkdf2 c", 1, ETH_KEYSTORE_LIMITS.maxPbkdf2Rounds), salt };
  } else {
    throw unsupported("kdf is not scrypt or pbkdf2");
  }
  const id = typeof raw.id === "string" ? raw.id : "";
  const address = typeof raw.address === "string" ? raw.address.toLowerCase().replace(/^0x/, "") : undefined;
  return { id, address, kdf, iv, ciphertext, mac };
}

/** The 32-byte derived key of a v3 file (exposed for tests against the specification's intermediates). */
export async function deriveEthKeystoreKey(
  kdf: EthKdfParams,
  password: string | Secret,
): Promise<Uint8Array> {
  const pass = typeof password === "string" ? utf8.encode(password) : Uint8Array.from(password.expose());
  try {
    if (kdf.kdf === "scrypt") {
      return await scryptAsync(pass, kdf.salt, {
        N: kdf.n,
        r: kdf.r,
        p: kdf.p,
        dkLen: 32,
        maxmem: ETH_KEYSTORE_LIMITS.maxScryptMemoryBytes + 1024 * 1024,
      });
    }
    const base = await crypto.subtle.importKey("raw", bufferSource(pass), "PBKDF2", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: bufferSource(kdf.salt), iterations: kdf.c },
      base,
      256,
    );
    return new Uint8Array(bits);
  } finally {
    wipeBytes(pass);
  }
}

/**
 * Decrypts a v3 keystore and returns the 32-byte secp256k1 key (shorter keys written by old tools are
 * left-padded with zeros, as go-ethereum does). A MAC mismatch is `KeystoreError("WRONG_PASSPHRASE")`; when
 * the file carries an address, it must match the key (`TAMPERED` otherwise).
 *
 * @example
 * ```ts
 * const key = await decryptEthKeystoreV3(jsonText, "testpassword");
 * key.length; // 32
 * ```
 */
export async function decryptEthKeystoreV3(input: unknown, password: string | Secret): Promise<Secret> {
  const ks = parseEthKeystoreV3(input);
  const dk = await deriveEthKeystoreKey(ks.kdf, password);
  try {
    // Web3 Secret Storage: MAC = Keccak-256(DK[16..31] || ciphertext).
    const mac = keccak256(concatBytes(dk.subarray(16, 32), ks.ciphertext));
    if (!equalBytes(mac, ks.mac)) {
      throw new KeystoreError(
        "WRONG_PASSPHRASE",
        "Cannot decrypt Ethereum keystore: wrong password (MAC mismatch)",
      );
    }
    const plain = ctr(dk.slice(0, 16), ks.iv).decrypt(ks.ciphertext);
    const key = new Uint8Array(32);
    key.set(plain, 32 - plain.length);
    wipeBytes(plain);
    const secret = Secret.from(key);
    let address: string;
    try {
      address = ethereumAddress(secp256k1PublicKey(secret)).slice(2).toLowerCase();
    } catch {
      secret.wipe();
      throw new KeystoreError(
        "MALFORMED",
        "Cannot decrypt Ethereum keystore: the key is not a valid secp256k1 key",
      );
    }
    if (ks.address !== undefined && ks.address !== address) {
      secret.wipe();
      throw new KeystoreError("TAMPERED", "Cannot decrypt Ethereum keystore: address does not match the key");
    }
    return secret;
  } finally {
    wipeBytes(dk);
  }
}

/** Options of {@linkcode encryptEthKeystoreV3}. */
export interface EthKeystoreEncryptOptions {
  /** `"scrypt"` (default, n = 2^18, r = 8, p = 1 as go-ethereum's standard) or `"pbkdf2"` (c = 262,144). */
  readonly kdf?: "scrypt" | "pbkdf2";
  /** scrypt n. */
  readonly n?: number;
  /** scrypt r. */
  readonly r?: number;
  /** scrypt p. */
  readonly p?: number;
  /** PBKDF2 rounds. */
  readonly c?: number;
  /** Randomness for salt, IV and UUID. Default `crypto.getRandomValues`. */
  readonly random?: (length: number) => Uint8Array;
}

/** The JSON object of a v3 keystore. */
export interface EthKeystoreV3Json {
  readonly version: 3;
  readonly id: string;
  readonly address: string;
  readonly crypto: {
    readonly cipher: "aes-128-ctr";
    readonly cipherparams: { readonly iv: string };
    readonly ciphertext: string;
    readonly kdf: "scrypt" | "pbkdf2";
    readonly kdfparams: Readonly<Record<string, string | number>>;
    readonly mac: string;
  };
}

/** Encrypts a secp256k1 key as v3 JSON (an object; `JSON.stringify` it to write a file). */
export async function encryptEthKeystoreV3(
  secretKey: Secret | Uint8Array,
  password: string | Secret,
  options: EthKeystoreEncryptOptions = {},
): Promise<EthKeystoreV3Json> {
  const random = options.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const key = secretKey instanceof Secret ? secretKey.expose() : secretKey;
  const address = ethereumAddress(secp256k1PublicKey(key)).slice(2).toLowerCase();
  const salt = random(32);
  const iv = random(16);
  const kdf: EthKdfParams = (options.kdf ?? "scrypt") === "scrypt"
    ? { kdf: "scrypt", n: options.n ?? 1 << 18, r: options.r ?? 8, p: options.p ?? 1, salt }
    : { kdf: "pbkdf2", c: options.c ?? 262_144, salt };
  const dk = await deriveEthKeystoreKey(kdf, password);
  try {
    const ciphertext = ctr(dk.slice(0, 16), iv).encrypt(key);
    const mac = keccak256(concatBytes(dk.subarray(16, 32), ciphertext));
    const kdfparams: Record<string, string | number> = kdf.kdf === "scrypt"
      ? { dklen: 32, n: kdf.n, p: kdf.p, r: kdf.r, salt: toHex(salt) }
      : { c: kdf.c, dklen: 32, prf: "hmac-sha256", salt: toHex(salt) };
    const u = toHex(random(16)).split("");
    u[12] = "4";
    u[16] = "89ab"[parseInt(u[16] ?? "0", 16) & 3] ?? "8";
    const h = u.join("");
    return {
      version: 3,
      id: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`,
      address,
      crypto: {
        cipher: "aes-128-ctr",
        cipherparams: { iv: toHex(iv) },
        ciphertext: toHex(ciphertext),
        kdf: kdf.kdf,
        kdfparams,
        mac: toHex(mac),
      },
    };
  } finally {
    wipeBytes(dk);
  }
}
