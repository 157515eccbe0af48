import assert from "node:assert/strict";
import { ChainError } from "./errors.ts";
import { ChainNode } from "./node.ts";
import { MemoryChainStore } from "./chain_store.ts";
import { Mempool } from "./mempool.ts";
import { ChainService } from "./blockchain_service.ts";
import { PbReader, PbWriter } from "./_pb.ts";
import { encodeSignedTransaction } from "./transaction.ts";
import {
  ALICE,
  BOB,
  testGenesis,
  testKey,
  testNode,
  transfer,
  tx,
  VALIDATOR,
  verifyAll,
} from "./_test_util.ts";

function reasonOf(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ChainError, String(e));
    return e.reason;
  }
  return "accepted";
}

Deno.test("Mempool: a replacement needs 110% of the fee; pending spends count against the balance", async () => {
  const v = await testNode();
  const pool = new Mempool();
  const params = v.params;
  pool.add(transfer(ALICE, 0, BOB, 1n, 10n), v.state, params);
  assert.equal(reasonOf(() => pool.add(transfer(ALICE, 0, BOB, 2n, 10n), v.state, params)), "NONCE_PENDING");
  assert.equal(reasonOf(() => pool.add(transfer(ALICE, 0, BOB, 2n, 11n), v.state, params)), "accepted");
  assert.equal(pool.size, 1, "the replacement took the old one's place");
  // BOB holds 500: two pending transfers of 240 (+ fee 10) fit, a third does not.
  pool.add(transfer(BOB, 0, ALICE, 240n), v.state, params);
  pool.add(transfer(BOB, 1, ALICE, 240n), v.state, params);
  assert.equal(
    reasonOf(() => pool.add(transfer(BOB, 2, ALICE, 240n), v.state, params)),
    "INSUFFICIENT_FUNDS",
  );
  // A contract call's whole gas reserve counts too (1,000,000 gas = 1,000 units > BOB's 500).
  const call = tx(BOB, 2, {
    kind: "contract_call",
    contract: new Uint8Array(20),
    method: "get",
    data: new Uint8Array(0),
    gasLimit: 1_000_000n,
    value: 0n,
  });
  assert.equal(reasonOf(() => pool.add(call, v.state, params)), "INSUFFICIENT_FUNDS");
  assert.equal(reasonOf(() => pool.add(transfer(ALICE, 0, BOB, 2n, 11n), v.state, params)), "DUPLICATE");
  assert.equal(reasonOf(() => pool.add(transfer(ALICE, 100, BOB, 1n), v.state, params)), "NONCE_TOO_HIGH");
});

Deno.test("Mempool is bounded by bytes: the lowest fee tail is evicted, a lower fee is refused", async () => {
  const v = await testNode();
  const one = transfer(ALICE, 0, BOB, 1n, 10n).bytes.length;
  const pool = new Mempool({ maxBytes: one * 2 + 10 });
  const C = testKey(4);
  pool.add(transfer(ALICE, 0, BOB, 1n, 10n), v.state, v.params);
  pool.add(transfer(BOB, 0, ALICE, 1n, 20n), v.state, v.params);
  assert.equal(reasonOf(() => pool.add(transfer(ALICE, 1, BOB, 1n, 5n), v.state, v.params)), "MEMPOOL_FULL");
  // C has no balance: stateful checks refuse it before any eviction happens.
  assert.equal(
    reasonOf(() => pool.add(transfer(C, 0, BOB, 1n, 99n), v.state, v.params)),
    "INSUFFICIENT_FUNDS",
  );
  assert.equal(pool.size, 2);
  pool.add(transfer(BOB, 1, ALICE, 1n, 30n), v.state, v.params);
  assert.equal(pool.size, 2);
  assert.ok(pool.bytes <= one * 2 + 10);
  assert.equal(pool.has(transfer(ALICE, 0, BOB, 1n, 10n).hash), false, "the fee-10 tail was evicted");
});

Deno.test("ChainNode.submit() checks the signature before any stateful rule", async () => {
  const v = await testNode();
  const bad = transfer(ALICE, 99, BOB, 1n);
  const sig = bad.signature.slice();
  sig[0] = (sig[0] ?? 0) ^ 1;
  // Nonce 99 would also be refused, but an invalid signature is reported first.
  await assert.rejects(v.submit(encodeSignedTransaction(bad.bodyBytes, sig)), (e) => {
    assert.ok(e instanceof ChainError);
    assert.equal(e.reason, "BAD_SIGNATURE");
    return true;
  });
});

Deno.test("SubmitTransactions answers one result per transaction, in order, and accepts the good ones", async () => {
  const v = await ChainNode.open({
    store: new MemoryChainStore(),
    genesis: testGenesis(),
    verify: verifyAll,
    now: () => 50_000,
    schedule: queueMicrotask,
    validatorKey: VALIDATOR.secret,
  });
  const service = new ChainService(v);
  const good = [transfer(ALICE, 0, BOB, 1n), transfer(ALICE, 1, BOB, 1n)];
  const req = new PbWriter().bytes(1, good[0]?.bytes ?? new Uint8Array(0), true)
    .bytes(1, transfer(BOB, 100, ALICE, 1n).bytes, true)
    .bytes(1, new Uint8Array([1, 2, 3]), true)
    .bytes(1, good[1]?.bytes ?? new Uint8Array(0), true).finish();
  const resp = await service.handle("SubmitTransactions", req.slice());
  const results: Array<{ hash: number; status: number; reason: string }> = [];
  const r = new PbReader(resp, "resp");
  while (r.next()) {
    const one = new PbReader(r.message(4096, true), "result");
    let hash = 0, status = 0, reason = "";
    while (one.next()) {
      if (one.field === 1) hash = one.bytes(64).length;
      else if (one.field === 2) status = one.uint32();
      else if (one.field === 3) reason = one.string(64);
      else one.skip();
    }
    results.push({ hash, status, reason });
  }
  assert.deepEqual(results.map((x) => x.reason || `ok:${x.hash}`), [
    "ok:32",
    "NONCE_TOO_HIGH",
    "MALFORMED",
    "ok:32",
  ]);
  assert.equal(v.mempool.size, 2);
  const b = await v.produceBlock();
  assert.equal(b?.transactions.length, 2);
});
