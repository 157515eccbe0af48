// End to end: the `wallet` CLI journeys of issue #3, in process through walletCli() with an injected terminal,
// and as a user runs it in a subprocess (`deno run -A mod.ts wallet ...` once mod.ts dispatches to walletCli,
// else a one-line `deno eval` entry that does exactly that). Keystores use GHOST_WALLET_KDF=test (cheap scrypt).
import assert from "node:assert/strict";
import { type CliIo, walletCli } from "../../wallet/cli.ts";
import { WALLET_CHAIN_COMMANDS } from "../../wallet/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const VECTORS = new URL("../vectors/web3_secret_storage_v3.json", import.meta.url);
const PASS = "correct horse battery staple";

interface Term {
  readonly io: CliIo;
  readonly out: () => string;
  readonly err: () => string;
  /** What readLine was asked (echo flags), in order. */
  readonly prompts: boolean[];
}

function term(env: Record<string, string> = {}, opts: { tty?: boolean; lines?: string[] } = {}): Term {
  let out = "";
  let err = "";
  const lines = [...(opts.lines ?? [])];
  const prompts: boolean[] = [];
  const io: CliIo = {
    readLine: ({ echo }) => {
      prompts.push(echo);
      return Promise.resolve(lines.shift() ?? null);
    },
    writeOut: (t) => void (out += t),
    writeErr: (t) => void (err += t),
    env: (name) => ({ GHOST_WALLET_KDF: "test", ...env })[name],
    isTerminal: (s) => s === "stdin" ? opts.tty ?? false : false,
  };
  return { io, out: () => out, err: () => err, prompts };
}

async function cli(args: string[], t: Term = term()): Promise<{ code: number; out: string; err: string }> {
  const code = await walletCli(args, t.io);
  return { code, out: t.out(), err: t.err() };
}

async function json(args: string[], t: Term = term()): Promise<Record<string, unknown>> {
  const r = await cli([...args, "--json"], t);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "wallet_cli_" });
}

async function passFile(dir: string, text = PASS): Promise<string> {
  const path = `${dir}/pass.txt`;
  await Deno.writeTextFile(path, text + "\n");
  return path;
}

Deno.test("wallet CLI: new -> address -> sign -> verify, mnemonic shown once, recovery from it", async () => {
  const dir = await tempDir();
  const wd = `${dir}/w`;
  const pf = await passFile(dir);
  const created = await cli([
    "new",
    "--wallet-dir",
    wd,
    "--passphrase-file",
    pf,
    "--label",
    "main",
    "--words",
    "12",
  ]);
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, /shown ONCE/);
  const mnemonic = created.out.split("\n").map((l) => l.trim()).find((l) => l.split(" ").length === 12);
  assert.ok(mnemonic !== undefined);
  assert.match(created.err, /Deriving key \(scrypt N=2\^10, r=8, p=1\)\.\.\. done in/);
  assert.match(created.err, /GHOST_WALLET_KDF=test/);
  assert.equal(((await Deno.stat(`${wd}/default.keystore.json`)).mode ?? 0) & 0o777, 0o600);
  // The mnemonic is never stored in clear.
  assert.ok(!(await Deno.readTextFile(`${wd}/default.keystore.json`)).includes(mnemonic.split(" ")[0] + " "));

  const addr = await json(["address", "main", "--wallet-dir", wd]); // no passphrase needed
  assert.match(String(addr.address), /^ghost1/);
  const listed = await cli(["list", "--wallet-dir", wd]);
  assert.match(listed.out, new RegExp(String(addr.address)));

  const signed = await json(["sign", "--message", "hello edge", "--wallet-dir", wd, "--passphrase-file", pf]);
  assert.equal(signed.address, addr.address);
  const verified = await json(["verify", String(signed.signedMessage)]);
  assert.equal(verified.valid, true);
  assert.equal(verified.address, addr.address);
  const human = await cli(["verify", String(signed.signedMessage)]);
  assert.match(human.out, /valid: signed by ghost1.*\nmessage: "hello edge"/);
  // A flipped bit is invalid, exit 1.
  const hex = String(signed.signedMessage);
  const flipped = hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
  assert.equal((await cli(["verify", flipped])).code, 1);

  // Recovery: the phrase re-creates the same account in another wallet directory.
  const mf = `${dir}/mnemonic.txt`;
  await Deno.writeTextFile(mf, mnemonic + "\n");
  const rec = await json([
    "import",
    "--mnemonic-file",
    mf,
    "--wallet-dir",
    `${dir}/w2`,
    "--passphrase-file",
    pf,
  ]);
  assert.equal((rec.account as Record<string, unknown>).address, addr.address);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wallet CLI: interactive prompt without echo, asked twice for a new wallet", async () => {
  const dir = await tempDir();
  const t = term({}, { tty: true, lines: [PASS, PASS] });
  const r = await cli(["new", "--wallet-dir", dir], t);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(t.prompts, [false, false]);
  assert.match(r.err, /New passphrase for wallet "default": Repeat the new passphrase/);
  const mismatch = term({}, { tty: true, lines: [PASS, "other"] });
  const bad = await cli(["new", "--wallet-dir", `${dir}/x`], mismatch);
  assert.equal(bad.code, 1);
  assert.match(
    bad.err,
    /the two entries of the new passphrase for wallet "default" differ; nothing was changed/,
  );
  // No terminal and no file or env: a clear error, not a hang.
  const none = await cli(["sign", "--message", "x", "--wallet-dir", dir]);
  assert.equal(none.code, 2);
  assert.match(none.err, /no passphrase for wallet "default": stdin is not a terminal/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wallet CLI: keystore v3 export then import round trip", async () => {
  const dir = await tempDir();
  const pf = await passFile(dir);
  const v3pf = `${dir}/v3pass.txt`;
  await Deno.writeTextFile(v3pf, "v3 password\n");
  const a = await json(["new", "--type", "secp256k1", "--wallet-dir", `${dir}/a`, "--passphrase-file", pf]);
  const account = a.account as Record<string, string>;
  const ed = await cli(["new", "--wallet-dir", `${dir}/a`, "--passphrase-file", pf, "--label", "ed"]);
  assert.equal(ed.code, 0);
  const refused = await cli(["export-v3", "ed", "--out", `${dir}/x.json`, "--wallet-dir", `${dir}/a`]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /keystore v3 holds secp256k1 keys/);

  const v3 = `${dir}/export.json`;
  const exp = await cli([
    "export-v3",
    account.id ?? "",
    "--out",
    v3,
    "--v3-password-file",
    v3pf,
    "--wallet-dir",
    `${dir}/a`,
    "--passphrase-file",
    pf,
  ]);
  assert.equal(exp.code, 0, exp.err);
  const file = JSON.parse(await Deno.readTextFile(v3));
  assert.equal(file.version, 3);
  assert.equal(`0x${file.address}`, account.ethereumAddress?.toLowerCase());
  assert.equal(((await Deno.stat(v3)).mode ?? 0) & 0o777, 0o600);

  const imported = await json([
    "import",
    "--keystore-v3",
    v3,
    "--v3-password-file",
    v3pf,
    "--wallet-dir",
    `${dir}/b`,
    "--passphrase-file",
    pf,
  ]);
  assert.equal((imported.account as Record<string, string>).address, account.address);
  // Wrong v3 password: exit 1, the target wallet is not touched.
  await Deno.writeTextFile(v3pf, "wrong\n");
  const before = await Deno.readFile(`${dir}/b/default.keystore.json`);
  const wrong = await cli([
    "import",
    "--keystore-v3",
    v3,
    "--v3-password-file",
    v3pf,
    "--wallet-dir",
    `${dir}/b`,
    "--passphrase-file",
    pf,
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /wrong password/);
  assert.deepEqual(await Deno.readFile(`${dir}/b/default.keystore.json`), before);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wallet CLI: imports a keystore v3 file written by another implementation (Web3 Secret Storage vector)", async () => {
  const dir = await tempDir();
  const pf = await passFile(dir);
  const vectors = JSON.parse(await Deno.readTextFile(VECTORS));
  const c = vectors.cases.find((x: { name: string }) => x.name === "wikipage_test_vector_pbkdf2");
  const v3 = `${dir}/geth.json`;
  await Deno.writeTextFile(v3, JSON.stringify(c.keystore));
  const v3pf = `${dir}/v3pass.txt`;
  await Deno.writeTextFile(v3pf, c.password);
  const r = await json([
    "import",
    "--keystore-v3",
    v3,
    "--v3-password-file",
    v3pf,
    "--wallet-dir",
    dir,
    "--passphrase-file",
    pf,
  ]);
  const account = r.account as Record<string, string>;
  assert.equal(account.ethereumAddress?.toLowerCase(), `0x${vectors.address}`);
  assert.equal(account.type, "secp256k1");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wallet CLI: multisig 2-of-3 create -> sign by two wallets (bundle passed along) -> combine -> verify", async () => {
  const dir = await tempDir();
  const pf = await passFile(dir);
  const wallets = ["alice", "bob", "carol"].map((n) => `${dir}/${n}`);
  const keys: string[] = [];
  for (const [i, wd] of wallets.entries()) {
    const r = await json([
      "new",
      "--type",
      i === 1 ? "secp256k1" : "ed25519",
      "--wallet-dir",
      wd,
      "--passphrase-file",
      pf,
    ]);
    const a = r.account as Record<string, string>;
    keys.push(`${a.type}:${a.publicKey}`);
  }
  const [alice, bob, carol] = wallets as [string, string, string];
  const b0 = `${dir}/bundle.json`;
  const created = await json([
    "multisig",
    "create",
    "--threshold",
    "2",
    ...keys.flatMap((k) => ["--member", k]),
    "--message",
    "pay 5 GHOST to ghost1...",
    "--out",
    b0,
    "--wallet-dir",
    alice,
  ]);
  assert.match(String(created.address), /^ghost1/);
  // Alice signs into a new file, Bob signs that file in place: the bundle is passed along.
  const b1 = `${dir}/bundle-alice.json`;
  assert.equal(
    (await json(["multisig", "sign", b0, "--out", b1, "--wallet-dir", alice, "--passphrase-file", pf]))
      .signatures,
    1,
  );
  const below = await cli(["multisig", "verify", b1]);
  assert.equal(below.code, 1);
  assert.match(below.out, /BELOW_THRESHOLD/);
  assert.equal(
    (await json(["multisig", "sign", b1, "--wallet-dir", bob, "--passphrase-file", pf])).signatures,
    2,
  );
  const ok = await json(["multisig", "verify", b1]);
  assert.equal(ok.valid, true);
  assert.equal(ok.address, created.address);
  // In parallel: Carol signs the original; combining her bundle with Alice's gives another valid set.
  const b2 = `${dir}/bundle-carol.json`;
  await json(["multisig", "sign", b0, "--out", b2, "--wallet-dir", carol, "--passphrase-file", pf]);
  const aliceOnly = `${dir}/bundle-alice-only.json`;
  await json(["multisig", "sign", b0, "--out", aliceOnly, "--wallet-dir", alice, "--passphrase-file", pf]);
  const combinedFile = `${dir}/combined.json`;
  const combined = await json(["multisig", "combine", aliceOnly, b2, "--out", combinedFile]);
  assert.equal(combined.signatures, 2);
  assert.equal((await json(["multisig", "verify", combinedFile])).valid, true);
  // Signing twice with the same member is refused.
  const twice = await cli(["multisig", "sign", b1, "--wallet-dir", alice, "--passphrase-file", pf]);
  assert.equal(twice.code, 1);
  assert.match(twice.err, /already signed/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wallet CLI: a wrong passphrase exits 1 and leaves the keystore file unchanged", async () => {
  const dir = await tempDir();
  const pf = await passFile(dir);
  assert.equal((await cli(["new", "--wallet-dir", dir, "--passphrase-file", pf])).code, 0);
  const path = `${dir}/default.keystore.json`;
  const before = await Deno.readFile(path);
  const mtime = (await Deno.stat(path)).mtime?.getTime();
  const wrong = await passFile(`${dir}`, "not the passphrase");
  for (
    const args of [["new"], ["sign", "--message", "x"], ["import", "--key-file", pf, "--type", "ed25519"]]
  ) {
    const r = await cli([...args, "--wallet-dir", dir, "--passphrase-file", wrong]);
    assert.notEqual(r.code, 0, args.join(" "));
  }
  const r = await cli(
    ["sign", "--message", "x", "--wallet-dir", dir],
    term({ GHOST_WALLET_PASSPHRASE: "nope" }),
  );
  assert.equal(r.code, 1);
  assert.match(r.err, /wrong passphrase for wallet "default"/);
  assert.ok(!r.err.includes("nope"));
  assert.deepEqual(await Deno.readFile(path), before);
  assert.equal((await Deno.stat(path)).mtime?.getTime(), mtime);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wallet CLI: a passphrase as an argument is refused without echoing it; usage errors exit 2", async () => {
  for (
    const args of [["sign", "--passphrase", "hunter22"], ["new", "--passphrase=hunter22"], [
      "list",
      "--password",
      "hunter22",
    ]]
  ) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err, /refused/);
    assert.ok(!r.err.includes("hunter22") && !r.out.includes("hunter22"));
  }
  const unknownSub = await cli(["frobnicate"]);
  assert.equal(unknownSub.code, 2);
  assert.match(unknownSub.err, /unknown subcommand "wallet frobnicate"/);
  const unknownFlag = await cli(["list", "--frob"]);
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.err, /unknown flag --frob for "wallet list"/);
  assert.equal((await cli(["multisig", "frob"])).code, 2);
  // Without chain/'s commands (walletCli alone), chain subcommands say where they live.
  const send = await cli(["send"]);
  assert.equal(send.code, 2);
  assert.match(send.err, /"wallet send" needs the chain commands/);
  const balance = await cli(["balance"]);
  assert.match(balance.err, /"wallet balance" needs the chain commands/);
  // With them, their usage errors come before any wallet or network work.
  const withChain = async (args: string[]) => {
    const t = term();
    const code = await walletCli(args, t.io, WALLET_CHAIN_COMMANDS);
    return { code, err: t.err() };
  };
  const noTo = await withChain(["send", "--amount", "5"]);
  assert.equal(noTo.code, 2);
  assert.match(noTo.err, /--to is not a ghost1 address/);
  const badRecord = await withChain(["name", "register", "x1y.ghost", "--aaaa", "not-an-ip"]);
  assert.equal(badRecord.code, 2);
  assert.match(badRecord.err, /records\.aaaa\[0\].*not an IPv6 address/);
  const badName = await withChain(["name", "register", "UPPER.ghost"]);
  assert.equal(badName.code, 2);
  const unknownName = await withChain(["name", "frob", "a.ghost"]);
  assert.equal(unknownName.code, 2);
  const help = await cli(["sign", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: mod.ts wallet sign/);
  const bad = await cli(["list"], term({ GHOST_WALLET_KDF: "fast" }));
  assert.equal(bad.code, 2);
});

/** `mod.ts wallet ...` when mod.ts has the wallet command, else an entry that calls walletCli the same way. */
async function runSubprocess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const mod = await Deno.readTextFile(`${ROOT}mod.ts`);
  const viaMod = mod.includes("walletCli");
  const argv = viaMod ? ["run", "-A", `${ROOT}mod.ts`, "wallet", ...args] : [
    "eval",
    'import { walletCli } from "./wallet/cli.ts"; Deno.exit(await walletCli(Deno.args));',
    ...args,
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args: argv,
    cwd: ROOT,
    env: { NO_COLOR: "1", GHOST_WALLET_KDF: "test", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

Deno.test("wallet CLI in a subprocess: new -> sign -> verify with the passphrase from the environment", async () => {
  const dir = await tempDir();
  const env = { GHOST_WALLET_PASSPHRASE: PASS };
  const created = await runSubprocess(["new", "--wallet-dir", dir, "--json"], env);
  assert.equal(created.code, 0, created.err);
  const account = JSON.parse(created.out).account;
  const signed = await runSubprocess([
    "sign",
    "--message",
    "from a subprocess",
    "--wallet-dir",
    dir,
    "--json",
  ], env);
  assert.equal(signed.code, 0, signed.err);
  const verified = await runSubprocess(["verify", JSON.parse(signed.out).signedMessage, "--json"], {});
  assert.equal(verified.code, 0, verified.err);
  assert.equal(JSON.parse(verified.out).address, account.address);
  const refused = await runSubprocess(["sign", "--passphrase", PASS, "--wallet-dir", dir], {});
  assert.equal(refused.code, 2);
  assert.ok(!refused.err.includes(PASS));
  await Deno.remove(dir, { recursive: true });
});
