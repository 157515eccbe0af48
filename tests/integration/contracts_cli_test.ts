// Issue #6's journey: the example contracts run on a devnet chain through the wallet CLI. `mod.ts up` runs
// the devnet; `mod.ts wallet deploy|call` sign with the wallet and go through the bridge to the chain, whose
// vm executes them; a .zns name points at the deployed token and cns answers it.
import assert from "node:assert/strict";
import { hasTool, run } from "../interop/dns/_tools.ts";
import { modCli, startDevnet } from "../interop/_devnet.ts";

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
    const net = await startDevnet("ghost-contracts-");
    const { dataDir, env } = net;
    const dns = net.dnsPort;
    const wallet = async (...args: string[]) => {
      const r = await modCli(["wallet", ...args, "--json"], env);
      return { code: r.code, json: r.out.trim() === "" ? {} : JSON.parse(r.out), err: r.err };
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
      await net.stop();
    }
  },
});
