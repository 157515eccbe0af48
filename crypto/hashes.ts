/**
 * Hash functions: BLAKE3, SHA-256 and Keccak-256 from `@noble/hashes`, and SHA-256 through WebCrypto.
 *
 * `sha256()` is synchronous (noble) and is the faster choice for small inputs; `sha256Async()` runs Deno's
 * native WebCrypto digest, which wins for large inputs (see `tests/bench/wallet_bench.ts`). Both give the
 * same digest; the tests cross-check them.
 *
 * @module
 */

import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bufferSource } from "../core/mod.ts";

/** Options of {@linkcode blake3}. */
export interface Blake3Options {
  /** Output length in bytes (extendable output). Default 32. */
  readonly dkLen?: number;
  /** 32-byte key for BLAKE3's keyed mode. */
  readonly key?: Uint8Array;
  /** Context string for BLAKE3's derive_key mode. */
  readonly context?: string;
}

/**
 * BLAKE3 of `input`, 32 bytes by default. The seed's `zcrypto_blake3_hash`.
 *
 * @example
 * ```ts
 * blake3(new TextEncoder().encode("ghost")).length; // 32
 * ```
 */
export function blake3(input: Uint8Array, options: Blake3Options = {}): Uint8Array {
  const opts: { dkLen?: number; key?: Uint8Array; context?: Uint8Array } = {};
  if (options.dkLen !== undefined) opts.dkLen = options.dkLen;
  if (options.key !== undefined) opts.key = options.key;
  if (options.context !== undefined) opts.context = new TextEncoder().encode(options.context);
  return nobleBlake3(input, opts);
}

/**
 * SHA-256 of `input` (synchronous, `@noble/hashes`). The seed's `zcrypto_sha256_hash`.
 *
 * @example
 * ```ts
 * sha256(new Uint8Array()).length; // 32
 * ```
 */
export function sha256(input: Uint8Array): Uint8Array {
  return nobleSha256(input);
}

/** SHA-256 of `input` through WebCrypto (native; fastest for inputs of a few KiB and more). */
export async function sha256Async(input: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bufferSource(input)));
}

/**
 * Keccak-256 as used by Ethereum (the original Keccak padding, not NIST SHA3-256).
 *
 * @example
 * ```ts
 * keccak256(new Uint8Array()); // c5d24601...5d85a470
 * ```
 */
export function keccak256(input: Uint8Array): Uint8Array {
  return keccak_256(input);
}
