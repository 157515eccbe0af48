// Test worker: runs the wallet's batch verifier with its worker pool, as the chain node does, and reports.
import { runServiceWorker } from "../../../core/mod.ts";
import { Ed25519BatchVerifier, ed25519Keypair, ed25519Sign } from "../../../wallet/mod.ts";

runServiceWorker(async (ctx) => {
  const verifier = new Ed25519BatchVerifier({ workers: 2, minBatchForWorkers: 1 });
  let outcome: string;
  try {
    const { publicKey, secretKey } = ed25519Keypair();
    const message = new Uint8Array([1, 2, 3]);
    const signature = ed25519Sign(secretKey, message);
    const bad = signature.slice();
    bad[0] = (bad[0] ?? 0) ^ 1;
    const items = Array.from(
      { length: 64 },
      (_, i) => ({ publicKey, message, signature: i === 7 ? bad : signature }),
    );
    const results = await verifier.verify(items);
    outcome = results.every((ok, i) => ok === (i !== 7)) ? "ok" : "wrong results";
  } catch (err) {
    outcome = err instanceof Error ? err.message : String(err);
  } finally {
    verifier.close();
  }
  ctx.log.info("batch probe", { outcome });
  return { endpoints: [], metrics: () => null, drain: () => Promise.resolve() };
});
