// The state transition on its own: inclusion rules, fee and nonce accounting, failed bodies, determinism.
import assert from "node:assert/strict";
import { ChainError } from "./errors.ts";
import {
  applyTransaction,
  inclusionProblem,
  proposerAccount,
  storageCost,
  storageCostOf,
} from "./execute.ts";
import fc from "fast-check";
import type { BlockContext } from "./receipt.ts";
import { ChainState, StateOverlay } from "./state.ts";
import { ALICE, BOB, CHAIN_ID, testNode, transfer, tx, VALIDATOR } from "./_test_util.ts";

async function setup(): Promise<{ overlay: StateOverlay; ctx: BlockContext }> {
  const node = await testNode();
  const ctx: BlockContext = {
    chainId: CHAIN_ID,
    height: 1n,
    proposer: proposerAccount(VALIDATOR.pub),
    params: node.params,
  };
  return { overlay: new StateOverlay(node.state), ctx };
}

Deno.test("inclusionProblem() names the rule an unincludable transaction breaks", async () => {
  const { overlay, ctx } = await setup();
  const reason = (t: Parameters<typeof inclusionProblem>[1]): string | undefined =>
    inclusionProblem(overlay, t, CHAIN_ID, ctx.params)?.reason;
  assert.equal(reason(transfer(ALICE, 0, BOB, 1n)), undefined);
  assert.equal(
    reason(tx(ALICE, 0, { kind: "transfer", to: BOB.address, amount: 1n }, 10n, "other-chain")),
    "WRONG_CHAIN",
  );
  assert.equal(reason(transfer(ALICE, 0, BOB, 1n, 0n)), "FEE_TOO_LOW");
  assert.equal(reason(transfer(ALICE, 1, BOB, 1n)), "BAD_NONCE");
  // BOB holds 500: a fee above the balance cannot be paid.
  assert.equal(reason(transfer(BOB, 0, ALICE, 1n, 501n)), "INSUFFICIENT_FUNDS");
});

Deno.test("applyTransaction() moves the amount, pays the fee to the proposer and bumps the nonce", async () => {
  const { overlay, ctx } = await setup();
  const before = { alice: overlay.account(ALICE.address), bob: overlay.account(BOB.address) };
  const receipt = applyTransaction(overlay, transfer(ALICE, 0, BOB, 100n, 7n), ctx);
  assert.deepEqual(receipt, { status: 0, reason: "", feePaid: 7n });
  assert.equal(overlay.account(ALICE.address).balance, before.alice.balance - 107n);
  assert.equal(overlay.account(ALICE.address).nonce, before.alice.nonce + 1n);
  assert.equal(overlay.account(BOB.address).balance, before.bob.balance + 100n);
  assert.equal(overlay.account(ctx.proposer).balance, 7n);
});

Deno.test("applyTransaction() records a failed body in the receipt, keeps the fee and nonce, reverts the rest", async () => {
  const { overlay, ctx } = await setup();
  // BOB can pay the fee (10 of 500) but not the amount.
  const receipt = applyTransaction(overlay, transfer(BOB, 0, ALICE, 10_000n), ctx);
  assert.equal(receipt.reason, "INSUFFICIENT_FUNDS");
  assert.notEqual(receipt.status, 0);
  assert.equal(receipt.feePaid, 10n);
  assert.equal(overlay.account(BOB.address).balance, 490n);
  assert.equal(overlay.account(BOB.address).nonce, 1n);
  assert.equal(overlay.account(ALICE.address).balance, 1_000_000n);
});

Deno.test("applyTransaction() throws for an unincludable transaction and changes nothing", async () => {
  const { overlay, ctx } = await setup();
  assert.throws(
    () => applyTransaction(overlay, transfer(ALICE, 5, BOB, 1n), ctx),
    (e: unknown) => e instanceof ChainError && e.reason === "BAD_NONCE",
  );
  assert.equal(overlay.changes().size, 0);
});

Deno.test("applyTransaction() is deterministic: the same transactions give the same changes", async () => {
  const a = await setup();
  const b = await setup();
  const txs = [transfer(ALICE, 0, BOB, 3n), transfer(BOB, 0, ALICE, 1n), transfer(ALICE, 1, BOB, 2n, 11n)];
  for (const t of txs) {
    assert.deepEqual(applyTransaction(a.overlay, t, a.ctx), applyTransaction(b.overlay, t, b.ctx));
  }
  assert.deepEqual([...a.overlay.changes()].sort(), [...b.overlay.changes()].sort());
});

Deno.test("StateOverlay.writeBytes matches storageCost over any sequence of writes, checkpoints and reverts", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant("set" as const),
            key: fc.constantFrom("a", "acct/ff", "name/é.ghost", "store/01/02"),
            len: fc.option(fc.nat(40), { nil: null }),
          }),
          fc.record({ op: fc.constantFrom("checkpoint" as const, "commit" as const, "revert" as const) }),
        ),
        { maxLength: 60 },
      ),
      (ops) => {
        const o = new StateOverlay(new ChainState());
        let depth = 0;
        for (const x of ops) {
          if (x.op === "set") o.set(x.key, x.len === null ? null : new Uint8Array(x.len));
          else if (x.op === "checkpoint") (o.checkpoint(), depth++);
          else if (depth > 0) (x.op === "commit" ? o.commitCheckpoint() : o.revertCheckpoint(), depth--);
          const full = storageCost(o.changes(), 3, 1000, 10);
          assert.deepEqual(storageCostOf(o.writeCount, o.writeBytes, 3, 1000, 10), full);
        }
      },
    ),
    { numRuns: 500 },
  );
});
