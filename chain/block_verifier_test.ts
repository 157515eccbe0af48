// Block verification's rules on their own: a produced block passes, and each rule rejects its own breach.
import assert from "node:assert/strict";
import { decodeBlock, type UnverifiedBlock } from "./block.ts";
import { BLOCK_OVERHEAD_BYTES, selectTransactions } from "./block_producer.ts";
import { type BlockExpectations, checkBlock, executeBlock } from "./block_verifier.ts";
import { ChainError } from "./errors.ts";
import { proposerAccount } from "./execute.ts";
import { readValidators } from "./state.ts";
import { ALICE, BOB, testKey, testNode, transfer, VALIDATOR } from "./_test_util.ts";

async function fixture(): Promise<{ block: UnverifiedBlock; x: BlockExpectations }> {
  const v = await testNode();
  const f = await testNode({ validator: false });
  await v.submit(transfer(ALICE, 0, BOB, 5n).bytes);
  const produced = await v.produceBlock();
  assert.ok(produced);
  const x: BlockExpectations = {
    chainId: f.chainId,
    head: f.head,
    validators: readValidators(f.state),
    params: f.params,
    now: produced.header.timeMs,
    maxClockSkewMs: 30_000,
  };
  return { block: decodeBlock(produced.bytes), x };
}

function rejects(block: UnverifiedBlock, x: BlockExpectations, message: RegExp): void {
  assert.throws(
    () => checkBlock(block, x),
    (e: unknown) => e instanceof ChainError && e.reason === "BAD_BLOCK" && message.test(e.message),
    String(message),
  );
}

Deno.test("checkBlock() passes a produced block and hands back its transactions and commit signatures", async () => {
  const { block, x } = await fixture();
  const checked = checkBlock(block, x);
  assert.equal(checked.transactions.length, 1);
  assert.equal(checked.commitSignatures.length, 1);
  assert.deepEqual(checked.commitSignatures[0]?.publicKey, VALIDATOR.pub);
});

Deno.test("checkBlock() rejects each header rule: chain, height, parent, time, round, proposer", async () => {
  const { block, x } = await fixture();
  const h = block.header;
  const withHeader = (patch: Partial<typeof h>): UnverifiedBlock => ({
    ...block,
    header: { ...h, ...patch },
  });
  rejects(withHeader({ chainId: "other" }), x, /chain id other/);
  rejects(withHeader({ height: 5 }), x, /height 5, expected 1/);
  rejects(withHeader({ parentHash: new Uint8Array(32) }), x, /wrong parent hash/);
  rejects(withHeader({ timeMs: x.head.header.timeMs }), x, /time does not increase/);
  rejects(withHeader({ timeMs: x.now + 60_000 }), x, /too far in the future/);
  // A block built in round 1 cannot carry a commit from round 0.
  rejects(withHeader({ round: 1 }), x, /commit is for another block/);
  rejects(withHeader({ proposer: testKey(9).pub }), x, /wrong proposer/);
});

Deno.test("checkBlock() rejects size limits, a misdirected commit, bad signers and undecodable transactions", async () => {
  const { block, x } = await fixture();
  rejects(block, { ...x, params: { ...x.params, maxBlockBytes: BLOCK_OVERHEAD_BYTES } }, /bytes exceeds/);
  rejects(block, { ...x, params: { ...x.params, maxBlockTxs: 0 } }, /transactions exceed 0/);
  const sig = block.commit.signatures[0];
  assert.ok(sig);
  const withCommit = (patch: Partial<typeof block.commit>): UnverifiedBlock => ({
    ...block,
    commit: { ...block.commit, ...patch },
  });
  rejects(withCommit({ blockHash: new Uint8Array(32) }), x, /commit is for another block/);
  rejects(withCommit({ signatures: [sig, sig] }), x, /duplicate commit signature/);
  rejects(withCommit({ signatures: [sig, { ...sig, validator: testKey(9).pub }] }), x, /non-validator/);
  rejects(withCommit({ signatures: [] }), x, /2\/3 of the voting power or less/);
  // The same single signature is not enough once three more validators of equal power exist...
  const four = [...x.validators, ...[7, 8, 9].map((i) => ({ publicKey: testKey(i).pub, power: 1n }))];
  rejects(block, { ...x, validators: four }, /wrong proposer|2\/3 of the voting power or less/);
  // ...but is when this validator holds more than 2/3 of the power.
  const heavy = [{ ...four[0], power: 7n } as (typeof four)[number], ...four.slice(1)];
  const checked = checkBlock(block, { ...x, validators: heavy, requireCommit: true });
  assert.equal(checked.commitSignatures.length, 1);
  // A proposal is checked without a commit.
  assert.equal(
    checkBlock(withCommit({ signatures: [] }), { ...x, requireCommit: false }).commitSignatures.length,
    0,
  );
  rejects({ ...block, transactions: [new Uint8Array([0xff, 0xff])] }, x, /transaction 0/);
  rejects({ ...block, transactions: [] }, x, /transactions root mismatch/);
});

Deno.test("selectTransactions() and executeBlock() agree: a producer's receipts re-execute to the same root", async () => {
  const v = await testNode();
  const f = await testNode({ validator: false });
  for (let i = 0; i < 3; i++) await v.submit(transfer(ALICE, i, BOB, 1n).bytes);
  const produced = await v.produceBlock();
  assert.ok(produced);
  const ctx = { chainId: f.chainId, height: 1n, proposer: proposerAccount(VALIDATOR.pub), params: f.params };
  const checked = checkBlock(produced, {
    chainId: f.chainId,
    head: f.head,
    validators: readValidators(f.state),
    params: f.params,
    now: produced.header.timeMs,
    maxClockSkewMs: 0,
  });
  const verified = [0, 1, 2].map((i) => transfer(ALICE, i, BOB, 1n));
  assert.deepEqual(checked.transactions.map((t) => t.hash), verified.map((t) => t.hash));
  const executed = executeBlock(f.state, produced, verified, ctx);
  assert.equal(executed.receipts.length, 3);
  // A receipts root that does not match is refused.
  assert.throws(
    () => executeBlock(f.state, produced, verified.slice(0, 2), ctx),
    (e: unknown) => e instanceof ChainError && /receipts root mismatch/.test(e.message),
  );
  // The producer's selection on the follower's state picks nothing once the mempool order is exhausted.
  const none = selectTransactions(f.state, { next: () => undefined, skipSender: () => {} }, ctx);
  assert.equal(none.included.length, 0);
});
