import assert from "node:assert/strict";
import { readBuilt } from "../vm/sdk/build.ts";
import { ALICE, BOB, testNode, tx, VALIDATOR } from "./_test_util.ts";
import { codeKey, contractAddress, GAS_PER_UNIT, storageKey } from "./contracts.ts";
import { decodeReceipt, type Receipt } from "./execute.ts";
import type { ChainNode } from "./node.ts";
import { readAccount } from "./state.ts";
import type { TxBody } from "./transaction.ts";

const COUNTER = readBuilt("counter");
const TOKEN = readBuilt("token");
const enc = new TextEncoder();

function u64le(v: bigint): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

/** Submits one transaction, produces its block, returns its receipt. */
async function run(v: ChainNode, nonce: number, body: TxBody): Promise<Receipt> {
  const t = tx(ALICE, nonce, body);
  await v.submit(t.bytes);
  assert.ok(await v.produceBlock());
  const loc = await v.getTx(t.hash);
  assert.ok(loc);
  return decodeReceipt(loc.receipt);
}

const call = (
  contract: Uint8Array,
  method: string,
  data = new Uint8Array(0),
  gasLimit = 1_000_000n,
): TxBody => ({
  kind: "contract_call",
  contract,
  method,
  data,
  gasLimit,
  value: 0n,
});

Deno.test("a deployed counter runs through transactions; events and return data land in receipts", async () => {
  const v = await testNode();
  const f = await testNode({ validator: false });
  const deployed = await run(v, 0, { kind: "contract_deploy", code: COUNTER, gasLimit: 2_000_000n });
  assert.equal(deployed.status, 0, deployed.reason);
  const addr = contractAddress(ALICE.address, 0n);
  assert.deepEqual(deployed.contract, addr);
  assert.deepEqual(v.state.get(codeKey(addr)), COUNTER);
  const inc = await run(v, 1, call(addr, "increment"));
  assert.equal(inc.status, 0, inc.reason);
  assert.equal(inc.events?.length, 1);
  assert.equal(new TextDecoder().decode(inc.events?.[0]?.topic), "Incremented");
  assert.ok((inc.gasUsed ?? 0n) > 0n);
  assert.equal(inc.feePaid, 10n + ((inc.gasUsed ?? 0n) + GAS_PER_UNIT - 1n) / GAS_PER_UNIT);
  await run(v, 2, call(addr, "increment"));
  const got = await run(v, 3, call(addr, "get"));
  assert.deepEqual(got.returnData, u64le(2n));
  // The same call twice uses exactly the same gas.
  const again = await run(v, 4, call(addr, "get"));
  assert.equal(again.gasUsed, got.gasUsed);
  // A follower re-executing every block reaches the same state root.
  for (let h = 1; h <= v.height; h++) {
    const b = await v.getBlock(h);
    assert.ok(b);
    await f.applyBlock(b);
  }
  assert.deepEqual(f.state.root(), v.state.root());
});

Deno.test("a reverted or out-of-gas call pays its gas and changes nothing else", async () => {
  const v = await testNode();
  await run(v, 0, { kind: "contract_deploy", code: TOKEN, gasLimit: 2_000_000n });
  const token = contractAddress(ALICE.address, 0n);
  const init = await run(v, 1, call(token, "init", u64le(1000n)));
  assert.equal(init.status, 0, init.reason);
  const supplyKey = storageKey(token, enc.encode("supply"));
  const supply = v.state.get(supplyKey);
  assert.ok(supply);
  const rootBefore = v.state.root();
  const balanceBefore = readAccount(v.state, ALICE.address).balance;
  const proposerBefore = readAccount(v.state, VALIDATOR.address).balance;
  // init again: the contract reverts "already initialised".
  const again = await run(v, 2, call(token, "init", u64le(5n)));
  assert.equal(again.reason, "REVERTED");
  assert.equal(again.events, undefined);
  assert.deepEqual(v.state.get(supplyKey), supply);
  const paid = balanceBefore - readAccount(v.state, ALICE.address).balance;
  assert.equal(paid, again.feePaid);
  assert.equal(readAccount(v.state, VALIDATOR.address).balance - proposerBefore, again.feePaid);
  assert.notDeepEqual(v.state.root(), rootBefore, "only the fee moved: balances and nonce");
  // Out of gas at exactly the limit, the same on every run.
  const starved = await run(
    v,
    3,
    call(token, "transfer", new Uint8Array([...BOB.address, ...u64le(1n)]), 500n),
  );
  assert.equal(starved.reason, "OUT_OF_GAS");
  assert.equal(starved.gasUsed, 500n);
  assert.deepEqual(v.state.get(supplyKey), supply);
  // A method that does not exist, a contract that does not exist, and junk code.
  assert.equal((await run(v, 4, call(token, "nope"))).reason, "NO_METHOD");
  assert.equal((await run(v, 5, call(new Uint8Array(20).fill(9), "get"))).reason, "NO_CONTRACT");
  const junk = await run(v, 6, {
    kind: "contract_deploy",
    code: new Uint8Array([0, 97, 115, 109]),
    gasLimit: 2_000_000n,
  });
  assert.equal(junk.reason, "BAD_CONTRACT");
  assert.equal(v.state.get(codeKey(contractAddress(ALICE.address, 6n))), undefined);
});
