/**
 * ZVM's limits: what a module may contain ({@linkcode ModuleLimits}) and what one execution may do
 * ({@linkcode ExecutionLimits}). Every decoder and host function checks these before it allocates.
 *
 * The defaults are part of consensus: two nodes must run with the same limits, or a contract that one node
 * accepts the other may reject. Change them only with a network upgrade.
 *
 * @module
 */

import { VmError } from "./errors.ts";

/** Limits on a module, checked while decoding and validating, before anything is compiled. */
export interface ModuleLimits {
  /** Largest module in bytes. */
  readonly maxModuleBytes: number;
  /** Most function types in the type section. */
  readonly maxTypes: number;
  /** Most parameters or results of one function type. */
  readonly maxTypeArity: number;
  /** Most imports. */
  readonly maxImports: number;
  /** Most functions defined by the module. */
  readonly maxFunctions: number;
  /** Most globals defined by the module. */
  readonly maxGlobals: number;
  /** Most exports. */
  readonly maxExports: number;
  /** Most tables (MVP: one). */
  readonly maxTables: number;
  /** Largest table (initial and maximum size), in elements. */
  readonly maxTableElements: number;
  /** Most element segments. */
  readonly maxElementSegments: number;
  /** Most data segments. */
  readonly maxDataSegments: number;
  /** Largest memory, in 64 KiB pages: a declared maximum above it is clamped, a minimum above it rejected. */
  readonly maxMemoryPages: number;
  /** Most locals (parameters included) of one function. */
  readonly maxLocals: number;
  /** Largest function body in bytes. */
  readonly maxFunctionBodyBytes: number;
  /** Deepest nesting of blocks, loops and ifs in one function. */
  readonly maxControlDepth: number;
  /** Most targets of one `br_table`. */
  readonly maxBrTableTargets: number;
  /** Longest import/export name in bytes. */
  readonly maxNameBytes: number;
}

/** Limits on one execution (all nested contract calls included). */
export interface ExecutionLimits {
  /** Largest input to a call, in bytes. */
  readonly maxInputBytes: number;
  /** Largest return data, in bytes. */
  readonly maxReturnBytes: number;
  /** Largest storage key, in bytes. */
  readonly maxKeyBytes: number;
  /** Largest storage value, in bytes. */
  readonly maxValueBytes: number;
  /** Most events per execution. */
  readonly maxEvents: number;
  /** Largest event (topic + data), in bytes. */
  readonly maxEventBytes: number;
  /** Most log lines per execution. */
  readonly maxLogs: number;
  /** Longest log line, in bytes. */
  readonly maxLogBytes: number;
  /** Deepest chain of contract-to-contract calls (the outer call is depth 1). */
  readonly maxCallDepth: number;
  /** Stack budget shared by every frame of every contract in one execution, in stack units (see README). */
  readonly maxStackUnits: number;
  /** Largest input to a hashing host function, in bytes. */
  readonly maxHashInputBytes: number;
}

/** ZVM's default module limits (memory capped at 32 MiB like CosmWasm). */
export const DEFAULT_MODULE_LIMITS: ModuleLimits = Object.freeze({
  maxModuleBytes: 1024 * 1024,
  maxTypes: 512,
  maxTypeArity: 32,
  maxImports: 64,
  maxFunctions: 8192,
  maxGlobals: 512,
  maxExports: 256,
  maxTables: 1,
  maxTableElements: 8192,
  maxElementSegments: 256,
  maxDataSegments: 2048,
  maxMemoryPages: 512,
  maxLocals: 1024,
  maxFunctionBodyBytes: 256 * 1024,
  maxControlDepth: 256,
  maxBrTableTargets: 4096,
  maxNameBytes: 256,
});

/** ZVM's default execution limits. */
export const DEFAULT_EXECUTION_LIMITS: ExecutionLimits = Object.freeze({
  maxInputBytes: 1024 * 1024,
  maxReturnBytes: 64 * 1024,
  maxKeyBytes: 256,
  maxValueBytes: 64 * 1024,
  maxEvents: 1024,
  maxEventBytes: 16 * 1024,
  maxLogs: 256,
  maxLogBytes: 1024,
  maxCallDepth: 8,
  maxStackUnits: 32 * 1024,
  maxHashInputBytes: 1024 * 1024,
});

function parseLimits<T extends object>(raw: unknown, defaults: T, what: string): T {
  if (raw === undefined) return defaults;
  if (raw === null || typeof raw !== "object") {
    throw new VmError("BAD_ARGUMENT", `Cannot parse ${what}: expected an object`);
  }
  const out: Record<string, number> = { ...defaults as Record<string, number> };
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in defaults)) throw new VmError("BAD_ARGUMENT", `Cannot parse ${what}: unknown key ${key}`);
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new VmError(
        "BAD_ARGUMENT",
        `Cannot parse ${what}: ${key} is ${String(value)}, expected a non-negative safe integer`,
      );
    }
    out[key] = value;
  }
  return Object.freeze(out) as T;
}

/** Parses partial module limits over the defaults; a bad key or value throws a {@linkcode VmError}. */
export function parseModuleLimits(raw: unknown): ModuleLimits {
  const limits = parseLimits(raw, DEFAULT_MODULE_LIMITS, "module limits");
  if (limits.maxMemoryPages > 65536) {
    throw new VmError("BAD_ARGUMENT", "Cannot parse module limits: maxMemoryPages exceeds 65536");
  }
  return limits;
}

/** Parses partial execution limits over the defaults; a bad key or value throws a {@linkcode VmError}. */
export function parseExecutionLimits(raw: unknown): ExecutionLimits {
  return parseLimits(raw, DEFAULT_EXECUTION_LIMITS, "execution limits");
}
