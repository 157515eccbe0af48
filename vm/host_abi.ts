/**
 * The host ABI: the `zvm` functions a contract imports (input, return data, storage, caller and block data,
 * events, logs, hashes, signature checks, balances, transfers, nested calls, gas) and AssemblyScript's
 * `env.abort`. Every function charges its gas before it does anything, checks every pointer and length
 * against memory and every size against the execution limits, and stops the contract with a {@linkcode Halt}
 * rather than throwing anything else. The function table is documented in vm/README.md.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { blake3 } from "@noble/hashes/blake3.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { HostGasCosts } from "./gas_schedule.ts";
import type { ExecutionLimits } from "./limits.ts";
import type { CompiledContract } from "./module_cache.ts";
import {
  ADDRESS_LENGTH,
  CALL_STACK_UNITS,
  EMPTY,
  type Env,
  type FrameOutcome,
  Halt,
  TEXT,
  U16,
  u64,
} from "./execution_types.ts";

/** What a host function sees of the invocation it runs in (a pooled instance, rebound for each call). */
export interface HostFrame {
  /** The invocation's environment; throws a Halt outside an invocation. */
  readonly environment: Env;
  /** Host gas costs of this invocation's schedule. */
  readonly costs: HostGasCosts;
  readonly contract: Uint8Array;
  readonly caller: Uint8Array;
  readonly value: bigint;
  readonly input: Uint8Array;
  readonly depth: number;
  readonly gas: WebAssembly.Global;
  readonly stack: WebAssembly.Global;
  returnData: Uint8Array;
  lastCallData: Uint8Array;
  /** Takes `amount` gas; a Halt (out of gas) when it runs out. */
  charge(amount: number): void;
  /** Bounds-checks [ptr, ptr+len) against memory and returns a view. */
  slice(ptr: number, len: number): Uint8Array;
  /** Bounds-checks [ptr, ptr+len) against memory and returns a copy (in the execution's arena). */
  copy(ptr: number, len: number): Uint8Array;
  write(ptr: number, bytes: Uint8Array): void;
  /** A Halt (HOST_LIMIT) when `n` exceeds the execution limit `what`. */
  limit(what: keyof ExecutionLimits, n: number): void;
  /** The current memory as bytes. */
  mem(): Uint8Array;
}

/** Runs a nested contract call on a fresh frame bound by `bind` (the engine's `invoke`). */
export type NestedCall = (
  compiled: CompiledContract,
  method: string,
  gasLimit: bigint,
  stackUnits: number,
  bind: (
    frame: {
      reset(
        env: Env,
        contract: Uint8Array,
        caller: Uint8Array,
        value: bigint,
        input: Uint8Array,
        depth: number,
      ): unknown;
    },
  ) => void,
) => FrameOutcome;

export function hostImports(f: HostFrame, call: NestedCall): WebAssembly.Imports {
  // Host functions read the invocation's environment (`f.environment`) and gas costs (`f.costs`) at call time, so
  // one instance serves many invocations.
  const zvm: Record<string, (...args: never[]) => unknown> = {
    input_size: (): number => {
      f.charge(f.costs.base);
      return f.input.length;
    },
    input_read: (ptr: number): void => {
      f.charge(f.costs.base + f.costs.perByte * f.input.length);
      f.write(ptr, f.input);
    },
    return_data: (ptr: number, len: number): void => {
      f.limit("maxReturnBytes", len >>> 0);
      f.charge(f.costs.base + f.costs.perByte * (len >>> 0));
      f.returnData = f.copy(ptr, len);
    },
    revert: (ptr: number, len: number): void => {
      f.limit("maxReturnBytes", len >>> 0);
      f.charge(f.costs.base + f.costs.perByte * (len >>> 0));
      throw new Halt("revert", "REVERT", "Reverted", f.copy(ptr, len));
    },
    storage_read: (kp: number, kl: number, vp: number, vmax: number): number => {
      f.limit("maxKeyBytes", kl >>> 0);
      f.charge(f.costs.base + f.costs.storageRead + f.costs.storageReadPerByte * (kl >>> 0));
      const key = f.slice(kp, kl);
      const value = f.environment.journal.get(f.contract, key);
      if (value === undefined) return -1;
      f.charge(f.costs.storageReadPerByte * value.length);
      const n = Math.min(value.length, vmax >>> 0);
      f.write(vp, value.subarray(0, n));
      return value.length;
    },
    storage_write: (kp: number, kl: number, vp: number, vl: number): void => {
      f.limit("maxKeyBytes", kl >>> 0);
      f.limit("maxValueBytes", vl >>> 0);
      f.charge(
        f.costs.base + f.costs.storageWrite + f.costs.storageWritePerByte * ((kl >>> 0) + (vl >>> 0)),
      );
      f.environment.journal.set(f.contract, f.copy(kp, kl), f.copy(vp, vl));
    },
    storage_remove: (kp: number, kl: number): number => {
      f.limit("maxKeyBytes", kl >>> 0);
      f.charge(f.costs.base + f.costs.storageRemove + f.costs.storageWritePerByte * (kl >>> 0));
      const key = f.copy(kp, kl);
      if (f.environment.journal.get(f.contract, key) === undefined) return 0;
      f.environment.journal.set(f.contract, key, undefined);
      return 1;
    },
    caller: (ptr: number): void => {
      f.charge(f.costs.base + f.costs.perByte * ADDRESS_LENGTH);
      f.write(ptr, f.caller);
    },
    self_address: (ptr: number): void => {
      f.charge(f.costs.base + f.costs.perByte * ADDRESS_LENGTH);
      f.write(ptr, f.contract);
    },
    call_value: (): bigint => {
      f.charge(f.costs.base);
      return BigInt.asIntN(64, f.value);
    },
    block_height: (): bigint => {
      f.charge(f.costs.base);
      return BigInt.asIntN(64, f.environment.blockHeight);
    },
    block_time: (): bigint => {
      f.charge(f.costs.base);
      return BigInt.asIntN(64, f.environment.blockTime);
    },
    emit_event: (tp: number, tl: number, dp: number, dl: number): void => {
      const size = (tl >>> 0) + (dl >>> 0);
      f.limit("maxEventBytes", size);
      if (f.environment.journal.events.length >= f.environment.limits.maxEvents) {
        f.limit("maxEvents", f.environment.journal.events.length + 1);
      }
      f.charge(f.costs.base + f.costs.event + f.costs.perByte * size);
      f.environment.journal.emit({
        contract: f.contract,
        topic: f.copy(tp, tl),
        data: f.copy(dp, dl),
      });
    },
    log: (ptr: number, len: number): void => {
      f.limit("maxLogBytes", len >>> 0);
      if (f.environment.logs.length >= f.environment.limits.maxLogs) {
        f.limit("maxLogs", f.environment.logs.length + 1);
      }
      f.charge(f.costs.base + f.costs.perByte * (len >>> 0));
      f.environment.logs.push(TEXT.decode(f.slice(ptr, len)));
    },
    blake3: (ptr: number, len: number, out: number): void => {
      f.limit("maxHashInputBytes", len >>> 0);
      f.charge(f.costs.base + f.costs.hash + f.costs.hashPerByte * (len >>> 0));
      f.slice(out, 32);
      f.write(out, blake3(f.slice(ptr, len)));
    },
    sha256: (ptr: number, len: number, out: number): void => {
      f.limit("maxHashInputBytes", len >>> 0);
      f.charge(f.costs.base + f.costs.hash + f.costs.hashPerByte * (len >>> 0));
      f.slice(out, 32);
      f.write(out, sha256(f.slice(ptr, len)));
    },
    ed25519_verify: (pk: number, mp: number, ml: number, sp: number): number => {
      f.limit("maxHashInputBytes", ml >>> 0);
      f.charge(f.costs.base + f.costs.ed25519Verify + f.costs.hashPerByte * (ml >>> 0));
      const publicKey = f.slice(pk, 32);
      const message = f.slice(mp, ml);
      const signature = f.slice(sp, 64);
      try {
        // RFC 8032 verification, cofactorless, non-canonical encodings rejected (zip215: false).
        return ed25519.verify(signature, message, publicKey, { zip215: false }) ? 1 : 0;
      } catch {
        return 0; // a malformed public key or signature is "not valid", not a trap
      }
    },
    balance: (ptr: number): bigint => {
      f.charge(f.costs.base + f.costs.balance);
      return BigInt.asIntN(64, f.environment.journal.balance(f.slice(ptr, ADDRESS_LENGTH)));
    },
    transfer: (to: number, amount: bigint): number => {
      f.charge(f.costs.base + f.costs.transfer);
      const dest = f.copy(to, ADDRESS_LENGTH);
      return f.environment.journal.transfer(f.contract, dest, u64(amount)) ? 0 : 1;
    },
    call_contract: (
      ap: number,
      mp: number,
      ml: number,
      ip: number,
      il: number,
      value: bigint,
      gas: bigint,
    ): number => {
      f.limit("maxInputBytes", il >>> 0);
      f.limit("maxReturnBytes", ml >>> 0);
      f.charge(f.costs.base + f.costs.call + f.costs.perByte * ((ml >>> 0) + (il >>> 0)));
      const address = f.copy(ap, ADDRESS_LENGTH);
      const method = TEXT.decode(f.slice(mp, ml));
      const input = f.copy(ip, il);
      f.lastCallData = EMPTY;
      if (f.depth + 1 > f.environment.limits.maxCallDepth) return 5;
      const stackLeft = (f.stack.value as number) - CALL_STACK_UNITS;
      if (stackLeft <= 0) return 5;
      const code = f.environment.journal.base.codeOf(address);
      if (code === undefined) return 4;
      let compiled: CompiledContract;
      try {
        compiled = f.environment.cache.getSync(code);
      } catch {
        return 4;
      }
      if (!compiled.prepared.methods.has(method)) return 4;
      const left = f.gas.value as bigint;
      const requested = u64(gas);
      const granted = requested === 0n || requested > left ? left : requested;
      const outcome = call(
        compiled,
        method,
        granted,
        stackLeft,
        (callee) => callee.reset(f.environment, address, f.contract, u64(value), input, f.depth + 1),
      );
      f.lastCallData = outcome.returnData;
      f.charge(Number(outcome.gasUsed));
      switch (outcome.status) {
        case "ok":
          return 0;
        case "revert":
          return 1;
        case "trap":
          return 2;
        case "out_of_gas":
          return 3;
        default:
          return 4;
      }
    },
    returndata_size: (): number => {
      f.charge(f.costs.base);
      return f.lastCallData.length;
    },
    returndata_read: (ptr: number): void => {
      f.charge(f.costs.base + f.costs.perByte * f.lastCallData.length);
      f.write(ptr, f.lastCallData);
    },
    gas_left: (): bigint => {
      f.charge(f.costs.base);
      return f.gas.value as bigint;
    },
  };
  const asEnv = {
    abort: (msg: number, file: number, line: number, col: number): void => {
      throw new Halt(
        "trap",
        "ABORT",
        `Aborted: ${asString(f, msg)} at ${asString(f, file)}:${line >>> 0}:${col >>> 0}`,
      );
    },
  };
  return { zvm, env: asEnv } as WebAssembly.Imports;
}

/** Decodes an AssemblyScript string (UTF-16LE, byte length at ptr - 4) defensively, at most 256 units. */
function asString(f: HostFrame, ptr: number): string {
  const p = ptr >>> 0;
  const m = f.mem();
  if (p < 4 || p > m.length) return "?";
  const len = (m[p - 4] as number) | ((m[p - 3] as number) << 8) | ((m[p - 2] as number) << 16) |
    ((m[p - 1] as number) << 24);
  const n = Math.min(len >>> 0, 512) & ~1;
  if (p + n > m.length) return "?";
  return U16.decode(m.subarray(p, p + n));
}
