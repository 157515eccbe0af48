// The README's devnet commands, run as written and in the order the README gives them, against a devnet on
// free ports (the README's fixed ports and paths are moved to the devnet's; nothing else is changed). Then what a
// user meets next: a taken name refused before anything is spent, a missing name, and the devnet down.
import assert from "node:assert/strict";
import { startDevnet } from "../interop/_devnet.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The shell commands of the README blocks after the readme-devnet marker (two blocks). */
async function readmeCommands(): Promise<string[]> {
  const text = await Deno.readTextFile(`${ROOT}README.md`);
  const at = text.indexOf("<!-- readme-devnet");
  assert.ok(at >= 0, "README.md lost its readme-devnet marker");
  const blocks = [...text.slice(at).matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1] ?? "");
  return blocks.flatMap((b) => b.split("\n")).map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
}

/** What the README's comment promises for a command, checked on its output. */
const EXPECT: readonly [RegExp, RegExp][] = [
  [/mod\.ts status/, /running/],
  [/\/metrics/, /^ghost_/m],
  [/dig .* dev\.ghost AAAA/, /^::1$/m],
  [/balance --account dev/, /balance: 1000000000000000\b/],
  [/balance --account savings/, /balance: 5\b/],
  [/wallet send/, /included in block/],
  [/name register alice\.ghost/, /registered alice\.ghost/],
  [/chain resolve alice\.ghost/, /AAAA\s+2001:db8::7[\s\S]*TXT\s+"hello"[\s\S]*proof verified/],
  [/dig .* alice\.ghost AAAA/, /^2001:db8::7$/m],
];

async function sh(
  line: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command("bash", {
    args: ["-c", line],
    env,
    // Only what the test gives: a variable of the machine running the tests must not help a command along.
    clearEnv: true,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

Deno.test({
  name: "the README's devnet commands run as written, in order, and answer as the README says",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const devnet = await startDevnet("ghost-readme-");
    const env: Record<string, string> = {
      ...devnet.env,
      PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}`,
      HOME: Deno.env.get("HOME") ?? "/root",
    };
    let stopped = false;
    try {
      // Let every service come up before the first command, as a user would after `./deno task start`.
      for (let i = 0; i < 100; i++) {
        const s = await sh(`./deno run -A mod.ts status --json`, env);
        if (s.code === 0 && !/"state":\s*"(starting|backoff)"/.test(s.out)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const admin = devnet.admin.replace("http://", "");
      for (const line of await readmeCommands()) {
        const cmd = line
          .replaceAll("data/", `${devnet.dataDir}/`)
          .replaceAll("127.0.0.1:9180", admin)
          .replace("dig @::1 -p 5353", `dig @127.0.0.1 -p ${devnet.dnsPort}`);
        const expect = EXPECT.find(([match]) => match.test(line))?.[1];
        // The chain-fed names reach cns a block later: a DNS answer may take a moment.
        let r = await sh(cmd, env);
        for (
          let i = 0;
          i < 25 && expect !== undefined && line.startsWith("dig") && !expect.test(r.out);
          i++
        ) {
          await new Promise((res) => setTimeout(res, 200));
          r = await sh(cmd, env);
        }
        assert.equal(r.code, 0, `${line}\n${r.out}\n${r.err}`);
        if (expect !== undefined) assert.match(r.out, expect, `${line}\n${r.out}\n${r.err}`);
      }

      // A taken name is refused before the commit is sent: no fee is spent.
      const before = await sh(`./deno run -A mod.ts wallet balance --account dev --json`, env);
      const taken = await sh(`./deno run -A mod.ts wallet name register alice.ghost --account dev`, env);
      assert.equal(taken.code, 1, taken.out + taken.err);
      assert.match(taken.err, /NAME_TAKEN.*nothing was sent/);
      const after = await sh(`./deno run -A mod.ts wallet balance --account dev --json`, env);
      assert.equal(JSON.parse(after.out).balance, JSON.parse(before.out).balance);

      // The chain and wallet commands read ghost.toml like the services do: no --peer, --bridge or env needed.
      const toml = `${devnet.dataDir}/ghost.toml`;
      await Deno.writeTextFile(
        toml,
        `data_dir = "${devnet.dataDir}"\n[chain]\nlisten = "${devnet.env.GHOST_CHAIN_LISTEN}"\n` +
          `[bridge]\ngrpc_listen = "${devnet.env.GHOST_BRIDGE_GRPC_LISTEN}"\n`,
      );
      const plain: Record<string, string> = {
        PATH: env.PATH ?? "",
        HOME: env.HOME ?? "/root",
        NO_COLOR: "1",
        GHOST_WALLET_PASSPHRASE: devnet.env.GHOST_WALLET_PASSPHRASE ?? "",
      };
      const byFile = await sh(`./deno run -A mod.ts -c ${toml} chain status --json`, plain);
      assert.equal(byFile.code, 0, byFile.err);
      assert.equal(JSON.parse(byFile.out).chainId, "ghostchain-devnet");
      const walletByFile = await sh(
        `./deno run -A mod.ts -c ${toml} wallet balance --account dev --json`,
        plain,
      );
      assert.equal(walletByFile.code, 0, walletByFile.err);
      assert.equal(JSON.parse(walletByFile.out).balance, JSON.parse(after.out).balance);

      // A missing name says so and exits 1; --json says found: false.
      const missing = await sh(`./deno run -A mod.ts chain resolve nobody.ghost`, env);
      assert.equal(missing.code, 1);
      assert.match(missing.out, /not found/);
      const missingJson = await sh(`./deno run -A mod.ts chain resolve nobody.ghost --json`, env);
      assert.equal(JSON.parse(missingJson.out).found, false);

      // Keep the wallet past the devnet (stop() removes its data dir).
      const kept = await Deno.makeTempDir({ prefix: "ghost-readme-wallet-" });
      await sh(`cp -r ${devnet.dataDir}/wallet ${kept}/wallet`, env);
      await devnet.stop();
      stopped = true;
      // With the devnet down, the wallet says what it tried and what to do.
      const down = await sh(`./deno run -A mod.ts wallet balance --account dev`, {
        ...env,
        GHOST_DATA_DIR: kept,
      });
      await Deno.remove(kept, { recursive: true });
      assert.equal(down.code, 1);
      assert.match(down.err, /Cannot reach the chain through the bridge's gRPC ingress at 127\.0\.0\.1:\d+/);
      assert.match(down.err, /start the devnet with \.\/deno task start/);
      assert.doesNotMatch(down.err, /UNAVAILABLE UNAVAILABLE/);
    } finally {
      if (!stopped) await devnet.stop();
    }
  },
});
