/**
 * Deno adapter for wallet files: atomic writes (temp file in the same directory, write, fsync, rename, fsync
 * of the directory where the platform allows) with an explicit mode, bounded reads, and thin helpers that
 * open and save a {@linkcode Keystore} or a signing bundle. All logic lives in the sans-IO modules.
 *
 * @module
 */

import { Keystore, type KeystoreOptions } from "./keystore.ts";
import { KEYSTORE_LIMITS } from "./keystore_file.ts";
import {
  encodeSigningBundle,
  parseSigningBundle,
  type SigningBundle,
  type SigningBundleLimits,
} from "./multisig_bundle.ts";
import type { Secret } from "./secret.ts";

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode (POSIX). Default 0o600. */
  readonly mode?: number;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/**
 * Replaces `path` with `data` atomically: readers see the old file or the new one, never a mix, and a crash
 * leaves at most a stray `.<name>.<random>.tmp` beside it.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = dirOf(path);
  const name = path.slice(path.lastIndexOf("/") + 1);
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  const tmp = `${dir}/.${name}.${suffix}.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode });
  try {
    let off = 0;
    while (off < data.length) off += await file.write(data.subarray(off));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  try {
    // The umask may have narrowed the mode on creation; never widened, but set it exactly.
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDir(dir);
}

/** fsyncs a directory so a rename inside it is durable; silently skipped where unsupported. */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    handle?.close();
  }
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
