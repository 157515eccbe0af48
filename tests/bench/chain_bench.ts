/**
 * Chain benchmark: committed transfers per second end to end (signed transfers submitted over
 * ghostchain-sync/1 QUIC -> mempool -> block -> atomic Deno KV commit) on one validator with one follower on
 * loopback, beside this machine's raw Ed25519 verification rate (the ceiling: every transfer needs one
 * verification on the validator and one on the follower); submit-to-commit latency p50/p99; follower
 * catch-up blocks/s. `--quick` for a short run.
 *
 * @module
 */

import { concatBytes } from "../../core/mod.ts";
import { connectQuic, ensureDevPki } from "../../transport/mod.ts";
import {
  Ed25519BatchVerifier,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  signingPayload,
} from "../../wallet/mod.ts";
import { parseChainConfig } from "../../chain/config.ts";
import { runChainNode } from "../../chain/deno_node.ts";
import { CHAIN_SYNC_ALPN, ChainSyncClient } from "../../chain/sync.ts";
import { signTransaction, type VerifiedTransaction } from "../../chain/transaction.ts";
import { testKey } from "../../chain/_test_util.ts";
import { summarize } from "./_stats.ts";

type Row = Record<string, string | number>;

function hexOf(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function lenPrefixed(field: number, b: Uint8Array): Uint8Array {
  const len: number[] = [];
  let n = b.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return new Uint8Array([(field << 3) | 2, ...len, ...b]);
}

async function rawVerifyRate(n: number): Promise<{ single: number; batch: number }> {
  const secret = new Uint8Array(32).fill(5);
  const pub = ed25519PublicKey(secret);
  const items = Array.from({ length: n }, (_, i) => {
    const message = signingPayload(
      "TRANSACTION",
      new TextEncoder().encode(`tx ${i} padding to a realistic size.......................`),
    );
    return { publicKey: pub, message, signature: ed25519Sign(secret, message) };
  });
  let t = performance.now();
  for (const it of items) await ed25519Verify(it.publicKey, it.message, it.signature);
  const single = n / ((performance.now() - t) / 1000);
  const v = new Ed25519BatchVerifier();
  await v.verify(items.slice(0, 512)); // warm the workers
  t = performance.now();
  await v.verify(items);
  const batch = n / ((performance.now() - t) / 1000);
  v.close();
  return { single, batch };
}

/** Transactions per SubmitTransactions request. */
const SUBMIT_BATCH = 200;

const concat = (parts: readonly Uint8Array[]): Uint8Array => concatBytes(...parts);

/** Runs the benchmark; one row per measurement. */
export async function runChainBench(
  opts: { quick?: boolean } = {},
): Promise<Array<Record<string, string | number>>> {
  const quick = opts.quick === true;
  const senders = quick ? 100 : 300;
  const perSender = quick ? 10 : 30;
  const total = senders * perSender;
  const rows: Row[] = [];
  const raw = await rawVerifyRate(quick ? 4000 : 20000);

  const root = await Deno.makeTempDir({ prefix: "chain-bench-" });
  try {
    const pki = await ensureDevPki({ dir: `${root}/pki` });
    const validatorSeed = new Uint8Array(32).fill(77);
    const keys = Array.from({ length: senders }, (_, i) => testKey(1000 + i));
    const genesis = {
      chainId: "bench",
      timeMs: 1,
      validators: [{ publicKey: hexOf(ed25519PublicKey(validatorSeed)) }],
      accounts: keys.map((k) => ({ address: k.bech32, balance: "1000000000" })),
    };
    for (const d of ["v", "f", "c"]) {
      await Deno.mkdir(`${root}/${d}`);
      await Deno.writeTextFile(`${root}/${d}/genesis.json`, JSON.stringify(genesis));
    }
    await Deno.writeTextFile(`${root}/v/node.key`, hexOf(validatorSeed) + "\n", { mode: 0o600 });
    const v = await runChainNode(
      parseChainConfig({ listen: "127.0.0.1:0", blockIntervalMs: 20, devnet: false }),
      { dataDir: `${root}/v`, tls: pki },
    );
    const f = await runChainNode(
      parseChainConfig({
        listen: "127.0.0.1:0",
        role: "follower",
        devnet: false,
        peers: [`127.0.0.1:${v.addr.port}`],
      }),
      { dataDir: `${root}/f`, tls: pki },
    );
    // Pre-sign (client work, not measured).
    const txs: VerifiedTransaction[] = [];
    for (let n = 0; n < perSender; n++) {
      for (const k of keys) {
        txs.push(
          signTransaction({
            chainId: "bench",
            nonce: BigInt(n),
            fee: 1n,
            sender: k.pub,
            body: { kind: "transfer", to: keys[0]?.address ?? k.address, amount: 1n },
          }, k.secret),
        );
      }
    }
    const submitAt = new Map<string, number>();
    const latencies: number[] = [];
    let committed = 0;
    const allCommitted = Promise.withResolvers<void>();
    const fDone = Promise.withResolvers<void>();
    v.node.subscribe((b) => {
      const now = performance.now();
      committed += b.transactions.length;
      // Receipts are indexed by hash; map block txs back through the hashes we know.
      for (const bytes of b.transactions) {
        const h = hexOf(blake(bytes));
        const s = submitAt.get(h);
        if (s !== undefined) latencies.push(now - s);
      }
      if (committed >= total) allCommitted.resolve();
    });
    f.node.subscribe(() => {
      if (committed >= total && f.node.height >= v.node.height) fDone.resolve();
    });
    const conns = await Promise.all(
      [0, 1].map(() =>
        connectQuic({
          hostname: "127.0.0.1",
          port: v.addr.port,
          serverName: "localhost",
          alpn: CHAIN_SYNC_ALPN,
        }, { caCerts: [pki.caPem] })
      ),
    );
    const clients = conns.map((c) => new ChainSyncClient(c));
    const t0 = performance.now();
    let next = 0;
    // Batched submission (SubmitTransactions): a wallet or gateway with many transactions sends them together,
    // and the node verifies each batch's signatures in one call to the verifier pool.
    const inflight = 4;
    await Promise.all(Array.from({ length: inflight }, async (_, w) => {
      while (next < txs.length) {
        const batch = txs.slice(next, next + SUBMIT_BATCH);
        next += batch.length;
        const now = performance.now();
        for (const tx of batch) submitAt.set(hexOf(tx.hash), now);
        const resp = await (clients[w % clients.length] as ChainSyncClient).call(
          "SubmitTransactions",
          concat(batch.map((tx) => lenPrefixed(1, tx.bytes))),
        );
        if (resp.length < batch.length * 34) throw new Error("SubmitTransactions refused part of the batch");
      }
    }));
    const tSubmitted = performance.now();
    await allCommitted.promise;
    const tCommitted = performance.now();
    if (f.node.height < v.node.height) await fDone.promise;
    const tFollower = performance.now();
    const tps = total / ((tCommitted - t0) / 1000);
    const lat = summarize(latencies);
    for (const c of conns) c.close();

    // Catch-up: a fresh follower syncs the whole chain.
    const height = v.node.height;
    const tc = performance.now();
    const c = await runChainNode(
      parseChainConfig({
        listen: "127.0.0.1:0",
        role: "follower",
        devnet: false,
        peers: [`127.0.0.1:${v.addr.port}`],
      }),
      { dataDir: `${root}/c`, tls: pki },
    );
    while (c.node.height < height) await new Promise((r) => setTimeout(r, 5));
    const catchUp = height / ((performance.now() - tc) / 1000);
    await c.close();
    await f.close();
    await v.close();

    rows.push(
      {
        measurement: "raw Ed25519 verify, one thread (ed25519Verify)",
        value: Math.round(raw.single),
        unit: "sig/s",
        note: "WebCrypto",
      },
      {
        measurement: "raw Ed25519 verify, Ed25519BatchVerifier (ceiling)",
        value: Math.round(raw.batch),
        unit: "sig/s",
        note: `${navigator.hardwareConcurrency} workers`,
      },
      {
        measurement: "committed transfers/s end to end (1 validator + 1 follower, loopback)",
        value: Math.round(tps),
        unit: "tx/s",
        note:
          `${total} tx from ${senders} senders in SubmitTransactions batches of ${SUBMIT_BATCH}, ${height} blocks; ratio to ceiling ${
            (tps / raw.batch).toFixed(3)
          } (target >= 0.6)`,
      },
      {
        measurement: "submit -> commit latency p50",
        value: Number(lat.p50.toFixed(1)),
        unit: "ms",
        note: `n=${lat.count}`,
      },
      {
        measurement: "submit -> commit latency p99",
        value: Number(lat.p99.toFixed(1)),
        unit: "ms",
        note: `all submitted after ${((tSubmitted - t0) / 1000).toFixed(2)} s`,
      },
      {
        measurement: "follower lag after last commit",
        value: Number((tFollower - tCommitted).toFixed(1)),
        unit: "ms",
        note: "",
      },
      {
        measurement: "follower catch-up",
        value: Math.round(catchUp),
        unit: "blocks/s",
        note: `${height} blocks, ~${Math.round(total / Math.max(height, 1))} tx/block, fresh KV`,
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  return rows;
}

import { blake3 as blake } from "../../wallet/mod.ts";

if (import.meta.main) {
  const rows = await runChainBench({ quick: Deno.args.includes("--quick") });
  const cols = Object.keys(rows[0] ?? {});
  console.log(`| ${cols.join(" | ")} |\n|${cols.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => String(r[c] ?? "")).join(" | ")} |`);
}
