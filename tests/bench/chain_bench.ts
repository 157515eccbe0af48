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
import { decodeBlockResponse } from "../../chain/blockchain_service.ts";
import { decodeBlock } from "../../chain/block.ts";
import { PbWriter } from "../../chain/_pb.ts";
import { validatorArgs } from "../integration/_bft_net.ts";
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

/**
 * N validator processes (`mod.ts chain run`, each its own data dir, key and port, one genesis with `senders`
 * funded accounts) on loopback; `crash` SIGKILLs the last validator before the load starts. Transfers go to
 * validator 0 in SubmitTransactions batches (4 in flight, after a warm-up burst); commits are observed on
 * validator 1 through StreamBlocks, so the latency is submit -> final on another validator.
 */
async function validatorsRun(opts: {
  readonly n: number;
  readonly crash: boolean;
  readonly senders: number;
  readonly perSender: number;
  readonly ceiling: number;
  readonly idleSamples?: number;
}): Promise<Row[]> {
  const root = await Deno.makeTempDir({ prefix: "chain-bft-bench-" });
  const children: Deno.ChildProcess[] = [];
  const conns: Array<{ close(): void }> = [];
  try {
    const pki = await ensureDevPki({ dir: `${root}/pki` });
    const base = 21000 + Math.floor(Math.random() * 20000);
    const seeds = Array.from({ length: opts.n }, (_, i) => new Uint8Array(32).fill(90 + i));
    const keys = Array.from({ length: opts.senders }, (_, i) => testKey(3000 + i));
    const genesis = {
      chainId: "bench",
      timeMs: 1,
      validators: seeds.map((seed) => ({ publicKey: hexOf(ed25519PublicKey(seed)) })),
      accounts: keys.map((k) => ({ address: k.bech32, balance: "1000000000" })),
    };
    for (let i = 0; i < opts.n; i++) {
      const dir = `${root}/v${i}`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/genesis.json`, JSON.stringify(genesis));
      await Deno.writeTextFile(`${dir}/node.key`, hexOf(seeds[i] as Uint8Array) + "\n", { mode: 0o600 });
      const peers = Array.from({ length: opts.n }, (_, j) => j).filter((j) => j !== i)
        .map((j) => `127.0.0.1:${base + j}`);
      children.push(
        new Deno.Command(Deno.execPath(), {
          args: validatorArgs({
            dir,
            listen: `127.0.0.1:${base + i}`,
            pki: `${root}/pki`,
            peers,
            blockIntervalMs: 20,
          }),
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    const connect = async (i: number) => {
      for (let attempt = 0;; attempt++) {
        try {
          const c = await connectQuic(
            { hostname: "127.0.0.1", port: base + i, serverName: "localhost", alpn: CHAIN_SYNC_ALPN },
            { caCerts: [pki.caPem] },
          );
          conns.push(c);
          return new ChainSyncClient(c);
        } catch (e) {
          if (attempt > 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const submitter = await connect(0);
    const watcher = await connect(opts.n > 1 ? 1 : 0);
    while ((await watcher.status()).height < 2) await new Promise((r) => setTimeout(r, 50));
    if (opts.crash) {
      const victim = children[opts.n - 1];
      victim?.kill("SIGKILL");
      await victim?.status;
    }
    const txs: VerifiedTransaction[] = [];
    for (let nonce = 0; nonce < opts.perSender; nonce++) {
      for (const k of keys) {
        txs.push(signTransaction({
          chainId: "bench",
          nonce: BigInt(nonce),
          fee: 1n,
          sender: k.pub,
          body: { kind: "transfer", to: keys[0]?.address ?? k.address, amount: 1n },
        }, k.secret));
      }
    }
    // Warm-up, not measured: the first burst on a new QUIC connection loses datagrams to the 208 KiB default
    // socket buffer and waits out a retransmission timeout (~1 s), which would dominate a short run.
    const warm = txs.splice(0, Math.min(4 * SUBMIT_BATCH, Math.floor(txs.length / 2)));
    await Promise.all([0, 1, 2, 3].map((w) =>
      submitter.call(
        "SubmitTransactions",
        concat(warm.slice(w * SUBMIT_BATCH, (w + 1) * SUBMIT_BATCH).map((tx) => lenPrefixed(1, tx.bytes))),
      )
    ));
    while ((await submitter.status()).mempoolSize > 0 || (await watcher.status()).mempoolSize > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const total = txs.length;
    const submitAt = new Map<string, number>();
    const latencies: number[] = [];
    const blockTimes: number[] = [];
    let seen = 0;
    const start = (await watcher.status()).height + 1;
    const t0 = performance.now();
    const watching = (async () => {
      let lastTime = 0;
      const req = new PbWriter().uint64(1, BigInt(start)).finish().slice();
      for await (const resp of watcher.stream("StreamBlocks", req)) {
        const now = performance.now();
        const { block } = decodeBlockResponse(resp);
        const b = decodeBlock(block);
        if (lastTime > 0) blockTimes.push(b.header.timeMs - lastTime);
        lastTime = b.header.timeMs;
        for (const t of b.transactions) {
          const at = submitAt.get(hexOf(blake(t)));
          if (at !== undefined) {
            latencies.push(now - at);
            seen++;
          }
        }
        if (seen >= total) return now;
      }
      return performance.now();
    })();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < txs.length) {
        const batch = txs.slice(next, next + SUBMIT_BATCH);
        next += batch.length;
        const now = performance.now();
        for (const tx of batch) submitAt.set(hexOf(tx.hash), now);
        await submitter.call("SubmitTransactions", concat(batch.map((tx) => lenPrefixed(1, tx.bytes))));
      }
    }));
    const tEnd = await watching;
    const tps = total / ((tEnd - t0) / 1000);
    // Finality without load: one transfer at a time (the next one once the last is final on another validator).
    const idle: number[] = [];
    for (let i = 0; i < (opts.idleSamples ?? 20); i++) {
      const k = keys[i % keys.length] ?? keys[0];
      if (k === undefined) break;
      const tx = signTransaction({
        chainId: "bench",
        nonce: BigInt(opts.perSender + Math.floor(i / keys.length)),
        fee: 1n,
        sender: k.pub,
        body: { kind: "transfer", to: k.address, amount: 1n },
      }, k.secret);
      const h = (await watcher.status()).height;
      const t = performance.now();
      await submitter.call("SubmitTransactions", lenPrefixed(1, tx.bytes));
      const req = new PbWriter().uint64(1, BigInt(h + 1)).finish().slice();
      outer: for await (const resp of watcher.stream("StreamBlocks", req)) {
        for (const b of decodeBlock(decodeBlockResponse(resp).block).transactions) {
          if (hexOf(blake(b)) === hexOf(tx.hash)) break outer;
        }
      }
      idle.push(performance.now() - t);
    }
    const fin = summarize(idle);
    const lat = summarize(latencies);
    const bt = summarize(blockTimes);
    const what = `${opts.n} validator${opts.n > 1 ? "s" : ""}${opts.crash ? ", 1 SIGKILLed" : ""}`;
    return [
      {
        measurement: `committed transfers/s, ${what} (processes)`,
        value: Math.round(tps),
        unit: "tx/s",
        note: `${total} tx; ratio to ceiling ${(tps / opts.ceiling).toFixed(3)}`,
      },
      {
        measurement: `submit -> final on another validator p50 / p99, ${what}`,
        value: `${lat.p50.toFixed(0)} / ${lat.p99.toFixed(0)}`,
        unit: "ms",
        note: `n=${lat.count}`,
      },
      {
        measurement: `finality without load p50 / p99, ${what}`,
        value: `${fin.p50.toFixed(0)} / ${fin.p99.toFixed(0)}`,
        unit: "ms",
        note: `one transfer at a time, n=${fin.count}; target p50 < 500 ms with 4 validators`,
      },
      {
        measurement: `block time p50 / p99, ${what}`,
        value: `${bt.p50.toFixed(0)} / ${bt.p99.toFixed(0)}`,
        unit: "ms",
        note: `${blockTimes.length + 1} blocks`,
      },
    ];
  } finally {
    for (const c of conns) c.close();
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // gone
      }
      await c.status;
    }
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

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
  const load = { senders: quick ? 100 : 200, perSender: quick ? 8 : 24, ceiling: raw.batch };
  rows.push(...await validatorsRun({ n: 1, crash: false, ...load }));
  rows.push(...await validatorsRun({ n: 4, crash: false, ...load }));
  rows.push(...await validatorsRun({ n: 4, crash: true, ...load }));
  return rows;
}

import { blake3 as blake } from "../../wallet/mod.ts";

if (import.meta.main) {
  const rows = await runChainBench({ quick: Deno.args.includes("--quick") });
  const cols = Object.keys(rows[0] ?? {});
  console.log(`| ${cols.join(" | ")} |\n|${cols.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => String(r[c] ?? "")).join(" | ")} |`);
}
