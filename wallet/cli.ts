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

import { DenoWalletStore } from "./deno_wallet_store.ts";
import { WalletServiceError } from "./errors.ts";
import { Secret } from "../crypto/mod.ts";
import { inSpan } from "../core/mod.ts";
import { type KdfEvent, type PassphraseRequest, WalletService } from "./wallet_service.ts";
import { DEFAULT_WALLET_NAME } from "./wallet_store.ts";
import {
  accountByRef,
  cmdAddress,
  cmdExportV3,
  cmdImport,
  cmdList,
  cmdMultisig,
  cmdNew,
  cmdSign,
  cmdSignRequest,
  cmdVerify,
  type Ctx,
  kdfLabel,
  obtainSecret,
  out,
} from "./cli_commands.ts";
import {
  CliUsageError,
  COMMON,
  flag,
  HELP,
  parseArgs,
  type Parsed,
  SUB_FLAGS,
  type WalletChainCommand,
  type WalletChainEnv,
} from "./cli_args.ts";
import { type CliIo, denoCliIo, KDF_ENV, PASSPHRASE_ENV, TEST_KDF } from "./cli_io.ts";
export { type CliIo, denoCliIo, KDF_ENV, PASSPHRASE_ENV, TEST_KDF } from "./cli_io.ts";
export { CliUsageError, type FlagSpec, type WalletChainCommand, type WalletChainEnv } from "./cli_args.ts";

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
  const helpText = HELP[cmd] ?? HELP[""];
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
      case "sign-request":
        return await cmdSignRequest(ctx);
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
    signTransaction: (ref, chainId, body) =>
      inSpan(
        "wallet",
        "wallet.sign",
        {},
        async () =>
          (await ctx.service.signTransaction({ wallet: ctx.wallet, account: ref, chainId, body })).signature,
      ),
    out: (human, machine) => out(ctx, human, machine),
    note: (text) => io.writeErr(text),
    env: (name) => io.env(name),
  };
  try {
    // The whole command is one trace (under OTEL_DENO=true): signing, the calls through the bridge and the
    // chain's admission and commit are its spans.
    return await inSpan("wallet", `wallet ${cmd}`, {}, async (span) => {
      const code = await command.run(env);
      span?.setAttribute("process.exit.code", code);
      return code;
    });
  } catch (error) {
    if (error instanceof WalletServiceError || error instanceof CliUsageError || !(error instanceof Error)) {
      return report(io, json, error, cmd, ctx.wallet);
    }
    // The chain's own errors (status, stable reason, message) as the chain worded them; they carry no secrets.
    const fields = error as Error & { status?: unknown; reason?: unknown };
    const status = typeof fields.status === "string" ? fields.status : "UNKNOWN";
    const reason = typeof fields.reason === "string" ? fields.reason : "";
    if (json) io.writeOut(JSON.stringify({ error: status, reason, message: error.message }) + "\n");
    io.writeErr(
      `error: ${status}${reason !== "" && reason !== status ? ` ${reason}` : ""}: ${error.message}\n`,
    );
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
