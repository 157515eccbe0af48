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
import { createBLAKE3 } from "hash-wasm";

/**
 * The common case — unkeyed BLAKE3 with a 32-byte output — runs in hash-wasm's WebAssembly build, 5-10x faster
 * than pure JavaScript (13 -> 2.3 us for a 65-byte input, 2.7 -> 0.2 ms for 100 KB, measured here); block
 * hashing, Merkle and state roots are dominated by it. Keyed, derive-key and longer outputs use @noble/hashes.
 * Both are checked against the BLAKE3 test vectors (hashes_test.ts).
 */
let wasmBlake3: Awaited<ReturnType<typeof createBLAKE3>> | undefined;
// Not awaited at the top level (that stalls module loading in permission-scoped workers): the first hashes
// after start-up use @noble/hashes until the WebAssembly module is ready.
createBLAKE3().then((h) => (wasmBlake3 = h), () => {});

/** Resolves once the WebAssembly BLAKE3 is in use (or failed to load); for benchmarks and tests. */
export function blake3Ready(): Promise<boolean> {
  return createBLAKE3().then(() => wasmBlake3 !== undefined, () => false);
}

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
  if (
    wasmBlake3 !== undefined && options.key === undefined && options.context === undefined &&
    (options.dkLen === undefined || options.dkLen === 32)
  ) {
    wasmBlake3.init();
    wasmBlake3.update(input);
    return wasmBlake3.digest("binary");
  }
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
