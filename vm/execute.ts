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
 * (ZIP-215 off, i.e. RFC 8032 strict, the same rules `crypto/`'s verifier applies) rather than wallet's
 * async WebCrypto-backed `ed25519Verify`.
 *
 * @module
 */

import { VmError } from "./errors.ts";
import {
  ADDRESS_LENGTH,
  ByteArena,
  EMPTY,
  type Env,
  type ExecutionError,
  type ExecutionErrorCode,
  type ExecutionResult,
  type ExecutionStatus,
  type FrameOutcome,
  Halt,
  outOfGas,
  u64,
} from "./execution_types.ts";
import { hostImports } from "./host_abi.ts";

export {
  ADDRESS_LENGTH,
  CALL_STACK_UNITS,
  type ExecutionError,
  type ExecutionErrorCode,
  type ExecutionResult,
  type ExecutionStatus,
} from "./execution_types.ts";
import { DEFAULT_GAS_SCHEDULE, type HostGasCosts } from "./gas_schedule.ts";
import {
  CHARGE_EXPORT,
  GAS_EXPORT,
  GLOBAL_EXPORT_PREFIX,
  MEMORY_EXPORT,
  STACK_EXPORT,
} from "./instrument.ts";
import { DEFAULT_EXECUTION_LIMITS, type ExecutionLimits } from "./limits.ts";
import { type CompiledContract, ModuleCache } from "./module_cache.ts";
import { INITIALIZE_EXPORT } from "./prepare_module.ts";
import { type StateAccess, StateJournal } from "./state_journal.ts";

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
  /** Host gas costs of the current invocation's schedule. */
  costs: HostGasCosts = DEFAULT_GAS_SCHEDULE.host;
  #view: Uint8Array = EMPTY;
  readonly #charge: (amount: number) => number;

  /** Instantiates `compiled` with host functions bound to this frame. Throws when instantiation fails. */
  constructor(compiled: CompiledContract) {
    this.compiled = compiled;
    this.instance = new WebAssembly.Instance(compiled.module, this.imports());
    const ex = this.instance.exports;
    this.gas = ex[GAS_EXPORT] as WebAssembly.Global;
    this.stack = ex[STACK_EXPORT] as WebAssembly.Global;
    this.#charge = ex[CHARGE_EXPORT] as (amount: number) => number;
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
    this.costs = env.schedule.host;
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
  get environment(): Env {
    const env = this.env;
    if (env === undefined) throw new Halt("trap", "HOST_ERROR", "Host call outside an invocation");
    return env;
  }

  charge(amount: number): void {
    if (this.#charge(amount) !== 0) throw outOfGas();
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

  copy(ptr: number, len: number): Uint8Array {
    return this.environment.arena.copy(this.slice(ptr, len));
  }

  write(ptr: number, bytes: Uint8Array): void {
    this.slice(ptr, bytes.length).set(bytes);
  }

  limit(what: keyof ExecutionLimits, n: number): void {
    const max = this.environment.limits[what];
    if (n > max) throw new Halt("trap", "HOST_LIMIT", `Host call over limit: ${what} ${n} exceeds ${max}`);
  }

  imports(): WebAssembly.Imports {
    return hostImports(this, invoke);
  }

  /** Runs `method` with `gasLimit`; reverts this frame's state changes unless it ends "ok". */
  run(method: string, gasLimit: bigint, stackUnits: number): FrameOutcome {
    const compiled = this.compiled;
    const journal = this.environment.journal;
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
    arena: new ByteArena(),
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
