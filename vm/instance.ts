/**
 * The seed's zvm FFI as a typed API: {@linkcode createInstance} (`zvm_create_instance`),
 * {@linkcode executeFunction} (`zvm_execute_function`), {@linkcode destroyInstance}
 * (`zvm_destroy_instance`), {@linkcode getState} / {@linkcode setState} (`zvm_get_state` / `zvm_set_state`).
 *
 * An instance is a contract bound to an address and its own in-memory {@linkcode MemoryState}; each
 * `executeFunction` runs with a fresh wasm instance (see `execute.ts`) and commits its storage changes to
 * that state when it succeeds.
 *
 * @module
 */

import { VmError } from "./errors.ts";
import { ADDRESS_LENGTH, executeCompiled, type ExecutionResult } from "./execute.ts";
import { DEFAULT_EXECUTION_LIMITS, type ExecutionLimits } from "./limits.ts";
import { MemoryState } from "./memory_state.ts";
import { type CompiledContract, ModuleCache } from "./module_cache.ts";

/** Options of {@linkcode createInstance}. */
export interface CreateInstanceOptions {
  /** The contract's address (default: the first 20 bytes of its code hash). */
  readonly address?: Uint8Array;
  /** State to run against (default: a new empty {@linkcode MemoryState}). */
  readonly state?: MemoryState;
  /** Module cache (default: a new one per instance). */
  readonly cache?: ModuleCache;
  /** Execution limits. */
  readonly limits?: ExecutionLimits;
}

/** Options of {@linkcode executeFunction}. */
export interface ExecuteFunctionOptions {
  /** Gas limit (default 10,000,000). */
  readonly gasLimit?: number;
  /** Caller address (default 20 zero bytes). */
  readonly caller?: Uint8Array;
  /** Value moved from caller to contract (default 0). */
  readonly value?: bigint;
  /** Block height (default 0). */
  readonly blockHeight?: bigint;
  /** Block time in ms since the epoch (default 0). */
  readonly blockTime?: bigint;
}

/** A created contract instance. Opaque: use the functions of this module. */
export interface VmInstance {
  /** The contract's address. */
  readonly address: Uint8Array;
  /** BLAKE3 code hash, hex. */
  readonly codeHash: string;
  /** Callable methods. */
  readonly methods: ReadonlySet<string>;
  /** The state this instance reads and commits to. */
  readonly state: MemoryState;
}

interface Internal {
  compiled: CompiledContract;
  cache: ModuleCache;
  limits: ExecutionLimits;
  destroyed: boolean;
}

const INTERNAL = new WeakMap<VmInstance, Internal>();

function internal(instance: VmInstance): Internal {
  const i = INTERNAL.get(instance);
  if (i === undefined || i.destroyed) {
    throw new VmError("NO_INSTANCE", "Cannot use instance: it was destroyed or never created");
  }
  return i;
}

/**
 * Validates, instruments and compiles `bytecode` (cached by code hash) and returns an instance. Throws
 * {@linkcode WasmDecodeError}, {@linkcode WasmValidationError} or {@linkcode WasmLimitError} for bad code.
 */
export async function createInstance(
  bytecode: Uint8Array,
  options: CreateInstanceOptions = {},
): Promise<VmInstance> {
  const cache = options.cache ?? new ModuleCache();
  const compiled = await cache.get(bytecode);
  const address = options.address ?? compiled.prepared.codeHash.slice(0, ADDRESS_LENGTH);
  if (address.length !== ADDRESS_LENGTH) {
    throw new VmError("BAD_ARGUMENT", `Cannot create instance: address must be ${ADDRESS_LENGTH} bytes`);
  }
  const state = options.state ?? new MemoryState();
  state.deploy(address, bytecode);
  const instance: VmInstance = Object.freeze({
    address,
    codeHash: compiled.prepared.codeHashHex,
    methods: compiled.prepared.methods,
    state,
  });
  INTERNAL.set(instance, {
    compiled,
    cache,
    limits: options.limits ?? DEFAULT_EXECUTION_LIMITS,
    destroyed: false,
  });
  return instance;
}

/** Runs `name` with input `args`; on "ok" the storage and balance changes are committed to the instance's state. */
export function executeFunction(
  instance: VmInstance,
  name: string,
  args: Uint8Array = new Uint8Array(0),
  options: ExecuteFunctionOptions = {},
): ExecutionResult {
  const i = internal(instance);
  const result = executeCompiled(i.compiled, {
    method: name,
    input: args,
    gasLimit: options.gasLimit ?? 10_000_000,
    state: instance.state,
    cache: i.cache,
    limits: i.limits,
    context: {
      caller: options.caller ?? new Uint8Array(ADDRESS_LENGTH),
      contract: instance.address,
      value: options.value ?? 0n,
      blockHeight: options.blockHeight ?? 0n,
      blockTime: options.blockTime ?? 0n,
    },
  });
  instance.state.apply(result);
  return result;
}

/** Releases an instance; further use throws {@linkcode VmError} NO_INSTANCE. */
export function destroyInstance(instance: VmInstance): void {
  const i = INTERNAL.get(instance);
  if (i !== undefined) i.destroyed = true;
}

/** Reads the instance's contract storage. */
export function getState(instance: VmInstance, key: Uint8Array): Uint8Array | undefined {
  internal(instance);
  return instance.state.storageGet(instance.address, key);
}

/** Writes the instance's contract storage directly (genesis, tests); key and value within the execution limits. */
export function setState(instance: VmInstance, key: Uint8Array, value: Uint8Array): void {
  const i = internal(instance);
  if (key.length > i.limits.maxKeyBytes || value.length > i.limits.maxValueBytes) {
    throw new VmError("BAD_ARGUMENT", "Cannot set state: key or value over the execution limits");
  }
  instance.state.setStorage(instance.address, key.slice(), value.slice());
}
