// `mod.ts up --validators 4` as a user runs it: four chain workers (chain, chain-2..4) on consecutive ports with
// one genesis; `mod.ts chain status --json` shows the four validators, their votes and blocks coming; the wallet
// sends through the bridge to the first and the transfer is final; SIGTERM drains everything and exits 0.
import assert from "node:assert/strict";
import { importDevKey, modCli, startDevnet } from "../interop/_devnet.ts";

Deno.test({
  name:
    "mod.ts up --validators 4: four validators in workers decide blocks; chain status shows them; drains on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Four consecutive free-looking ports for the validators (the chain listen port + 0..3).
    const base = 30000 + Math.floor(Math.random() * 20000);
    const devnet = await startDevnet("ghost-4v-", {
      upArgs: ["--validators", "4"],
      env: { GHOST_CHAIN_LISTEN: `127.0.0.1:${base}` },
    });
    try {
      let status: Record<string, unknown> = {};
      for (let i = 0; i < 300; i++) {
        const r = await modCli(["chain", "status", "--json"], devnet.env);
        if (r.code === 0) {
          status = JSON.parse(r.out);
          if (Number(status.height) >= 3) break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(Number(status.height) >= 3, `no blocks: ${JSON.stringify(status)}`);
      const validators = status.validators as Array<{ power: string; lastVote: unknown }>;
      assert.equal(validators.length, 4);
      assert.ok(validators.every((v) => v.power === "1"));
      const peers = status.peers as Array<{ addr: string; connected: boolean }>;
      assert.deepEqual(peers.map((p) => p.addr).sort(), [1, 2, 3].map((i) => `127.0.0.1:${base + i}`));
      const send = await importDevKey(devnet.dataDir, devnet.env);
      assert.equal(send.code, 0, send.err);
      const to = (await modCli(["wallet", "address", "--account", "dev"], devnet.env)).out.trim();
      const tx = await modCli(
        ["wallet", "send", "--account", "dev", "--to", to, "--amount", "3"],
        devnet.env,
      );
      assert.match(tx.out + tx.err, /included in block \d+/);
      const s = await modCli(["status", "--json"], devnet.env);
      const names = (JSON.parse(s.out).services as Array<{ name: string; state: string }>)
        .filter((x) => x.name.startsWith("chain")).map((x) => `${x.name}=${x.state}`);
      assert.deepEqual(names, ["chain=running", "chain-2=running", "chain-3=running", "chain-4=running"]);
    } finally {
      await devnet.stop();
    }
  },
});
