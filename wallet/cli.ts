/**
 * `mod.ts wallet <subcommand>`: the wallet command line over an in-process {@linkcode WalletService} and the
 * keystore directory (`--wallet-dir`, default `<data_dir>/wallet`). Passphrases come from an interactive prompt
 * (no echo), `--passphrase-file FILE` or `GHOST_WALLET_PASSPHRASE`, never from an argument. Secrets are never
 * printed except the new mnemonic, once, by `new`. Exit codes: 0 success, 1 failure (wrong passphrase, invalid
 * signature, I/O), 2 usage error (unknown subcommand or flag, missing argument, or a feature that needs the chain).
 *
 * `GHOST_WALLET_KDF=test` selects cheap scrypt parameters (N=2^10) for new files: **for tests only**; a warning is
 * printed whenever it is used.
 *
 * @module
 */

import { toHex, tryFromHex, utf8, utf8Strict } from "../core/mod.ts";
import { DenoWalletStore } from "./deno_wallet_store.ts";
import { readFileBounded, writeFileAtomic } from "./deno_keystore.ts";
import { WalletServiceError } from "./errors.ts";
import type { EthKeystoreEncryptOptions } from "./eth_keystore_v3.ts";
import type { ScryptParams } from "./keystore_file.ts";
import { Secret, wipeBytes } from "../crypto/mod.ts";
import {
  type AccountInfo,
  findAccount,
  type KdfEvent,
  type PassphraseRequest,
  type PublicKeyInfo,
  type SignerInfo,
  WalletService,
} from "./wallet_service.ts";
import { DEFAULT_WALLET_NAME } from "./wallet_store.ts";

/** Injected input and output, so tests run the CLI in process. {@linkcode denoCliIo} is the real one. */
export interface CliIo {
  /** One line of stdin without its newline; `null` at end of input. `echo: false` hides typing on a terminal. */
  readLine(options: { readonly echo: boolean }): Promise<string | null>;
  /** Writes to stdout. */
  writeOut(text: string): void;
  /** Writes to stderr. */
  writeErr(text: string): void;
  /** An environment variable. */
  env(name: string): string | undefined;
  /** Whether a stream is a terminal. */
  isTerminal(stream: "stdin" | "stdout" | "stderr"): boolean;
}

/** Environment variable holding the wallet passphrase (for scripts; prefer a file or the prompt). */
export const PASSPHRASE_ENV = "GHOST_WALLET_PASSPHRASE";
/** Environment variable selecting test KDF parameters (`test`). Never for real keys. */
export const KDF_ENV = "GHOST_WALLET_KDF";
/** scrypt parameters selected by `GHOST_WALLET_KDF=test`: the smallest the keystore accepts. */
export const TEST_KDF: ScryptParams = { n: 1 << 10, r: 8, p: 1 };

const enc = new TextEncoder();

/** The real terminal: Deno's stdin (raw mode for hidden input), stdout, stderr and environment. */
export function denoCliIo(): CliIo {
  return {
    async readLine({ echo }) {
      const raw = !echo && Deno.stdin.isTerminal();
      if (raw) Deno.stdin.setRaw(true);
      const bytes: number[] = [];
      const one = new Uint8Array(1);
      try {
        for (;;) {
          const n = await Deno.stdin.read(one);
          if (n === null) return bytes.length > 0 ? utf8Strict.decode(new Uint8Array(bytes)) : null;
          const b = one[0] ?? 0;
          if (raw && b === 3) throw new CliUsageError("Interrupted", 130); // Ctrl-C
          if (raw && b === 4 && bytes.length === 0) return null; // Ctrl-D
          if (raw && (b === 127 || b === 8)) {
            bytes.pop();
            continue;
          }
          if (b === 10 || (raw && b === 13)) break;
          if (b !== 13) bytes.push(b);
        }
        return utf8Strict.decode(new Uint8Array(bytes));
      } finally {
        bytes.fill(0);
        if (raw) {
          Deno.stdin.setRaw(false);
          Deno.stderr.writeSync(enc.encode("\n"));
        }
      }
    },
    writeOut: (text) => writeAll(Deno.stdout, text),
    writeErr: (text) => writeAll(Deno.stderr, text),
    env: (name) => Deno.env.get(name),
    isTerminal: (stream) =>
      stream === "stdin"
        ? Deno.stdin.isTerminal()
        : stream === "stdout"
        ? Deno.stdout.isTerminal()
        : Deno.stderr.isTerminal(),
  };
}

function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = enc.encode(text);
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}

/** A usage problem: printed with the subcommand's hint, exit code 2 (or the given one). Chain commands throw it too. */
export class CliUsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CliUsageError";
    this.exitCode = exitCode;
  }
}

// ---- argument parsing ----

/** A flag of a subcommand: whether it takes a value, and whether it may repeat. */
export interface FlagSpec {
  readonly value: boolean;
  readonly repeat?: boolean;
}

/**
 * A subcommand that needs the chain (`balance`, `send`, `name register`, ...). The wallet knows nothing of
 * chain transactions: `chain/` supplies these commands and the supervisor's CLI passes them to
 * {@linkcode walletCli}; the wallet contributes argument parsing, accounts and signing with unlock.
 */
export interface WalletChainCommand {
  /** The `--help` text. */
  readonly help: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Flags beyond the global ones. */
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Runs the command; returns the exit code. Throw {@linkcode CliUsageError} for usage problems. */
  run(env: WalletChainEnv): Promise<number>;
}

/** What a {@linkcode WalletChainCommand} gets from the wallet CLI. */
export interface WalletChainEnv {
  readonly positionals: readonly string[];
  /** A flag's value (the first, for repeatable flags). */
  flag(name: string): string | undefined;
  /** Every value of a repeatable flag. */
  flagValues(name: string): readonly string[];
  /** Whether a flag was given. */
  has(name: string): boolean;
  readonly json: boolean;
  /** An account of the wallet by reference (id, label or address; "" = the first account). */
  account(ref: string): Promise<AccountInfo>;
  /** Signs the exact Transaction body bytes for `chainId` in the TRANSACTION domain (prompts to unlock). */
  signTransaction(ref: string, chainId: string, body: Uint8Array): Promise<Uint8Array>;
  /** Prints a result: `human` text, or `machine` as JSON with --json. */
  out(human: string, machine: Record<string, unknown>): void;
  /** Writes progress or warnings to stderr. */
  note(text: string): void;
  /** An environment variable. */
  env(name: string): string | undefined;
}

const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "wallet-dir": { value: true },
  "wallet": { value: true },
  "json": { value: false },
  "passphrase-file": { value: true },
  "help": { value: false },
};

interface Parsed {
  readonly positionals: string[];
  readonly flags: Map<string, string[]>;
}

const REFUSED = new Set([
  "passphrase",
  "password",
  "pass",
  "pw",
  "mnemonic",
  "key",
  "private-key",
  "v3-password",
]);

function parseArgs(args: readonly string[], specs: Readonly<Record<string, FlagSpec>>, cmd: string): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const all = { ...GLOBAL_FLAGS, ...specs };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h") {
      flags.set("help", [""]);
      continue;
    }
    if (!arg.startsWith("--") || arg === "-") {
      if (arg.startsWith("-") && arg !== "-") {
        throw new CliUsageError(`unknown flag ${arg} for "wallet ${cmd}"`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (REFUSED.has(name)) {
      // Never echo the value: it may be the secret itself.
      throw new CliUsageError(
        `--${name} is refused: secrets on the command line leak through shell history and the process list; ` +
          (name === "mnemonic" || name === "key" || name === "private-key"
            ? "use --mnemonic-file or --key-file"
            : name === "v3-password"
            ? "use --v3-password-file or the prompt"
            : `use the prompt, --passphrase-file FILE or ${PASSPHRASE_ENV}`),
      );
    }
    const spec = all[name];
    if (spec === undefined) throw new CliUsageError(`unknown flag --${name} for "wallet ${cmd}"`);
    let value = "";
    if (spec.value) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        const next = args[i + 1];
        if (next === undefined) throw new CliUsageError(`--${name} needs a value`);
        value = next;
        i++;
      }
    } else if (eq >= 0) throw new CliUsageError(`--${name} takes no value`);
    const prev = flags.get(name);
    if (prev !== undefined && !spec.repeat) throw new CliUsageError(`--${name} given twice`);
    flags.set(name, [...(prev ?? []), value]);
  }
  return { positionals, flags };
}

function flag(p: Parsed, name: string): string | undefined {
  return p.flags.get(name)?.[0];
}

// ---- help ----

const COMMON = `Global flags:
  --wallet-dir DIR        keystore directory (default <data_dir>/wallet, i.e. data/wallet; GHOST_DATA_DIR moves it)
  --wallet NAME           wallet file DIR/NAME.keystore.json (default "${DEFAULT_WALLET_NAME}")
  --passphrase-file FILE  read the wallet passphrase from the first line of FILE
  --json                  machine-readable output (one JSON object on stdout)
  -h, --help              help for a subcommand
Passphrase sources, first found: --passphrase-file, ${PASSPHRASE_ENV}, an interactive prompt (no echo).
A passphrase is never accepted as an argument.`;

const HELP: Readonly<Record<string, string>> = {
  "": `Usage: mod.ts wallet <subcommand> [flags]

Subcommands:
  new                      create an account from a new mnemonic (shown once)
  import                   import a mnemonic, a raw key or an Ethereum keystore v3 file
  list                     list accounts (no passphrase needed)
  address [ACCOUNT]        show an account's address
  sign [ACCOUNT]           sign a message (WALLET_MESSAGE domain)
  verify [SIGNED-HEX]      verify a signed message
  export-v3 [ACCOUNT]      export a secp256k1 account as Ethereum keystore v3 JSON
  multisig create|sign|combine|verify   M-of-N signing bundles

ACCOUNT is an id (or its first 8+ characters), a label or an address; default: the first account.

${COMMON}`,
  new: `Usage: mod.ts wallet new [--label L] [--type ed25519|secp256k1] [--words 12|15|18|21|24] [--path PATH]

Generates a BIP-39 mnemonic, shows it ONCE, and stores it encrypted with the account derived from it
(Ed25519: SLIP-0010 m/44'/1'/0'/0'/0'; secp256k1: BIP-32 m/44'/60'/0'/0/0). Creates the wallet file if needed
(the passphrase is asked twice).

${COMMON}`,
  import:
    `Usage: mod.ts wallet import (--mnemonic-file FILE | --key-file FILE --type T | --keystore-v3 FILE) [flags]

  --mnemonic-file FILE        BIP-39 phrase; with --type (default ed25519), --path, --bip39-passphrase-file FILE
  --key-file FILE             a 32-byte private key as hex; --type ed25519|secp256k1 is required
  --keystore-v3 FILE          Ethereum keystore v3 JSON; its password from --v3-password-file FILE or a prompt
  --label L                   account label

${COMMON}`,
  list: `Usage: mod.ts wallet list\n\nLists the accounts of the wallet from its public header.\n\n${COMMON}`,
  address: `Usage: mod.ts wallet address [ACCOUNT]\n\n${COMMON}`,
  sign: `Usage: mod.ts wallet sign [ACCOUNT] (--message TEXT | --file FILE) [--out FILE]

Signs in the WALLET_MESSAGE domain. Prints the signature and the signed message (hex, "GSM" wire form, which
"verify" takes); --out writes the signed message bytes to FILE.

${COMMON}`,
  verify: `Usage: mod.ts wallet verify (SIGNED-HEX | --in FILE)

Verifies a signed message ("GSM" wire form, hex or raw bytes in FILE) in the WALLET_MESSAGE domain.
Exit 0 when valid, 1 when not. Needs no wallet.

${COMMON}`,
  "export-v3":
    `Usage: mod.ts wallet export-v3 [ACCOUNT] --out FILE [--v3-password-file FILE] [--kdf scrypt|pbkdf2]

Writes a secp256k1 account as Ethereum keystore v3 JSON (mode 0600) under its own password (asked twice when
prompted). Default KDF scrypt n=2^18 (go-ethereum's standard).

${COMMON}`,
  multisig: `Usage:
  mod.ts wallet multisig create --threshold M --member SPEC... (--message TEXT | --file FILE)
                                [--domain transaction|message] --out BUNDLE
  mod.ts wallet multisig sign BUNDLE [--account ACCOUNT] [--out FILE]   (default: update BUNDLE in place)
  mod.ts wallet multisig combine BUNDLE BUNDLE... --out FILE
  mod.ts wallet multisig verify BUNDLE                                  (exit 0 valid, 1 not)

SPEC is ed25519:HEX, secp256k1:HEX (public keys) or an ACCOUNT of this wallet.

${COMMON}`,
};

const SUB_FLAGS: Readonly<Record<string, Readonly<Record<string, FlagSpec>>>> = {
  new: { label: { value: true }, type: { value: true }, words: { value: true }, path: { value: true } },
  import: {
    "mnemonic-file": { value: true },
    "key-file": { value: true },
    "keystore-v3": { value: true },
    "v3-password-file": { value: true },
    "bip39-passphrase-file": { value: true },
    type: { value: true },
    path: { value: true },
    label: { value: true },
  },
  list: {},
  address: {},
  sign: { message: { value: true }, file: { value: true }, out: { value: true } },
  verify: { in: { value: true } },
  "export-v3": { out: { value: true }, "v3-password-file": { value: true }, kdf: { value: true } },
  "multisig create": {
    threshold: { value: true },
    member: { value: true, repeat: true },
    message: { value: true },
    file: { value: true },
    domain: { value: true },
    out: { value: true },
  },
  "multisig sign": { account: { value: true }, out: { value: true } },
  "multisig combine": { out: { value: true } },
  "multisig verify": {},
};

// ---- the command context ----

interface Ctx {
  readonly io: CliIo;
  readonly json: boolean;
  readonly walletDir: string;
  readonly wallet: string;
  readonly store: DenoWalletStore;
  readonly service: WalletService;
  readonly kdfTest: boolean;
  readonly warnTestKdf: () => void;
  readonly parsed: Parsed;
}

function out(ctx: Ctx, human: string, machine: Record<string, unknown>): void {
  if (ctx.json) ctx.io.writeOut(JSON.stringify(machine, null, 2) + "\n");
  else ctx.io.writeOut(human.endsWith("\n") ? human : human + "\n");
}

function accountJson(a: AccountInfo): Record<string, unknown> {
  return {
    id: a.id,
    label: a.label,
    type: a.keyType === "KEY_TYPE_SECP256K1" ? "secp256k1" : "ed25519",
    publicKey: toHex(a.publicKey),
    address: a.address,
    ...(a.ethereumAddress !== "" ? { ethereumAddress: a.ethereumAddress } : {}),
    createdAt: a.createdAt,
  };
}

function signerJson(s: SignerInfo): Record<string, string> {
  return {
    type: s.keyType === "KEY_TYPE_SECP256K1" ? "secp256k1" : "ed25519",
    publicKey: toHex(s.publicKey),
  };
}

function typeName(a: AccountInfo): string {
  return a.keyType === "KEY_TYPE_SECP256K1" ? "secp256k1" : "ed25519";
}

/** Reads a secret file's first line (trailing CR/LF removed) as a Secret; the file bytes are wiped. */
async function readSecretLine(path: string, what: string): Promise<Secret> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBounded(path, 64 * 1024);
  } catch (error) {
    throw new CliUsageError(
      `cannot read ${what} file ${path}: ${error instanceof Error ? error.name : "error"}`,
      1,
    );
  }
  try {
    let end = bytes.indexOf(10);
    if (end < 0) end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--;
    return Secret.copy(bytes.subarray(0, end));
  } finally {
    wipeBytes(bytes);
  }
}

async function readTextFile(path: string, what: string, max: number): Promise<string> {
  try {
    return utf8Strict.decode(await readFileBounded(path, max));
  } catch (error) {
    throw new CliUsageError(
      `cannot read ${what} ${path}: ${error instanceof Error ? error.message : "error"}`,
      1,
    );
  }
}

async function prompt(io: CliIo, text: string): Promise<Secret> {
  io.writeErr(text);
  const line = await io.readLine({ echo: false });
  if (line === null) throw new CliUsageError("no input", 1);
  return Secret.fromText(line);
}

/**
 * A secret from, in order: `--<fileFlag>`, the environment variable (if any), an interactive prompt (asked
 * twice when `confirm`). Errors when none is available.
 */
async function obtainSecret(
  ctx: Pick<Ctx, "io" | "parsed">,
  opts: { fileFlag: string; env?: string; what: string; confirm: boolean },
): Promise<Secret> {
  const file = flag(ctx.parsed, opts.fileFlag);
  let secret: Secret | undefined;
  if (file !== undefined) secret = await readSecretLine(file, opts.what);
  else if (opts.env !== undefined && (ctx.io.env(opts.env) ?? "") !== "") {
    secret = Secret.fromText(ctx.io.env(opts.env) ?? "");
  } else if (ctx.io.isTerminal("stdin")) {
    secret = await prompt(ctx.io, `${opts.what[0]?.toUpperCase()}${opts.what.slice(1)}: `);
    if (opts.confirm) {
      const again = await prompt(ctx.io, `Repeat the ${opts.what}: `);
      const same = again.equals(secret);
      again.wipe();
      if (!same) {
        secret.wipe();
        throw new CliUsageError(`the two ${opts.what}s differ`, 1);
      }
    }
  } else {
    throw new CliUsageError(
      `no ${opts.what}: stdin is not a terminal; use --${opts.fileFlag} FILE` +
        (opts.env !== undefined ? ` or ${opts.env}` : ""),
    );
  }
  if (secret.length === 0) {
    secret.wipe();
    throw new CliUsageError(`the ${opts.what} is empty`, 1);
  }
  return secret;
}

function kdfLabel(p: ScryptParams): string {
  const log = Math.log2(p.n);
  return `scrypt N=${Number.isInteger(log) ? `2^${log}` : p.n}, r=${p.r}, p=${p.p}`;
}

// ---- subcommands ----

async function cmdNew(ctx: Ctx): Promise<number> {
  const p = ctx.parsed;
  const words = flag(p, "words");
  const res = await ctx.service.createAccount({
    wallet: ctx.wallet,
    label: flag(p, "label") ?? "",
    keyType: parseTypeFlag(flag(p, "type")) ?? "ed25519",
    wordCount: words === undefined ? 24 : parseIntFlag(words, "--words"),
    derivationPath: flag(p, "path") ?? "",
  });
  const a = res.account;
  if (ctx.json) {
    out(ctx, "", {
      wallet: ctx.wallet,
      account: accountJson(a),
      derivationPath: res.derivationPath,
      mnemonic: res.mnemonic,
    });
  } else {
    if (!ctx.io.isTerminal("stdout")) {
      ctx.io.writeErr(
        "warning: stdout is not a terminal: the recovery phrase is going to a pipe or a file\n",
      );
    }
    out(
      ctx,
      [
        `Created account ${a.id} in wallet "${ctx.wallet}" (${ctx.store.path(ctx.wallet)})`,
        `  address:  ${a.address}`,
        ...(a.ethereumAddress !== "" ? [`  ethereum: ${a.ethereumAddress}`] : []),
        `  type:     ${typeName(a)}`,
        `  path:     ${res.derivationPath}`,
        "",
        "WARNING: this recovery phrase is shown ONCE. Write it down and keep it offline; anyone who has it",
        "controls the account, and without it (or the wallet file and its passphrase) the account is lost.",
        "",
        `  ${res.mnemonic}`,
        "",
      ].join("\n"),
      {},
    );
  }
  return 0;
}

function parseTypeFlag(v: string | undefined): "ed25519" | "secp256k1" | undefined {
  if (v === undefined) return undefined;
  if (v === "ed25519" || v === "secp256k1") return v;
  throw new CliUsageError(`--type must be ed25519 or secp256k1, not "${v.slice(0, 32)}"`);
}

function parseIntFlag(v: string, name: string): number {
  if (!/^\d{1,6}$/.test(v)) throw new CliUsageError(`${name} must be a number`);
  return Number(v);
}

async function cmdImport(ctx: Ctx): Promise<number> {
  const p = ctx.parsed;
  const sources = ["mnemonic-file", "key-file", "keystore-v3"].filter((f) => p.flags.has(f));
  if (sources.length !== 1) {
    throw new CliUsageError("give exactly one of --mnemonic-file, --key-file, --keystore-v3");
  }
  const label = flag(p, "label") ?? "";
  const type = parseTypeFlag(flag(p, "type"));
  let account: AccountInfo;
  if (p.flags.has("mnemonic-file")) {
    const phrase = await readSecretFile(flag(p, "mnemonic-file") ?? "", "mnemonic");
    const bipFile = flag(p, "bip39-passphrase-file");
    const bip = bipFile === undefined
      ? Secret.fromText("")
      : await readSecretLine(bipFile, "BIP-39 passphrase");
    try {
      account = (await ctx.service.importAccount({
        wallet: ctx.wallet,
        label,
        mnemonic: {
          mnemonic: phrase.exposeText(),
          bip39Passphrase: bip.exposeText(),
          keyType: type ?? "ed25519",
          derivationPath: flag(p, "path") ?? "",
        },
      })).account;
    } finally {
      phrase.wipe();
      bip.wipe();
    }
  } else if (p.flags.has("key-file")) {
    if (type === undefined) throw new CliUsageError("--key-file needs --type ed25519 or --type secp256k1");
    const text = await readSecretFile(flag(p, "key-file") ?? "", "key");
    let hex = text.exposeText().trim();
    text.wipe();
    if (hex.startsWith("0x")) hex = hex.slice(2);
    const key = hex.length === 64 ? tryFromHex(hex) : undefined;
    hex = "";
    if (key === undefined) {
      throw new CliUsageError("the key file does not hold 64 hex digits (a 32-byte key)", 1);
    }
    try {
      account = (await ctx.service.importAccount({
        wallet: ctx.wallet,
        label,
        rawKey: { keyType: type, privateKey: key },
      })).account;
    } finally {
      wipeBytes(key);
    }
  } else {
    const json = await readTextFile(flag(p, "keystore-v3") ?? "", "keystore v3 file", 64 * 1024);
    const password = await obtainSecret(ctx, {
      fileFlag: "v3-password-file",
      what: "keystore v3 password",
      confirm: false,
    });
    try {
      account = (await ctx.service.importAccount({
        wallet: ctx.wallet,
        label,
        keystoreV3: { json, password: password.exposeText() },
      })).account;
    } finally {
      password.wipe();
    }
  }
  out(
    ctx,
    `Imported account ${account.id} (${typeName(account)})\n  address:  ${account.address}` +
      (account.ethereumAddress !== "" ? `\n  ethereum: ${account.ethereumAddress}` : ""),
    { wallet: ctx.wallet, account: accountJson(account) },
  );
  return 0;
}

async function readSecretFile(path: string, what: string): Promise<Secret> {
  try {
    return Secret.from(await readFileBounded(path, 64 * 1024));
  } catch (error) {
    throw new CliUsageError(
      `cannot read ${what} file ${path}: ${error instanceof Error ? error.name : "error"}`,
      1,
    );
  }
}

async function cmdList(ctx: Ctx): Promise<number> {
  const res = await ctx.service.listAccounts({ wallet: ctx.wallet });
  const lines = [`wallet "${ctx.wallet}": ${res.accounts.length} accounts, ${res.mnemonics} mnemonics`];
  for (const a of res.accounts) {
    lines.push(`  ${a.id.slice(0, 8)}  ${typeName(a).padEnd(9)}  ${a.address}  ${a.label}`);
  }
  out(ctx, lines.join("\n"), {
    wallet: ctx.wallet,
    accounts: res.accounts.map(accountJson),
    mnemonics: res.mnemonics,
  });
  return 0;
}

async function accountByRef(ctx: Ctx, ref: string): Promise<AccountInfo> {
  return findAccount((await ctx.service.listAccounts({ wallet: ctx.wallet })).accounts, ref);
}

async function cmdAddress(ctx: Ctx): Promise<number> {
  const a = await accountByRef(ctx, onePositional(ctx.parsed, "ACCOUNT"));
  out(ctx, a.address + (a.ethereumAddress !== "" ? `\n${a.ethereumAddress}` : ""), accountJson(a));
  return 0;
}

function onePositional(p: Parsed, what: string): string {
  if (p.positionals.length > 1) throw new CliUsageError(`expected at most one ${what}`);
  return p.positionals[0] ?? "";
}

async function cmdSign(ctx: Ctx): Promise<number> {
  const p = ctx.parsed;
  const message = await messageFromFlags(p);
  const res = await ctx.service.signMessage({
    wallet: ctx.wallet,
    account: onePositional(p, "ACCOUNT"),
    message,
  });
  const outFile = flag(p, "out");
  if (outFile !== undefined) await writeFileAtomic(outFile, res.signedMessage, { mode: 0o644 });
  out(
    ctx,
    `address:        ${res.address}\nsignature:      ${toHex(res.signature)}\nsigned message: ${
      toHex(res.signedMessage)
    }`,
    {
      address: res.address,
      signer: signerJson(res.signer),
      domain: "WALLET_MESSAGE",
      signature: toHex(res.signature),
      signedMessage: toHex(res.signedMessage),
    },
  );
  return 0;
}

async function messageFromFlags(p: Parsed): Promise<Uint8Array> {
  const text = flag(p, "message");
  const file = flag(p, "file");
  if ((text === undefined) === (file === undefined)) {
    throw new CliUsageError("give exactly one of --message, --file");
  }
  if (text !== undefined) return utf8.encode(text);
  try {
    return await readFileBounded(file ?? "", 1 << 20);
  } catch (error) {
    throw new CliUsageError(`cannot read ${file}: ${error instanceof Error ? error.message : "error"}`, 1);
  }
}

async function cmdVerify(ctx: Ctx): Promise<number> {
  const p = ctx.parsed;
  const arg = onePositional(p, "SIGNED-HEX");
  const inFile = flag(p, "in");
  if ((arg === "") === (inFile === undefined)) {
    throw new CliUsageError("give a signed message as hex or --in FILE");
  }
  let bytes: Uint8Array | undefined;
  if (inFile !== undefined) {
    let raw: Uint8Array;
    try {
      raw = await readFileBounded(inFile, 4 << 20);
    } catch (error) {
      throw new CliUsageError(
        `cannot read ${inFile}: ${error instanceof Error ? error.message : "error"}`,
        1,
      );
    }
    const isGsm = raw[0] === 0x47 && raw[1] === 0x53 && raw[2] === 0x4d;
    bytes = isGsm ? raw : tryFromHex(new TextDecoder().decode(raw).trim());
  } else bytes = tryFromHex(arg.trim());
  if (bytes === undefined) throw new CliUsageError("the signed message is not hex");
  const res = await ctx.service.verifyMessage({ signedMessage: bytes });
  let shown: string;
  try {
    shown = JSON.stringify(utf8Strict.decode(res.message));
  } catch {
    shown = `0x${toHex(res.message)}`;
  }
  out(
    ctx,
    res.valid ? `valid: signed by ${res.address}\nmessage: ${shown}` : `invalid: ${res.reason}`,
    {
      valid: res.valid,
      ...(res.valid ? {} : { reason: res.reason }),
      address: res.address,
      message: toHex(res.message),
    },
  );
  return res.valid ? 0 : 1;
}

async function cmdExportV3(ctx: Ctx): Promise<number> {
  const p = ctx.parsed;
  const outFile = flag(p, "out");
  if (outFile === undefined) throw new CliUsageError("export-v3 needs --out FILE");
  const kdf = flag(p, "kdf") ?? "scrypt";
  if (kdf !== "scrypt" && kdf !== "pbkdf2") throw new CliUsageError("--kdf must be scrypt or pbkdf2");
  const account = onePositional(p, "ACCOUNT");
  // Resolve (and type-check) the account before asking for anything.
  const a = await accountByRef(ctx, account);
  if (a.keyType !== "KEY_TYPE_SECP256K1") {
    throw new CliUsageError(`account ${a.id} is ${typeName(a)}; keystore v3 holds secp256k1 keys`, 1);
  }
  const password = await obtainSecret(ctx, {
    fileFlag: "v3-password-file",
    what: "keystore v3 password",
    confirm: true,
  });
  const options: EthKeystoreEncryptOptions = kdf === "pbkdf2"
    ? { kdf: "pbkdf2" }
    : ctx.kdfTest
    ? (ctx.warnTestKdf(), { kdf: "scrypt", n: TEST_KDF.n, r: TEST_KDF.r, p: TEST_KDF.p })
    : { kdf: "scrypt" };
  try {
    const res = await ctx.service.exportKeystoreV3({ wallet: ctx.wallet, account: a.id, password, options });
    await writeFileAtomic(outFile, utf8.encode(JSON.stringify(res.json, null, 2) + "\n"), { mode: 0o600 });
    out(ctx, `Wrote ${outFile} (keystore v3, ${res.account.ethereumAddress})`, {
      file: outFile,
      account: accountJson(res.account),
    });
  } finally {
    password.wipe();
  }
  return 0;
}

function parseMember(spec: string, accounts: () => Promise<readonly AccountInfo[]>): Promise<PublicKeyInfo> {
  const m = /^(ed25519|secp256k1):(?:0x)?([0-9a-fA-F]+)$/.exec(spec);
  if (m !== null) {
    const bytes = tryFromHex((m[2] ?? "").toLowerCase());
    if (bytes === undefined) throw new CliUsageError(`--member ${spec.slice(0, 80)}: not hex`);
    return Promise.resolve({ keyType: m[1] === "ed25519" ? "ed25519" : "secp256k1", publicKey: bytes });
  }
  return accounts().then((list) => {
    const a = findAccount(list, spec);
    return { keyType: a.keyType, publicKey: a.publicKey };
  });
}

async function writeBundle(path: string, json: string): Promise<void> {
  await writeFileAtomic(path, utf8.encode(json), { mode: 0o644 });
}

async function cmdMultisig(ctx: Ctx, sub: string): Promise<number> {
  const p = ctx.parsed;
  switch (sub) {
    case "create": {
      const threshold = parseIntFlag(flag(p, "threshold") ?? "", "--threshold");
      const specs = p.flags.get("member") ?? [];
      if (specs.length === 0) throw new CliUsageError("give the members with --member SPEC (repeat)");
      const outFile = flag(p, "out");
      if (outFile === undefined) throw new CliUsageError("multisig create needs --out BUNDLE");
      const d = flag(p, "domain") ?? "transaction";
      if (d !== "transaction" && d !== "message") {
        throw new CliUsageError("--domain must be transaction or message");
      }
      if (p.positionals.length > 0) {
        throw new CliUsageError(`unexpected argument ${p.positionals[0]?.slice(0, 64)}`);
      }
      const message = await messageFromFlags(p);
      let cached: Promise<readonly AccountInfo[]> | undefined;
      const accounts = () =>
        cached ??= ctx.service.listAccounts({ wallet: ctx.wallet }).then((r) => r.accounts);
      const members = [];
      for (const s of specs) members.push(await parseMember(s, accounts));
      const res = await ctx.service.createMultisig({
        threshold,
        members,
        domain: d === "message" ? "WALLET_MESSAGE" : "TRANSACTION",
        message,
      });
      await writeBundle(outFile, res.bundleJson);
      out(ctx, `multisig ${threshold}-of-${members.length} ${res.address}\nwrote ${outFile} (0 signatures)`, {
        address: res.address,
        threshold,
        members: members.length,
        file: outFile,
      });
      return 0;
    }
    case "sign": {
      const file = onePositional(p, "BUNDLE");
      if (file === "") throw new CliUsageError("multisig sign needs a BUNDLE file");
      const bundleJson = await readTextFile(file, "bundle", 4 << 20);
      const res = await ctx.service.signMultisig({
        wallet: ctx.wallet,
        account: flag(p, "account") ?? "",
        bundleJson,
      });
      const dest = flag(p, "out") ?? file;
      await writeBundle(dest, res.bundleJson);
      const count = (JSON.parse(res.bundleJson) as { signatures: unknown[] }).signatures.length;
      out(
        ctx,
        `signed as ${signerJson(res.signer).type}:${
          toHex(res.signer.publicKey)
        }\nwrote ${dest} (${count} signatures)`,
        {
          signer: signerJson(res.signer),
          signature: toHex(res.signature),
          file: dest,
          signatures: count,
        },
      );
      return 0;
    }
    case "combine": {
      const outFile = flag(p, "out");
      if (outFile === undefined) throw new CliUsageError("multisig combine needs --out FILE");
      if (p.positionals.length < 1) throw new CliUsageError("multisig combine needs BUNDLE files");
      const bundleJsons = [];
      for (const f of p.positionals) bundleJsons.push(await readTextFile(f, "bundle", 4 << 20));
      const res = await ctx.service.combineMultisig({ bundleJsons });
      await writeBundle(outFile, res.bundleJson);
      out(ctx, `wrote ${outFile} (${res.signatures} signatures, threshold ${res.threshold})`, {
        file: outFile,
        signatures: res.signatures,
        threshold: res.threshold,
      });
      return 0;
    }
    case "verify": {
      const file = onePositional(p, "BUNDLE");
      if (file === "") throw new CliUsageError("multisig verify needs a BUNDLE file");
      const res = await ctx.service.verifyMultisig({
        bundleJson: await readTextFile(file, "bundle", 4 << 20),
      });
      out(
        ctx,
        res.valid
          ? `valid: ${res.signers.length} of ${res.threshold} required signatures for ${res.address}`
          : `invalid: ${res.reason} (${res.address})`,
        {
          valid: res.valid,
          ...(res.valid ? {} : { reason: res.reason }),
          address: res.address,
          threshold: res.threshold,
          signers: res.signers.map(signerJson),
        },
      );
      return res.valid ? 0 : 1;
    }
  }
  throw new CliUsageError(
    `unknown subcommand "multisig ${sub.slice(0, 32)}" (create, sign, combine, verify)`,
  );
}

// ---- entry ----

/**
 * Runs `mod.ts wallet <args...>` and returns the exit code. `io` defaults to the real terminal.
 *
 * @example
 * ```ts
 * Deno.exit(await walletCli(Deno.args.slice(1)));
 * ```
 */
export async function walletCli(
  args: string[],
  io: CliIo = denoCliIo(),
  chainCommands: Readonly<Record<string, WalletChainCommand>> = {},
): Promise<number> {
  let cmd = args[0] ?? "";
  let rest = args.slice(1);
  const chainNames = Object.keys(chainCommands);
  if (cmd === "-h" || cmd === "--help" || cmd === "help" || cmd === "") {
    const chainHelp = chainNames.length === 0
      ? "  (balance, send, name and contract commands need the chain commands of the full build)\n"
      : chainNames.map((n) => `  ${n.padEnd(24)} ${chainCommands[n]?.summary ?? ""}\n`).join("");
    io.writeOut(
      (HELP[""] ?? "").replace(
        "\nACCOUNT is",
        `\nWith the chain (through the bridge):\n${chainHelp}\nACCOUNT is`,
      ) + "\n",
    );
    return cmd === "" ? 2 : 0;
  }
  // Two-word chain commands (`name register`) are looked up like `multisig create`.
  if (!(cmd in chainCommands) && chainNames.some((n) => n.startsWith(`${cmd} `))) {
    const sub = rest[0] ?? "";
    const group = chainNames.filter((n) => n.startsWith(`${cmd} `));
    if (sub === "" || sub === "-h" || sub === "--help") {
      io.writeOut(group.map((n) => chainCommands[n]?.help ?? "").join("\n") + "\n");
      return sub === "" ? 2 : 0;
    }
    cmd = `${cmd} ${sub}`;
    rest = rest.slice(1);
  }
  const chainCommand = chainCommands[cmd];
  if (chainCommand !== undefined) return await runChainCommand(cmd, chainCommand, rest, io);
  if (cmd === "send" || cmd === "balance" || cmd === "name" || cmd === "deploy" || cmd === "call") {
    io.writeErr(
      `error: "wallet ${cmd}" needs the chain commands, which this entry point does not include; ` +
        `run it as "mod.ts wallet ${cmd}"\n`,
    );
    return 2;
  }
  if (cmd === "multisig") {
    const sub = rest[0] ?? "";
    if (sub === "" || sub === "-h" || sub === "--help") {
      io.writeOut(HELP.multisig + "\n");
      return sub === "" ? 2 : 0;
    }
    cmd = `multisig ${sub}`;
    rest = rest.slice(1);
  }
  const specs = SUB_FLAGS[cmd];
  if (specs === undefined) {
    io.writeErr(`error: unknown subcommand "wallet ${cmd.slice(0, 64)}"; see "mod.ts wallet --help"\n`);
    return 2;
  }
  const helpText = HELP[cmd.startsWith("multisig") ? "multisig" : cmd] ?? HELP[""];
  let parsed: Parsed;
  try {
    parsed = parseArgs(rest, specs, cmd);
  } catch (error) {
    io.writeErr(`error: ${error instanceof Error ? error.message : "bad arguments"}\n`);
    io.writeErr(`see "mod.ts wallet ${cmd} --help"\n`);
    return 2;
  }
  if (parsed.flags.has("help")) {
    io.writeOut(helpText + "\n");
    return 0;
  }
  const json = parsed.flags.has("json");
  const opened = openContext(io, parsed, json);
  if (typeof opened === "number") return opened;
  const ctx = opened;
  try {
    switch (cmd) {
      case "new":
        return await cmdNew(ctx);
      case "import":
        return await cmdImport(ctx);
      case "list":
        return await cmdList(ctx);
      case "address":
        return await cmdAddress(ctx);
      case "sign":
        return await cmdSign(ctx);
      case "verify":
        return await cmdVerify(ctx);
      case "export-v3":
        return await cmdExportV3(ctx);
      default:
        return await cmdMultisig(ctx, cmd.slice("multisig ".length));
    }
  } catch (error) {
    return report(io, json, error, cmd, ctx.wallet);
  } finally {
    ctx.service.lockAll();
  }
}

/** Parses a chain command's flags and runs it with the wallet's accounts and signing. */
async function runChainCommand(
  cmd: string,
  command: WalletChainCommand,
  rest: readonly string[],
  io: CliIo,
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(rest, command.flags, cmd);
  } catch (error) {
    io.writeErr(`error: ${error instanceof Error ? error.message : "bad arguments"}\n`);
    io.writeErr(`see "mod.ts wallet ${cmd} --help"\n`);
    return 2;
  }
  if (parsed.flags.has("help")) {
    io.writeOut(`${command.help}\n\n${COMMON}\n`);
    return 0;
  }
  const json = parsed.flags.has("json");
  const opened = openContext(io, parsed, json);
  if (typeof opened === "number") return opened;
  const ctx = opened;
  const env: WalletChainEnv = {
    positionals: parsed.positionals,
    flag: (name) => flag(parsed, name),
    flagValues: (name) => parsed.flags.get(name) ?? [],
    has: (name) => parsed.flags.has(name),
    json,
    account: (ref) => accountByRef(ctx, ref),
    signTransaction: async (ref, chainId, body) =>
      (await ctx.service.signTransaction({ wallet: ctx.wallet, account: ref, chainId, body })).signature,
    out: (human, machine) => out(ctx, human, machine),
    note: (text) => io.writeErr(text),
    env: (name) => io.env(name),
  };
  try {
    return await command.run(env);
  } catch (error) {
    if (error instanceof WalletServiceError || error instanceof CliUsageError || !(error instanceof Error)) {
      return report(io, json, error, cmd, ctx.wallet);
    }
    // The chain's own errors (status, stable reason, message) as the chain worded them; they carry no secrets.
    const fields = error as Error & { status?: unknown; reason?: unknown };
    const status = typeof fields.status === "string" ? fields.status : "UNKNOWN";
    const reason = typeof fields.reason === "string" ? fields.reason : "";
    if (json) io.writeOut(JSON.stringify({ error: status, reason, message: error.message }) + "\n");
    io.writeErr(`error: ${status}${reason !== "" ? ` ${reason}` : ""}: ${error.message}\n`);
    return 1;
  } finally {
    ctx.service.lockAll();
  }
}

/** The wallet, its store and service for a command; an exit code when that fails. */
function openContext(io: CliIo, parsed: Parsed, json: boolean): Ctx | number {
  const kdfEnv = io.env(KDF_ENV) ?? "";
  if (kdfEnv !== "" && kdfEnv !== "test") {
    io.writeErr(`error: ${KDF_ENV} must be unset or "test"\n`);
    return 2;
  }
  const kdfTest = kdfEnv === "test";
  const warnTestKdf = (): void => {
    io.writeErr(
      `warning: ${KDF_ENV}=test: cheap scrypt parameters (${kdfLabel(TEST_KDF)}) for tests only; ` +
        "never use them for real keys\n",
    );
  };
  const walletDir = flag(parsed, "wallet-dir") ?? `${io.env("GHOST_DATA_DIR") || "data"}/wallet`;
  const wallet = flag(parsed, "wallet") ?? DEFAULT_WALLET_NAME;
  const store = new DenoWalletStore(walletDir);
  const showProgress = io.isTerminal("stderr") || !json;
  const ctxBase = { io, parsed };
  const onKdf = (e: KdfEvent): void => {
    if (!showProgress) return;
    if (e.phase === "start") io.writeErr(`Deriving key (${kdfLabel(e.params)})...`);
    else io.writeErr(` done in ${(e.ms / 1000).toFixed(2)} s\n`);
  };
  const passphrase = (r: PassphraseRequest): Promise<Secret> => {
    if (r.purpose === "create" && kdfTest) warnTestKdf();
    return obtainSecret(ctxBase, {
      fileFlag: "passphrase-file",
      env: PASSPHRASE_ENV,
      what: r.purpose === "create"
        ? `new passphrase for wallet "${r.wallet}"`
        : `passphrase for wallet "${r.wallet}"`,
      confirm: r.purpose === "create",
    });
  };
  try {
    const service = new WalletService({
      store,
      passphrase,
      onKdf,
      ...(kdfTest ? { kdf: TEST_KDF } : {}),
    });
    return { io, json, walletDir, wallet, store, service, kdfTest, warnTestKdf, parsed };
  } catch (error) {
    io.writeErr(`error: ${error instanceof Error ? error.message : "cannot start"}\n`);
    return 1;
  }
}

function report(io: CliIo, json: boolean, error: unknown, cmd: string, wallet: string): number {
  // A usage problem raised inside the passphrase provider reaches us wrapped by the service.
  if (error instanceof WalletServiceError && error.cause instanceof CliUsageError) error = error.cause;
  if (error instanceof CliUsageError) {
    io.writeErr(`error: ${error.message}\n`);
    if (error.exitCode === 2) io.writeErr(`see "mod.ts wallet ${cmd} --help"\n`);
    return error.exitCode;
  }
  let message: string;
  let status = "INTERNAL";
  if (error instanceof WalletServiceError) {
    status = error.status;
    message = error.status === "UNAUTHENTICATED" && error.reason === "WRONG_PASSPHRASE" &&
        !error.message.includes("keystore v3")
      ? `wrong passphrase for wallet "${wallet}"`
      : error.message;
    // I/O failures carry a path and an OS reason, never secrets: show them.
    if (error.status === "INTERNAL" && error.cause instanceof Error && isIoError(error.cause)) {
      message = `${error.cause.name}: ${error.cause.message}`;
    }
  } else if (error instanceof Error && isIoError(error)) {
    message = `${error.name}: ${error.message}`;
  } else {
    message = "internal error";
  }
  if (json) io.writeOut(JSON.stringify({ error: status, message }) + "\n");
  io.writeErr(`error: ${message}\n`);
  return 1;
}

function isIoError(e: Error): boolean {
  return ["NotFound", "PermissionDenied", "NotCapable", "AlreadyExists", "IsADirectory", "NotADirectory"]
    .includes(e.name);
}
