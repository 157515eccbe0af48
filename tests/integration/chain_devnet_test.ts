// Two-node devnet over loopback QUIC: a validator and a follower (ghostchain-sync/1), transfers submitted
// over the sync protocol, the follower re-executing every block to the same state root.
import assert from "node:assert/strict";
import { connectQuic, ensureDevPki } from "../../transport/mod.ts";
import { parseChainConfig } from "../../chain/config.ts";
import { chainCli } from "../../chain/cli.ts";
import { runChainNode } from "../../chain/deno_node.ts";
import { CHAIN_SYNC_ALPN, ChainSyncClient } from "../../chain/sync.ts";
import { signTransaction } from "../../chain/transaction.ts";
import { accountOf } from "../../chain/transaction.ts";
import { ed25519PublicKey } from "../../wallet/mod.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

Deno.test("chain devnet: validator + follower over QUIC converge on the same state", async () => {
  const root = await Deno.makeTempDir({ prefix: "chain-devnet-" });
  try {
    const pki = await ensureDevPki({ dir: `${root}/pki` });
    await Deno.mkdir(`${root}/v`);
    await Deno.mkdir(`${root}/f`);
    const v = await runChainNode(parseChainConfig({ listen: "127.0.0.1:0", blockIntervalMs: 20 }), {
      dataDir: `${root}/v`,
      tls: pki,
    });
    await Deno.copyFile(`${root}/v/genesis.json`, `${root}/f/genesis.json`);
    const f = await runChainNode(
      parseChainConfig({ listen: "127.0.0.1:0", role: "follower", peers: [`127.0.0.1:${v.addr.port}`] }),
      { dataDir: `${root}/f`, tls: pki },
    );
    try {
      const dev = hex((await Deno.readTextFile(`${root}/v/dev.key`)).trim());
      const pub = ed25519PublicKey(dev);
      const conn = await connectQuic({
        hostname: "127.0.0.1",
        port: v.addr.port,
        serverName: "localhost",
        alpn: CHAIN_SYNC_ALPN,
      }, { caCerts: [pki.caPem] });
      const client = new ChainSyncClient(conn);
      const status = await client.status();
      const to = accountOf(ed25519PublicKey(new Uint8Array(32).fill(7)));
      const hashes: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        const tx = signTransaction({
          chainId: status.chainId,
          nonce: BigInt(i),
          fee: 2n,
          sender: pub,
          body: { kind: "transfer", to, amount: 5n },
        }, dev);
        const req = new Uint8Array([0x0a, ...encodeLen(tx.bytes.length), ...tx.bytes]);
        await client.call("SubmitTransaction", req);
        hashes.push(tx.hash);
      }
      const deadline = Date.now() + 10_000;
      while (
        Date.now() < deadline &&
        (v.node.mempool.size > 0 || f.node.height < v.node.height || v.node.height === 0)
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(v.node.mempool.size, 0);
      assert.ok(v.node.height >= 1);
      assert.equal(f.node.height, v.node.height);
      assert.deepEqual(f.node.state.root(), v.node.state.root());
      for (const h of hashes) assert.ok(await f.node.getTx(h), "follower indexed the transaction");
      conn.close();
      // The CLI talks to the node over the same protocol.
      await Deno.writeTextFile(`${root}/ca.pem`, pki.caPem);
      const code = await chainCli(["status", "--peer", `127.0.0.1:${f.addr.port}`, "--ca", `${root}/ca.pem`]);
      assert.equal(code, 0);
      assert.equal(
        await chainCli(["block", "1", "--peer", `127.0.0.1:${v.addr.port}`, "--ca", `${root}/ca.pem`]),
        0,
      );
      assert.equal(
        await chainCli([
          "resolve",
          "dev.ghost",
          "--peer",
          `127.0.0.1:${v.addr.port}`,
          "--ca",
          `${root}/ca.pem`,
        ]),
        0,
      );
    } finally {
      await f.close();
      await v.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function encodeLen(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
