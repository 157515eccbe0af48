/**
 * Where the wallet service keeps its keystore files: a narrow interface over "a directory of keystore files,
 * one file per wallet", with an in-memory implementation for tests. The Deno adapter (atomic 0600 files) is
 * `deno_wallet_store.ts`.
 *
 * @module
 */

import { WalletServiceError } from "./errors.ts";

/** The wallet used when a request or the CLI names none. */
export const DEFAULT_WALLET_NAME = "default";

/** Wallet names: file name stems, so nothing that could leave the directory. */
const WALLET_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Keystore files by wallet name. Implementations write atomically; a failed write leaves the old file. */
export interface WalletStore {
  /** The file bytes, or `undefined` when the wallet does not exist. */
  read(wallet: string): Promise<Uint8Array | undefined>;
  /** Replaces an existing wallet's file. */
  write(wallet: string, data: Uint8Array): Promise<void>;
  /** Writes a new wallet's file; throws `WalletServiceError` ALREADY_EXISTS when there is one. */
  create(wallet: string, data: Uint8Array): Promise<void>;
  /** Names of the stored wallets, sorted. */
  list(): Promise<string[]>;
}

/**
 * Parses a wallet name: empty or missing means {@linkcode DEFAULT_WALLET_NAME}; otherwise 1..64 of
 * `[a-z0-9_-]`, starting with a letter or digit. Throws `WalletServiceError` INVALID_ARGUMENT.
 */
export function parseWalletName(value: unknown): string {
  if (value === undefined || value === null || value === "") return DEFAULT_WALLET_NAME;
  if (typeof value !== "string" || !WALLET_NAME_RE.test(value)) {
    throw new WalletServiceError(
      "INVALID_ARGUMENT",
      "Cannot use wallet name: expected 1..64 characters of a-z, 0-9, _ and -, starting with a letter or digit",
    );
  }
  return value;
}

/** A {@linkcode WalletStore} in memory (tests, tools). */
export class MemoryWalletStore implements WalletStore {
  readonly #files = new Map<string, Uint8Array>();

  /** Number of completed writes (tests check that a failed call wrote nothing). */
  writes = 0;

  /** The file bytes (a copy), or `undefined`. */
  read(wallet: string): Promise<Uint8Array | undefined> {
    const f = this.#files.get(wallet);
    return Promise.resolve(f === undefined ? undefined : Uint8Array.from(f));
  }

  /** Replaces a wallet's file. */
  write(wallet: string, data: Uint8Array): Promise<void> {
    this.#files.set(wallet, Uint8Array.from(data));
    this.writes++;
    return Promise.resolve();
  }

  /** Adds a new wallet's file. */
  create(wallet: string, data: Uint8Array): Promise<void> {
    if (this.#files.has(wallet)) {
      return Promise.reject(
        new WalletServiceError("ALREADY_EXISTS", `Cannot create wallet ${wallet}: it exists`),
      );
    }
    return this.write(wallet, data);
  }

  /** Stored wallet names, sorted. */
  list(): Promise<string[]> {
    return Promise.resolve([...this.#files.keys()].sort());
  }
}
