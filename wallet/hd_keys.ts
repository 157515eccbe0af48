/**
 * Hierarchical deterministic keys from a BIP-39 seed:
 * - Ed25519 by SLIP-0010 (hardened derivation only), composed from HMAC-SHA512 of `@noble/hashes`;
 * - secp256k1 by BIP-32 with `@scure/bip32`, including xprv/xpub serialization.
 *
 * Paths are written `m/44'/60'/0'/0/0`; `'`, `h` and `H` all mark a hardened index.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { HDKey } from "@scure/bip32";
import { concatBytes, u32be } from "../core/mod.ts";
import { ed25519PublicKey } from "../crypto/mod.ts";
import { KeyDerivationError } from "./errors.ts";
import { Secret, wipeBytes } from "../crypto/mod.ts";

/** First hardened index (BIP-32). */
export const HARDENED = 0x8000_0000;

/** Ethereum's default account path (BIP-44 coin type 60). */
export const ETHEREUM_DEFAULT_PATH = "m/44'/60'/0'/0/0";

/** Deepest path we derive (BIP-32 depth is one byte). */
const MAX_DEPTH = 255;

/** A derived Ed25519 key (SLIP-0010). */
export interface Ed25519HdKey {
  /** 32-byte secret key. Wipe it when done. */
  readonly privateKey: Secret;
  /** 32-byte public key (without SLIP-0010's 0x00 prefix). */
  readonly publicKey: Uint8Array;
  /** 32-byte chain code. */
  readonly chainCode: Uint8Array;
  /** Number of derivation steps from the master key. */
  readonly depth: number;
  /** Index of the last step (hardened indices include {@linkcode HARDENED}); 0 for the master key. */
  readonly index: number;
  /** First 4 bytes of HASH160 of the parent's 0x00-prefixed public key, as in SLIP-0010; 0 for the master. */
  readonly parentFingerprint: number;
}

/** A derived secp256k1 key (BIP-32). */
export interface Secp256k1HdKey {
  /** 32-byte secret key. Wipe it when done. */
  readonly privateKey: Secret;
  /** 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  /** 32-byte chain code. */
  readonly chainCode: Uint8Array;
  /** Number of derivation steps from the master key. */
  readonly depth: number;
  /** Index of the last step. */
  readonly index: number;
  /** BIP-32 parent fingerprint. */
  readonly parentFingerprint: number;
  /** The extended public key (`xpub...`). */
  readonly xpub: string;
  /** The extended private key (`xprv...`), as a Secret. */
  readonly xprv: Secret;
}

/**
 * Parses `m/...` into indices. Throws `KeyDerivationError("BAD_PATH")` for anything else: a missing `m`,
 * empty segments, leading zeros, indices >= 2^31 before hardening, more than 255 levels.
 *
 * @example
 * ```ts
 * parseDerivationPath("m/44'/0h/1"); // [0x8000002c, 0x80000000, 1]
 * ```
 */
export function parseDerivationPath(path: string): number[] {
  if (typeof path !== "string") {
    throw new KeyDerivationError("BAD_PATH", "Cannot parse derivation path: not a string");
  }
  const parts = path.split("/");
  if (parts[0] !== "m") {
    throw new KeyDerivationError("BAD_PATH", "Cannot parse derivation path: it must start with m");
  }
  if (parts.length - 1 > MAX_DEPTH) {
    throw new KeyDerivationError(
      "BAD_PATH",
      `Cannot parse derivation path: ${parts.length - 1} levels exceed ${MAX_DEPTH}`,
    );
  }
  return parts.slice(1).map((seg, i) => {
    const m = /^(0|[1-9][0-9]{0,9})(['hH]?)$/.exec(seg);
    const n = m === null ? NaN : Number(m[1]);
    if (m === null || !(n < HARDENED)) {
      throw new KeyDerivationError(
        "BAD_PATH",
        `Cannot parse derivation path: segment ${i + 1} is not an index below 2^31`,
      );
    }
    return m[2] === "" ? n : n + HARDENED;
  });
}

/** Writes indices as `m/...` with `'` for hardened steps. */
export function formatDerivationPath(indices: readonly number[]): string {
  return ["m", ...indices.map((i) => (i >= HARDENED ? `${i - HARDENED}'` : String(i)))].join("/");
}

function toIndices(path: string | readonly number[]): readonly number[] {
  if (typeof path === "string") return parseDerivationPath(path);
  for (const i of path) {
    if (!Number.isInteger(i) || i < 0 || i > 0xffff_ffff) {
      throw new KeyDerivationError(
        "BAD_PATH",
        "Cannot derive key: an index is not a 32-bit unsigned integer",
      );
    }
  }
  if (path.length > MAX_DEPTH) throw new KeyDerivationError("BAD_PATH", "Cannot derive key: path too deep");
  return path;
}

function seedBytes(seed: Secret | Uint8Array): Uint8Array {
  const bytes = seed instanceof Secret ? seed.expose() : seed;
  // BIP-32: seeds are 128 to 512 bits.
  if (bytes.length < 16 || bytes.length > 64) {
    throw new KeyDerivationError(
      "BAD_SEED",
      `Cannot derive key: seed length ${bytes.length}, expected 16..64 bytes`,
    );
  }
  return bytes;
}

function fingerprint(serializedPublicKey: Uint8Array): number {
  const h = ripemd160(sha256(serializedPublicKey));
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false);
}

const ED25519_CURVE_KEY = new TextEncoder().encode("ed25519 seed");

/**
 * Derives an Ed25519 key by SLIP-0010. Every index must be hardened (SLIP-0010 defines no public
 * derivation for Ed25519): a normal index throws `KeyDerivationError("NON_HARDENED")`.
 *
 * @example
 * ```ts
 * const key = deriveEd25519Key(seed, "m/44'/501'/0'/0'");
 * key.publicKey.length; // 32
 * ```
 */
export function deriveEd25519Key(seed: Secret | Uint8Array, path: string | readonly number[]): Ed25519HdKey {
  const indices = toIndices(path);
  const badStep = indices.findIndex((i) => i < HARDENED);
  if (badStep >= 0) {
    throw new KeyDerivationError(
      "NON_HARDENED",
      `Cannot derive Ed25519 key: step ${badStep + 1} is not hardened (SLIP-0010)`,
    );
  }
  // SLIP-0010 "Master key generation": I = HMAC-SHA512(Key = "ed25519 seed", Data = S).
  let I = hmac(sha512, ED25519_CURVE_KEY, seedBytes(seed));
  let key = I.slice(0, 32);
  let chainCode = I.slice(32);
  wipeBytes(I);
  let parentFingerprint = 0;
  for (const index of indices) {
    parentFingerprint = fingerprint(concatBytes(new Uint8Array([0]), ed25519PublicKey(key)));
    // SLIP-0010 CKDpriv, hardened: I = HMAC-SHA512(Key = c_par, Data = 0x00 || k_par || ser32(i)); for
    // ed25519 the child key is I_L as is.
    const data = concatBytes(new Uint8Array([0]), key, u32be(index));
    I = hmac(sha512, chainCode, data);
    wipeBytes(data, key);
    key = I.slice(0, 32);
    chainCode = I.slice(32);
    wipeBytes(I);
  }
  return {
    privateKey: Secret.from(key),
    publicKey: ed25519PublicKey(key),
    chainCode,
    depth: indices.length,
    index: indices[indices.length - 1] ?? 0,
    parentFingerprint,
  };
}

/**
 * Derives a secp256k1 key by BIP-32 (`@scure/bip32`); hardened and normal steps are both allowed.
 *
 * @example
 * ```ts
 * const key = deriveSecp256k1Key(seed, ETHEREUM_DEFAULT_PATH);
 * key.publicKey.length; // 33
 * ```
 */
export function deriveSecp256k1Key(
  seed: Secret | Uint8Array,
  path: string | readonly number[],
): Secp256k1HdKey {
  const indices = toIndices(path);
  let node: HDKey;
  try {
    node = HDKey.fromMasterSeed(seedBytes(seed));
    for (const i of indices) node = node.deriveChild(i);
  } catch (cause) {
    if (cause instanceof KeyDerivationError) throw cause;
    throw new KeyDerivationError("BAD_PATH", "Cannot derive secp256k1 key: derivation failed", { cause });
  }
  return fromHdKey(node);
}

function fromHdKey(node: HDKey): Secp256k1HdKey {
  const priv = node.privateKey;
  const pub = node.publicKey;
  const chain = node.chainCode;
  if (priv === null || pub === null || chain === null) {
    throw new KeyDerivationError("BAD_EXTENDED_KEY", "Cannot use extended key: it has no private key");
  }
  const out: Secp256k1HdKey = {
    privateKey: Secret.copy(priv),
    publicKey: Uint8Array.from(pub),
    chainCode: Uint8Array.from(chain),
    depth: node.depth,
    index: node.index,
    parentFingerprint: node.parentFingerprint,
    xpub: node.publicExtendedKey,
    xprv: Secret.fromText(node.privateExtendedKey),
  };
  node.wipePrivateData();
  return out;
}

/** Imports an `xprv...` string (mainnet BIP-32 versions) as a secp256k1 HD key. */
export function secp256k1KeyFromXprv(xprv: string | Secret): Secp256k1HdKey {
  const text = typeof xprv === "string" ? xprv : xprv.exposeText();
  let node: HDKey;
  try {
    node = HDKey.fromExtendedKey(text);
  } catch (cause) {
    throw new KeyDerivationError("BAD_EXTENDED_KEY", "Cannot decode extended private key", { cause });
  }
  return fromHdKey(node);
}
