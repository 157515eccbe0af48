// Private test helper: builds small wasm modules from opcode bytes with our own encoder.

import { Writer } from "./_leb128.ts";
import {
  type ConstExpr,
  encodeModule,
  type Export,
  type FuncType,
  type Import,
  ValType,
  type WasmModule,
} from "./wasm_module.ts";

export const I32 = ValType.I32;
export const I64 = ValType.I64;

export function i32(n: number): number[] {
  return [0x41, ...new Writer().s32(n).finish()];
}
export function i64(n: bigint): number[] {
  return [0x42, ...new Writer().s64(n).finish()];
}
export function u(n: number): number[] {
  return [...new Writer().u32(n).finish()];
}

export interface TestFunc {
  readonly type: FuncType;
  readonly locals?: readonly (readonly [number, ValType])[];
  readonly code: readonly number[];
  readonly export?: string;
}

export interface TestModule {
  readonly imports?: readonly { module: string; name: string; type: FuncType }[];
  readonly funcs: readonly TestFunc[];
  readonly memory?: { min: number; max?: number } | null;
  readonly data?: readonly { offset: number; bytes: Uint8Array }[];
  readonly globals?: readonly { type: ValType; mutable: boolean; init: ConstExpr }[];
  readonly table?: readonly number[];
  readonly extraExports?: readonly Export[];
}

/** Builds a module: each function's `code` excludes the final `end` (added here). */
export function buildModule(t: TestModule): Uint8Array {
  const types: FuncType[] = [];
  const typeOf = (ft: FuncType): number => {
    const key = JSON.stringify(ft);
    const i = types.findIndex((x) => JSON.stringify(x) === key);
    if (i >= 0) return i;
    types.push(ft);
    return types.length - 1;
  };
  const imports: Import[] = (t.imports ?? []).map((im) => ({
    module: im.module,
    name: im.name,
    kind: "func",
    typeIndex: typeOf(im.type),
  }));
  const nImports = imports.length;
  const exports: Export[] = [];
  t.funcs.forEach((f, i) => {
    if (f.export !== undefined) exports.push({ name: f.export, kind: "func", index: nImports + i });
  });
  if (t.memory !== null) exports.push({ name: "memory", kind: "memory", index: 0 });
  exports.push(...(t.extraExports ?? []));
  const m: WasmModule = {
    types,
    imports,
    functions: t.funcs.map((f) => typeOf(f.type)),
    tables: t.table === undefined
      ? []
      : [{ elemType: ValType.FUNCREF, limits: { min: t.table.length, max: t.table.length, shared: false } }],
    memories: t.memory === null ? [] : [{ min: t.memory?.min ?? 1, max: t.memory?.max, shared: false }],
    globals: (t.globals ?? []).map((g) => ({ type: { type: g.type, mutable: g.mutable }, init: g.init })),
    exports,
    start: undefined,
    elements: t.table === undefined ? [] : [{ offset: { op: "i32.const", value: 0 }, functions: t.table }],
    dataCount: undefined,
    codes: t.funcs.map((f) => ({ locals: f.locals ?? [], code: new Uint8Array([...f.code, 0x0b]) })),
    data: (t.data ?? []).map((d) => ({ offset: { op: "i32.const", value: d.offset }, bytes: d.bytes })),
  };
  return encodeModule(m);
}

export const VOID: FuncType = { params: [], results: [] };
