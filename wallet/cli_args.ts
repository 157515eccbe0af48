/**
 * The wallet CLI's arguments: flag specs, the parser (refusing secrets on the command line), help texts, and the usage error every subcommand throws.
 *
 * @module
 */
import { CliUsageError } from "./cli_usage_error.ts";

export { CliUsageError };
import { PASSPHRASE_ENV } from "./cli_io.ts";
import { type AccountInfo } from "./wallet_service.ts";
import { DEFAULT_WALLET_NAME } from "./wallet_store.ts";

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

export const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "wallet-dir": { value: true },
  "wallet": { value: true },
  "json": { value: false },
  "passphrase-file": { value: true },
  "help": { value: false },
};

export interface Parsed {
  readonly positionals: string[];
  readonly flags: Map<string, string[]>;
}

export const REFUSED = new Set([
  "passphrase",
  "password",
  "pass",
  "pw",
  "mnemonic",
  "key",
  "private-key",
  "v3-password",
]);

export function parseArgs(
  args: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
  cmd: string,
): Parsed {
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

export function flag(p: Parsed, name: string): string | undefined {
  return p.flags.get(name)?.[0];
}

// ---- help ----

export const COMMON = `Global flags:
  --wallet-dir DIR        keystore directory (default <data_dir>/wallet, i.e. data/wallet; GHOST_DATA_DIR moves it)
  --wallet NAME           wallet file DIR/NAME.keystore.json (default "${DEFAULT_WALLET_NAME}")
  --passphrase-file FILE  read the wallet passphrase from the first line of FILE
  --json                  machine-readable output (one JSON object on stdout)
  -h, --help              help for a subcommand
Passphrase sources, first found: --passphrase-file, ${PASSPHRASE_ENV}, an interactive prompt (no echo).
A passphrase is never accepted as an argument.`;

export const HELP: Readonly<Record<string, string>> = {
  "": `Usage: mod.ts wallet <subcommand> [flags]

Subcommands:
  new                      create an account from a new mnemonic (shown once)
  import                   import a mnemonic, a raw key or an Ethereum keystore v3 file
  list                     list accounts (no passphrase needed)
  address [ACCOUNT]        show an account's address
  sign [ACCOUNT]           sign a message (WALLET_MESSAGE domain)
  sign-request             sign an HTTP request for wraith's ghost-auth (RFC 9421, ed25519)
  verify [SIGNED-HEX]      verify a signed message
  export-v3 [ACCOUNT]      export a secp256k1 account as Ethereum keystore v3 JSON
  multisig create|sign|combine|verify   M-of-N signing bundles

ACCOUNT is an id (or its first 8+ characters), a label or an address; default: the first account.

Examples:
  mod.ts wallet new --label main
  mod.ts wallet balance --account main --json
  mod.ts wallet send --help

${COMMON}`,
  new: `Usage: mod.ts wallet new [--label L] [--type ed25519|secp256k1] [--words 12|15|18|21|24] [--path PATH]

Generates a BIP-39 mnemonic, shows it ONCE, and stores it encrypted with the account derived from it
(Ed25519: SLIP-0010 m/44'/1'/0'/0'/0'; secp256k1: BIP-32 m/44'/60'/0'/0/0). Creates the wallet file if needed
(the passphrase is asked twice).

Example:
  mod.ts wallet new --label savings

${COMMON}`,
  import:
    `Usage: mod.ts wallet import (--mnemonic-file FILE | --key-file FILE --type T | --keystore-v3 FILE) [flags]

  --mnemonic-file FILE        BIP-39 phrase; with --type (default ed25519), --path, --bip39-passphrase-file FILE
  --key-file FILE             a 32-byte private key as hex; --type ed25519|secp256k1 is required
  --keystore-v3 FILE          Ethereum keystore v3 JSON; its password from --v3-password-file FILE or a prompt
  --label L                   account label

Example:
  mod.ts wallet import --key-file data/chain/dev.key --type ed25519 --label dev

${COMMON}`,
  list:
    `Usage: mod.ts wallet list\n\nLists the accounts of the wallet from its public header.\n\nExample:\n  mod.ts wallet list --json\n\n${COMMON}`,
  address: `Usage: mod.ts wallet address [--account ACCOUNT]

Prints an account's ghost1 address (and its Ethereum address for secp256k1 accounts); no passphrase needed.
ACCOUNT may also be given as the only argument.

Example:
  mod.ts wallet send --to "$(mod.ts wallet address --account savings)" --amount 5

${COMMON}`,
  sign: `Usage: mod.ts wallet sign [ACCOUNT] (--message TEXT | --file FILE) [--out FILE]

Signs in the WALLET_MESSAGE domain. Prints the signature and the signed message (hex, "GSM" wire form, which
"verify" takes); --out writes the signed message bytes to FILE.

Example:
  mod.ts wallet sign --account dev --message "hello"

${COMMON}`,
  "sign-request":
    `Usage: mod.ts wallet sign-request --url URL [--method METHOD] [--body-file FILE] [--account ACCOUNT]

Signs an HTTP request for wraith's ghost-auth with an ed25519 account: HTTP Message Signatures (RFC 9421,
alg "ed25519", keyid = the account's ghost1 address) over @method, @target-uri, @authority and, with a body, its
Content-Digest (RFC 9530), with a created time and a fresh nonce. Prints the fields to add, one "name: value"
per line (curl reads them with -H @FILE). A signature is good for one request within wraith's window
(signature_window_s, default 300 s); the body sent must be the file's bytes exactly.

Examples:
  mod.ts wallet sign-request --account dev --url https://localhost:4443/app/data > sig.txt
  curl --cacert data/pki/ca.pem -H @sig.txt https://localhost:4443/app/data
  mod.ts wallet sign-request --account dev --method POST --url https://localhost:4443/app/pay --body-file pay.json

${COMMON}`,
  verify: `Usage: mod.ts wallet verify (SIGNED-HEX | --in FILE)

Verifies a signed message ("GSM" wire form, hex or raw bytes in FILE) in the WALLET_MESSAGE domain.
Exit 0 when valid, 1 when not. Needs no wallet.

Example:
  mod.ts wallet verify 47534d01...

${COMMON}`,
  "export-v3":
    `Usage: mod.ts wallet export-v3 [ACCOUNT] --out FILE [--v3-password-file FILE] [--kdf scrypt|pbkdf2]

Writes a secp256k1 account as Ethereum keystore v3 JSON (mode 0600) under its own password (asked twice when
prompted). Default KDF scrypt n=2^18 (go-ethereum's standard).

Example:
  mod.ts wallet export-v3 --account eth --out eth.json

${COMMON}`,
  multisig: `Usage: mod.ts wallet multisig create|sign|combine|verify ...

M-of-N signing bundles: one member creates a bundle, each signs it (passing the file along), anyone combines
and verifies. "mod.ts wallet multisig <sub> --help" shows each.

SPEC is ed25519:HEX, secp256k1:HEX (public keys) or an ACCOUNT of this wallet.

Example:
  mod.ts wallet multisig verify bundle.json

${COMMON}`,
  "multisig create":
    `Usage: mod.ts wallet multisig create --threshold M --member SPEC... (--message TEXT | --file FILE)
                                   [--domain transaction|message] --out BUNDLE

Creates an M-of-N signing bundle over a message for the given members (SPEC is ed25519:HEX, secp256k1:HEX or an
ACCOUNT of this wallet; repeat --member N times). Writes it to BUNDLE (0644).

Example:
  mod.ts wallet multisig create --threshold 2 --member a --member b --member c --message "pay 5" --out b.json

${COMMON}`,
  "multisig sign": `Usage: mod.ts wallet multisig sign BUNDLE [--account ACCOUNT] [--out FILE]

Adds this wallet's signature (the member ACCOUNT, default the first member it holds) to BUNDLE, in place unless
--out is given.

Example:
  mod.ts wallet multisig sign bundle.json --account alice

${COMMON}`,
  "multisig combine": `Usage: mod.ts wallet multisig combine BUNDLE BUNDLE... --out FILE

Merges the signatures of bundles over the same message into one bundle.

Example:
  mod.ts wallet multisig combine a.json b.json --out signed.json

${COMMON}`,
  "multisig verify": `Usage: mod.ts wallet multisig verify BUNDLE

Checks that BUNDLE holds at least M valid member signatures. Exit 0 when valid, 1 when not.

Example:
  mod.ts wallet multisig verify signed.json

${COMMON}`,
};

export const SUB_FLAGS: Readonly<Record<string, Readonly<Record<string, FlagSpec>>>> = {
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
  address: { account: { value: true } },
  sign: { message: { value: true }, file: { value: true }, out: { value: true }, account: { value: true } },
  "sign-request": {
    account: { value: true },
    method: { value: true },
    url: { value: true },
    "body-file": { value: true },
  },
  verify: { in: { value: true } },
  "export-v3": {
    out: { value: true },
    "v3-password-file": { value: true },
    kdf: { value: true },
    account: { value: true },
  },
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
