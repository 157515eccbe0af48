/**
 * Contract state as the VM sees it: {@linkcode StateAccess} is what the chain provides (synchronous reads),
 * {@linkcode StateJournal} is the overlay the VM writes into. Every write is journaled; a checkpoint taken when
 * a call starts is reverted if that call fails, so a failed call (revert, trap, out of gas) undoes exactly its
 * own storage writes, transfers and events, and nothing reaches the chain until the outer call succeeds and
 * the chain applies {@linkcode StateJournal.changes}.
 *
 * @module
 */

/** Read access to chain state. All methods are synchronous: host calls cannot await. */
export interface StateAccess {
  /** A contract's storage value, or undefined. */
  storageGet(contract: Uint8Array, key: Uint8Array): Uint8Array | undefined;
  /** An account's balance (u64 range). */
  balanceOf(account: Uint8Array): bigint;
  /**
   * A deployed contract's code, or undefined (used by `call_contract`). Returning the same `Uint8Array`
   * object for the same contract lets the module cache skip hashing.
   */
  codeOf(contract: Uint8Array): Uint8Array | undefined;
}

/** A storage write; `value` undefined means the key was removed. */
export interface StorageChange {
  readonly contract: Uint8Array;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

/** An account's balance after execution. */
export interface BalanceChange {
  readonly account: Uint8Array;
  readonly balance: bigint;
}

/** A value transfer made during execution. */
export interface Transfer {
  readonly from: Uint8Array;
  readonly to: Uint8Array;
  readonly amount: bigint;
}

/** An event emitted by a contract. */
export interface ContractEvent {
  readonly contract: Uint8Array;
  readonly topic: Uint8Array;
  readonly data: Uint8Array;
}

const U64_MAX = (1n << 64n) - 1n;

/** A map key for bytes: one UTF-16 unit per byte (cheap, exact). */
export function bytesKey(bytes: Uint8Array): string {
  // One flat string from the typed array directly (a += loop builds a rope the Map must flatten to hash);
  // in chunks, so no call gets more arguments than the engine allows.
  if (bytes.length <= 4096) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

interface Slot {
  readonly contract: Uint8Array;
  readonly key: Uint8Array;
  value: Uint8Array | undefined;
}

type UndoEntry =
  | {
    readonly kind: "storage";
    readonly slots: Map<string, Slot>;
    readonly id: string;
    readonly prev: Slot | undefined;
    readonly prevValue: Uint8Array | undefined;
  }
  | { readonly kind: "balance"; readonly id: string; readonly prev: bigint | undefined };

/** A checkpoint: positions in the undo log, the events and the transfers. */
export interface Checkpoint {
  readonly undo: number;
  readonly events: number;
  readonly transfers: number;
}

/** Journaled overlay over a {@linkcode StateAccess}. */
export class StateJournal {
  readonly #base: StateAccess;
  /** Written slots per contract (by contract bytes, then by key bytes). */
  readonly #storage = new Map<string, Map<string, Slot>>();
  /** Every written slot in first-write order (a reverted first write is popped with its undo entry). */
  readonly #order: Slot[] = [];
  /** The contract of the last storage access and its slots: a call touches one contract's storage. */
  #lastContract: Uint8Array | undefined;
  #lastSlots: Map<string, Slot> | undefined;
  readonly #balances = new Map<string, { account: Uint8Array; balance: bigint }>();
  readonly #undo: UndoEntry[] = [];
  readonly events: ContractEvent[] = [];
  readonly transfers: Transfer[] = [];

  /** Creates an empty overlay. */
  constructor(base: StateAccess) {
    this.#base = base;
  }

  /** The underlying state. */
  get base(): StateAccess {
    return this.#base;
  }

  /** Marks the current state; pass it to {@linkcode revert} to undo everything after it. */
  checkpoint(): Checkpoint {
    return { undo: this.#undo.length, events: this.events.length, transfers: this.transfers.length };
  }

  /** Undoes every write, transfer and event after `cp`. */
  revert(cp: Checkpoint): void {
    while (this.#undo.length > cp.undo) {
      const u = this.#undo.pop();
      if (u === undefined) break;
      if (u.kind === "storage") {
        if (u.prev === undefined) {
          u.slots.delete(u.id);
          this.#order.pop();
        } else u.prev.value = u.prevValue;
      } else {
        const b = this.#balances.get(u.id);
        if (u.prev === undefined) this.#balances.delete(u.id);
        else if (b !== undefined) b.balance = u.prev;
      }
    }
    this.events.length = cp.events;
    this.transfers.length = cp.transfers;
  }

  /**
   * The written slots of `contract`. The array is looked up by identity first: the bytes of an address the
   * VM passes are never changed while an execution runs.
   */
  #slotsOf(contract: Uint8Array): Map<string, Slot> {
    if (contract === this.#lastContract && this.#lastSlots !== undefined) return this.#lastSlots;
    const id = bytesKey(contract);
    let slots = this.#storage.get(id);
    if (slots === undefined) {
      slots = new Map();
      this.#storage.set(id, slots);
    }
    this.#lastContract = contract;
    this.#lastSlots = slots;
    return slots;
  }

  /** Reads storage through the overlay. */
  get(contract: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    const slot = this.#slotsOf(contract).get(bytesKey(key));
    if (slot !== undefined) return slot.value;
    return this.#base.storageGet(contract, key);
  }

  /** Writes (or with `undefined`, removes) a storage value. */
  set(contract: Uint8Array, key: Uint8Array, value: Uint8Array | undefined): void {
    const slots = this.#slotsOf(contract);
    const id = bytesKey(key);
    const slot = slots.get(id);
    if (slot === undefined) {
      this.#undo.push({ kind: "storage", slots, id, prev: undefined, prevValue: undefined });
      const created = { contract, key, value };
      slots.set(id, created);
      this.#order.push(created);
    } else {
      this.#undo.push({ kind: "storage", slots, id, prev: slot, prevValue: slot.value });
      slot.value = value;
    }
  }

  /** An account's balance through the overlay. */
  balance(account: Uint8Array): bigint {
    const b = this.#balances.get(bytesKey(account));
    return b !== undefined ? b.balance : this.#base.balanceOf(account);
  }

  #setBalance(account: Uint8Array, balance: bigint): void {
    const id = bytesKey(account);
    const b = this.#balances.get(id);
    if (b === undefined) {
      this.#undo.push({ kind: "balance", id, prev: undefined });
      this.#balances.set(id, { account, balance });
    } else {
      this.#undo.push({ kind: "balance", id, prev: b.balance });
      b.balance = balance;
    }
  }

  /** Moves `amount` from one account to another; false (and no change) if funds are short or `to` would overflow u64. */
  transfer(from: Uint8Array, to: Uint8Array, amount: bigint): boolean {
    if (amount < 0n) return false;
    const fromBalance = this.balance(from);
    if (fromBalance < amount) return false;
    if (amount === 0n) return true;
    if (bytesKey(from) === bytesKey(to)) return true;
    const toBalance = this.balance(to);
    if (toBalance + amount > U64_MAX) return false;
    this.#setBalance(from, fromBalance - amount);
    this.#setBalance(to, toBalance + amount);
    this.transfers.push({ from, to, amount });
    return true;
  }

  /** Records an event. */
  emit(event: ContractEvent): void {
    this.events.push(event);
  }

  /** Every storage key written, with its final value, in first-write order. */
  storageChanges(): StorageChange[] {
    return this.#order.map((s) => ({ contract: s.contract, key: s.key, value: s.value }));
  }

  /** Every balance touched, with its final value, in first-touch order. */
  balanceChanges(): BalanceChange[] {
    return [...this.#balances.values()].map((b) => ({ account: b.account, balance: b.balance }));
  }
}
