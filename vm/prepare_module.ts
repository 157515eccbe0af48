/**
 * The whole pipeline from contract bytes to metered bytes, with no engine involved: decode
 * ({@linkcode decodeModule}), validate ({@linkcode validateModule}), instrument ({@linkcode instrumentModule}),
 * encode. Pure and deterministic: the same input, limits and schedule give the same output bytes.
 *
 * @module
 */
import { toHex } from "../core/mod.ts";

export { toHex };

import { blake3 } from "@noble/hashes/blake3.js";
import { DEFAULT_GAS_SCHEDULE, type GasSchedule } from "./gas_schedule.ts";
import { instrumentModule } from "./instrument.ts";
import { DEFAULT_MODULE_LIMITS, type ModuleLimits } from "./limits.ts";
import { validateModule } from "./validate_module.ts";
import { decodeModule, encodeModule } from "./wasm_module.ts";

/** A contract after validation and instrumentation, ready to compile. */
export interface PreparedModule {
  /** BLAKE3 of the original contract bytes: the code hash. */
  readonly codeHash: Uint8Array;
  /** The code hash in lowercase hex. */
  readonly codeHashHex: string;
  /** The instrumented module's bytes. */
  readonly bytes: Uint8Array;
  /** Exported functions of type `() -> ()`: the methods a caller may invoke. */
  readonly methods: ReadonlySet<string>;
  /** Whether the module exports `_initialize () -> ()`, run before every method. */
  readonly hasInitialize: boolean;
}

/** Options of {@linkcode prepareModule}. */
export interface PrepareOptions {
  /** Module limits; defaults to {@linkcode DEFAULT_MODULE_LIMITS}. */
  readonly limits?: ModuleLimits;
  /** Gas schedule; defaults to {@linkcode DEFAULT_GAS_SCHEDULE}. */
  readonly schedule?: GasSchedule;
}

/** Name of the optional initialiser export (the WASI reactor convention). */
export const INITIALIZE_EXPORT = "_initialize";

/**
 * Decodes, validates and instruments a contract. Throws {@linkcode WasmDecodeError},
 * {@linkcode WasmValidationError} or {@linkcode WasmLimitError}; nothing else for any input.
 */
export function prepareModule(bytes: Uint8Array, options: PrepareOptions = {}): PreparedModule {
  const limits = options.limits ?? DEFAULT_MODULE_LIMITS;
  const schedule = options.schedule ?? DEFAULT_GAS_SCHEDULE;
  const module = decodeModule(bytes, limits);
  validateModule(module, limits);
  const { module: metered } = instrumentModule(module, schedule, limits);
  const importCount = module.imports.length;
  const methods = new Set<string>();
  for (const e of module.exports) {
    if (e.kind !== "func") continue;
    const ti = e.index < importCount ? undefined : module.functions[e.index - importCount];
    const t = ti === undefined ? undefined : module.types[ti];
    if (t !== undefined && t.params.length === 0 && t.results.length === 0) methods.add(e.name);
  }
  const hasInitialize = methods.has(INITIALIZE_EXPORT);
  methods.delete(INITIALIZE_EXPORT);
  const codeHash = blake3(bytes);
  return { codeHash, codeHashHex: toHex(codeHash), bytes: encodeModule(metered), methods, hasInitialize };
}
