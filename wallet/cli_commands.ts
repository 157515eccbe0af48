/**
 * The wallet CLI's subcommands (new, import, list, address, sign, verify, export-v3, multisig) over the WalletService, with their secret prompts and file readers. Parsing and help live in cli_args.ts, terminal IO in cli_io.ts, dispatch in cli.ts.
 *
 * @module
 */
import { CliUsageError, flag, type Parsed } from "./cli_args.ts";
import { type CliIo, TEST_KDF } from "./cli_io.ts";
import { toHex, tryFromHex, utf8, utf8Strict } from "../core/mod.ts";
import { DenoWalletStore } from "./deno_wallet_store.ts";
import { readFileBounded, writeFileAtomic } from "./deno_keystore.ts";
import { prepareRequestSignature } from "../transport/http/mod.ts";
import type { EthKeystoreEncryptOptions } from "./eth_keystore_v3.ts";
import type { ScryptParams } from "./keystore_file.ts";
import { Secret, wipeBytes } from "../crypto/mod.ts";
import {
  type AccountInfo,
  findAccount,
  type PublicKeyInfo,
  type SignerInfo,
  WalletService,
} from "./wallet_service.ts";

// ---- the command context ----

export interface Ctx {
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

export function out(ctx: Ctx, human: string, machine: Record<string, unknown>): void {
  if (ctx.json) ctx.io.writeOut(JSON.stringify(machine, null, 2) + "\n");
  else ctx.io.writeOut(human.endsWith("\n") ? human : human + "\n");
}

export function accountJson(a: AccountInfo): Record<string, unknown> {
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

export function signerJson(s: SignerInfo): Record<string, string> {
  return {
    type: s.keyType === "KEY_TYPE_SECP256K1" ? "secp256k1" : "ed25519",
    publicKey: toHex(s.publicKey),
  };
}

export function typeName(a: AccountInfo): string {
  return a.keyType === "KEY_TYPE_SECP256K1" ? "secp256k1" : "ed25519";
}

/** Reads a secret file's first line (trailing CR/LF removed) as a Secret; the file bytes are wiped. */
export async function readSecretLine(path: string, what: string): Promise<Secret> {
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

export async function readTextFile(path: string, what: string, max: number): Promise<string> {
  try {
    return utf8Strict.decode(await readFileBounded(path, max));
  } catch (error) {
    throw new CliUsageError(
      `cannot read ${what} ${path}: ${error instanceof Error ? error.message : "error"}`,
      1,
    );
  }
}

export async function prompt(io: CliIo, text: string): Promise<Secret> {
  io.writeErr(text);
  const line = await io.readLine({ echo: false });
  if (line === null) throw new CliUsageError("no input", 1);
  return Secret.fromText(line);
}

/**
 * A secret from, in order: `--<fileFlag>`, the environment variable (if any), an interactive prompt (asked
 * twice when `confirm`). Errors when none is available.
 */
export async function obtainSecret(
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
        throw new CliUsageError(`the two entries of the ${opts.what} differ; nothing was changed`, 1);
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

export function kdfLabel(p: ScryptParams): string {
  const log = Math.log2(p.n);
  return `scrypt N=${Number.isInteger(log) ? `2^${log}` : p.n}, r=${p.r}, p=${p.p}`;
}

// ---- subcommands ----

export async function cmdNew(ctx: Ctx): Promise<number> {
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

export function parseTypeFlag(v: string | undefined): "ed25519" | "secp256k1" | undefined {
  if (v === undefined) return undefined;
  if (v === "ed25519" || v === "secp256k1") return v;
  throw new CliUsageError(`--type must be ed25519 or secp256k1, not "${v.slice(0, 32)}"`);
}

export function parseIntFlag(v: string, name: string): number {
  if (!/^\d{1,6}$/.test(v)) throw new CliUsageError(`${name} must be a number`);
  return Number(v);
}

export async function cmdImport(ctx: Ctx): Promise<number> {
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

export async function readSecretFile(path: string, what: string): Promise<Secret> {
  try {
    return Secret.from(await readFileBounded(path, 64 * 1024));
  } catch (error) {
    throw new CliUsageError(
      `cannot read ${what} file ${path}: ${error instanceof Error ? error.name : "error"}`,
      1,
    );
  }
}

export async function cmdList(ctx: Ctx): Promise<number> {
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

export async function accountByRef(ctx: Ctx, ref: string): Promise<AccountInfo> {
  return findAccount((await ctx.service.listAccounts({ wallet: ctx.wallet })).accounts, ref);
}

export async function cmdAddress(ctx: Ctx): Promise<number> {
  const a = await accountByRef(ctx, onePositional(ctx.parsed, "ACCOUNT"));
  out(ctx, a.address + (a.ethereumAddress !== "" ? `\n${a.ethereumAddress}` : ""), accountJson(a));
  return 0;
}

export function onePositional(p: Parsed, what: string): string {
  if (p.positionals.length > 1) throw new CliUsageError(`expected at most one ${what}`);
  // Every command names its account with --account; a lone positional ACCOUNT is kept as an alias.
  const flagged = what === "ACCOUNT" ? flag(p, "account") : undefined;
  if (flagged !== undefined && p.positionals.length > 0) {
    throw new CliUsageError("give the account once: --account ACCOUNT or ACCOUNT, not both");
  }
  return flagged ?? p.positionals[0] ?? "";
}

export async function cmdSign(ctx: Ctx): Promise<number> {
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

export async function cmdSignRequest(ctx: Ctx): Promise<number> {
  const p = ctx.parsed;
  const url = flag(p, "url");
  if (url === undefined) throw new CliUsageError("--url URL is required");
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error("not http(s)");
  } catch {
    throw new CliUsageError(`--url ${url} is not an http(s) URL`);
  }
  const method = (flag(p, "method") ?? "GET").toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(method)) throw new CliUsageError(`--method ${method} is not a method`);
  const bodyFile = flag(p, "body-file");
  let body: Uint8Array | null = null;
  if (bodyFile !== undefined) {
    try {
      body = await readFileBounded(bodyFile, 64 * 1024 * 1024);
    } catch (error) {
      throw new CliUsageError(
        `cannot read ${bodyFile}: ${error instanceof Error ? error.message : "error"}`,
        1,
      );
    }
  }
  const account = await accountByRef(ctx, onePositional(p, "ACCOUNT"));
  const prepared = await prepareRequestSignature({ method, url, body }, account.address);
  const signed = await ctx.service.signHttpRequest({
    wallet: ctx.wallet,
    account: account.id,
    base: prepared.base,
  });
  const fields = prepared.fields(signed.signature, signed.publicKey);
  out(ctx, fields.map(([n, v]) => `${n}: ${v}`).join("\n"), {
    address: signed.address,
    method,
    url,
    fields: Object.fromEntries(fields),
  });
  return 0;
}

export async function messageFromFlags(p: Parsed): Promise<Uint8Array> {
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

export async function cmdVerify(ctx: Ctx): Promise<number> {
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

export async function cmdExportV3(ctx: Ctx): Promise<number> {
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

export function parseMember(
  spec: string,
  accounts: () => Promise<readonly AccountInfo[]>,
): Promise<PublicKeyInfo> {
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

export async function writeBundle(path: string, json: string): Promise<void> {
  await writeFileAtomic(path, utf8.encode(json), { mode: 0o644 });
}

export async function cmdMultisig(ctx: Ctx, sub: string): Promise<number> {
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
