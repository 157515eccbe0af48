import assert from "node:assert/strict";
import { blockHash, decodeBlock, encodeBlock, signVote } from "./block.ts";
import { MemoryChainStore } from "./chain_store.ts";
import { ChainError } from "./errors.ts";
import { decodeReceipt } from "./execute.ts";
import { nameCommitment } from "./names.ts";
import { ChainNode } from "./node.ts";
import { decodeNameEntry, nameKey, readAccount } from "./state.ts";
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
import { encodeSignedTransaction } from "./transaction.ts";

async function rejects(p: Promise<unknown>, reason: string): Promise<ChainError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ChainError, String(e));
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected ${reason}`);
}

Deno.test("ChainNode commits transfers and a follower re-executes to the same state", async () => {
  const v = await testNode();
  const f = await testNode({ validator: false });
  assert.deepEqual(v.genesisHash, f.genesisHash);
  for (let i = 0; i < 5; i++) await v.submit(transfer(ALICE, i, BOB, 100n).bytes);
  const b1 = await v.produceBlock();
  assert.ok(b1 !== null);
  assert.equal(b1.transactions.length, 5);
  assert.equal(readAccount(v.state, BOB.address).balance, 1000n);
  // fees go to the proposer
  assert.equal(readAccount(v.state, VALIDATOR.address).balance, 50n);
  await f.applyBlock(b1.bytes);
  assert.deepEqual(f.state.root(), v.state.root());
  assert.equal(f.height, 1);
  const loc = await v.getTx(transfer(ALICE, 0, BOB, 100n).hash);
  assert.ok(loc !== undefined);
  assert.equal(decodeReceipt(loc.receipt).status, 0);
  // idempotent re-apply
  await f.applyBlock(b1.bytes);
  assert.equal(await v.produceBlock(), null, "no empty blocks by default");
});

Deno.test("ChainNode.submit() refuses bad signatures, wrong chain, replays and duplicates with reasons", async () => {
  const v = await testNode();
  const good = transfer(ALICE, 0, BOB, 1n);
  const badSig = new Uint8Array(good.signature);
  badSig[0] = (badSig[0] ?? 0) ^ 1;
  await rejects(v.submit(encodeSignedTransaction(good.bodyBytes, badSig)), "BAD_SIGNATURE");
  await rejects(
    v.submit(tx(ALICE, 0, { kind: "transfer", to: BOB.address, amount: 1n }, 10n, "other").bytes),
    "WRONG_CHAIN",
  );
  await rejects(v.submit(new Uint8Array([1, 2, 3])), "MALFORMED");
  await v.submit(good.bytes);
  await rejects(v.submit(good.bytes), "DUPLICATE");
  await rejects(v.submit(transfer(ALICE, 0, BOB, 2n).bytes), "NONCE_PENDING");
  await v.produceBlock();
  await rejects(v.submit(transfer(ALICE, 0, BOB, 3n).bytes), "BAD_NONCE");
  await rejects(v.submit(transfer(BOB, 0, ALICE, 10_000n).bytes), "INSUFFICIENT_FUNDS");
  await rejects(v.submit(transfer(ALICE, 1, BOB, 1n, 0n).bytes), "FEE_TOO_LOW");
  await rejects(
    v.submit(tx(ALICE, 1, { kind: "contract_deploy", code: new Uint8Array([0]), gasLimit: 0n }).bytes),
    "BAD_AMOUNT",
  );
  await rejects(v.submit(transfer(ALICE, 500, BOB, 1n).bytes), "NONCE_TOO_HIGH");
});

Deno.test("mempool orders by fee, then nonce per sender, and evicts the lowest fee when full", async () => {
  const v = await ChainNode.open({
    store: new MemoryChainStore(),
    genesis: testGenesis({
      accounts: [ALICE, BOB, testKey(4)].map((k) => ({ address: k.bech32, balance: "100000" })),
    }),
    verify: verifyAll,
    now: () => 50_000,
    schedule: queueMicrotask,
    validatorKey: VALIDATOR.secret,
    mempool: { maxCount: 3 },
  });
  const C = testKey(4);
  await v.submit(transfer(ALICE, 0, BOB, 1n, 5n).bytes);
  await v.submit(transfer(ALICE, 1, BOB, 1n, 50n).bytes);
  await v.submit(transfer(BOB, 0, ALICE, 1n, 20n).bytes);
  await rejects(v.submit(transfer(C, 0, ALICE, 1n, 1n).bytes), "MEMPOOL_FULL");
  // Tails are ALICE#1 (fee 50) and BOB#0 (fee 20): BOB#0 is evicted.
  await v.submit(transfer(C, 0, ALICE, 1n, 100n).bytes);
  assert.equal(v.mempool.size, 3);
  const sel = v.mempool.selector(v.state);
  const order = [sel.next(), sel.next(), sel.next()].map((t) => t?.tx.fee);
  // C#0 (100) first; ALICE#0 (5) must precede ALICE#1 (50).
  assert.deepEqual(order, [100n, 5n, 50n]);
});

Deno.test("name registration: commit-reveal windows, taken, owner checks, expiry and grace", async () => {
  const clock = { t: 10_000 };
  const v = await testNode({ clock });
  const secret = new Uint8Array(32).fill(9);
  const name = "alice.ghost";
  let na = 0, nb = 0;
  const send = async (t: ReturnType<typeof tx>) => {
    await v.submit(t.bytes);
    const b = await v.produceBlock();
    assert.ok(b !== null);
    const loc = await v.getTx(t.hash);
    assert.ok(loc);
    return decodeReceipt(loc.receipt);
  };
  assert.equal(
    (await send(
      tx(ALICE, na++, { kind: "name_commit", commitment: nameCommitment(name, ALICE.address, secret) }),
    )).status,
    0,
  );
  const reg = {
    kind: "name_register" as const,
    name,
    secret,
    durationBlocks: 10n,
    records: { aaaa: [new Uint8Array(16)], a: [], txt: ["hi"], cname: "", mx: [], srv: [] },
    znsContract: new Uint8Array(0),
  };
  assert.equal((await send(tx(ALICE, na++, reg))).reason, "COMMITMENT_TOO_NEW");
  assert.equal((await send(tx(ALICE, na++, reg))).status, 0);
  const entry = decodeNameEntry(v.state.get(nameKey(name)) as Uint8Array);
  assert.deepEqual(entry.owner, ALICE.address);
  assert.deepEqual(v.state.namesOf(ALICE.address), ["alice.ghost", "dev.ghost"]);
  // Bob cannot register it (needs his own commitment; even with one, it is taken)
  assert.equal((await send(tx(BOB, nb++, { ...reg }))).reason, "COMMITMENT_NOT_FOUND");
  assert.equal(
    (await send(
      tx(BOB, nb++, { kind: "name_update", name, records: reg.records, znsContract: new Uint8Array(0) }),
    )).reason,
    "NOT_OWNER",
  );
  assert.equal((await send(tx(ALICE, na++, { ...reg, name: "ab.ghost" }))).reason, "NAME_RESERVED");
  assert.equal((await send(tx(ALICE, na++, { ...reg, name: "wallet.ghost" }))).reason, "NAME_RESERVED");
  assert.equal(
    (await send(tx(ALICE, na++, { kind: "name_transfer", name, newOwner: BOB.address }))).status,
    0,
  );
  assert.deepEqual(v.state.namesOf(BOB.address), ["alice.ghost"]);
  // Run past expiry (registered at height 3 for 10 blocks -> expiry 13), then into grace.
  while (v.height < 14) await send(tx(ALICE, na++, { kind: "transfer", to: BOB.address, amount: 1n }));
  assert.equal(
    (await send(
      tx(BOB, nb++, { kind: "name_update", name, records: reg.records, znsContract: new Uint8Array(0) }),
    )).reason,
    "NAME_EXPIRED",
  );
  assert.equal(
    (await send(tx(ALICE, na++, { kind: "name_renew", name, durationBlocks: 10n }))).status,
    0,
    "anyone may renew in grace",
  );
  // Too-old commitment
  const c2 = nameCommitment("late.ghost", ALICE.address, secret);
  await send(tx(ALICE, na++, { kind: "name_commit", commitment: c2 }));
  while (v.height < 40) await send(tx(ALICE, na++, { kind: "transfer", to: BOB.address, amount: 1n }));
  assert.equal((await send(tx(ALICE, na++, { ...reg, name: "late.ghost" }))).reason, "COMMITMENT_TOO_OLD");
});

Deno.test("applyBlock() refuses bad signature, state root, proposer and parent", async () => {
  const v = await testNode();
  const f = await testNode({ validator: false });
  await v.submit(transfer(ALICE, 0, BOB, 5n).bytes);
  const b = await v.produceBlock();
  assert.ok(b);
  const reseal = (header: typeof b.header, txs = b.transactions, key = VALIDATOR.secret) => {
    const hash = blockHash(header);
    return encodeBlock(header, txs, {
      round: 0,
      blockHash: hash,
      signatures: [{ validator: header.proposer, signature: signVote(header, hash, key) }],
    });
  };
  await rejects(f.applyBlock(reseal({ ...b.header, stateRoot: new Uint8Array(32) })), "BAD_BLOCK");
  await rejects(f.applyBlock(reseal({ ...b.header, parentHash: new Uint8Array(32).fill(1) })), "BAD_BLOCK");
  const mallory = testKey(66);
  await rejects(
    f.applyBlock(reseal({ ...b.header, proposer: mallory.pub }, b.transactions, mallory.secret)),
    "BAD_BLOCK",
  );
  const badCommit = encodeBlock(b.header, b.transactions, {
    ...b.commit,
    signatures: [{ validator: VALIDATOR.pub, signature: new Uint8Array(64).fill(3) }],
  });
  await rejects(f.applyBlock(badCommit), "BAD_BLOCK");
  // A transaction with a broken signature inside a correctly sealed block
  const t = decodeBlock(b.bytes).transactions[0] as Uint8Array;
  const broken = t.slice();
  broken[broken.length - 1] = (broken[broken.length - 1] ?? 0) ^ 1;
  const e = await rejects(f.applyBlock(reseal(b.header, [broken])), "BAD_BLOCK");
  assert.match(e.message, /transactions root|signature/);
  assert.equal(f.height, 0);
  await f.applyBlock(b.bytes);
  assert.deepEqual(f.state.root(), v.state.root());
});

Deno.test("ChainNode.open() reloads state from the store and refuses another genesis", async () => {
  const store = new MemoryChainStore();
  const opts = {
    store,
    genesis: testGenesis(),
    verify: verifyAll,
    now: () => 99_000,
    schedule: queueMicrotask,
    validatorKey: VALIDATOR.secret,
  };
  const v = await ChainNode.open(opts);
  await v.submit(transfer(ALICE, 0, BOB, 5n).bytes);
  await v.produceBlock();
  const again = await ChainNode.open(opts);
  assert.equal(again.height, 1);
  assert.deepEqual(again.state.root(), v.state.root());
  await rejects(ChainNode.open({ ...opts, genesis: testGenesis({ chainId: "other-chain" }) }), "GENESIS");
});
