/**
 * {@linkcode MemoryState}: an in-memory {@linkcode StateAccess} with contract code, storage and balances, and
 * {@linkcode MemoryState.apply} to commit an {@linkcode ExecutionResult}. It backs the instance API, tests,
 * benches and the worker backstop (where it is sent as a {@linkcode MemoryStateSnapshot}).
 *
 * @module
 */

import type { ExecutionResult } from "./execute.ts";
import { bytesKey, type StateAccess } from "./state_journal.ts";

/** Plain-data copy of a {@linkcode MemoryState}, structured-clone friendly. */
export interface MemoryStateSnapshot {
  readonly storage: readonly (readonly [Uint8Array, Uint8Array, Uint8Array])[];
  readonly balances: readonly (readonly [Uint8Array, bigint])[];
  readonly codes: readonly (readonly [Uint8Array, Uint8Array])[];
}

/** In-memory chain state. */
export class MemoryState implements StateAccess {
  /** Storage per contract (by contract bytes, then by key bytes). */
  readonly #storage = new Map<
    string,
    Map<string, { contract: Uint8Array; key: Uint8Array; value: Uint8Array }>
  >();
  #storageSize = 0;
  readonly #balances = new Map<string, { account: Uint8Array; balance: bigint }>();
  readonly #codes = new Map<string, { contract: Uint8Array; code: Uint8Array }>();

  /** Rebuilds a state from a snapshot. */
  static fromSnapshot(s: MemoryStateSnapshot): MemoryState {
    const st = new MemoryState();
    for (const [c, k, v] of s.storage) st.setStorage(c, k, v);
    for (const [a, b] of s.balances) st.setBalance(a, b);
    for (const [c, code] of s.codes) st.deploy(c, code);
    return st;
  }

  /** A plain-data copy. */
  snapshot(): MemoryStateSnapshot {
    return {
      storage: [...this.#storage.values()].flatMap((m) =>
        [...m.values()].map((e) => [e.contract, e.key, e.value] as const)
      ),
      balances: [...this.#balances.values()].map((e) => [e.account, e.balance] as const),
      codes: [...this.#codes.values()].map((e) => [e.contract, e.code] as const),
    };
  }

  storageGet(contract: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    return this.#storage.get(bytesKey(contract))?.get(bytesKey(key))?.value;
  }

  balanceOf(account: Uint8Array): bigint {
    return this.#balances.get(bytesKey(account))?.balance ?? 0n;
  }

  codeOf(contract: Uint8Array): Uint8Array | undefined {
    return this.#codes.get(bytesKey(contract))?.code;
  }

  /** Sets (or with `undefined`, removes) a storage value. */
  setStorage(contract: Uint8Array, key: Uint8Array, value: Uint8Array | undefined): void {
    const cid = bytesKey(contract);
    let slots = this.#storage.get(cid);
    if (slots === undefined) {
      if (value === undefined) return;
      slots = new Map();
      this.#storage.set(cid, slots);
    }
    const id = bytesKey(key);
    const before = slots.size;
    if (value === undefined) slots.delete(id);
    else slots.set(id, { contract, key, value });
    this.#storageSize += slots.size - before;
  }

  /** Sets a balance. */
  setBalance(account: Uint8Array, balance: bigint): void {
    this.#balances.set(bytesKey(account), { account, balance });
  }

  /** Deploys code at an address. */
  deploy(contract: Uint8Array, code: Uint8Array): void {
    this.#codes.set(bytesKey(contract), { contract, code });
  }

  /** Number of storage entries. */
  get storageSize(): number {
    return this.#storageSize;
  }

  /** Commits a successful result's storage and balance changes; ignores any other status. */
  apply(result: ExecutionResult): void {
    if (result.status !== "ok") return;
    for (const c of result.storageChanges) this.setStorage(c.contract, c.key, c.value);
    for (const b of result.balanceChanges) this.setBalance(b.account, b.balance);
  }
}
