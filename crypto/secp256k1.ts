/**
 * secp256k1 ECDSA with `@noble/curves`: deterministic RFC 6979 nonces, low-S signatures only, recoverable
 * signatures, public key recovery.
 *
 * Signatures are 64 bytes `r || s` or 65 bytes `r || s || v` with the recovery id `v` in {0, 1} (Ethereum's
 * order; add 27 for legacy Ethereum `v`). Both sign and verify take a 32-byte message hash: the caller
 * chooses the hash (Keccak-256 for Ethereum, SHA-256 for our signed messages).
 *
 * Verification rejects high-S signatures (s > n/2) as Bitcoin and Ethereum do, so a signature has exactly
 * one valid encoding.
 *
 * @module
 */

import { secp256k1 } from "@noble/curves/secp256k1.js";
import { CryptoError } from "./errors.ts";
import { Secret } from "./secret.ts";

/** Compressed public key length. */
export const SECP256K1_PUBLIC_KEY_LENGTH = 33;
/** Secret key length. */
export const SECP256K1_SECRET_KEY_LENGTH = 32;
/** Recoverable signature length (`r || s || v`). */
export const SECP256K1_SIGNATURE_LENGTH = 65;

/** n, the order of the secp256k1 group (SEC 2 §2.4.1). */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

/** A secp256k1 key pair; the public key is compressed (33 bytes). */
export interface Secp256k1Keypair {
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  /** 32-byte secret key. Wipe it when done. */
  readonly secretKey: Secret;
}

/** A decoded secp256k1 signature whose scalars passed the range and low-S checks. */
export interface Secp256k1Signature {
  /** r, in [1, n-1]. */
  readonly r: bigint;
  /** s, in [1, n/2]. */
  readonly s: bigint;
  /** Recovery id (0 or 1) for 65-byte signatures. */
  readonly recovery: 0 | 1 | undefined;
}

function beBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function secretBytes(secretKey: Secret | Uint8Array): Uint8Array {
  const bytes = secretKey instanceof Secret ? secretKey.expose() : secretKey;
  if (bytes.length !== SECP256K1_SECRET_KEY_LENGTH) {
    throw new CryptoError(
      "BAD_LENGTH",
      `Cannot use secp256k1 secret key: length ${bytes.length}, expected 32`,
    );
  }
  if (!secp256k1.utils.isValidSecretKey(bytes)) {
    throw new CryptoError("BAD_SECRET_KEY", "Cannot use secp256k1 secret key: not in [1, n-1]");
  }
  return bytes;
}

function checkHash(messageHash: Uint8Array): void {
  if (messageHash.length !== 32) {
    throw new CryptoError("BAD_LENGTH", `Cannot use message hash: length ${messageHash.length}, expected 32`);
  }
}

/**
 * Decodes a 64- or 65-byte signature, rejecting r or s outside [1, n-1], high-S and recovery ids other
 * than 0 and 1 with a {@linkcode CryptoError}.
 */
export function decodeSecp256k1Signature(bytes: Uint8Array): Secp256k1Signature {
  if (bytes.length !== 64 && bytes.length !== 65) {
    throw new CryptoError(
      "BAD_LENGTH",
      `Cannot decode secp256k1 signature: length ${bytes.length}, expected 64 or 65`,
    );
  }
  const r = beBigInt(bytes.subarray(0, 32));
  const s = beBigInt(bytes.subarray(32, 64));
  if (r === 0n || r >= N) {
    throw new CryptoError("BAD_SIGNATURE", "Cannot decode secp256k1 signature: r is not in [1, n-1]");
  }
  if (s === 0n || s >= N) {
    throw new CryptoError("BAD_SIGNATURE", "Cannot decode secp256k1 signature: s is not in [1, n-1]");
  }
  if (s > HALF_N) {
    throw new CryptoError("HIGH_S", "Cannot decode secp256k1 signature: s is in the upper half of the order");
  }
  let recovery: 0 | 1 | undefined;
  if (bytes.length === 65) {
    const v = bytes[64];
    if (v !== 0 && v !== 1) {
      throw new CryptoError(
        "BAD_RECOVERY_ID",
        `Cannot decode secp256k1 signature: recovery id ${v}, expected 0 or 1`,
      );
    }
    recovery = v;
  }
  return { r, s, recovery };
}

/**
 * A public key as 33-byte compressed SEC1; accepts compressed or 65-byte uncompressed input and throws
 * `CryptoError("BAD_PUBLIC_KEY")` when it is not a point on the curve.
 */
export function normalizeSecp256k1PublicKey(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 33 && publicKey.length !== 65) {
    throw new CryptoError(
      "BAD_LENGTH",
      `Cannot decode secp256k1 public key: length ${publicKey.length}, expected 33 or 65`,
    );
  }
  try {
    return secp256k1.Point.fromBytes(publicKey).toBytes(true);
  } catch (cause) {
    throw new CryptoError("BAD_PUBLIC_KEY", "Cannot decode secp256k1 public key: not a point on the curve", {
      cause,
    });
  }
}

/** The 65-byte uncompressed form of a valid public key (for Ethereum addresses). */
export function uncompressSecp256k1PublicKey(publicKey: Uint8Array): Uint8Array {
  normalizeSecp256k1PublicKey(publicKey);
  return secp256k1.Point.fromBytes(publicKey).toBytes(false);
}

/**
 * A new random secp256k1 key pair. The seed's `zcrypto_secp256k1_keypair`.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = secp256k1Keypair();
 * publicKey.length; // 33
 * secretKey.wipe();
 * ```
 */
export function secp256k1Keypair(): Secp256k1Keypair {
  const secret = secp256k1.utils.randomSecretKey();
  return { publicKey: secp256k1.getPublicKey(secret, true), secretKey: Secret.from(secret) };
}

/** The public key of a secret key, compressed (33 bytes) unless `compressed` is false (65 bytes). */
export function secp256k1PublicKey(secretKey: Secret | Uint8Array, compressed = true): Uint8Array {
  return secp256k1.getPublicKey(secretBytes(secretKey), compressed);
}

/**
 * Signs a 32-byte hash: RFC 6979 deterministic nonce, low-S, 65 bytes `r || s || v`. The seed's
 * `zcrypto_secp256k1_sign`.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = secp256k1Keypair();
 * const hash = new Uint8Array(32).fill(7);
 * const sig = secp256k1Sign(secretKey, hash);
 * secp256k1Verify(publicKey, hash, sig); // true
 * ```
 */
export function secp256k1Sign(secretKey: Secret | Uint8Array, messageHash: Uint8Array): Uint8Array {
  checkHash(messageHash);
  // noble: prehash off (we sign the given hash), lowS on, extraEntropy off = pure RFC 6979.
  const rec = secp256k1.sign(messageHash, secretBytes(secretKey), {
    prehash: false,
    lowS: true,
    extraEntropy: false,
    format: "recovered",
  });
  // noble's "recovered" layout is v || r || s; ours is r || s || v.
  const out = new Uint8Array(SECP256K1_SIGNATURE_LENGTH);
  out.set(rec.subarray(1, 65), 0);
  out[64] = rec[0] ?? 0;
  return out;
}

/**
 * Verifies a 64- or 65-byte signature over a 32-byte hash. Returns `false` (never throws) for high-S,
 * out-of-range scalars, a public key off the curve, wrong lengths, or (65 bytes) a recovery id that does not
 * recover `publicKey`.
 */
export function secp256k1Verify(
  publicKey: Uint8Array,
  messageHash: Uint8Array,
  signature: Uint8Array,
): boolean {
  let sig: Secp256k1Signature;
  let pub: Uint8Array;
  try {
    if (messageHash.length !== 32) return false;
    sig = decodeSecp256k1Signature(signature);
    pub = normalizeSecp256k1PublicKey(publicKey);
  } catch {
    return false;
  }
  try {
    const ok = secp256k1.verify(signature.subarray(0, 64), messageHash, pub, { prehash: false, lowS: true });
    if (!ok) return false;
    if (sig.recovery === undefined) return true;
    const recovered = secp256k1Recover(messageHash, signature);
    return recovered.every((b, i) => b === pub[i]);
  } catch {
    return false;
  }
}

/**
 * The public key that produced a 65-byte recoverable signature over `messageHash`, compressed unless
 * `compressed` is false. Throws a {@linkcode CryptoError} when the signature is malformed or no key recovers.
 */
export function secp256k1Recover(
  messageHash: Uint8Array,
  signature: Uint8Array,
  compressed = true,
): Uint8Array {
  checkHash(messageHash);
  const sig = decodeSecp256k1Signature(signature);
  if (sig.recovery === undefined) {
    throw new CryptoError("BAD_LENGTH", "Cannot recover public key: signature has no recovery id (64 bytes)");
  }
  try {
    const point = new secp256k1.Signature(sig.r, sig.s, sig.recovery).recoverPublicKey(messageHash);
    return point.toBytes(compressed);
  } catch (cause) {
    throw new CryptoError(
      "BAD_RECOVERY_ID",
      "Cannot recover public key: no curve point for this recovery id",
      {
        cause,
      },
    );
  }
}
