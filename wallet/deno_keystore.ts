/**
 * Deno adapter for wallet files: atomic writes (temp file in the same directory, write, fsync, rename, fsync
 * of the directory where the platform allows) with an explicit mode, bounded reads, and thin helpers that
 * open and save a {@linkcode Keystore} or a signing bundle. All logic lives in the sans-IO modules.
 *
 * @module
 */

import { writeFileAtomic as writeAtomic } from "../core/mod.ts";
import { Keystore, type KeystoreOptions } from "./keystore.ts";
import { KEYSTORE_LIMITS } from "./keystore_file.ts";
import {
  encodeSigningBundle,
  parseSigningBundle,
  type SigningBundle,
  type SigningBundleLimits,
} from "./multisig_bundle.ts";
import type { Secret } from "../crypto/mod.ts";

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode (POSIX). Default 0o600. */
  readonly mode?: number;
}

/**
 * Replaces `path` with `data` atomically (temp file, fsync, rename, fsync of the directory), so readers see the
 * old file or the new one, never a mix. The one implementation lives in transport/; the wallet's default mode
 * is 0600 because what it writes is usually secret.
 */
export function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  return writeAtomic(path, data, { mode: options.mode ?? 0o600 });
}

/** Reads a file of at most `maxBytes`, refusing larger ones before reading them. */
export async function readFileBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  const info = await Deno.stat(path);
  if (info.size > maxBytes) {
    throw new RangeError(`Cannot read ${path}: ${info.size} bytes exceed ${maxBytes}`);
  }
  return await Deno.readFile(path);
}

/** Reads and unlocks a keystore file. A wrong passphrase changes nothing on disk. */
export async function openKeystoreFile(
  path: string,
  passphrase: string | Secret,
  options: KeystoreOptions = {},
): Promise<Keystore> {
  const data = await readFileBounded(path, KEYSTORE_LIMITS.maxFileBytes);
  return await Keystore.unlock(data, passphrase, options);
}

/** Seals `keystore` and writes it atomically at mode 0600. */
export async function saveKeystoreFile(path: string, keystore: Keystore): Promise<void> {
  await writeFileAtomic(path, keystore.seal(), { mode: 0o600 });
}

/** Writes a signing bundle (not secret) atomically at mode 0644. */
export async function writeSigningBundleFile(path: string, bundle: SigningBundle): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(encodeSigningBundle(bundle)), { mode: 0o644 });
}

/** Reads and parses a signing bundle file. */
export async function readSigningBundleFile(
  path: string,
  limits: SigningBundleLimits = {},
): Promise<SigningBundle> {
  const data = await readFileBounded(path, limits.maxTextLength ?? 4 << 20);
  return parseSigningBundle(new TextDecoder().decode(data), limits);
}
