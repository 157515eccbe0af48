// Fungible token: balances, transfer, allowance (approve / transferFrom). Amounts are u64.
// Input encodings (little-endian): init(supply u64); transfer(to[20], amount u64); balanceOf(owner[20]);
// approve(spender[20], amount u64); allowance(owner[20], spender[20]); transferFrom(owner[20], to[20], amount u64).
import { caller, concat, Decoder, emit, input, key, require, returnU64, storage, u64Bytes } from "../assembly/zvm";

const SUPPLY = Uint8Array.wrap(String.UTF8.encode("supply"));

function balanceKey(owner: Uint8Array): Uint8Array {
  return key("b:", owner);
}

function allowanceKey(owner: Uint8Array, spender: Uint8Array): Uint8Array {
  return key("a:", owner, spender);
}

function move(from: Uint8Array, to: Uint8Array, amount: u64): void {
  const fromKey = balanceKey(from);
  const fromBalance = storage.getU64(fromKey);
  require(fromBalance >= amount, "insufficient balance");
  storage.setU64(fromKey, fromBalance - amount);
  const toKey = balanceKey(to);
  const toBalance = storage.getU64(toKey);
  require(toBalance + amount >= toBalance, "balance overflow");
  storage.setU64(toKey, toBalance + amount);
  emit("Transfer", concat(concat(from, to), u64Bytes(amount)));
}

export function init(): void {
  require(storage.get(SUPPLY) === null, "already initialised");
  const supply = new Decoder(input()).u64();
  storage.setU64(SUPPLY, supply);
  storage.setU64(balanceKey(caller()), supply);
  returnU64(supply);
}

export function totalSupply(): void {
  returnU64(storage.getU64(SUPPLY));
}

export function balanceOf(): void {
  returnU64(storage.getU64(balanceKey(new Decoder(input()).address())));
}

export function transfer(): void {
  const d = new Decoder(input());
  const to = d.address();
  const amount = d.u64();
  move(caller(), to, amount);
}

export function approve(): void {
  const d = new Decoder(input());
  const spender = d.address();
  const amount = d.u64();
  const owner = caller();
  storage.setU64(allowanceKey(owner, spender), amount);
  emit("Approval", concat(concat(owner, spender), u64Bytes(amount)));
}

export function allowance(): void {
  const d = new Decoder(input());
  const owner = d.address();
  returnU64(storage.getU64(allowanceKey(owner, d.address())));
}

export function transferFrom(): void {
  const d = new Decoder(input());
  const owner = d.address();
  const to = d.address();
  const amount = d.u64();
  const k = allowanceKey(owner, caller());
  const allowed = storage.getU64(k);
  require(allowed >= amount, "allowance exceeded");
  storage.setU64(k, allowed - amount);
  move(owner, to, amount);
}
