/**
 * Module-level validation of ZVM's WebAssembly subset (instruction-level checks are in
 * `wasm_instructions.ts` and `instrument.ts`). What is accepted, and why, is in `vm/README.md`:
 *
 * - value types i32 and i64 only: f32/f64 are rejected (FLOAT) rather than NaN-canonicalised, v128 (SIMD),
 *   funcref/externref as values (UNSUPPORTED);
 * - at most one result per function type (no multi-value);
 * - imports: only host functions from {@linkcode HOST_FUNCTIONS}, with their exact types;
 * - exactly one memory, defined (not imported), not shared; its minimum within `maxMemoryPages`, its maximum
 *   clamped to it by the instrumenter;
 * - at most one funcref table of at most `maxTableElements`;
 * - no start section (a start function would run at instantiation, before gas is set; export `_initialize`);
 * - constant offsets only; data and element segments must fit the initial memory / table;
 * - no export name starting with `__zvm` (reserved for the instrumenter).
 *
 * @module
 */

import { WasmLimitError, WasmValidationError } from "./errors.ts";
import { hostFunction } from "./host_functions.ts";
import type { ModuleLimits } from "./limits.ts";
import { type ConstExpr, ValType, type WasmModule } from "./wasm_module.ts";

/** Export names starting with this prefix are reserved for ZVM's instrumentation. */
export const RESERVED_EXPORT_PREFIX = "__zvm";

const PAGE = 65536;

/** Checks a value type; throws FLOAT / SIMD / UNSUPPORTED for anything but i32 and i64. */
export function checkValType(t: ValType, where: string): void {
  if (t === ValType.I32 || t === ValType.I64) return;
  if (t === ValType.F32 || t === ValType.F64) {
    throw new WasmValidationError("FLOAT", `Cannot accept wasm module: float type in ${where}`);
  }
  if (t === ValType.V128) {
    throw new WasmValidationError("SIMD", `Cannot accept wasm module: v128 type in ${where}`);
  }
  throw new WasmValidationError("UNSUPPORTED", `Cannot accept wasm module: reference type in ${where}`);
}

function i32Offset(e: ConstExpr, where: string): number {
  if (e.op !== "i32.const") {
    throw new WasmValidationError(
      "UNSUPPORTED",
      `Cannot accept wasm module: ${where} offset is not an i32.const`,
    );
  }
  return e.value >>> 0;
}

function sameTypes(a: readonly ValType[], b: readonly ValType[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** Validates everything outside function bodies. Throws a typed error; returns nothing. */
export function validateModule(m: WasmModule, limits: ModuleLimits): void {
  m.types.forEach((t, i) => {
    for (const p of t.params) checkValType(p, `type ${i}`);
    for (const r of t.results) checkValType(r, `type ${i}`);
    if (t.results.length > 1) {
      throw new WasmValidationError(
        "UNSUPPORTED",
        `Cannot accept wasm module: type ${i} has multiple results`,
      );
    }
  });
  for (const im of m.imports) {
    const label = `${im.module}.${im.name}`;
    if (im.kind !== "func") {
      throw new WasmValidationError(
        "BAD_IMPORT",
        `Cannot accept wasm module: import ${label} is a ${im.kind}, only host functions can be imported`,
      );
    }
    const host = hostFunction(im.module, im.name);
    if (host === undefined) {
      throw new WasmValidationError(
        "BAD_IMPORT",
        `Cannot accept wasm module: unknown host function ${label}`,
      );
    }
    const t = m.types[im.typeIndex];
    if (t === undefined) {
      throw new WasmValidationError(
        "BAD_INDEX",
        `Cannot accept wasm module: import ${label} has type index ${im.typeIndex} out of range`,
      );
    }
    if (!sameTypes(t.params, host.params) || !sameTypes(t.results, host.results)) {
      throw new WasmValidationError(
        "BAD_IMPORT",
        `Cannot accept wasm module: host function ${label} imported with the wrong type`,
      );
    }
  }
  m.functions.forEach((ti, i) => {
    if (ti >= m.types.length) {
      throw new WasmValidationError(
        "BAD_INDEX",
        `Cannot accept wasm module: function ${i} has type index ${ti} out of range`,
      );
    }
  });
  m.codes.forEach((c, i) => {
    for (const [, t] of c.locals) checkValType(t, `locals of function ${i}`);
  });
  let tableSize = 0;
  for (const t of m.tables) {
    if (t.elemType !== ValType.FUNCREF) {
      throw new WasmValidationError("UNSUPPORTED", "Cannot accept wasm module: table of externref");
    }
    if (t.limits.shared) throw new WasmValidationError("THREADS", "Cannot accept wasm module: shared table");
    if (t.limits.min > limits.maxTableElements) {
      throw new WasmLimitError("maxTableElements", t.limits.min, limits.maxTableElements, "table size");
    }
    tableSize = t.limits.min;
  }
  const mem = m.memories[0];
  if (mem === undefined) {
    throw new WasmValidationError("NO_MEMORY", "Cannot accept wasm module: the module defines no memory");
  }
  if (mem.shared) throw new WasmValidationError("THREADS", "Cannot accept wasm module: shared memory");
  if (mem.min > limits.maxMemoryPages) {
    throw new WasmLimitError("maxMemoryPages", mem.min, limits.maxMemoryPages, "initial memory pages");
  }
  m.globals.forEach((g, i) => {
    checkValType(g.type.type, `global ${i}`);
    const op = g.init.op;
    if (op === "global.get") {
      throw new WasmValidationError(
        "BAD_INDEX",
        `Cannot accept wasm module: global ${i} is initialised from a global`,
      );
    }
    if ((op === "i32.const") !== (g.type.type === ValType.I32)) {
      throw new WasmValidationError(
        "COMPILE",
        `Cannot accept wasm module: global ${i} initialiser has the wrong type`,
      );
    }
  });
  const funcCount = m.imports.length + m.functions.length;
  for (const e of m.exports) {
    if (e.name.startsWith(RESERVED_EXPORT_PREFIX)) {
      throw new WasmValidationError(
        "BAD_EXPORT",
        `Cannot accept wasm module: export name ${JSON.stringify(e.name)} is reserved`,
      );
    }
    const count = e.kind === "func"
      ? funcCount
      : e.kind === "global"
      ? m.globals.length
      : e.kind === "memory"
      ? 1
      : m.tables.length;
    if (e.index >= count) {
      throw new WasmValidationError(
        "BAD_INDEX",
        `Cannot accept wasm module: export ${JSON.stringify(e.name)} index out of range`,
      );
    }
  }
  if (m.start !== undefined) {
    throw new WasmValidationError(
      "UNSUPPORTED",
      "Cannot accept wasm module: start section (export _initialize instead)",
    );
  }
  for (const [i, e] of m.elements.entries()) {
    if (m.tables.length === 0) {
      throw new WasmValidationError(
        "BAD_INDEX",
        "Cannot accept wasm module: element segment without a table",
      );
    }
    const offset = i32Offset(e.offset, `element segment ${i}`);
    if (offset + e.functions.length > tableSize) {
      throw new WasmValidationError(
        "BAD_INDEX",
        `Cannot accept wasm module: element segment ${i} does not fit the table`,
      );
    }
    for (const f of e.functions) {
      if (f >= funcCount) {
        throw new WasmValidationError(
          "BAD_INDEX",
          `Cannot accept wasm module: element segment ${i} names function ${f} out of range`,
        );
      }
    }
  }
  for (const [i, d] of m.data.entries()) {
    const offset = i32Offset(d.offset, `data segment ${i}`);
    if (offset + d.bytes.length > mem.min * PAGE) {
      throw new WasmValidationError(
        "BAD_INDEX",
        `Cannot accept wasm module: data segment ${i} does not fit the initial memory`,
      );
    }
  }
}
