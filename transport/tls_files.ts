/**
 * File adapter for TLS material: atomic writes with private-key permissions, the {@linkcode PkiStore} used by
 * the dev PKI, and loading of operator-supplied certificate files for production.
 *
 * @module
 */
import { readTextIfExists, writeFileAtomic } from "../core/mod.ts";

/** Where PKI files are kept. Private keys must be written with mode 0600, atomically. */
export interface PkiStore {
  /** Returns the file's text, or `undefined` when it does not exist. */
  read(name: string): Promise<string | undefined>;
  /** Replaces the file atomically; `secret` files get mode 0600. */
  write(name: string, text: string, options: { readonly secret: boolean }): Promise<void>;
}

/** A {@linkcode PkiStore} over files in `dir` (created with mode 0700 when missing); secrets get mode 0600. */
export function filePkiStore(dir: string): PkiStore {
  let ready: Promise<void> | undefined;
  const ensureDir = (): Promise<void> =>
    ready ??= Deno.mkdir(dir, { recursive: true, mode: 0o700 }).catch((error) => {
      ready = undefined;
      throw error;
    });
  return {
    read: (name) => readTextIfExists(join(dir, name)),
    async write(name, text, { secret }) {
      await ensureDir();
      await writeFileAtomic(join(dir, name), text, { mode: secret ? 0o600 : 0o644 });
    },
  };
}

/** Paths of operator-supplied TLS files. */
export interface TlsFiles {
  /** Certificate chain, PEM (leaf first). */
  readonly certFile: string;
  /** Private key, PEM (PKCS#8 `PRIVATE KEY`, or `EC PRIVATE KEY` / `RSA PRIVATE KEY`). */
  readonly keyFile: string;
  /** Optional CA bundle clients should trust, PEM. */
  readonly caFile?: string;
}

/** TLS material read from files. */
export interface TlsMaterial {
  /** Certificate chain PEM. */
  readonly certPem: string;
  /** Private key PEM. */
  readonly keyPem: string;
  /** CA bundle PEM, when a `caFile` was given. */
  readonly caPem?: string;
  /** Problems worth logging that do not stop startup, e.g. a key file readable by others. */
  readonly warnings: readonly string[];
}

/**
 * Loads production TLS files, checking that each holds the expected PEM blocks. Errors name the file.
 *
 * @throws {TypeError} when a file lacks the expected PEM block
 * @throws {Deno.errors.NotFound} when a file is missing
 */
export async function loadTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const warnings: string[] = [];
  const certPem = await readNamed(files.certFile, "certFile");
  if (!/-----BEGIN CERTIFICATE-----/.test(certPem)) {
    throw new TypeError(`Cannot use certFile "${files.certFile}": no "BEGIN CERTIFICATE" block`);
  }
  const keyPem = await readNamed(files.keyFile, "keyFile");
  if (!/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(keyPem)) {
    throw new TypeError(`Cannot use keyFile "${files.keyFile}": no "BEGIN PRIVATE KEY" block`);
  }
  if (Deno.build.os !== "windows") {
    const info = await Deno.stat(files.keyFile);
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      warnings.push(`keyFile "${files.keyFile}" has mode 0${(info.mode & 0o777).toString(8)}; use 0600`);
    }
  }
  if (files.caFile === undefined) return { certPem, keyPem, warnings };
  const caPem = await readNamed(files.caFile, "caFile");
  if (!/-----BEGIN CERTIFICATE-----/.test(caPem)) {
    throw new TypeError(`Cannot use caFile "${files.caFile}": no "BEGIN CERTIFICATE" block`);
  }
  return { certPem, keyPem, caPem, warnings };
}

async function readNamed(path: string, key: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Error) error.message = `Cannot read ${key} "${path}": ${error.message}`;
    throw error;
  }
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}
