// BFT consensus among four validator processes over loopback QUIC, with real crashes (SIGKILL):
// - one validator killed under load: blocks keep committing, the transfers commit, it catches up on return;
// - two killed: the chain halts (2 of 4 is not more than 2/3) without forking, and resumes when one returns;
// - all four killed mid-round and restarted: no equivocation evidence, no reported block lost, one chain.
import assert from "node:assert/strict";
import { BftNet } from "./_bft_net.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function sameChain(net: BftNet, alive: readonly number[], upTo: number): Promise<void> {
  for (let h = 1; h <= upTo; h++) {
    const hashes = new Set<string>();
    for (const i of alive) hashes.add(await net.blockHash(i, h));
    assert.equal(hashes.size, 1, `validators disagree at height ${h}`);
  }
}

function heights(net: BftNet, alive: readonly number[]): number[] {
  return alive.map((i) => net.validators[i]?.committed ?? -1);
}

Deno.test(
  "bft: 4 validators; SIGKILL one under load, blocks and transfers keep committing; it catches up",
  opts,
  async () => {
    const net = await BftNet.start(4);
    try {
      await net.until("every validator at height 3", () => heights(net, [0, 1, 2, 3]).every((h) => h >= 3));
      await net.submit(0, 20);
      await net.kill(3);
      const at = Math.max(...heights(net, [0, 1, 2]));
      await net.submit(0, 20);
      await net.until(
        "5 more heights without validator 3",
        () => heights(net, [0, 1, 2]).every((h) => h >= at + 5),
      );
      await net.until("40 transfers committed", async () => (await net.nonce(1)) >= 40n);
      net.spawn(3);
      const target = Math.max(...heights(net, [0, 1, 2]));
      await net.until("validator 3 catches up", () => (net.validators[3]?.committed ?? 0) >= target);
      await sameChain(net, [0, 1, 2, 3], target);
    } finally {
      await net.close();
    }
  },
);

Deno.test(
  "bft: SIGKILL two of four, the chain halts without forking and resumes when one returns",
  opts,
  async () => {
    const net = await BftNet.start(4);
    try {
      await net.until("every validator at height 2", () => heights(net, [0, 1, 2, 3]).every((h) => h >= 2));
      await Promise.all([net.kill(2), net.kill(3)]);
      const stopped = Math.max(...heights(net, [0, 1]));
      await new Promise((r) => setTimeout(r, 3000));
      // A height in flight at the kill may still complete; nothing after it can.
      assert.ok(
        Math.max(...heights(net, [0, 1])) <= stopped + 1,
        `committed past the halt: ${heights(net, [0, 1])}`,
      );
      const halted = Math.max(...heights(net, [0, 1]));
      net.spawn(2);
      await net.until("progress with 3 of 4", () => heights(net, [0, 1, 2]).every((h) => h >= halted + 3));
      await sameChain(net, [0, 1, 2], halted + 3);
    } finally {
      await net.close();
    }
  },
);

Deno.test(
  "bft: SIGKILL every validator mid-round, restart: no equivocation, no lost block, one chain",
  opts,
  async () => {
    const net = await BftNet.start(4);
    try {
      await net.until("every validator at height 3", () => heights(net, [0, 1, 2, 3]).every((h) => h >= 3));
      await net.submit(0, 10);
      // Kill at an arbitrary moment of a height's rounds.
      await new Promise((r) => setTimeout(r, 37 + Math.floor(Math.random() * 150)));
      const reported = heights(net, [0, 1, 2, 3]);
      await Promise.all([0, 1, 2, 3].map((i) => net.kill(i)));
      for (const i of [0, 1, 2, 3]) net.spawn(i);
      const before = Math.max(...reported);
      await net.until(
        "progress after the restart",
        () => heights(net, [0, 1, 2, 3]).every((h) => h >= before + 3),
      );
      await sameChain(net, [0, 1, 2, 3], before + 3);
      for (const i of [0, 1, 2, 3]) {
        const s = await net.client(i, (c) => c.status());
        assert.equal(s.evidenceCount, 0, `validator ${i} saw equivocation evidence`);
        assert.ok(s.height >= (reported[i] ?? 0), `validator ${i} lost a reported block`);
      }
      await net.until("the transfers committed", async () => (await net.nonce(2)) >= 10n);
    } finally {
      await net.close();
    }
  },
);
