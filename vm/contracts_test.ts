import assert from "node:assert/strict";
import { ADDRESS_LENGTH } from "./execute.ts";
import { VmError } from "./errors.ts";
import { createInstance, destroyInstance, executeFunction, getState, setState } from "./instance.ts";
import { buildContract, CONTRACTS, readBuilt } from "./sdk/build.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ALICE = new Uint8Array(ADDRESS_LENGTH).fill(0xa1);
const BOB = new Uint8Array(ADDRESS_LENGTH).fill(0xb0);
const CAROL = new Uint8Array(ADDRESS_LENGTH).fill(0xc0);

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}
function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
}
function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

Deno.test("the committed example contracts rebuild to the same bytes", async () => {
  for (const name of CONTRACTS) assert.deepEqual(await buildContract(name), readBuilt(name), name);
});

Deno.test("counter: increments, uses the same gas every time, and exposes its state through getState/setState", async () => {
  const c = await createInstance(readBuilt("counter"));
  const first = executeFunction(c, "increment");
  assert.equal(first.status, "ok");
  assert.equal(readU64(first.returnData), 1n);
  const second = executeFunction(c, "increment");
  assert.equal(readU64(second.returnData), 2n);
  assert.equal(executeFunction(c, "increment").gasUsed, second.gasUsed);
  assert.equal(readU64(getState(c, enc.encode("count")) ?? new Uint8Array(8)), 3n);
  setState(c, enc.encode("count"), u64(41n));
  assert.equal(readU64(executeFunction(c, "add", u64(1n)).returnData), 42n);
  const broke = executeFunction(c, "add", new Uint8Array(3));
  assert.equal(broke.status, "revert");
  assert.equal(dec.decode(broke.returnData), "input too short");
  const starved = executeFunction(c, "increment", new Uint8Array(), { gasLimit: 1000 });
  assert.equal(starved.status, "out_of_gas");
  assert.equal(readU64(getState(c, enc.encode("count")) ?? new Uint8Array(8)), 42n);
  destroyInstance(c);
  assert.throws(() => executeFunction(c, "get"), (e) => e instanceof VmError && e.code === "NO_INSTANCE");
});

Deno.test("token: init, transfer, allowance and transferFrom; failures change nothing", async () => {
  const t = await createInstance(readBuilt("token"));
  const call = (m: string, caller: Uint8Array, input: Uint8Array = new Uint8Array()) =>
    executeFunction(t, m, input, { caller });
  assert.equal(call("init", ALICE, u64(1000n)).status, "ok");
  assert.equal(call("init", ALICE, u64(5n)).status, "revert");
  const tr = call("transfer", ALICE, cat(BOB, u64(300n)));
  assert.equal(tr.status, "ok");
  assert.equal(tr.events.length, 1);
  assert.equal(dec.decode(tr.events[0]?.topic), "Transfer");
  assert.equal(readU64(call("balanceOf", ALICE, ALICE).returnData), 700n);
  assert.equal(readU64(call("balanceOf", ALICE, BOB).returnData), 300n);
  const over = call("transfer", BOB, cat(CAROL, u64(301n)));
  assert.equal(over.status, "revert");
  assert.equal(dec.decode(over.returnData), "insufficient balance");
  assert.equal(call("approve", ALICE, cat(BOB, u64(100n))).status, "ok");
  assert.equal(readU64(call("allowance", CAROL, cat(ALICE, BOB)).returnData), 100n);
  assert.equal(call("transferFrom", BOB, cat(ALICE, CAROL, u64(150n))).status, "revert");
  assert.equal(call("transferFrom", BOB, cat(ALICE, CAROL, u64(60n))).status, "ok");
  assert.equal(readU64(call("allowance", CAROL, cat(ALICE, BOB)).returnData), 40n);
  assert.equal(readU64(call("balanceOf", CAROL, CAROL).returnData), 60n);
  assert.equal(readU64(call("totalSupply", CAROL).returnData), 1000n);
});

Deno.test("registrar: register, resolve, records, transfers, owner checks and expiry by block height", async () => {
  const r = await createInstance(readBuilt("registrar"));
  const name = enc.encode("ghost");
  const at = (m: string, caller: Uint8Array, input: Uint8Array, blockHeight = 10n) =>
    executeFunction(r, m, input, { caller, blockHeight });
  const reg = at("register", ALICE, name);
  assert.equal(reg.status, "ok");
  assert.equal(readU64(reg.returnData), 1_000_010n);
  assert.equal(at("register", BOB, name).status, "revert");
  assert.equal(dec.decode(at("register", BOB, enc.encode("Bad_Name")).returnData), "invalid name");
  assert.equal(dec.decode(at("register", BOB, enc.encode("-x")).returnData), "invalid name");
  const field = cat(new Uint8Array([5, 0, 0, 0]), name);
  assert.equal(at("setRecord", BOB, cat(field, enc.encode("2001:db8::1"))).status, "revert");
  assert.equal(at("setRecord", ALICE, cat(field, enc.encode("2001:db8::1"))).status, "ok");
  const res = at("resolve", CAROL, name);
  assert.deepEqual(res.returnData.subarray(0, 20), ALICE);
  assert.equal(dec.decode(res.returnData.subarray(28)), "2001:db8::1");
  assert.equal(at("transferName", ALICE, cat(field, BOB)).status, "ok");
  assert.deepEqual(at("resolve", CAROL, name).returnData.subarray(0, 20), BOB);
  assert.equal(at("resolve", CAROL, name, 2_000_000n).status, "revert"); // expired
  assert.equal(at("register", CAROL, name, 2_000_000n).status, "ok");
});
