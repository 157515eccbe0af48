// Counter: a u64 in storage. Methods: increment() -> u64, add(u64) -> u64, get() -> u64.
import { Decoder, emit, input, returnU64, storage, u64Bytes } from "../assembly/zvm";

const COUNT = Uint8Array.wrap(String.UTF8.encode("count"));

export function increment(): void {
  const v = storage.getU64(COUNT) + 1;
  storage.setU64(COUNT, v);
  emit("Incremented", u64Bytes(v));
  returnU64(v);
}

export function add(): void {
  const d = new Decoder(input());
  const v = storage.getU64(COUNT) + d.u64();
  storage.setU64(COUNT, v);
  returnU64(v);
}

export function get(): void {
  returnU64(storage.getU64(COUNT));
}
