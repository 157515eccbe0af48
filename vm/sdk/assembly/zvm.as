// ZVM contract SDK for AssemblyScript: typed wrappers over the host ABI (see vm/README.md, "Host ABI").
// Compile with vm/sdk/build.ts (runtime "stub": every call gets a fresh instance, so no GC is needed).

// ---- raw host functions (module "zvm") ----
@external("zvm", "input_size") declare function _input_size(): i32;
@external("zvm", "input_read") declare function _input_read(ptr: usize): void;
@external("zvm", "return_data") declare function _return_data(ptr: usize, len: i32): void;
@external("zvm", "revert") declare function _revert(ptr: usize, len: i32): void;
@external("zvm", "storage_read") declare function _storage_read(kp: usize, kl: i32, vp: usize, vmax: i32): i32;
@external("zvm", "storage_write") declare function _storage_write(kp: usize, kl: i32, vp: usize, vl: i32): void;
@external("zvm", "storage_remove") declare function _storage_remove(kp: usize, kl: i32): i32;
@external("zvm", "caller") declare function _caller(ptr: usize): void;
@external("zvm", "self_address") declare function _self_address(ptr: usize): void;
@external("zvm", "call_value") declare function _call_value(): i64;
@external("zvm", "block_height") declare function _block_height(): i64;
@external("zvm", "block_time") declare function _block_time(): i64;
@external("zvm", "emit_event") declare function _emit_event(tp: usize, tl: i32, dp: usize, dl: i32): void;
@external("zvm", "log") declare function _log(ptr: usize, len: i32): void;
@external("zvm", "blake3") declare function _blake3(ptr: usize, len: i32, out: usize): void;
@external("zvm", "sha256") declare function _sha256(ptr: usize, len: i32, out: usize): void;
@external("zvm", "ed25519_verify") declare function _ed25519_verify(pk: usize, mp: usize, ml: i32, sp: usize): i32;
@external("zvm", "balance") declare function _balance(ptr: usize): i64;
@external("zvm", "transfer") declare function _transfer(to: usize, amount: i64): i32;
@external("zvm", "call_contract")
declare function _call_contract(ap: usize, mp: usize, ml: i32, ip: usize, il: i32, value: i64, gas: i64): i32;
@external("zvm", "returndata_size") declare function _returndata_size(): i32;
@external("zvm", "returndata_read") declare function _returndata_read(ptr: usize): void;
@external("zvm", "gas_left") declare function _gas_left(): i64;

/** Address length in bytes. */
export const ADDRESS_LENGTH: i32 = 20;

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** The call's input bytes. */
export function input(): Uint8Array {
  const out = new Uint8Array(_input_size());
  _input_read(out.dataStart);
  return out;
}

/** Sets the call's return data. */
export function setReturn(data: Uint8Array): void {
  _return_data(data.dataStart, data.length);
}

/** Returns a u64 (8 bytes little-endian). */
export function returnU64(v: u64): void {
  const b = new Uint8Array(8);
  store<u64>(b.dataStart, v);
  setReturn(b);
}

/** Stops the call, undoing its state changes; `reason` becomes the return data. */
export function revert(reason: string): void {
  const b = utf8(reason);
  _revert(b.dataStart, b.length);
}

/** Reverts with `reason` unless `cond`. */
export function require(cond: bool, reason: string): void {
  if (!cond) revert(reason);
}

/** Contract storage (scoped to this contract by the host). */
export namespace storage {
  /** The value at `key`, or null. */
  export function get(key: Uint8Array): Uint8Array | null {
    const buf = new Uint8Array(64);
    const n = _storage_read(key.dataStart, key.length, buf.dataStart, buf.length);
    if (n < 0) return null;
    if (n <= buf.length) return buf.subarray(0, n);
    const big = new Uint8Array(n);
    _storage_read(key.dataStart, key.length, big.dataStart, n);
    return big;
  }
  /** Writes `value` at `key`. */
  export function set(key: Uint8Array, value: Uint8Array): void {
    _storage_write(key.dataStart, key.length, value.dataStart, value.length);
  }
  /** Removes `key`; true if it existed. */
  export function remove(key: Uint8Array): bool {
    return _storage_remove(key.dataStart, key.length) == 1;
  }
  /** A u64 at `key` (0 if absent). */
  export function getU64(key: Uint8Array): u64 {
    const b = new Uint8Array(8);
    const n = _storage_read(key.dataStart, key.length, b.dataStart, 8);
    if (n < 0) return 0;
    if (n != 8) revert("storage: value is not a u64");
    return load<u64>(b.dataStart);
  }
  /** Writes a u64 at `key` (8 bytes little-endian). */
  export function setU64(key: Uint8Array, v: u64): void {
    const b = new Uint8Array(8);
    store<u64>(b.dataStart, v);
    _storage_write(key.dataStart, key.length, b.dataStart, 8);
  }
}

/** Concatenates a string prefix and bytes into a storage key. */
export function key(prefix: string, a: Uint8Array, b: Uint8Array | null = null): Uint8Array {
  const p = utf8(prefix);
  const bl = b === null ? 0 : b.length;
  const out = new Uint8Array(p.length + a.length + bl);
  out.set(p, 0);
  out.set(a, p.length);
  if (b !== null) out.set(changetype<Uint8Array>(b), p.length + a.length);
  return out;
}

/** The caller's address. */
export function caller(): Uint8Array {
  const b = new Uint8Array(ADDRESS_LENGTH);
  _caller(b.dataStart);
  return b;
}

/** This contract's address. */
export function selfAddress(): Uint8Array {
  const b = new Uint8Array(ADDRESS_LENGTH);
  _self_address(b.dataStart);
  return b;
}

/** Value sent with this call. */
export function callValue(): u64 {
  return <u64>_call_value();
}

/** Block height. */
export function blockHeight(): u64 {
  return <u64>_block_height();
}

/** Block time, ms since the Unix epoch. */
export function blockTime(): u64 {
  return <u64>_block_time();
}

/** Emits an event. */
export function emit(topic: string, data: Uint8Array): void {
  const t = utf8(topic);
  _emit_event(t.dataStart, t.length, data.dataStart, data.length);
}

/** Writes a debug log line. */
export function log(msg: string): void {
  const b = utf8(msg);
  _log(b.dataStart, b.length);
}

/** BLAKE3 (32 bytes). */
export function blake3(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  _blake3(data.dataStart, data.length, out.dataStart);
  return out;
}

/** SHA-256 (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  _sha256(data.dataStart, data.length, out.dataStart);
  return out;
}

/** Ed25519 verification (RFC 8032). */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): bool {
  if (publicKey.length != 32 || signature.length != 64) return false;
  return _ed25519_verify(publicKey.dataStart, message.dataStart, message.length, signature.dataStart) == 1;
}

/** An account's balance. */
export function balance(account: Uint8Array): u64 {
  return <u64>_balance(account.dataStart);
}

/** Transfers from this contract; false if its balance is short. */
export function transfer(to: Uint8Array, amount: u64): bool {
  return _transfer(to.dataStart, <i64>amount) == 0;
}

/** Gas left. */
export function gasLeft(): u64 {
  return <u64>_gas_left();
}

/** Result of {@link callContract}: status 0 ok, 1 revert, 2 trap, 3 out of gas, 4 no contract/method, 5 depth. */
export class CallResult {
  constructor(public status: i32, public data: Uint8Array) {}
  get ok(): bool {
    return this.status == 0;
  }
}

/** Calls another contract; its state changes are undone if it fails. `gas` 0 = all that is left. */
export function callContract(address: Uint8Array, method: string, args: Uint8Array, value: u64 = 0, gas: u64 = 0): CallResult {
  const m = utf8(method);
  const status = _call_contract(address.dataStart, m.dataStart, m.length, args.dataStart, args.length, <i64>value, <i64>gas);
  const data = new Uint8Array(_returndata_size());
  _returndata_read(data.dataStart);
  return new CallResult(status, data);
}

/** Reads little-endian values from input bytes; reverts when input runs out. */
export class Decoder {
  pos: i32 = 0;
  constructor(public bytes: Uint8Array) {}
  u64(): u64 {
    require(this.pos + 8 <= this.bytes.length, "input too short");
    const v = load<u64>(this.bytes.dataStart + this.pos);
    this.pos += 8;
    return v;
  }
  u32(): u32 {
    require(this.pos + 4 <= this.bytes.length, "input too short");
    const v = load<u32>(this.bytes.dataStart + this.pos);
    this.pos += 4;
    return v;
  }
  fixed(n: i32): Uint8Array {
    require(this.pos + n <= this.bytes.length, "input too short");
    const v = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  address(): Uint8Array {
    return this.fixed(ADDRESS_LENGTH);
  }
  /** u32 length, then bytes. */
  bytesField(): Uint8Array {
    return this.fixed(<i32>this.u32());
  }
  /** Bytes until the end of input. */
  rest(): Uint8Array {
    const v = this.bytes.slice(this.pos);
    this.pos = this.bytes.length;
    return v;
  }
}

/** Concatenates byte arrays. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A u64 as 8 bytes little-endian. */
export function u64Bytes(v: u64): Uint8Array {
  const b = new Uint8Array(8);
  store<u64>(b.dataStart, v);
  return b;
}

/** Byte equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
  return true;
}
