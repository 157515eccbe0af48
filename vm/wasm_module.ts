/**
 * WebAssembly binary codec (core spec §5, "Binary Format"): {@linkcode decodeModule} turns bytes into a
 * {@linkcode WasmModule}, {@linkcode encodeModule} turns it back. Only the section structure is decoded here;
 * function bodies stay bytes until {@linkcode decodeInstructions} (in `wasm_instructions.ts`) reads them.
 *
 * The decoder takes {@linkcode ModuleLimits} and checks every count against them and against the bytes left
 * before it allocates. Forms ZVM never accepts and that would need more parsing (passive or declarative
 * segments, reference-typed element segments) are rejected here with a {@linkcode WasmValidationError}.
 * Custom sections (names, producers) are skipped and not re-encoded.
 *
 * @module
 */

import { Reader, Writer } from "./_leb128.ts";
import { WasmDecodeError, WasmLimitError, WasmValidationError } from "./errors.ts";
import { DEFAULT_MODULE_LIMITS, type ModuleLimits } from "./limits.ts";

/** Value types (§5.3.1). ZVM accepts only i32 and i64; the others are decoded so they can be rejected by name. */
export const ValType = {
  I32: 0x7f,
  I64: 0x7e,
  F32: 0x7d,
  F64: 0x7c,
  V128: 0x7b,
  FUNCREF: 0x70,
  EXTERNREF: 0x6f,
} as const;

/** A value type byte. */
export type ValType = typeof ValType[keyof typeof ValType];

/** A function type: parameter and result types. */
export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** Memory or table limits (§5.3.4); `shared` is the threads proposal's flag. */
export interface Limits {
  readonly min: number;
  readonly max: number | undefined;
  readonly shared: boolean;
}

/** A table type. */
export interface TableType {
  readonly elemType: ValType;
  readonly limits: Limits;
}

/** A global's type. */
export interface GlobalType {
  readonly type: ValType;
  readonly mutable: boolean;
}

/** A constant expression (MVP forms): an integer constant or a `global.get`. */
export type ConstExpr =
  | { readonly op: "i32.const"; readonly value: number }
  | { readonly op: "i64.const"; readonly value: bigint }
  | { readonly op: "global.get"; readonly index: number };

/** An import; `desc` depends on `kind`. */
export type Import =
  & { readonly module: string; readonly name: string }
  & (
    | { readonly kind: "func"; readonly typeIndex: number }
    | { readonly kind: "table"; readonly table: TableType }
    | { readonly kind: "memory"; readonly limits: Limits }
    | { readonly kind: "global"; readonly global: GlobalType }
  );

/** An export. */
export interface Export {
  readonly name: string;
  readonly kind: "func" | "table" | "memory" | "global";
  readonly index: number;
}

/** A global defined by the module. */
export interface Global {
  readonly type: GlobalType;
  readonly init: ConstExpr;
}

/** An active element segment for table 0 (the MVP form, flags 0). */
export interface ElementSegment {
  readonly offset: ConstExpr;
  readonly functions: readonly number[];
}

/** An active data segment for memory 0 (the MVP form, flags 0). */
export interface DataSegment {
  readonly offset: ConstExpr;
  readonly bytes: Uint8Array;
}

/** A function body: local declarations and the instruction bytes (ending with the final `end`). */
export interface FunctionBody {
  /** Run-length encoded locals: `[count, type]`. */
  readonly locals: readonly (readonly [number, ValType])[];
  /** Instruction bytes. */
  readonly code: Uint8Array;
}

/** A decoded module. Indices follow the spec: imported functions first, then defined ones. */
export interface WasmModule {
  readonly types: readonly FuncType[];
  readonly imports: readonly Import[];
  /** Type index of each defined function. */
  readonly functions: readonly number[];
  readonly tables: readonly TableType[];
  readonly memories: readonly Limits[];
  readonly globals: readonly Global[];
  readonly exports: readonly Export[];
  readonly start: number | undefined;
  readonly elements: readonly ElementSegment[];
  readonly dataCount: number | undefined;
  readonly codes: readonly FunctionBody[];
  readonly data: readonly DataSegment[];
}

const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const EXPORT_KINDS = ["func", "table", "memory", "global"] as const;
// Order of non-custom sections (§5.5.2): type import func table memory global export start elem datacount code data.
const SECTION_ORDER: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  6: 6,
  7: 7,
  8: 8,
  9: 9,
  12: 10,
  10: 11,
  11: 12,
};

function limitError(limit: keyof ModuleLimits, limits: ModuleLimits, what: string): (n: number) => never {
  return (n) => {
    throw new WasmLimitError(limit, n, limits[limit], what);
  };
}

function valType(r: Reader): ValType {
  const b = r.u8();
  switch (b) {
    case 0x7f:
    case 0x7e:
    case 0x7d:
    case 0x7c:
    case 0x7b:
    case 0x70:
    case 0x6f:
      return b;
    default:
      return r.fail("BAD_VALUE", `unknown value type 0x${b.toString(16)}`);
  }
}

function limitsOf(r: Reader): Limits {
  const flags = r.u8();
  if (flags > 3) r.fail("BAD_VALUE", `unsupported limits flags 0x${flags.toString(16)}`);
  const min = r.u32();
  const max = (flags & 1) !== 0 ? r.u32() : undefined;
  if (max !== undefined && max < min) r.fail("BAD_VALUE", `limits maximum ${max} is below minimum ${min}`);
  return { min, max, shared: (flags & 2) !== 0 };
}

function constExpr(r: Reader): ConstExpr {
  const op = r.u8();
  let expr: ConstExpr;
  switch (op) {
    case 0x41:
      expr = { op: "i32.const", value: r.s32() };
      break;
    case 0x42:
      expr = { op: "i64.const", value: r.s64() };
      break;
    case 0x23:
      expr = { op: "global.get", index: r.u32() };
      break;
    case 0x43:
    case 0x44:
      throw new WasmValidationError(
        "FLOAT",
        "Cannot accept wasm module: float constant in a constant expression",
      );
    default:
      throw new WasmValidationError(
        "UNSUPPORTED",
        `Cannot accept wasm module: opcode 0x${op.toString(16)} in a constant expression`,
      );
  }
  if (r.u8() !== 0x0b) {
    throw new WasmValidationError(
      "UNSUPPORTED",
      "Cannot accept wasm module: constant expression longer than one instruction",
    );
  }
  return expr;
}

/**
 * Decodes a WebAssembly binary. Throws {@linkcode WasmDecodeError} for malformed bytes,
 * {@linkcode WasmLimitError} for a module over `limits`, and {@linkcode WasmValidationError} for forms outside
 * ZVM's subset that the decoder does not parse (see module docs). Nothing else is thrown for any input.
 */
export function decodeModule(bytes: Uint8Array, limits: ModuleLimits = DEFAULT_MODULE_LIMITS): WasmModule {
  if (bytes.length > limits.maxModuleBytes) {
    throw new WasmLimitError("maxModuleBytes", bytes.length, limits.maxModuleBytes, "module size");
  }
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== MAGIC_AND_VERSION[i]) {
      throw new WasmDecodeError("BAD_MAGIC", i, "Cannot decode wasm module: missing \\0asm version 1 header");
    }
  }
  const r = new Reader(bytes, 8);
  const types: FuncType[] = [];
  const imports: Import[] = [];
  let functions: number[] = [];
  const tables: TableType[] = [];
  const memories: Limits[] = [];
  const globals: Global[] = [];
  const exports: Export[] = [];
  let start: number | undefined;
  const elements: ElementSegment[] = [];
  let dataCount: number | undefined;
  const codes: FunctionBody[] = [];
  const data: DataSegment[] = [];
  let lastOrder = 0;
  let sawCode = false;

  while (r.pos < bytes.length) {
    const idOffset = r.pos;
    const id = r.u8();
    const size = r.u32();
    if (size > r.remaining) r.fail("TRUNCATED", `section ${id} of ${size} bytes exceeds the module`);
    const s = new Reader(bytes, r.pos, r.pos + size);
    r.pos += size;
    if (id === 0) {
      s.name(limits.maxNameBytes); // custom section: validated name, contents skipped
      continue;
    }
    const order = SECTION_ORDER[id];
    if (order === undefined) {
      throw new WasmDecodeError(
        "BAD_SECTION",
        idOffset,
        `Cannot decode wasm module: unknown section id ${id}`,
      );
    }
    if (order <= lastOrder) {
      throw new WasmDecodeError(
        "BAD_SECTION",
        idOffset,
        `Cannot decode wasm module: section ${id} out of order`,
      );
    }
    lastOrder = order;
    switch (id) {
      case 1: {
        const n = s.count(limits.maxTypes, 3, "type", limitError("maxTypes", limits, "type count"));
        for (let i = 0; i < n; i++) {
          if (s.u8() !== 0x60) s.fail("BAD_VALUE", "function type does not start with 0x60");
          const arity = limitError("maxTypeArity", limits, "function type arity");
          const np = s.count(limits.maxTypeArity, 1, "parameter", arity);
          const params: ValType[] = [];
          for (let j = 0; j < np; j++) params.push(valType(s));
          const nr = s.count(limits.maxTypeArity, 1, "result", arity);
          const results: ValType[] = [];
          for (let j = 0; j < nr; j++) results.push(valType(s));
          types.push({ params, results });
        }
        break;
      }
      case 2: {
        const n = s.count(limits.maxImports, 4, "import", limitError("maxImports", limits, "import count"));
        for (let i = 0; i < n; i++) {
          const module = s.name(limits.maxNameBytes);
          const name = s.name(limits.maxNameBytes);
          const kind = s.u8();
          if (kind === 0) imports.push({ module, name, kind: "func", typeIndex: s.u32() });
          else if (kind === 1) {
            imports.push({
              module,
              name,
              kind: "table",
              table: { elemType: valType(s), limits: limitsOf(s) },
            });
          } else if (kind === 2) imports.push({ module, name, kind: "memory", limits: limitsOf(s) });
          else if (kind === 3) {
            const type = valType(s);
            const mut = s.u8();
            if (mut > 1) s.fail("BAD_VALUE", "global mutability flag is not 0 or 1");
            imports.push({ module, name, kind: "global", global: { type, mutable: mut === 1 } });
          } else s.fail("BAD_VALUE", `unknown import kind ${kind}`);
        }
        break;
      }
      case 3: {
        const n = s.count(
          limits.maxFunctions,
          1,
          "function",
          limitError("maxFunctions", limits, "function count"),
        );
        functions = [];
        for (let i = 0; i < n; i++) functions.push(s.u32());
        break;
      }
      case 4: {
        const n = s.count(limits.maxTables, 3, "table", limitError("maxTables", limits, "table count"));
        for (let i = 0; i < n; i++) tables.push({ elemType: valType(s), limits: limitsOf(s) });
        break;
      }
      case 5: {
        const n = s.count(1, 2, "memory", () => {
          throw new WasmValidationError("UNSUPPORTED", "Cannot accept wasm module: more than one memory");
        });
        for (let i = 0; i < n; i++) memories.push(limitsOf(s));
        break;
      }
      case 6: {
        const n = s.count(limits.maxGlobals, 4, "global", limitError("maxGlobals", limits, "global count"));
        for (let i = 0; i < n; i++) {
          const type = valType(s);
          const mut = s.u8();
          if (mut > 1) s.fail("BAD_VALUE", "global mutability flag is not 0 or 1");
          globals.push({ type: { type, mutable: mut === 1 }, init: constExpr(s) });
        }
        break;
      }
      case 7: {
        const n = s.count(limits.maxExports, 3, "export", limitError("maxExports", limits, "export count"));
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) {
          const name = s.name(limits.maxNameBytes);
          const kind = s.u8();
          const k = EXPORT_KINDS[kind] ?? s.fail("BAD_VALUE", `unknown export kind ${kind}`);
          if (seen.has(name)) s.fail("BAD_VALUE", `duplicate export name ${JSON.stringify(name)}`);
          seen.add(name);
          exports.push({ name, kind: k, index: s.u32() });
        }
        break;
      }
      case 8:
        start = s.u32();
        break;
      case 9: {
        const n = s.count(
          limits.maxElementSegments,
          4,
          "element segment",
          limitError("maxElementSegments", limits, "element segment count"),
        );
        for (let i = 0; i < n; i++) {
          const flags = s.u32();
          if (flags !== 0) {
            throw new WasmValidationError(
              "UNSUPPORTED",
              `Cannot accept wasm module: element segment form ${flags} (only active segments for table 0)`,
            );
          }
          const offset = constExpr(s);
          const m = s.count(
            limits.maxTableElements,
            1,
            "element",
            limitError("maxTableElements", limits, "element segment length"),
          );
          const fns: number[] = [];
          for (let j = 0; j < m; j++) fns.push(s.u32());
          elements.push({ offset, functions: fns });
        }
        break;
      }
      case 12:
        dataCount = s.u32();
        break;
      case 10: {
        sawCode = true;
        const n = s.count(
          limits.maxFunctions,
          2,
          "function body",
          limitError("maxFunctions", limits, "function body count"),
        );
        if (n !== functions.length) {
          throw new WasmDecodeError(
            "BAD_SECTION",
            s.pos,
            `Cannot decode wasm module: ${n} function bodies for ${functions.length} functions`,
          );
        }
        for (let i = 0; i < n; i++) {
          const bodySize = s.u32();
          if (bodySize > limits.maxFunctionBodyBytes) {
            throw new WasmLimitError(
              "maxFunctionBodyBytes",
              bodySize,
              limits.maxFunctionBodyBytes,
              "function body size",
            );
          }
          if (bodySize > s.remaining) {
            s.fail("TRUNCATED", `function body of ${bodySize} bytes exceeds the section`);
          }
          const b = new Reader(bytes, s.pos, s.pos + bodySize);
          s.pos += bodySize;
          const groups = b.count(
            limits.maxLocals,
            2,
            "local group",
            limitError("maxLocals", limits, "local group count"),
          );
          const locals: (readonly [number, ValType])[] = [];
          let total = 0;
          for (let j = 0; j < groups; j++) {
            const count = b.u32();
            total += count;
            if (total > limits.maxLocals) {
              throw new WasmLimitError("maxLocals", total, limits.maxLocals, "local count");
            }
            locals.push([count, valType(b)]);
          }
          codes.push({ locals, code: b.take(b.remaining) });
        }
        break;
      }
      case 11: {
        const n = s.count(
          limits.maxDataSegments,
          3,
          "data segment",
          limitError("maxDataSegments", limits, "data segment count"),
        );
        for (let i = 0; i < n; i++) {
          const flags = s.u32();
          if (flags !== 0) {
            throw new WasmValidationError(
              "UNSUPPORTED",
              `Cannot accept wasm module: data segment form ${flags} (only active segments for memory 0)`,
            );
          }
          const offset = constExpr(s);
          const len = s.u32();
          data.push({ offset, bytes: s.take(len) });
        }
        break;
      }
    }
    if (s.remaining !== 0) {
      throw new WasmDecodeError(
        "BAD_SECTION",
        s.pos,
        `Cannot decode wasm module: section ${id} has ${s.remaining} trailing bytes`,
      );
    }
  }
  if (!sawCode && functions.length > 0) {
    throw new WasmDecodeError(
      "BAD_SECTION",
      bytes.length,
      `Cannot decode wasm module: ${functions.length} functions without bodies`,
    );
  }
  if (dataCount !== undefined && dataCount !== data.length) {
    throw new WasmDecodeError(
      "BAD_SECTION",
      bytes.length,
      "Cannot decode wasm module: data count does not match the data section",
    );
  }
  return {
    types,
    imports,
    functions,
    tables,
    memories,
    globals,
    exports,
    start,
    elements,
    dataCount,
    codes,
    data,
  };
}

function writeLimits(w: Writer, l: Limits): void {
  w.byte((l.max !== undefined ? 1 : 0) | (l.shared ? 2 : 0)).u32(l.min);
  if (l.max !== undefined) w.u32(l.max);
}

function writeConst(w: Writer, e: ConstExpr): void {
  if (e.op === "i32.const") w.byte(0x41).s32(e.value);
  else if (e.op === "i64.const") w.byte(0x42).s64(e.value);
  else w.byte(0x23).u32(e.index);
  w.byte(0x0b);
}

/** Encodes a module; empty sections are left out. `decodeModule(encodeModule(m))` gives `m` back. */
export function encodeModule(m: WasmModule): Uint8Array {
  const w = new Writer().bytes(new Uint8Array(MAGIC_AND_VERSION));
  if (m.types.length > 0) {
    w.section(1, (s) => {
      s.u32(m.types.length);
      for (const t of m.types) {
        s.byte(0x60).u32(t.params.length);
        for (const p of t.params) s.byte(p);
        s.u32(t.results.length);
        for (const r of t.results) s.byte(r);
      }
    });
  }
  if (m.imports.length > 0) {
    w.section(2, (s) => {
      s.u32(m.imports.length);
      for (const im of m.imports) {
        s.name(im.module).name(im.name);
        if (im.kind === "func") s.byte(0).u32(im.typeIndex);
        else if (im.kind === "table") {
          s.byte(1).byte(im.table.elemType);
          writeLimits(s, im.table.limits);
        } else if (im.kind === "memory") {
          s.byte(2);
          writeLimits(s, im.limits);
        } else s.byte(3).byte(im.global.type).byte(im.global.mutable ? 1 : 0);
      }
    });
  }
  if (m.functions.length > 0) {
    w.section(3, (s) => {
      s.u32(m.functions.length);
      for (const f of m.functions) s.u32(f);
    });
  }
  if (m.tables.length > 0) {
    w.section(4, (s) => {
      s.u32(m.tables.length);
      for (const t of m.tables) {
        s.byte(t.elemType);
        writeLimits(s, t.limits);
      }
    });
  }
  if (m.memories.length > 0) {
    w.section(5, (s) => {
      s.u32(m.memories.length);
      for (const l of m.memories) writeLimits(s, l);
    });
  }
  if (m.globals.length > 0) {
    w.section(6, (s) => {
      s.u32(m.globals.length);
      for (const g of m.globals) {
        s.byte(g.type.type).byte(g.type.mutable ? 1 : 0);
        writeConst(s, g.init);
      }
    });
  }
  if (m.exports.length > 0) {
    w.section(7, (s) => {
      s.u32(m.exports.length);
      for (const e of m.exports) s.name(e.name).byte(EXPORT_KINDS.indexOf(e.kind)).u32(e.index);
    });
  }
  if (m.start !== undefined) {
    const start = m.start;
    w.section(8, (s) => s.u32(start));
  }
  if (m.elements.length > 0) {
    w.section(9, (s) => {
      s.u32(m.elements.length);
      for (const e of m.elements) {
        s.u32(0);
        writeConst(s, e.offset);
        s.u32(e.functions.length);
        for (const f of e.functions) s.u32(f);
      }
    });
  }
  if (m.dataCount !== undefined) {
    const dc = m.dataCount;
    w.section(12, (s) => s.u32(dc));
  }
  if (m.codes.length > 0) {
    w.section(10, (s) => {
      s.u32(m.codes.length);
      for (const c of m.codes) {
        const body = new Writer().u32(c.locals.length);
        for (const [count, type] of c.locals) body.u32(count).byte(type);
        body.bytes(c.code);
        s.u32(body.length).bytes(body.finish());
      }
    });
  }
  if (m.data.length > 0) {
    w.section(11, (s) => {
      s.u32(m.data.length);
      for (const d of m.data) {
        s.u32(0);
        writeConst(s, d.offset);
        s.u32(d.bytes.length).bytes(d.bytes);
      }
    });
  }
  return w.finish();
}
