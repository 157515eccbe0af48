import assert from "node:assert/strict";
import { type Ed25519BatchItem, Ed25519BatchVerifier } from "./ed25519_batch_verifier.ts";
import { ed25519Keypair, ed25519Sign } from "./ed25519.ts";
import { packVerifyBatch, unpackVerifyBatch } from "./_verify_batch_codec.ts";

function makeItems(count: number): Ed25519BatchItem[] {
  const keys = Array.from({ length: 8 }, () => ed25519Keypair());
  return Array.from({ length: count }, (_, i) => {
    const kp = keys[i % keys.length];
    if (kp === undefined) throw new Error("unreachable");
    const message = new TextEncoder().encode(`message ${i}`);
    return { publicKey: kp.publicKey, message, signature: ed25519Sign(kp.secretKey, message) };
  });
}

/** Spoils items at the given indices in different ways; returns the spoiled set. */
function spoil(items: Ed25519BatchItem[], bad: readonly number[]): Set<number> {
  bad.forEach((i, k) => {
    const it = items[i];
    if (it === undefined) return;
    switch (k % 4) {
      case 0: {
        const sig = Uint8Array.from(it.signature);
        sig[5] = (sig[5] ?? 0) ^ 0x40;
        items[i] = { ...it, signature: sig };
        break;
      }
      case 1:
        items[i] = { ...it, message: new TextEncoder().encode("tampered") };
        break;
      case 2:
        items[i] = { ...it, publicKey: (items[(i + 1) % items.length] as Ed25519BatchItem).publicKey };
        break;
      default:
        items[i] = { ...it, signature: it.signature.subarray(0, 63) };
    }
  });
  return new Set(bad);
}

Deno.test("Ed25519BatchVerifier flags exactly the bad signatures of a mixed batch across 2 workers", async () => {
  const items = makeItems(600);
  const bad = spoil(items, [0, 3, 77, 150, 151, 299, 300, 420, 555, 599]);
  const verifier = new Ed25519BatchVerifier({ workers: 2, chunkSize: 64 });
  try {
    const verdicts = await verifier.verify(items);
    assert.equal(verdicts.length, items.length);
    verdicts.forEach((ok, i) => assert.equal(ok, !bad.has(i), `item ${i}`));
    assert.equal(verifier.workerCount, 2);
    // A second batch reuses the pool.
    const again = await verifier.verify(items.slice(0, 200));
    again.forEach((ok, i) => assert.equal(ok, !bad.has(i), `item ${i}`));
    assert.equal(verifier.workerCount, 2);
  } finally {
    verifier.close();
  }
});

Deno.test("Ed25519BatchVerifier verifies small batches in-thread without starting workers", async () => {
  const items = makeItems(10);
  const bad = spoil(items, [2, 7]);
  const verifier = new Ed25519BatchVerifier({ minBatchForWorkers: 64 });
  try {
    const verdicts = await verifier.verify(items);
    verdicts.forEach((ok, i) => assert.equal(ok, !bad.has(i)));
    assert.equal(verifier.workerCount, 0);
    assert.deepEqual(await verifier.verify([]), []);
  } finally {
    verifier.close();
  }
});

Deno.test("Ed25519BatchVerifier.close() terminates the workers and refuses new batches", async () => {
  const verifier = new Ed25519BatchVerifier({ workers: 2, minBatchForWorkers: 1, chunkSize: 8 });
  await verifier.verify(makeItems(32));
  assert.equal(verifier.workerCount, 2);
  verifier.close();
  verifier.close();
  assert.equal(verifier.workerCount, 0);
  assert.equal(verifier.closed, true);
  await assert.rejects(() => verifier.verify(makeItems(1)), TypeError);
});

Deno.test("Ed25519BatchVerifier.close() rejects a batch still in flight", async () => {
  const verifier = new Ed25519BatchVerifier({ workers: 2, minBatchForWorkers: 1, chunkSize: 16 });
  const pending = verifier.verify(makeItems(256));
  verifier.close();
  await assert.rejects(() => pending, /closed/);
});

Deno.test("packVerifyBatch() round-trips through unpackVerifyBatch()", () => {
  const items = makeItems(5);
  const back = unpackVerifyBatch(packVerifyBatch(items));
  assert.equal(back.length, 5);
  back.forEach((it, i) => {
    assert.deepEqual(it.publicKey, items[i]?.publicKey);
    assert.deepEqual(it.signature, items[i]?.signature);
    assert.deepEqual(it.message, items[i]?.message);
  });
  assert.throws(() => unpackVerifyBatch(packVerifyBatch(items).slice(0, 120)), RangeError);
});
