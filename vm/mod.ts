/**
 * ZVM: WebAssembly smart contracts with deterministic gas metering (the seed's zvm).
 *
 * A contract is validated against a documented WebAssembly subset and ZVM's limits, rewritten to meter gas
 * per basic block and to bound its stack, compiled once per code hash, and run with a synchronous host ABI
 * (storage, input/return data, caller, block, events, hashes, Ed25519, balances, contract calls with journaled
 * revert). The chain calls {@linkcode executeContract}; the seed's FFI maps onto {@linkcode createInstance},
 * {@linkcode executeFunction}, {@linkcode destroyInstance}, {@linkcode getState}, {@linkcode setState}. The
 * AssemblyScript SDK and example contracts live in `vm/sdk/`. See `vm/README.md` for the subset, the gas rules,
 * the host ABI and the limits.
 *
 * @example
 * ```ts
 * import { createInstance, executeFunction, getState } from "./mod.ts";
 *
 * const counter = await createInstance(Deno.readFileSync("vm/sdk/build/counter.wasm"));
 * const result = executeFunction(counter, "increment", new Uint8Array(), { gasLimit: 100_000 });
 * console.log(result.status, result.gasUsed); // "ok" 6100
 * console.log(getState(counter, new TextEncoder().encode("count"))); // Uint8Array(8) [1, 0, ...]
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./limits.ts";
export * from "./gas_schedule.ts";
export {
  type ConstExpr,
  decodeModule,
  encodeModule,
  type FuncType,
  ValType,
  type WasmModule,
} from "./wasm_module.ts";
export { HOST_FUNCTIONS, type HostFunctionSig } from "./host_functions.ts";
export { FRAME_OVERHEAD, GAS_EXPORT, instrumentModule, MEMORY_EXPORT, STACK_EXPORT } from "./instrument.ts";
export { validateModule } from "./validate_module.ts";
export {
  INITIALIZE_EXPORT,
  type PreparedModule,
  prepareModule,
  type PrepareOptions,
} from "./prepare_module.ts";
export * from "./module_cache.ts";
export * from "./state_journal.ts";
export * from "./memory_state.ts";
export {
  ADDRESS_LENGTH,
  CALL_STACK_UNITS,
  defaultModuleCache,
  executeCompiled,
  executeContract,
  type ExecuteContractRequest,
  type ExecutionContext,
  type ExecutionError,
  type ExecutionErrorCode,
  type ExecutionResult,
  type ExecutionStatus,
} from "./execute.ts";
export * from "./instance.ts";
export * from "./deno_worker_executor.ts";
