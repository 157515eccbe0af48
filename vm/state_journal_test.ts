import assert from "node:assert/strict";
import { MemoryState } from "./memory_state.ts";
import { type Checkpoint, type StateAccess, StateJournal } from "./state_journal.ts";

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

Deno.test("StateJournal: random writes, checkpoints and reverts over several contracts match a copy-on-checkpoint model", () => {
  let seed = 0x9e3779b9;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const contracts = [1, 2, 3].map((b) => new Uint8Array(32).fill(b));
  const keys = [0, 1, 2, 3, 4].map((k) => new Uint8Array([k, 0x80 + k]));
  const empty: StateAccess = { storageGet: () => undefined, balanceOf: () => 0n, codeOf: () => undefined };
  for (let round = 0; round < 200; round++) {
    const j = new StateJournal(empty);
    // The model: written slots in first-write order, copied whole at every checkpoint.
    let model: [string, number | undefined][] = [];
    const stack: [Checkpoint, [string, number | undefined][]][] = [];
    for (let step = 0; step < 40; step++) {
      const op = rand(10);
      if (op < 6) {
        const c = rand(3), k = rand(5);
        const v = rand(4) === 0 ? undefined : rand(256);
        // A fresh array for the same contract bytes half the time: the journal must not rely on identity.
        const contract = rand(2) === 0 ? contracts[c] as Uint8Array : new Uint8Array(32).fill(c + 1);
        j.set(contract, keys[k] as Uint8Array, v === undefined ? undefined : new Uint8Array([v]));
        const id = `${c}/${k}`;
        const at = model.findIndex(([i]) => i === id);
        if (at >= 0) model[at] = [id, v];
        else model.push([id, v]);
      } else if (op < 8) {
        stack.push([j.checkpoint(), model.map((e) => [...e])]);
      } else if (stack.length > 0) {
        // Reverting to a checkpoint drops the checkpoints taken after it.
        const [cp, saved] = stack.splice(rand(stack.length))[0] as [
          Checkpoint,
          [string, number | undefined][],
        ];
        j.revert(cp);
        model = saved;
      }
      const got = j.storageChanges().map((
        s,
      ) => [`${(s.contract[0] as number) - 1}/${s.key[0]}`, s.value?.[0]]);
      assert.deepEqual(got, model, `round ${round} step ${step}`);
      for (const [id, v] of model) {
        const [c, k] = id.split("/").map(Number) as [number, number];
        assert.equal(j.get(contracts[c] as Uint8Array, keys[k] as Uint8Array)?.[0], v);
      }
    }
  }
});
