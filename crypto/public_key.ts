/**
 * Typed public keys and signing keys shared by addresses, signed messages and multisig.
 *
 * A {@linkcode PublicKey} is always canonical: Ed25519 keys are 32 bytes, canonical and not of small order;
 * secp256k1 keys are 33-byte compressed points on the curve. {@linkcode parsePublicKey} is the only way in.
 *
 * @module
 */

import { compareBytes, equalBytes } from "../core/mod.ts";
import { ed25519PublicKey, isValidEd25519PublicKey } from "./ed25519.ts";
import { CryptoError } from "./errors.ts";
import { normalizeSecp256k1PublicKey, secp256k1PublicKey } from "./secp256k1.ts";
import type { Secret } from "./secret.ts";

/** Signature schemes a key can belong to. */
export type KeyType = "ed25519" | "secp256k1";

/**
 * The key-type byte that starts every hashed key encoding (addresses, multisig descriptors). Part of the
 * address scheme: changing a value changes every address.
 */
export const KEY_TYPE_BYTE = { ed25519: 0x01, secp256k1: 0x02, multisig: 0x03 } as const;

/** A canonical, validated public key. */
export interface PublicKey {
  /** Its signature scheme. */
  readonly type: KeyType;
  /** 32 bytes (Ed25519) or 33 bytes compressed (secp256k1). */
  readonly bytes: Uint8Array;
}

/** A secret key with its scheme, for signing messages and multisig partial signatures. */
export interface SigningKey {
  /** Its signature scheme. */
  readonly type: KeyType;
  /** 32 secret bytes. */
  readonly secretKey: Secret;
}

/** Whether `v` names a supported key type. */
export function isKeyType(v: unknown): v is KeyType {
  return v === "ed25519" || v === "secp256k1";
}

/**
 * Validates and canonicalizes a public key of the given type. Throws {@linkcode CryptoError}.
 *
 * @example
 * ```ts
 * const { publicKey } = ed25519Keypair();
 * parsePublicKey("ed25519", publicKey).bytes.length; // 32
 * ```
 */
export function parsePublicKey(type: KeyType, bytes: Uint8Array): PublicKey {
  if (type === "ed25519") {
    if (!isValidEd25519PublicKey(bytes)) {
      throw new CryptoError(
        "BAD_PUBLIC_KEY",
        "Cannot use Ed25519 public key: not a canonical key of prime order",
      );
    }
    return { type, bytes: Uint8Array.from(bytes) };
  }
  if (type === "secp256k1") return { type, bytes: normalizeSecp256k1PublicKey(bytes) };
  throw new CryptoError("BAD_PUBLIC_KEY", "Cannot use public key: unknown key type");
}

/** The public key of a signing key. */
export function publicKeyOf(key: SigningKey): PublicKey {
  return key.type === "ed25519"
    ? { type: "ed25519", bytes: ed25519PublicKey(key.secretKey) }
    : { type: "secp256k1", bytes: secp256k1PublicKey(key.secretKey) };
}

/** `type byte || key bytes`: the form that is hashed and sorted. */
export function encodePublicKey(key: PublicKey): Uint8Array {
  const out = new Uint8Array(1 + key.bytes.length);
  out[0] = KEY_TYPE_BYTE[key.type];
  out.set(key.bytes, 1);
  return out;
}

/** Whether two keys are the same (type and bytes). */
export function publicKeyEquals(a: PublicKey, b: PublicKey): boolean {
  return a.type === b.type && equalBytes(a.bytes, b.bytes);
}

/** Total order on keys by their encoding (type byte first), used to sort multisig members. */
export function comparePublicKeys(a: PublicKey, b: PublicKey): number {
  return compareBytes(encodePublicKey(a), encodePublicKey(b));
}
