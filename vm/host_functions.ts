/**
 * The host ABI's function signatures: what a contract may import. The validator accepts an import only if
 * its module, name and type match a row here exactly. Semantics are in `vm/README.md` ("Host ABI") and
 * `host_abi.ts`.
 *
 * @module
 */

import { ValType } from "./wasm_module.ts";

const I = ValType.I32;
const L = ValType.I64;

/** One host function: its import module and name, parameter and result types. */
export interface HostFunctionSig {
  readonly module: "zvm" | "env";
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** Every host function ZVM provides, ABI version 1. */
export const HOST_FUNCTIONS: readonly HostFunctionSig[] = Object.freeze([
  { module: "zvm", name: "input_size", params: [], results: [I] },
  { module: "zvm", name: "input_read", params: [I], results: [] },
  { module: "zvm", name: "return_data", params: [I, I], results: [] },
  { module: "zvm", name: "revert", params: [I, I], results: [] },
  { module: "zvm", name: "storage_read", params: [I, I, I, I], results: [I] },
  { module: "zvm", name: "storage_write", params: [I, I, I, I], results: [] },
  { module: "zvm", name: "storage_remove", params: [I, I], results: [I] },
  { module: "zvm", name: "caller", params: [I], results: [] },
  { module: "zvm", name: "self_address", params: [I], results: [] },
  { module: "zvm", name: "call_value", params: [], results: [L] },
  { module: "zvm", name: "block_height", params: [], results: [L] },
  { module: "zvm", name: "block_time", params: [], results: [L] },
  { module: "zvm", name: "emit_event", params: [I, I, I, I], results: [] },
  { module: "zvm", name: "log", params: [I, I], results: [] },
  { module: "zvm", name: "blake3", params: [I, I, I], results: [] },
  { module: "zvm", name: "sha256", params: [I, I, I], results: [] },
  { module: "zvm", name: "ed25519_verify", params: [I, I, I, I], results: [I] },
  { module: "zvm", name: "balance", params: [I], results: [L] },
  { module: "zvm", name: "transfer", params: [I, L], results: [I] },
  { module: "zvm", name: "call_contract", params: [I, I, I, I, I, L, L], results: [I] },
  { module: "zvm", name: "returndata_size", params: [], results: [I] },
  { module: "zvm", name: "returndata_read", params: [I], results: [] },
  { module: "zvm", name: "gas_left", params: [], results: [L] },
  // AssemblyScript's abort(message, fileName, line, column): traps with code ABORT and the decoded message.
  { module: "env", name: "abort", params: [I, I, I, I], results: [] },
]);

/** Looks up a host function by import module and name. */
export function hostFunction(module: string, name: string): HostFunctionSig | undefined {
  return HOST_FUNCTIONS.find((f) => f.module === module && f.name === name);
}
