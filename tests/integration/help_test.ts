// Every command and subcommand prints its own usage on -h/--help (and `help <command>`), exits 0, and does
// nothing else: no node starts, no file is written, nothing is sent.
import assert from "node:assert/strict";

import { modCli as mod } from "../interop/_devnet.ts";

const COMMANDS: readonly string[][] = [
  ["up"],
  ["status"],
  ["config"],
  ["help"],
  ["cns"],
  ["bridge"],
  ["ping"],
  ["wallet"],
  ["wallet", "multisig"],
  ["wallet", "name"],
  ["chain"],
  ...["status", "block", "tx", "account", "resolve", "send", "run"].map((s) => ["chain", s]),
  ...["new", "import", "list", "address", "sign", "verify", "export-v3", "balance", "send", "deploy", "call"]
    .map(
      (s) => ["wallet", s],
    ),
  ...["create", "sign", "combine", "verify"].map((s) => ["wallet", "multisig", s]),
  ...["register", "set", "transfer", "renew"].map((s) => ["wallet", "name", s]),
];

Deno.test("every command and subcommand prints its own usage on --help, -h and help, exits 0, does nothing", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "ghost-help-" });
  // A port nothing listens on: a command that ignored --help and ran would fail or hang, not print usage.
  const env = {
    GHOST_DATA_DIR: dataDir,
    GHOST_ADMIN_LISTEN: "127.0.0.1:1",
    GHOST_CHAIN_LISTEN: "127.0.0.1:1",
  };
  try {
    const forms = COMMANDS.flatMap((c) => [[...c, "--help"], [...c, "-h"], ["help", ...c]]);
    for (let i = 0; i < forms.length; i += 8) {
      await Promise.all(
        forms.slice(i, i + 8).map(async (args) => {
          const r = await mod(args, env);
          const what = `mod.ts ${args.join(" ")}`;
          assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.err}`);
          assert.match(r.out, /^Usage: /m, `${what} printed no usage:\n${r.out}${r.err}`);
          const words = args.filter((a) => a !== "--help" && a !== "-h" && a !== "help");
          // The usage is the command's own, not the top-level one.
          if (words.length > 0) {
            assert.match(r.out, new RegExp(`Usage: .*${words.join(" ")}`), `${what}:\n${r.out}`);
          }
          assert.match(r.out, /^Examples?:$/m, `${what} shows no example:\n${r.out}`);
          assert.doesNotMatch(r.err, /error/i, `${what}: ${r.err}`);
        }),
      );
    }
    // Nothing ran: no node, no wallet, no PKI was made.
    assert.deepEqual([...Deno.readDirSync(dataDir)], []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("help for an unknown command or subcommand exits 2 and says so", async () => {
  for (
    const args of [["help", "frobnicate"], ["chain", "frobnicate"], ["chain", "help", "nope"], [
      "wallet",
      "nope",
    ]]
  ) {
    const r = await mod(args, {});
    assert.equal(r.code, 2, `mod.ts ${args.join(" ")}: ${r.out}${r.err}`);
    assert.match(r.err, /Unknown|unknown/);
  }
});
