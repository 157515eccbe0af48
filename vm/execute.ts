/**
 * The execution core: runs one contract method against a {@linkcode StateAccess} with a gas limit and
 * returns an {@linkcode ExecutionResult}. This is the entry point the chain calls
 * ({@linkcode executeContract}); the seed-style instance API in `instance.ts` is built on it.
 *
 * Determinism: every call runs on an instance in its initial state (a pooled instance is reset to the exact
 * memory image and global values of a fresh instantiation; `_initialize` re-runs), so nothing carries over
 * between calls but storage. Time and chain data come only from {@linkcode ExecutionContext};
 * there is no randomness, no clock, no float. Gas is charged by the instrumented code and by host functions
 * (from {@linkcode GasSchedule.host}), so the same call with the same state and input uses the same gas on
 * every run and machine. Failures are results, not exceptions: a revert, trap or out-of-gas undoes the
 * call's state changes through the {@linkcode StateJournal}.
 *
 * Host functions are synchronous, so `ed25519_verify` uses `@noble/curves`' synchronous `ed25519.verify`
 * (ZIP-215 off, i.e. RFC 8032 strict, the same rules `wallet/`'s verifier applies) rather than wallet's
 * async WebCrypto-backed `ed25519Verify`.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { blake3 } from "@noble/hashes/blake3.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { VmError } from "./errors.ts";
import { DEFAULT_GAS_SCHEDULE, type GasSchedule, type HostGasCosts } from "./gas_schedule.ts";
import { GAS_EXPORT, GLOBAL_EXPORT_PREFIX, MEMORY_EXPORT, STACK_EXPORT } from "./instrument.ts";
import { DEFAULT_EXECUTION_LIMITS, type ExecutionLimits } from "./limits.ts";
import { type CompiledContract, ModuleCache } from "./module_cache.ts";
import { INITIALIZE_EXPORT } from "./prepare_module.ts";
import {
  type BalanceChange,
  type ContractEvent,
  type StateAccess,
  StateJournal,
  type StorageChange,
  type Transfer,
} from "./state_journal.ts";

/** Length of an account or contract address in bytes (a `ghost1...` address payload). */
export const ADDRESS_LENGTH = 20;

/** Stack units a `call_contract` takes from the caller's budget for the host's own frames. */
export const CALL_STACK_UNITS = 512;

/** How an execution ended. */
export type ExecutionStatus = "ok" | "revert" | "trap" | "out_of_gas" | "invalid";

/**
 * Codes in {@linkcode ExecutionError}.
 *
 * | code | status | meaning |
 * |---|---|---|
 * | REVERT | revert | the contract called `revert`; return data holds its reason |
 * | OUT_OF_GAS | out_of_gas | gas ran out (in wasm code or in a host function) |
 * | WASM_TRAP | trap | the engine trapped: unreachable, out-of-bounds memory, division by zero, bad indirect call |
 * | STACK_OVERFLOW | trap | the stack budget (`maxStackUnits`) ran out: recursion too deep |
 * | ABORT | trap | AssemblyScript `abort()` (an assertion or a runtime error); message decoded |
 * | HOST_OUT_OF_BOUNDS | trap | a host function got a pointer/length outside memory |
 * | HOST_LIMIT | trap | a host function's input is over an {@linkcode ExecutionLimits} limit (return data, key, value, event...) |
 * | HOST_ERROR | trap | the host failed unexpectedly (engine stack exhaustion, allocation failure); not expected in practice |
 * | NO_METHOD | invalid | the method is not an exported `() -> ()` function |
 * | BAD_INPUT | invalid | the input is over `maxInputBytes` |
 * | INVALID_MODULE | invalid | the code failed decoding, validation, limits or compilation (see `cause`) |
 */
export type ExecutionErrorCode =
  | "REVERT"
  | "OUT_OF_GAS"
  | "WASM_TRAP"
  | "STACK_OVERFLOW"
  | "ABORT"
  | "HOST_OUT_OF_BOUNDS"
  | "HOST_LIMIT"
  | "HOST_ERROR"
  | "NO_METHOD"
  | "BAD_INPUT"
  | "INVALID_MODULE";

/** Why an execution did not end with "ok". */
export interface ExecutionError {
  readonly code: ExecutionErrorCode;
  readonly message: string;
  /** For INVALID_MODULE: the typed decode/validation/limit error. */
  readonly cause?: unknown;
}

/** The outcome of one execution. On any status but "ok", the change lists are empty. */
export interface ExecutionResult {
  readonly status: ExecutionStatus;
  /** Return data (on "revert", the revert reason). */
  readonly returnData: Uint8Array;
  /** Gas used, all nested calls included; the whole limit on out_of_gas. */
  readonly gasUsed: number;
  readonly events: readonly ContractEvent[];
  /** Debug log lines (kept also on failure; not state). */
  readonly logs: readonly string[];
  readonly storageChanges: readonly StorageChange[];
  readonly balanceChanges: readonly BalanceChange[];
  readonly transfers: readonly Transfer[];
  readonly error?: ExecutionError;
}

/** Chain data a contract can read. All injected: the VM reads no clock. */
export interface ExecutionContext {
  /** Who calls (20 bytes). */
  readonly caller: Uint8Array;
  /** The contract's own address (20 bytes). */
  readonly contract: Uint8Array;
  /** Amount moved from caller to contract before the method runs (default 0). */
  readonly value?: bigint;
  /** Block height. */
  readonly blockHeight: bigint;
  /** Block time, milliseconds since the Unix epoch. */
  readonly blockTime: bigint;
}

/** Arguments of {@linkcode executeContract}. */
export interface ExecuteContractRequest {
  /** The contract's original (uninstrumented) wasm bytes. */
  readonly code: Uint8Array;
  /** Exported method to call. */
  readonly method: string;
  /** Input bytes, read by the contract with `input_size` / `input_read`. */
  readonly input: Uint8Array;
  /** Gas limit, a non-negative safe integer. */
  readonly gasLimit: number;
  /** Chain state (synchronous reads). */
  readonly state: StateAccess;
  /** Caller, contract, value, block. */
  readonly context: ExecutionContext;
  /** Execution limits (default {@linkcode DEFAULT_EXECUTION_LIMITS}). */
  readonly limits?: ExecutionLimits;
  /** Compiled-module cache (default: a process-wide cache with default limits and schedule). */
  readonly cache?: ModuleCache;
}

let defaultCache: ModuleCache | undefined;

/** The process-wide default module cache. */
export function defaultModuleCache(): ModuleCache {
  defaultCache ??= new ModuleCache();
  return defaultCache;
}

// Thrown from host functions to stop the contract; never escapes this module.
class Halt {
  constructor(
    readonly status: "revert" | "trap" | "out_of_gas",
    readonly code: ExecutionErrorCode,
    readonly message: string,
    readonly data: Uint8Array = new Uint8Array(0),
  ) {}
}

interface FrameOutcome {
  readonly status: ExecutionStatus;
  readonly returnData: Uint8Array;
  readonly gasUsed: bigint;
  readonly error?: ExecutionError;
}

const EMPTY = new Uint8Array(0);
const TEXT = new TextDecoder("utf-8", { fatal: false });
const U16 = new TextDecoder("utf-16le", { fatal: false });

/** Shared by every frame of one execution. */
interface Env {
  readonly journal: StateJournal;
  readonly cache: ModuleCache;
  readonly limits: ExecutionLimits;
  readonly schedule: GasSchedule;
  readonly blockHeight: bigint;
  readonly blockTime: bigint;
  readonly logs: string[];
}

function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

function outOfGas(): Halt {
  return new Halt("out_of_gas", "OUT_OF_GAS", "Out of gas");
}

/** The state an instance starts from: its memory image and its mutable globals right after instantiation. */
interface InitialImage {
  readonly memory: Uint8Array;
  readonly globals: readonly (number | bigint)[];
}

/** Instances of one compiled contract kept for reuse, with the image they are reset to. */
interface Pool {
  readonly free: Frame[];
  image: InitialImage | undefined;
}

/** Idle instances kept per compiled contract (more are made when calls nest). */
export const MAX_POOLED_INSTANCES = 8;

const POOLS = new WeakMap<CompiledContract, Pool>();

/**
 * A frame for one invocation of `compiled`: a pooled instance reset to its initial image (memory and every
 * mutable global exactly as a fresh instantiation leaves them), or a new instance. Reuse keeps "fresh
 * instance" semantics: nothing a call writes to memory or globals is visible to the next call. An instance
 * whose memory grew is not reused (its size would differ from a fresh one).
 */
function acquireFrame(compiled: CompiledContract): Frame {
  let pool = POOLS.get(compiled);
  if (pool === undefined) POOLS.set(compiled, pool = { free: [], image: undefined });
  for (;;) {
    const frame = pool.free.pop();
    if (frame === undefined) break;
    if (frame.restore(pool.image)) return frame;
  }
  const frame = new Frame(compiled);
  pool.image ??= frame.snapshot();
  return frame;
}

function releaseFrame(frame: Frame): void {
  const pool = POOLS.get(frame.compiled);
  frame.env = undefined;
  if (pool !== undefined && pool.free.length < MAX_POOLED_INSTANCES) pool.free.push(frame);
}

/** One contract invocation: its instance, memory and host functions; reused through the pool. */
class Frame {
  readonly compiled: CompiledContract;
  readonly instance: WebAssembly.Instance;
  readonly gas: WebAssembly.Global;
  readonly stack: WebAssembly.Global;
  readonly memory: WebAssembly.Memory;
  readonly globals: readonly WebAssembly.Global[];
  // Per-invocation fields, set by `reset`.
  env: Env | undefined;
  contract: Uint8Array = EMPTY;
  caller: Uint8Array = EMPTY;
  value = 0n;
  input: Uint8Array = EMPTY;
  depth = 0;
  returnData: Uint8Array = EMPTY;
  lastCallData: Uint8Array = EMPTY;
  h: HostGasCosts = DEFAULT_GAS_SCHEDULE.host;
  #view: Uint8Array = EMPTY;

  /** Instantiates `compiled` with host functions bound to this frame. Throws when instantiation fails. */
  constructor(compiled: CompiledContract) {
    this.compiled = compiled;
    this.instance = new WebAssembly.Instance(compiled.module, this.imports());
    const ex = this.instance.exports;
    this.gas = ex[GAS_EXPORT] as WebAssembly.Global;
    this.stack = ex[STACK_EXPORT] as WebAssembly.Global;
    this.memory = ex[MEMORY_EXPORT] as WebAssembly.Memory;
    this.globals = Object.keys(ex).filter((k) => k.startsWith(GLOBAL_EXPORT_PREFIX)).sort().map((k) =>
      ex[k] as WebAssembly.Global
    );
  }

  /** The image a fresh instance has (taken from a new instance before anything ran). */
  snapshot(): InitialImage {
    return { memory: new Uint8Array(this.memory.buffer).slice(), globals: this.globals.map((g) => g.value) };
  }

  /** Puts the instance back to `image`; false when it cannot be (memory grew), so it is dropped. */
  restore(image: InitialImage | undefined): boolean {
    if (image === undefined || this.memory.buffer.byteLength !== image.memory.length) return false;
    new Uint8Array(this.memory.buffer).set(image.memory);
    for (let i = 0; i < this.globals.length; i++) {
      (this.globals[i] as WebAssembly.Global).value = image.globals[i];
    }
    return true;
  }

  /** Binds the next invocation. */
  reset(
    env: Env,
    contract: Uint8Array,
    caller: Uint8Array,
    value: bigint,
    input: Uint8Array,
    depth: number,
  ): this {
    this.env = env;
    this.h = env.schedule.host;
    this.contract = contract;
    this.caller = caller;
    this.value = value;
    this.input = input;
    this.depth = depth;
    this.returnData = EMPTY;
    this.lastCallData = EMPTY;
    return this;
  }

  /** The invocation's environment (always set while the contract runs). */
  get e(): Env {
    const env = this.env;
    if (env === undefined) throw new Halt("trap", "HOST_ERROR", "Host call outside an invocation");
    return env;
  }

  charge(amount: number): void {
    const left = (this.gas.value as bigint) - BigInt(amount);
    this.gas.value = left;
    if (left < 0n) throw outOfGas();
  }

  mem(): Uint8Array {
    if (this.#view.byteLength === 0 || this.#view.buffer !== this.memory.buffer) {
      this.#view = new Uint8Array(this.memory.buffer);
    }
    return this.#view;
  }

  /** Bounds-checks [ptr, ptr+len) against memory and returns a view. */
  slice(ptr: number, len: number): Uint8Array {
    const p = ptr >>> 0;
    const n = len >>> 0;
    const m = this.mem();
    if (p + n > m.length) {
      throw new Halt(
        "trap",
        "HOST_OUT_OF_BOUNDS",
        `Host call out of bounds: [${p}, ${p + n}) exceeds memory of ${m.length} bytes`,
      );
    }
    return m.subarray(p, p + n);
  }

  write(ptr: number, bytes: Uint8Array): void {
    this.slice(ptr, bytes.length).set(bytes);
  }

  limit(what: keyof ExecutionLimits, n: number): void {
    const max = this.e.limits[what];
    if (n > max) throw new Halt("trap", "HOST_LIMIT", `Host call over limit: ${what} ${n} exceeds ${max}`);
  }

  imports(): WebAssembly.Imports {
    // Host functions read the invocation's environment (`this.e`) and gas costs (`this.h`) at call time, so
    // one instance serves many invocations.
    const zvm: Record<string, (...args: never[]) => unknown> = {
      input_size: (): number => {
        this.charge(this.h.base);
        return this.input.length;
      },
      input_read: (ptr: number): void => {
        this.charge(this.h.base + this.h.perByte * this.input.length);
        this.write(ptr, this.input);
      },
      return_data: (ptr: number, len: number): void => {
        this.limit("maxReturnBytes", len >>> 0);
        this.charge(this.h.base + this.h.perByte * (len >>> 0));
        this.returnData = this.slice(ptr, len).slice();
      },
      revert: (ptr: number, len: number): void => {
        this.limit("maxReturnBytes", len >>> 0);
        this.charge(this.h.base + this.h.perByte * (len >>> 0));
        throw new Halt("revert", "REVERT", "Reverted", this.slice(ptr, len).slice());
      },
      storage_read: (kp: number, kl: number, vp: number, vmax: number): number => {
        this.limit("maxKeyBytes", kl >>> 0);
        this.charge(this.h.base + this.h.storageRead + this.h.storageReadPerByte * (kl >>> 0));
        const key = this.slice(kp, kl);
        const value = this.e.journal.get(this.contract, key);
        if (value === undefined) return -1;
        this.charge(this.h.storageReadPerByte * value.length);
        const n = Math.min(value.length, vmax >>> 0);
        this.write(vp, value.subarray(0, n));
        return value.length;
      },
      storage_write: (kp: number, kl: number, vp: number, vl: number): void => {
        this.limit("maxKeyBytes", kl >>> 0);
        this.limit("maxValueBytes", vl >>> 0);
        this.charge(
          this.h.base + this.h.storageWrite + this.h.storageWritePerByte * ((kl >>> 0) + (vl >>> 0)),
        );
        this.e.journal.set(this.contract, this.slice(kp, kl).slice(), this.slice(vp, vl).slice());
      },
      storage_remove: (kp: number, kl: number): number => {
        this.limit("maxKeyBytes", kl >>> 0);
        this.charge(this.h.base + this.h.storageRemove + this.h.storageWritePerByte * (kl >>> 0));
        const key = this.slice(kp, kl).slice();
        if (this.e.journal.get(this.contract, key) === undefined) return 0;
        this.e.journal.set(this.contract, key, undefined);
        return 1;
      },
      caller: (ptr: number): void => {
        this.charge(this.h.base + this.h.perByte * ADDRESS_LENGTH);
        this.write(ptr, this.caller);
      },
      self_address: (ptr: number): void => {
        this.charge(this.h.base + this.h.perByte * ADDRESS_LENGTH);
        this.write(ptr, this.contract);
      },
      call_value: (): bigint => {
        this.charge(this.h.base);
        return BigInt.asIntN(64, this.value);
      },
      block_height: (): bigint => {
        this.charge(this.h.base);
        return BigInt.asIntN(64, this.e.blockHeight);
      },
      block_time: (): bigint => {
        this.charge(this.h.base);
        return BigInt.asIntN(64, this.e.blockTime);
      },
      emit_event: (tp: number, tl: number, dp: number, dl: number): void => {
        const size = (tl >>> 0) + (dl >>> 0);
        this.limit("maxEventBytes", size);
        if (this.e.journal.events.length >= this.e.limits.maxEvents) {
          this.limit("maxEvents", this.e.journal.events.length + 1);
        }
        this.charge(this.h.base + this.h.event + this.h.perByte * size);
        this.e.journal.emit({
          contract: this.contract,
          topic: this.slice(tp, tl).slice(),
          data: this.slice(dp, dl).slice(),
        });
      },
      log: (ptr: number, len: number): void => {
        this.limit("maxLogBytes", len >>> 0);
        if (this.e.logs.length >= this.e.limits.maxLogs) this.limit("maxLogs", this.e.logs.length + 1);
        this.charge(this.h.base + this.h.perByte * (len >>> 0));
        this.e.logs.push(TEXT.decode(this.slice(ptr, len)));
      },
      blake3: (ptr: number, len: number, out: number): void => {
        this.limit("maxHashInputBytes", len >>> 0);
        this.charge(this.h.base + this.h.hash + this.h.hashPerByte * (len >>> 0));
        this.slice(out, 32);
        this.write(out, blake3(this.slice(ptr, len)));
      },
      sha256: (ptr: number, len: number, out: number): void => {
        this.limit("maxHashInputBytes", len >>> 0);
        this.charge(this.h.base + this.h.hash + this.h.hashPerByte * (len >>> 0));
        this.slice(out, 32);
        this.write(out, sha256(this.slice(ptr, len)));
      },
      ed25519_verify: (pk: number, mp: number, ml: number, sp: number): number => {
        this.limit("maxHashInputBytes", ml >>> 0);
        this.charge(this.h.base + this.h.ed25519Verify + this.h.hashPerByte * (ml >>> 0));
        const publicKey = this.slice(pk, 32);
        const message = this.slice(mp, ml);
        const signature = this.slice(sp, 64);
        try {
          // RFC 8032 verification, cofactorless, non-canonical encodings rejected (zip215: false).
          return ed25519.verify(signature, message, publicKey, { zip215: false }) ? 1 : 0;
        } catch {
          return 0; // a malformed public key or signature is "not valid", not a trap
        }
      },
      balance: (ptr: number): bigint => {
        this.charge(this.h.base + this.h.balance);
        return BigInt.asIntN(64, this.e.journal.balance(this.slice(ptr, ADDRESS_LENGTH)));
      },
      transfer: (to: number, amount: bigint): number => {
        this.charge(this.h.base + this.h.transfer);
        const dest = this.slice(to, ADDRESS_LENGTH).slice();
        return this.e.journal.transfer(this.contract, dest, u64(amount)) ? 0 : 1;
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
        this.limit("maxInputBytes", il >>> 0);
        this.limit("maxReturnBytes", ml >>> 0);
        this.charge(this.h.base + this.h.call + this.h.perByte * ((ml >>> 0) + (il >>> 0)));
        const address = this.slice(ap, ADDRESS_LENGTH).slice();
        const method = TEXT.decode(this.slice(mp, ml));
        const input = this.slice(ip, il).slice();
        this.lastCallData = EMPTY;
        if (this.depth + 1 > this.e.limits.maxCallDepth) return 5;
        const stackLeft = (this.stack.value as number) - CALL_STACK_UNITS;
        if (stackLeft <= 0) return 5;
        const code = this.e.journal.base.codeOf(address);
        if (code === undefined) return 4;
        let compiled: CompiledContract;
        try {
          compiled = this.e.cache.getSync(code);
        } catch {
          return 4;
        }
        if (!compiled.prepared.methods.has(method)) return 4;
        const left = this.gas.value as bigint;
        const requested = u64(gas);
        const granted = requested === 0n || requested > left ? left : requested;
        const outcome = invoke(
          compiled,
          method,
          granted,
          stackLeft,
          (f) => f.reset(this.e, address, this.contract, u64(value), input, this.depth + 1),
        );
        this.lastCallData = outcome.returnData;
        this.charge(Number(outcome.gasUsed));
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
        this.charge(this.h.base);
        return this.lastCallData.length;
      },
      returndata_read: (ptr: number): void => {
        this.charge(this.h.base + this.h.perByte * this.lastCallData.length);
        this.write(ptr, this.lastCallData);
      },
      gas_left: (): bigint => {
        this.charge(this.h.base);
        return this.gas.value as bigint;
      },
    };
    const asEnv = {
      abort: (msg: number, file: number, line: number, col: number): void => {
        throw new Halt(
          "trap",
          "ABORT",
          `Aborted: ${this.asString(msg)} at ${this.asString(file)}:${line >>> 0}:${col >>> 0}`,
        );
      },
    };
    return { zvm, env: asEnv } as WebAssembly.Imports;
  }

  /** Decodes an AssemblyScript string (UTF-16LE, byte length at ptr - 4) defensively, at most 256 units. */
  asString(ptr: number): string {
    const p = ptr >>> 0;
    const m = this.mem();
    if (p < 4 || p > m.length) return "?";
    const len = (m[p - 4] as number) | ((m[p - 3] as number) << 8) | ((m[p - 2] as number) << 16) |
      ((m[p - 1] as number) << 24);
    const n = Math.min(len >>> 0, 512) & ~1;
    if (p + n > m.length) return "?";
    return U16.decode(m.subarray(p, p + n));
  }

  /** Runs `method` with `gasLimit`; reverts this frame's state changes unless it ends "ok". */
  run(method: string, gasLimit: bigint, stackUnits: number): FrameOutcome {
    const compiled = this.compiled;
    const journal = this.e.journal;
    const cp = journal.checkpoint();
    let status: ExecutionStatus = "ok";
    let error: ExecutionError | undefined;
    let data: Uint8Array = EMPTY;
    let gasUsed = 0n;
    try {
      if (this.value > 0n && !journal.transfer(this.caller, this.contract, this.value)) {
        return {
          status: "revert",
          returnData: EMPTY,
          gasUsed: 0n,
          error: { code: "REVERT", message: "Insufficient balance for the call's value" },
        };
      }
      const ex = this.instance.exports;
      this.gas.value = gasLimit;
      this.stack.value = stackUnits;
      try {
        if (compiled.prepared.hasInitialize) (ex[INITIALIZE_EXPORT] as () => void)();
        (ex[method] as () => void)();
        data = this.returnData;
      } catch (e) {
        const gasLeft = this.gas.value as bigint;
        if (e instanceof Halt) {
          status = e.status;
          data = e.data;
          error = { code: e.code, message: e.message };
        } else if (gasLeft < 0n) {
          status = "out_of_gas";
          error = { code: "OUT_OF_GAS", message: "Out of gas" };
        } else if ((this.stack.value as number) < 0) {
          status = "trap";
          error = { code: "STACK_OVERFLOW", message: `Stack budget of ${stackUnits} units exhausted` };
        } else if (e instanceof WebAssembly.RuntimeError) {
          status = "trap";
          error = { code: "WASM_TRAP", message: `Trap: ${e.message}` };
        } else if (e instanceof RangeError) {
          // The engine's own stack ran out before the budget did: possible only with a host stack that is
          // already deep. Not deterministic across machines; the budget is sized so this does not happen.
          status = "trap";
          error = { code: "STACK_OVERFLOW", message: `Engine stack exhausted: ${e.message}` };
        } else {
          status = "trap";
          error = {
            code: "HOST_ERROR",
            message: `Host failure: ${e instanceof Error ? e.message : String(e)}`,
          };
        }
      }
      const left = this.gas.value as bigint;
      gasUsed = status === "out_of_gas" || left < 0n ? gasLimit : gasLimit - left;
    } catch (e) {
      status = "trap";
      error = { code: "HOST_ERROR", message: `Host failure: ${e instanceof Error ? e.message : String(e)}` };
      gasUsed = 0n;
    }
    if (status !== "ok") journal.revert(cp);
    return error === undefined
      ? { status, returnData: data, gasUsed }
      : { status, returnData: data, gasUsed, error };
  }
}

/**
 * Runs `method` on a pooled (or new) instance of `compiled` bound by `bind`, then returns the instance to
 * the pool. An instantiation failure (memory allocation) is a resource failure of this node: a trap.
 */
function invoke(
  compiled: CompiledContract,
  method: string,
  gasLimit: bigint,
  stackUnits: number,
  bind: (frame: Frame) => void,
): FrameOutcome {
  let frame: Frame;
  try {
    frame = acquireFrame(compiled);
  } catch (e) {
    return {
      status: "trap",
      returnData: EMPTY,
      gasUsed: 0n,
      error: {
        code: "HOST_ERROR",
        message: `Cannot instantiate: ${e instanceof Error ? e.message : String(e)}`,
      },
    };
  }
  bind(frame);
  try {
    return frame.run(method, gasLimit, stackUnits);
  } finally {
    releaseFrame(frame);
  }
}

function checkAddress(a: unknown, what: string): Uint8Array {
  if (!(a instanceof Uint8Array) || a.length !== ADDRESS_LENGTH) {
    throw new VmError("BAD_ARGUMENT", `Cannot execute contract: ${what} must be ${ADDRESS_LENGTH} bytes`);
  }
  return a;
}

function invalid(
  code: ExecutionErrorCode,
  message: string,
  logs: string[],
  cause?: unknown,
): ExecutionResult {
  const error: ExecutionError = cause === undefined ? { code, message } : { code, message, cause };
  return {
    status: "invalid",
    returnData: EMPTY,
    gasUsed: 0,
    events: [],
    logs,
    storageChanges: [],
    balanceChanges: [],
    transfers: [],
    error,
  };
}

/**
 * Runs a method of an already compiled contract (see {@linkcode ModuleCache}). Synchronous. Throws only
 * {@linkcode VmError} for a malformed request (gas limit, address lengths); everything the contract does is a
 * result.
 */
export function executeCompiled(
  compiled: CompiledContract,
  req: Omit<ExecuteContractRequest, "code">,
): ExecutionResult {
  const { gasLimit, context } = req;
  if (!Number.isSafeInteger(gasLimit) || gasLimit < 0) {
    throw new VmError(
      "BAD_ARGUMENT",
      `Cannot execute contract: gas limit ${gasLimit} is not a non-negative safe integer`,
    );
  }
  const caller = checkAddress(context.caller, "caller");
  const contract = checkAddress(context.contract, "contract");
  const limits = req.limits ?? DEFAULT_EXECUTION_LIMITS;
  const cache = req.cache ?? defaultModuleCache();
  const logs: string[] = [];
  if (!compiled.prepared.methods.has(req.method)) {
    return invalid(
      "NO_METHOD",
      `No method ${JSON.stringify(req.method)}: not an exported () -> () function`,
      logs,
    );
  }
  if (req.input.length > limits.maxInputBytes) {
    return invalid(
      "BAD_INPUT",
      `Input of ${req.input.length} bytes exceeds maxInputBytes ${limits.maxInputBytes}`,
      logs,
    );
  }
  const journal = new StateJournal(req.state);
  const env: Env = {
    journal,
    cache,
    limits,
    schedule: cache.schedule,
    blockHeight: BigInt(context.blockHeight),
    blockTime: BigInt(context.blockTime),
    logs,
  };
  const outcome = invoke(
    compiled,
    req.method,
    BigInt(gasLimit),
    limits.maxStackUnits,
    (f) => f.reset(env, contract, caller, u64(context.value ?? 0n), req.input, 1),
  );
  const ok = outcome.status === "ok";
  const base = {
    status: outcome.status,
    returnData: outcome.returnData,
    gasUsed: Number(outcome.gasUsed),
    events: ok ? [...journal.events] : [],
    logs,
    storageChanges: ok ? journal.storageChanges() : [],
    balanceChanges: ok ? journal.balanceChanges() : [],
    transfers: ok ? [...journal.transfers] : [],
  };
  return outcome.error === undefined ? base : { ...base, error: outcome.error };
}

/**
 * Executes `method` of the contract `code` (original bytes) against `state`: the chain's entry point.
 * The module comes from `cache` (compiled on a miss). An invalid module is a result with status "invalid"
 * and the typed error as `error.cause`; see {@linkcode executeCompiled} for the rest.
 *
 * @example
 * ```ts
 * const result = await executeContract({
 *   code, method: "transfer", input, gasLimit: 1_000_000, state,
 *   context: { caller, contract, blockHeight: 1n, blockTime: 1_700_000_000_000n },
 * });
 * if (result.status === "ok") applyChanges(result.storageChanges, result.balanceChanges);
 * ```
 */
export async function executeContract(req: ExecuteContractRequest): Promise<ExecutionResult> {
  const cache = req.cache ?? defaultModuleCache();
  let compiled: CompiledContract;
  try {
    compiled = await cache.get(req.code);
  } catch (e) {
    return invalid("INVALID_MODULE", e instanceof Error ? e.message : String(e), [], e);
  }
  return executeCompiled(compiled, { ...req, cache });
}
