/**
 * Ed25519 (RFC 8032): key generation and signing with `@noble/curves`, verification with Deno's native
 * WebCrypto `"Ed25519"` (about ten times faster than noble here).
 *
 * ## Verification rule (consensus-relevant)
 * Implementations of Ed25519 disagree on edge cases (non-canonical encodings, small-order points, cofactored
 * versus cofactorless equations). GhostChain fixes one rule, and {@linkcode ed25519Verify} and the
 * {@linkcode Ed25519BatchVerifier} workers both apply it through this function:
 * 1. the public key is 32 bytes and the signature 64 bytes;
 * 2. A (the public key) and R (the first half of the signature) are canonical encodings (y < p), and neither
 *    is one of the 8 points of small order (checked on bytes against a table computed at load time);
 * 3. S < L (RFC 8032 §5.1.7);
 * 4. the cofactorless equation [S]B = R + [k]A holds (WebCrypto).
 * Honestly generated keys and signatures always pass 1-3; the rule only matters for crafted inputs.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { bufferSource, toHex } from "../core/mod.ts";
import { CryptoError } from "./errors.ts";
import { Secret } from "./secret.ts";

/** Ed25519 public key length in bytes. */
export const ED25519_PUBLIC_KEY_LENGTH = 32;
/** Ed25519 secret key (RFC 8032 seed) length in bytes. */
export const ED25519_SECRET_KEY_LENGTH = 32;
/** Ed25519 signature length in bytes. */
export const ED25519_SIGNATURE_LENGTH = 64;

/** An Ed25519 key pair; the secret key is the 32-byte RFC 8032 private key. */
export interface Ed25519Keypair {
  /** 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** 32-byte secret key. Wipe it when done. */
  readonly secretKey: Secret;
}

// L, the order of the prime-order subgroup (RFC 8032 §5.1).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * The y-coordinates (as 32-byte little-endian hex with the sign bit clear) of the 8 small-order points.
 * Built from an order-8 point (libsodium's blocklist entry) and checked with noble's arithmetic at load, so a
 * typo cannot silently weaken the check.
 */
const SMALL_ORDER_Y: ReadonlySet<string> = (() => {
  const P = ed25519.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
  if (!P.multiplyUnsafe(8n).is0() || P.multiplyUnsafe(4n).is0()) {
    throw new Error("Ed25519 small-order table: the seed point is not of order 8");
  }
  const ys = new Set<string>();
  let Q = ed25519.Point.ZERO;
  for (let i = 0; i < 8; i++) {
    const b = Q.toBytes();
    b[31] = (b[31] ?? 0) & 0x7f;
    ys.add(toHex(b));
    Q = Q.add(P);
  }
  return ys;
})();

/** Whether a 32-byte point encoding has y < p = 2^255 - 19 (RFC 8032 §5.1.3 step 1). */
function isCanonicalY(enc: Uint8Array): boolean {
  // y >= p only when bytes 31..1 are 0x7f (masked), 0xff...0xff and byte 0 >= 0xed.
  if (((enc[31] ?? 0) & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (enc[i] !== 0xff) return true;
  return (enc[0] ?? 0) < 0xed;
}

function isSmallOrderEncoding(enc: Uint8Array): boolean {
  const y = Uint8Array.from(enc);
  y[31] = (y[31] ?? 0) & 0x7f;
  return SMALL_ORDER_Y.has(toHex(y));
}

function scalarLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/**
 * The byte-level checks of the verification rule (steps 1-3 in the module doc), without the equation.
 * Exposed for the batch worker and for tests.
 */
export function ed25519Precheck(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_LENGTH || signature.length !== ED25519_SIGNATURE_LENGTH) {
    return false;
  }
  const R = signature.subarray(0, 32);
  if (!isCanonicalY(publicKey) || !isCanonicalY(R)) return false;
  if (isSmallOrderEncoding(publicKey) || isSmallOrderEncoding(R)) return false;
  return scalarLE(signature.subarray(32)) < L;
}

/**
 * Whether `bytes` is an acceptable Ed25519 public key: 32 bytes, canonical, on the curve, not of small order.
 * Used where a key is registered (addresses, multisig members) rather than per signature.
 */
export function isValidEd25519PublicKey(bytes: Uint8Array): boolean {
  if (bytes.length !== ED25519_PUBLIC_KEY_LENGTH || !isCanonicalY(bytes) || isSmallOrderEncoding(bytes)) {
    return false;
  }
  try {
    ed25519.Point.fromBytes(bytes, false);
    return true;
  } catch {
    return false;
  }
}

function secretBytes(secretKey: Secret | Uint8Array): Uint8Array {
  const bytes = secretKey instanceof Secret ? secretKey.expose() : secretKey;
  if (bytes.length !== ED25519_SECRET_KEY_LENGTH) {
    throw new CryptoError("BAD_LENGTH", `Cannot use Ed25519 secret key: length ${bytes.length}, expected 32`);
  }
  return bytes;
}

/**
 * A new random Ed25519 key pair. The seed's `zcrypto_ed25519_keypair`.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = ed25519Keypair();
 * publicKey.length; // 32
 * secretKey.wipe();
 * ```
 */
export function ed25519Keypair(): Ed25519Keypair {
  const secret = crypto.getRandomValues(new Uint8Array(ED25519_SECRET_KEY_LENGTH));
  return { publicKey: ed25519.getPublicKey(secret), secretKey: Secret.from(secret) };
}

/** The public key of a 32-byte Ed25519 secret key. */
export function ed25519PublicKey(secretKey: Secret | Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretBytes(secretKey));
}

/**
 * Signs `message` (RFC 8032 Ed25519, deterministic). The seed's `zcrypto_ed25519_sign`.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = ed25519Keypair();
 * const sig = ed25519Sign(secretKey, new TextEncoder().encode("hi"));
 * await ed25519Verify(publicKey, new TextEncoder().encode("hi"), sig); // true
 * ```
 */
export function ed25519Sign(secretKey: Secret | Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretBytes(secretKey));
}

/**
 * Verifies an Ed25519 signature under GhostChain's rule (see the module doc) with WebCrypto. Never throws on
 * malformed input: anything that is not a valid signature gives `false`. The seed's `zcrypto_ed25519_verify`.
 */
export async function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (!ed25519Precheck(publicKey, signature)) return false;
  try {
    const key = await crypto.subtle.importKey("raw", bufferSource(publicKey), "Ed25519", false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, bufferSource(signature), bufferSource(message));
  } catch {
    // A key that does not decode to a curve point.
    return false;
  }
}
