// Validator set changes by transaction (from the admin only, effective two heights later) and equivocation
// evidence recorded in blocks (checked, stored under the state root, the validator removed two heights later,
// a second copy refused).
import assert from "node:assert/strict";
import { blake3 } from "../crypto/mod.ts";
import { decodeBlock, encodeBlock, votePayload } from "./block.ts";
import type { CheckedEvidence } from "./block_producer.ts";
import { PREVOTE, type Vote } from "./consensus.ts";
import { encodeEvidence, type Evidence } from "./consensus_codec.ts";
import { ChainError } from "./errors.ts";
import { decodeReceipt } from "./receipt.ts";
import { ChainNode } from "./node.ts";
import { MemoryChainStore } from "./chain_store.ts";
import { evidenceKey, readValidators } from "./state.ts";
import { signTransaction } from "./transaction.ts";
import { ed25519Sign } from "../crypto/mod.ts";
import { signVote } from "./block.ts";
import { ALICE, BOB, CHAIN_ID, testGenesis, testKey, VALIDATOR, verifyAll } from "./_test_util.ts";

const CAROL = testKey(7);

async function adminNode(validators: Array<{ publicKey: string; power?: number }> | undefined = undefined) {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  let t = 10_000;
  return await ChainNode.open({
    store: new MemoryChainStore(),
    genesis: testGenesis({
      params: {
        minCommitAge: 2,
        maxCommitAge: 20,
        gracePeriod: 5,
        minNameDuration: 10,
        maxNameDuration: 1000,
        validatorAdmin: ALICE.bech32,
      },
      ...(validators ? { validators } : { validators: [{ publicKey: hex(VALIDATOR.pub) }] }),
    }),
    verify: verifyAll,
    now: () => t++,
    schedule: (fn) => queueMicrotask(fn),
    validatorKey: VALIDATOR.secret,
  });
}

/** Builds, signs (the one validator's precommit) and commits the next block. */
async function next(node: ChainNode, evidence: readonly CheckedEvidence[] = []): Promise<void> {
  const b = decodeBlock(await node.buildProposal(0, evidence));
  const commit = {
    round: 0,
    blockHash: b.hash,
    signatures: [{ validator: VALIDATOR.pub, signature: signVote(b.header, b.hash, VALIDATOR.secret) }],
  };
  await node.commitDecided(encodeBlock(b.header, b.transactions, commit, b.evidence));
}

function update(from: typeof ALICE, nonce: number, who: Uint8Array, power: bigint) {
  return signTransaction({
    chainId: CHAIN_ID,
    nonce: BigInt(nonce),
    fee: 10n,
    sender: from.pub,
    body: { kind: "validator_update", publicKey: who, power },
  }, from.secret);
}

Deno.test("validator_update: the admin adds a validator, effective at the height after next; others are refused", async () => {
  const node = await adminNode();
  await node.submit(update(ALICE, 0, CAROL.pub, 5n).bytes);
  await node.submit(update(BOB, 0, BOB.pub, 9n).bytes);
  await next(node); // height 1 carries both
  assert.equal(readValidators(node.state).length, 1, "not yet at height 2");
  const bobTx = await node.getTx(update(BOB, 0, BOB.pub, 9n).hash);
  assert.ok(bobTx);
  const bob = decodeReceipt(bobTx.receipt);
  assert.equal(bob.reason, "NOT_ADMIN");
  assert.equal(bob.status, 7); // PERMISSION_DENIED; the fee is paid, the set unchanged
  await next(node); // height 2: the set for height 3 now includes CAROL
  const set = readValidators(node.state);
  assert.equal(set.length, 2);
  assert.deepEqual(set[1]?.publicKey, CAROL.pub);
  assert.equal(set[1]?.power, 5n);
  // A one-validator commit no longer carries 2/3 of the power (1 of 6): height 3 cannot commit with it.
  await assert.rejects(
    next(node),
    (e: unknown) => e instanceof ChainError && /2\/3 of the voting power/.test(e.message),
  );
});

Deno.test("evidence: a block records an equivocation, the validator leaves two heights later, a copy is left out, a forgery refused", async () => {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  // VALIDATOR holds 10 of 11: it alone commits; CAROL (power 1) equivocates.
  const node = await adminNode([{ publicKey: hex(VALIDATOR.pub), power: 10 }, {
    publicKey: hex(CAROL.pub),
    power: 1,
  }]);
  await next(node);
  const vote = (hash: Uint8Array): Vote => ({
    type: PREVOTE,
    height: 1,
    round: 0,
    blockHash: hash,
    validator: CAROL.pub,
    signature: ed25519Sign(CAROL.secret, votePayload(CHAIN_ID, 1, 0, hash, PREVOTE)),
  });
  const ev: Evidence = {
    first: vote(blake3(new Uint8Array([1]))),
    second: vote(blake3(new Uint8Array([2]))),
  };
  const checked = { evidence: ev, bytes: encodeEvidence(ev) };
  await next(node, [checked]); // height 2 records it
  assert.ok(node.state.get(evidenceKey(CAROL.pub, 1, 0, PREVOTE)));
  assert.equal(readValidators(node.state).length, 2);
  await next(node); // height 3: the set for height 4 drops CAROL
  assert.equal(readValidators(node.state).length, 1);
  // The producer leaves out what is already on chain...
  const b = decodeBlock(await node.buildProposal(0, [checked]));
  assert.equal(b.evidence.length, 0);
  // ...and a follower refuses a block that records it again, or a forged signature.
  const f = await adminNode([{ publicKey: hex(VALIDATOR.pub), power: 10 }, {
    publicKey: hex(CAROL.pub),
    power: 1,
  }]);
  for (let h = 1; h <= 3; h++) {
    const bytes = await node.getBlock(h);
    assert.ok(bytes);
    await f.applyBlock(bytes);
  }
  assert.deepEqual(f.state.root(), node.state.root());
  // A block whose evidence carries a forged signature is refused by every other node.
  const forged = { ...ev, second: { ...ev.second, signature: new Uint8Array(64).fill(1) } };
  const set = [{ publicKey: hex(VALIDATOR.pub), power: 10 }, { publicKey: hex(CAROL.pub), power: 1 }];
  const [p2, f2] = [await adminNode(set), await adminNode(set)];
  await next(p2);
  await next(p2, [{ evidence: forged, bytes: encodeEvidence(forged) }]);
  await f2.applyBlock((await p2.getBlock(1)) ?? new Uint8Array(0));
  await assert.rejects(f2.applyBlock((await p2.getBlock(2)) ?? new Uint8Array(0)), /bad evidence signature/);
});
