// Issue #6's journey: the example contracts run on a devnet chain through the wallet CLI. `mod.ts up` runs
// the devnet; `mod.ts wallet deploy|call` sign with the wallet and go through the bridge to the chain, whose
// vm executes them; a .zns name points at the deployed token and cns answers it.
import assert from "node:assert/strict";
import { freePort, hasTool, run } from "../interop/dns/_tools.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
const BUILT = new URL("../../vm/sdk/build/", import.meta.url).pathname;

function u64le(v: bigint): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "wallet CLI deploys and calls the counter and token contracts on a devnet; a .zns name points at one",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "ghost-contracts-" });
    const dns = freePort();
    const env: Record<string, string> = {
      NO_COLOR: "1",
      GHOST_DATA_DIR: dataDir,
      GHOST_ADMIN_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_PING_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_BRIDGE_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_BRIDGE_GRPC_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_CHAIN_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_MESH_CHAIN: `127.0.0.1:${freePort()}`,
      GHOST_MESH_WALLET: `127.0.0.1:${freePort()}`,
      GHOST_MESH_CNS: `127.0.0.1:${freePort()}`,
      GHOST_CNS_LISTEN: `127.0.0.1:${dns}`,
      GHOST_CNS_DOQ_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_CNS_DOH_LISTEN: `127.0.0.1:${freePort()}`,
      GHOST_WALLET_KDF: "test",
      GHOST_WALLET_PASSPHRASE: "contracts journey",
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD, "up"],
      env,
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logs = (async () => {
      let text = "";
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) text += c;
      return text;
    })();
    const wallet = async (...args: string[]) => {
      const r = await run(Deno.execPath(), ["run", "-A", MOD, "wallet", ...args, "--json"], {
        env,
        cwd: ROOT,
        timeoutMs: 60_000,
      });
      return { code: r.code, json: r.stdout.trim() === "" ? {} : JSON.parse(r.stdout), err: r.stderr };
    };
    try {
      // Wait until the chain answers through the bridge (the devnet key is funded in genesis).
      for (let i = 0; i < 120 && !(await Deno.stat(`${dataDir}/chain/dev.key`).catch(() => null)); i++) {
        await new Promise((r) => setTimeout(r, 250));
      }
      const imported = await wallet("import", "--key-file", `${dataDir}/chain/dev.key`, "--type", "ed25519");
      assert.equal(imported.code, 0, imported.err);
      let balance = await wallet("balance");
      for (let i = 0; i < 60 && balance.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        balance = await wallet("balance");
      }
      assert.equal(balance.code, 0, balance.err);

      // Counter: deploy, increment twice, read.
      const counter = await wallet("deploy", `${BUILT}counter.wasm`);
      assert.equal(counter.code, 0, counter.err);
      assert.equal(counter.json.status, 0);
      const addr = counter.json.contract as string;
      assert.match(addr, /^0x[0-9a-f]{40}$/);
      for (let i = 0; i < 2; i++) {
        const inc = await wallet("call", addr, "increment");
        assert.equal(inc.code, 0, inc.err);
        assert.equal(inc.json.events[0].topic, "Incremented");
      }
      const get = await wallet("call", addr, "get");
      assert.equal(get.json.returnData, u64le(2n));

      // Token: init a supply, transfer, read balances; a second init reverts and changes nothing.
      const token = await wallet("deploy", `${BUILT}token.wasm`);
      assert.equal(token.code, 0, token.err);
      const tokenAddr = token.json.contract as string;
      assert.equal((await wallet("call", tokenAddr, "init", "--input", u64le(1000n))).json.status, 0);
      const reinit = await wallet("call", tokenAddr, "init", "--input", u64le(5n));
      assert.equal(reinit.code, 1);
      assert.equal(reinit.json.reason, "REVERTED");
      const bob = "11".repeat(20);
      const sent = await wallet("call", tokenAddr, "transfer", "--input", bob + u64le(250n));
      assert.equal(sent.json.status, 0, JSON.stringify(sent.json));
      const bobBalance = await wallet("call", tokenAddr, "balanceOf", "--input", bob);
      assert.equal(bobBalance.json.returnData, u64le(250n));
      const supply = await wallet("call", tokenAddr, "totalSupply");
      assert.equal(supply.json.returnData, u64le(1000n));

      // A .zns name points at the token contract; cns answers it from the chain.
      const zns = await wallet("name", "register", "mytoken.zns", "--contract", tokenAddr);
      assert.equal(zns.code, 0, zns.err);
      if (hasTool("dig")) {
        let txt = "";
        for (let i = 0; i < 100 && txt === ""; i++) {
          txt = (await run("dig", ["@127.0.0.1", "-p", String(dns), "mytoken.zns", "TXT", "+short"])).stdout
            .trim();
          if (txt === "") await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(txt, `"zns=${tokenAddr}"`);
      }
      // A .zns name pointing at nothing is refused by the chain.
      const dangling = await wallet("name", "register", "nothing.zns", "--contract", `0x${"ab".repeat(20)}`);
      assert.equal(dangling.code, 1);
      assert.equal(dangling.json.reason, "BAD_RECORDS");
    } finally {
      child.kill("SIGTERM");
      const { code } = await child.status;
      const text = await logs;
      assert.equal(code, 0, text.slice(-4000));
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
