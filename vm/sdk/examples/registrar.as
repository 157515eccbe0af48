// .zns registrar: names (1..63 of a-z 0-9 -, no leading/trailing '-', without the ".zns" suffix) owned for
// a period of blocks. Input encodings: register(name bytes); resolve(name) -> owner[20] expires u64 record;
// setRecord(u32 nameLen, name, record...); transferName(u32 nameLen, name, newOwner[20]).
import { blockHeight, caller, concat, Decoder, emit, input, key, require, revert, setReturn, storage, u64Bytes, bytesEqual } from "../assembly/zvm";

/** Registration period in blocks. */
const PERIOD: u64 = 1_000_000;

function validName(name: Uint8Array): bool {
  const n = name.length;
  if (n < 1 || n > 63) return false;
  for (let i = 0; i < n; i++) {
    const c = name[i];
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c == 0x2d && i > 0 && i < n - 1);
    if (!ok) return false;
  }
  return true;
}

// Entry layout: owner[20] | expires u64 | record bytes
function entryKey(name: Uint8Array): Uint8Array {
  return key("n:", name);
}

function lookup(name: Uint8Array): Uint8Array | null {
  const e = storage.get(entryKey(name));
  if (e === null) return null;
  const expires = load_u64(e, 20);
  if (expires <= blockHeight()) return null; // expired names are free again
  return e;
}

function load_u64(b: Uint8Array, at: i32): u64 {
  return load<u64>(b.dataStart + at);
}

export function register(): void {
  const name = input();
  require(validName(name), "invalid name");
  require(lookup(name) === null, "name taken");
  const expires = blockHeight() + PERIOD;
  storage.set(entryKey(name), concat(caller(), u64Bytes(expires)));
  emit("NameRegistered", concat(name, caller()));
  setReturn(u64Bytes(expires));
}

export function resolve(): void {
  const e = lookup(input());
  if (e === null) {
    revert("not found");
    return;
  }
  setReturn(e);
}

function owned(d: Decoder): Uint8Array {
  const name = d.bytesField();
  const found = lookup(name);
  if (found === null) {
    revert("not found");
    unreachable();
  }
  const e = changetype<Uint8Array>(found);
  require(bytesEqual(e.subarray(0, 20), caller()), "not the owner");
  return name;
}

export function setRecord(): void {
  const d = new Decoder(input());
  const name = owned(d);
  const e = storage.get(entryKey(name))!;
  storage.set(entryKey(name), concat(e.subarray(0, 28), d.rest()));
  emit("RecordSet", name);
}

export function transferName(): void {
  const d = new Decoder(input());
  const name = owned(d);
  const newOwner = d.address();
  const e = storage.get(entryKey(name))!;
  storage.set(entryKey(name), concat(newOwner, e.subarray(20)));
  emit("NameTransferred", concat(name, newOwner));
}
