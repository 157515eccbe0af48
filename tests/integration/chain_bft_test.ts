// BFT consensus among four validator processes over loopback QUIC, with real crashes (SIGKILL):
// - one validator killed under load: blocks keep committing, the transfers commit, it catches up on return;
// - two killed: the chain halts (2 of 4 is not more than 2/3) without forking, and resumes when one returns;
// - all four killed mid-round and restarted: no equivocation evidence, no reported block lost, one chain;
// - through fault-injecting UDP relays between every pair: 10% loss with delays keeps committing; a partition
//   into two halves halts both sides (neither has more than 2/3), and the chain continues when it heals.
import assert from "node:assert/strict";
import { BftNet } from "./_bft_net.ts";
import { FaultRelay } from "./_fault_relay.ts";

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
      // Admitted transactions not yet in a block were in memory only (as in CometBFT, the mempool is not
      // durable): a client submits again from the committed nonce, and new transfers commit after the restart.
      net.resetNonce();
      const committed = await net.nonce(0);
      await net.submit(0, 5);
      await net.until(
        "transfers commit after the restart",
        async () => (await net.nonce(2)) >= committed + 5n,
      );
    } finally {
      await net.close();
    }
  },
);

Deno.test(
  "bft: loss and delay between validators, then a 2|2 partition that halts and heals without a fork",
  opts,
  async () => {
    const relays = new Map<string, FaultRelay>();
    let seed = 1;
    const net = await BftNet.start(4, {
      peerAddr: (n, from, to) => {
        const r = new FaultRelay(n.basePort + to, seed++);
        relays.set(`${from}>${to}`, r);
        return `127.0.0.1:${r.port}`;
      },
    });
    try {
      await net.until("every validator at height 3", () => heights(net, [0, 1, 2, 3]).every((h) => h >= 3));
      for (const r of relays.values()) {
        r.loss = 0.1;
        r.delayMs = 20;
      }
      const lossy = Math.max(...heights(net, [0, 1, 2, 3]));
      await net.submit(0, 5);
      await net.until(
        "progress under 10% loss",
        () => heights(net, [0, 1, 2, 3]).every((h) => h >= lossy + 3),
        60_000,
      );
      for (const r of relays.values()) {
        r.loss = 0;
        r.delayMs = 0;
      }
      // Partition {0,1} | {2,3}.
      const side = (i: number) => (i < 2 ? 0 : 1);
      for (const [k, r] of relays) {
        const [a, b] = k.split(">").map(Number);
        r.blocked = side(a ?? 0) !== side(b ?? 0);
      }
      await new Promise((r) => setTimeout(r, 500));
      const split = Math.max(...heights(net, [0, 1, 2, 3]));
      await new Promise((r) => setTimeout(r, 3000));
      assert.ok(
        Math.max(...heights(net, [0, 1, 2, 3])) <= split + 1,
        `committed during the partition: ${heights(net, [0, 1, 2, 3])}`,
      );
      for (const r of relays.values()) r.blocked = false;
      const healed = Math.max(...heights(net, [0, 1, 2, 3]));
      await net.until(
        "progress after healing",
        () => heights(net, [0, 1, 2, 3]).every((h) => h >= healed + 3),
        60_000,
      );
      await sameChain(net, [0, 1, 2, 3], healed + 3);
      await net.until("the transfers committed", async () => (await net.nonce(3)) >= 5n);
    } finally {
      await net.close();
      for (const r of relays.values()) r.close();
    }
  },
);

Deno.test(
  "bft: the validator admin removes a validator by transaction (mod.ts chain validator-update); 3 go on without it",
  opts,
  async () => {
    const net = await BftNet.start(4);
    try {
      await net.until("every validator at height 2", () => heights(net, [0, 1, 2, 3]).every((h) => h >= 2));
      const s3 = await net.client(3, (c) => c.status());
      const hex = Array.from(s3.validator, (b) => b.toString(16).padStart(2, "0")).join("");
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-net",
          "--unstable-kv",
          new URL("../../mod.ts", import.meta.url).pathname,
          "chain",
          "validator-update",
          "--validator",
          hex,
          "--power",
          "0",
          "--key-file",
          `${net.root}/chain/dev.key`,
          "--peer",
          `127.0.0.1:${net.basePort}`,
          "--ca",
          `${net.root}/pki/ca.pem`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      await net.until(
        "a set of three",
        async () => (await net.client(1, (c) => c.status())).validators.length === 3,
      );
      // Validator 3 no longer counts: with it gone, 3 of 3 commit; two of the three still make no quorum.
      await net.kill(3);
      const at = Math.max(...heights(net, [0, 1, 2]));
      await net.until(
        "progress without the removed validator",
        () => heights(net, [0, 1, 2]).every((h) => h >= at + 4),
      );
    } finally {
      await net.close();
    }
  },
);
