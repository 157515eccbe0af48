/**
 * Deno adapter of {@linkcode WalletStore}: one keystore file per wallet, `<dir>/<wallet>.keystore.json`,
 * written atomically at mode 0600 (`writeFileAtomic`), read with a size bound. The directory is created at mode
 * 0700 on first write. This is the only file access of the wallet service worker, whose permissions are
 * exactly this directory.
 *
 * @module
 */

import { readFileBounded, writeFileAtomic } from "./deno_keystore.ts";
import { WalletServiceError } from "./errors.ts";
import { KEYSTORE_LIMITS } from "./keystore_file.ts";
import type { WalletStore } from "./wallet_store.ts";

/** File name suffix of wallet keystore files. */
export const WALLET_FILE_SUFFIX = ".keystore.json";

/** A {@linkcode WalletStore} over a directory. */
export class DenoWalletStore implements WalletStore {
  /** The directory. */
  readonly dir: string;

  /** Uses `dir` (created on the first write). */
  constructor(dir: string) {
    this.dir = dir.replace(/\/+$/, "") || "/";
  }

  /** The path of a wallet's file. */
  path(wallet: string): string {
    return `${this.dir}/${wallet}${WALLET_FILE_SUFFIX}`;
  }

  /** The file bytes, or `undefined` when it does not exist. */
  async read(wallet: string): Promise<Uint8Array | undefined> {
    try {
      return await readFileBounded(this.path(wallet), KEYSTORE_LIMITS.maxFileBytes);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /** Replaces the file atomically (mode 0600). */
  async write(wallet: string, data: Uint8Array): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path(wallet), data, { mode: 0o600 });
  }

  /** Writes a new wallet file; ALREADY_EXISTS when one is there. */
  async create(wallet: string, data: Uint8Array): Promise<void> {
    if ((await this.read(wallet)) !== undefined) {
      throw new WalletServiceError("ALREADY_EXISTS", `Cannot create wallet ${wallet}: it exists`);
    }
    await this.write(wallet, data);
  }

  /** Wallet names in the directory, sorted (none when the directory does not exist). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (e.isFile && e.name.endsWith(WALLET_FILE_SUFFIX) && !e.name.startsWith(".")) {
          out.push(e.name.slice(0, -WALLET_FILE_SUFFIX.length));
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    return out.sort();
  }
}
