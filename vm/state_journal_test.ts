import assert from "node:assert/strict";
import { MemoryState } from "./memory_state.ts";
import { StateJournal } from "./state_journal.ts";

const A = new Uint8Array(20).fill(1);
const B = new Uint8Array(20).fill(2);
const k = (s: string) => new TextEncoder().encode(s);

Deno.test("StateJournal.revert() undoes nested writes, transfers and events back to each checkpoint", () => {
  const base = new MemoryState();
  base.setStorage(A, k("x"), k("0"));
  base.setBalance(A, 100n);
  const j = new StateJournal(base);
  j.set(A, k("x"), k("1"));
  const outer = j.checkpoint();
  j.set(A, k("x"), k("2"));
  j.set(A, k("y"), k("new"));
  assert.ok(j.transfer(A, B, 30n));
  const inner = j.checkpoint();
  j.set(A, k("x"), undefined);
  j.emit({ contract: A, topic: k("t"), data: k("d") });
  assert.equal(j.get(A, k("x")), undefined);
  j.revert(inner);
  assert.deepEqual(j.get(A, k("x")), k("2"));
  assert.equal(j.events.length, 0);
  j.revert(outer);
  assert.deepEqual(j.get(A, k("x")), k("1"));
  assert.equal(j.get(A, k("y")), undefined);
  assert.equal(j.balance(A), 100n);
  assert.equal(j.balance(B), 0n);
  assert.equal(j.transfers.length, 0);
  assert.deepEqual(j.storageChanges().map((c) => c.value), [k("1")]);
  assert.equal(base.storageGet(A, k("x"))?.[0], 0x30); // the base is never written
});

Deno.test("StateJournal.transfer() refuses short balances and u64 overflow without changes", () => {
  const base = new MemoryState();
  base.setBalance(A, 10n);
  base.setBalance(B, (1n << 64n) - 6n);
  const j = new StateJournal(base);
  assert.equal(j.transfer(A, B, 11n), false);
  assert.equal(j.transfer(A, B, 6n), false);
  assert.equal(j.transfer(A, B, 5n), true);
  assert.equal(j.balance(A), 5n);
  assert.deepEqual(j.balanceChanges().map((b) => b.balance), [5n, (1n << 64n) - 1n]);
});
