/**
 * Wallet crypto benchmarks, each side by side with its peer in the same run (ratios; machines are shared
 * and noisy): Ed25519 verify with @noble versus WebCrypto, the worker-pool batch verifier versus one thread,
 * SHA-256 with @noble versus WebCrypto at several sizes, BLAKE3 throughput next to SHA-256, secp256k1 sign and
 * verify next to Ed25519, and the keystore unlock time at the production KDF parameters (scrypt 2^17, r 8, p 1)
 * next to an Ethereum keystore v3 unlock at go-ethereum's standard parameters (scrypt 2^18, r 8, p 1).
 *
 * Standalone: `deno run -A tests/bench/wallet_bench.ts [--quick]` prints a markdown table. Every loop is
 * bounded by a count and a time budget; the whole run stays under a minute.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  blake3,
  decryptEthKeystoreV3,
  DEFAULT_KEYSTORE_KDF,
  type Ed25519BatchItem,
  Ed25519BatchVerifier,
  ed25519Keypair,
  ed25519Sign,
  ed25519Verify,
  encryptEthKeystoreV3,
  Keystore,
  secp256k1Keypair,
  secp256k1Sign,
  secp256k1Verify,
  sha256Async,
} from "../../wallet/mod.ts";

/** One row of the wallet table: column name to cell (the shape `tests/bench/mod.ts` prints). */
export type Row = Readonly<Record<string, string | number>>;

// Not imported from ./mod.ts: mod.ts loads this file while its own top-level await is pending, and a static
// import back into it would deadlock.
function markdownTable(rows: readonly Row[]): string {
  const cols = Object.keys(rows[0] ?? {});
  return [
    `| ${cols.join(" | ")} |`,
    `|${cols.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cols.map((c) => String(r[c] ?? "")).join(" | ")} |`),
  ].join("\n");
}

/** Runs `fn` until `maxOps` or `budgetMs`, after a short warm-up; returns operations per second. */
async function rate(fn: () => unknown, maxOps: number, budgetMs: number): Promise<number> {
  for (let i = 0; i < Math.min(20, maxOps); i++) await fn();
  const start = performance.now();
  let ops = 0;
  while (ops < maxOps && performance.now() - start < budgetMs) {
    await fn();
    ops++;
  }
  return ops / ((performance.now() - start) / 1000);
}

function items(count: number): Ed25519BatchItem[] {
  const keys = Array.from({ length: 16 }, () => ed25519Keypair());
  return Array.from({ length: count }, (_, i) => {
    const kp = keys[i % keys.length] as (typeof keys)[number];
    const message = crypto.getRandomValues(new Uint8Array(64));
    return { publicKey: kp.publicKey, message, signature: ed25519Sign(kp.secretKey, message) };
  });
}

/** Runs the wallet benchmarks and returns the table rows. */
export async function runWalletBench(opts: { quick?: boolean } = {}): Promise<Row[]> {
  const quick = opts.quick ?? false;
  const budget = quick ? 300 : 2000;
  const rows: Row[] = [];
  const fmt = (n: number) => Math.round(n);

  // Ed25519 verify: @noble (strict) vs WebCrypto (our ed25519Verify, including its byte-level prechecks).
  const [one] = items(1);
  if (one === undefined) throw new Error("no item");
  const noble = await rate(
    () => ed25519.verify(one.signature, one.message, one.publicKey, { zip215: false }),
    20_000,
    budget,
  );
  const web = await rate(() => ed25519Verify(one.publicKey, one.message, one.signature), 200_000, budget);
  rows.push({
    benchmark: "Ed25519 verify (64 B msg)",
    ours: `${fmt(web)} /s WebCrypto`,
    peer: `${fmt(noble)} /s @noble`,
    ratio: `${(web / noble).toFixed(1)}x`,
  });

  // Batch verifier (2 workers) vs the same verify on one thread.
  const batch = items(quick ? 2_000 : 8_000);
  for (const it of batch.slice(0, 512)) await ed25519Verify(it.publicKey, it.message, it.signature); // warm-up
  const t0 = performance.now();
  for (const it of batch) await ed25519Verify(it.publicKey, it.message, it.signature);
  const single = batch.length / ((performance.now() - t0) / 1000);
  const verifier = new Ed25519BatchVerifier({ workers: 2, chunkSize: 256 });
  try {
    await verifier.verify(batch.slice(0, 512)); // start and warm the workers
    const t1 = performance.now();
    const verdicts = await verifier.verify(batch);
    const pooled = batch.length / ((performance.now() - t1) / 1000);
    if (!verdicts.every((v) => v)) throw new Error("batch verifier rejected a valid signature");
    rows.push({
      benchmark: `Ed25519 batch of ${batch.length}`,
      ours: `${fmt(pooled)} /s pool of 2`,
      peer: `${fmt(single)} /s one thread`,
      ratio: `${(pooled / single).toFixed(2)}x`,
    });
  } finally {
    verifier.close();
  }

  // SHA-256: @noble (sync) vs WebCrypto (async, native) by input size, in MB/s.
  for (const size of [64, 1024, 64 * 1024, 1024 * 1024]) {
    const data = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
    const input = size <= 65536 ? data : new Uint8Array(size).map((_, i) => data[i % data.length] ?? 0);
    const maxOps = Math.max(20, Math.floor((quick ? 32 : 256) * 1024 * 1024 / size));
    const n = await rate(() => nobleSha256(input), maxOps, budget / 2);
    const w = await rate(() => sha256Async(input), maxOps, budget / 2);
    const mb = (opsPerSec: number) => (opsPerSec * size) / 1e6;
    rows.push({
      benchmark: `SHA-256 ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`,
      ours: `${mb(w).toFixed(1)} MB/s WebCrypto`,
      peer: `${mb(n).toFixed(1)} MB/s @noble`,
      ratio: `${(w / n).toFixed(2)}x`,
    });
  }

  // BLAKE3 (@noble) throughput on 1 MiB, next to @noble SHA-256 on the same input.
  const mib = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(1024 * 1024).map((_, i) => mib[i % mib.length] ?? 0);
  const b3 = await rate(() => blake3(big), quick ? 20 : 200, budget);
  const s2 = await rate(() => nobleSha256(big), quick ? 20 : 200, budget);
  rows.push({
    benchmark: "BLAKE3 1 MiB",
    ours: `${(b3 * 1.048576).toFixed(1)} MB/s @noble`,
    peer: `${(s2 * 1.048576).toFixed(1)} MB/s SHA-256 @noble`,
    ratio: `${(b3 / s2).toFixed(2)}x`,
  });
  // secp256k1 (@noble, RFC 6979 low-S recoverable) sign and verify, next to Ed25519 on the same 32-byte digest.
  const sk = secp256k1Keypair();
  const ek = ed25519Keypair();
  const digest = crypto.getRandomValues(new Uint8Array(32));
  const kSig = secp256k1Sign(sk.secretKey, digest);
  const eSig = ed25519Sign(ek.secretKey, digest);
  const kSign = await rate(() => secp256k1Sign(sk.secretKey, digest), 20_000, budget);
  const eSign = await rate(() => ed25519Sign(ek.secretKey, digest), 20_000, budget);
  rows.push({
    benchmark: "secp256k1 sign (32 B digest)",
    ours: `${fmt(kSign)} /s @noble`,
    peer: `${fmt(eSign)} /s Ed25519 sign @noble`,
    ratio: `${(kSign / eSign).toFixed(2)}x`,
  });
  const kVerify = await rate(() => secp256k1Verify(sk.publicKey, digest, kSig), 20_000, budget);
  const eVerify = await rate(() => ed25519Verify(ek.publicKey, digest, eSig), 200_000, budget);
  rows.push({
    benchmark: "secp256k1 verify (32 B digest)",
    ours: `${fmt(kVerify)} /s @noble`,
    peer: `${fmt(eVerify)} /s Ed25519 verify WebCrypto`,
    ratio: `${(kVerify / eVerify).toFixed(2)}x`,
  });

  // Keystore unlock at the production KDF parameters: what a user waits for at every CLI signature and every
  // service Unlock. Peer: a go-ethereum standard keystore v3 unlock (scrypt 2^18, r 8, p 1) in the same run.
  const runs = quick ? 1 : 3;
  const pass = "bench passphrase";
  const ks = await Keystore.create(pass, { kdf: DEFAULT_KEYSTORE_KDF });
  ks.importKey("secp256k1", sk.secretKey);
  const file = ks.seal();
  ks.lock();
  const v3 = JSON.stringify(await encryptEthKeystoreV3(sk.secretKey, pass));
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      best = Math.min(best, performance.now() - t);
    }
    return best;
  };
  const unlockMs = await time(async () => (await Keystore.unlock(file, pass)).lock());
  const v3Ms = await time(async () => (await decryptEthKeystoreV3(v3, pass)).wipe());
  const { n, r, p } = DEFAULT_KEYSTORE_KDF;
  rows.push({
    benchmark: `keystore unlock (scrypt 2^${Math.log2(n)}, r ${r}, p ${p}; best of ${runs})`,
    ours: `${fmt(unlockMs)} ms`,
    peer: `${fmt(v3Ms)} ms keystore v3 (scrypt 2^18, r 8, p 1)`,
    ratio: `${(unlockMs / v3Ms).toFixed(2)}x time`,
  });
  return rows;
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  console.log(
    `# Wallet benchmarks\n\ndeno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores${
      quick ? ", --quick" : ""
    }\n`,
  );
  console.log(markdownTable(await runWalletBench({ quick })));
}
