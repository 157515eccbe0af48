// SIGKILL durability: a node subprocess committing blocks under load is killed again and again; after each
// restart, and at the end, the stored state must equal a re-execution of the committed blocks, and no block
// the node reported as committed may be missing.
import assert from "node:assert/strict";
import { DenoKvChainStore } from "../../chain/deno_kv_store.ts";
import { MemoryChainStore } from "../../chain/chain_store.ts";
import { ChainNode } from "../../chain/node.ts";
import { crashGenesis } from "../../chain/_crash_genesis.ts";
import { verifyAll } from "../../chain/_test_util.ts";

const SCRIPT = new URL("../../chain/_crash_node.ts", import.meta.url).pathname;
const ROUNDS = 8;

async function runUntilKilled(
  dir: string,
  killAfterCommits: number,
  extraDelayMs: number,
): Promise<{ maxReported: number; opened: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "--no-check", SCRIPT, dir],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let maxReported = -1, opened = -1, commits = 0;
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let killed = false;
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m = /^committed height (\d+)$/.exec(line);
        if (m) {
          maxReported = Math.max(maxReported, Number(m[1]));
          commits++;
        }
        m = /^opened height (\d+)$/.exec(line);
        if (m) opened = Number(m[1]);
      }
      if (!killed && commits >= killAfterCommits) {
        killed = true;
        // Kill at an arbitrary point of the next commit cycle.
        setTimeout(() => child.kill("SIGKILL"), extraDelayMs);
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  return { maxReported, opened };
}

Deno.test("chain node killed with SIGKILL while committing loses no reported block and re-executes to the same state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chain-crash-" });
  try {
    let maxReported = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runUntilKilled(dir, 2 + (round % 4), (round * 7) % 23);
      // The restarted node opened at least at the height the killed one reported.
      if (round > 0) {
        assert.ok(r.opened >= maxReported, `round ${round}: opened ${r.opened} < reported ${maxReported}`);
      }
      maxReported = Math.max(maxReported, r.maxReported);
    }
    const store = await DenoKvChainStore.open(`${dir}/chain.kv`);
    try {
      // open() itself checks the stored state against the head's state root.
      const node = await ChainNode.open({
        store,
        genesis: crashGenesis(),
        verify: verifyAll,
        now: () => Date.now() + 60_000,
      });
      assert.ok(node.height >= maxReported, `head ${node.height} < reported ${maxReported}`);
      const replay = await ChainNode.open({
        store: new MemoryChainStore(),
        genesis: crashGenesis(),
        verify: verifyAll,
        now: () => Date.now() + 60_000,
        schedule: queueMicrotask,
      });
      for (let h = 1; h <= node.height; h++) {
        const bytes = await store.getBlock(h);
        assert.ok(bytes, `block ${h} missing`);
        await replay.applyBlock(bytes);
      }
      assert.deepEqual(replay.state.root(), node.state.root());
      assert.deepEqual(replay.state.entries(), node.state.entries());
      assert.ok(node.height >= ROUNDS, `only ${node.height} blocks committed`);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
