/**
 * The instruction stream of a function body (core spec §5.4): {@linkcode decodeInstructions} reads the bytes
 * of one body into {@linkcode Instr}s and enforces ZVM's instruction subset on the way, so an instruction
 * outside it is rejected by name (FLOAT, SIMD, THREADS, UNSUPPORTED) before anything is compiled.
 *
 * The subset: every MVP integer instruction, sign-extension (0xC0..0xC4), and of bulk memory only
 * `memory.copy` and `memory.fill` (metered per byte). Not accepted: any f32/f64 instruction (also
 * `nontrapping-f2i`), SIMD (0xFD), atomics (0xFE), reference types and table instructions, `memory.init` /
 * `data.drop` (ZVM has no passive segments), typed `select`, multi-value block types, tail calls, exceptions.
 *
 * @module
 */

import { Reader } from "./_leb128.ts";
import { WasmDecodeError, WasmLimitError, WasmValidationError } from "./errors.ts";
import type { ModuleLimits } from "./limits.ts";

/** Gas classes: each instruction belongs to one, and the gas schedule gives each class a cost. */
export type OpClass =
  | "free" // nop, block, loop, end, else, unreachable: structure only
  | "const"
  | "local"
  | "global"
  | "alu" // add, sub, bitwise, shifts, compares, conversions, sign-extension, drop, select
  | "mul"
  | "div" // div, rem
  | "load"
  | "store"
  | "branch" // br, br_if, if, return
  | "br_table"
  | "call"
  | "call_indirect"
  | "memory.size"
  | "memory.grow"
  | "bulk"; // memory.copy, memory.fill (plus a per-byte charge)

/** Immediate operand shapes. */
type Imm =
  | "none"
  | "blocktype"
  | "label"
  | "br_table"
  | "func"
  | "call_indirect"
  | "local"
  | "global"
  | "memarg"
  | "zero"
  | "zero2"
  | "i32"
  | "i64";

/** What ZVM knows about one opcode. `pop`/`push` are -1 where the effect depends on an immediate. */
export interface OpInfo {
  readonly name: string;
  readonly imm: Imm;
  readonly cls: OpClass;
  readonly pop: number;
  readonly push: number;
}

/** Opcodes with names used by the instrumenter. 0xFC-prefixed ones are `0xFC00 + sub-opcode`. */
export const Op = {
  UNREACHABLE: 0x00,
  NOP: 0x01,
  BLOCK: 0x02,
  LOOP: 0x03,
  IF: 0x04,
  ELSE: 0x05,
  END: 0x0b,
  BR: 0x0c,
  BR_IF: 0x0d,
  BR_TABLE: 0x0e,
  RETURN: 0x0f,
  CALL: 0x10,
  CALL_INDIRECT: 0x11,
  LOCAL_GET: 0x20,
  LOCAL_SET: 0x21,
  LOCAL_TEE: 0x22,
  GLOBAL_GET: 0x23,
  GLOBAL_SET: 0x24,
  MEMORY_SIZE: 0x3f,
  MEMORY_GROW: 0x40,
  I32_CONST: 0x41,
  I64_CONST: 0x42,
  MEMORY_COPY: 0xfc0a,
  MEMORY_FILL: 0xfc0b,
} as const;

const INFO = new Map<number, OpInfo>();
function def(op: number, name: string, imm: Imm, cls: OpClass, pop: number, push: number): void {
  INFO.set(op, { name, imm, cls, pop, push });
}

def(0x00, "unreachable", "none", "free", 0, 0);
def(0x01, "nop", "none", "free", 0, 0);
def(0x02, "block", "blocktype", "free", 0, 0);
def(0x03, "loop", "blocktype", "free", 0, 0);
def(0x04, "if", "blocktype", "branch", 1, 0);
def(0x05, "else", "none", "free", 0, 0);
def(0x0b, "end", "none", "free", 0, 0);
def(0x0c, "br", "label", "branch", 0, 0);
def(0x0d, "br_if", "label", "branch", 1, 0);
def(0x0e, "br_table", "br_table", "br_table", 1, 0);
def(0x0f, "return", "none", "branch", 0, 0);
def(0x10, "call", "func", "call", -1, -1);
def(0x11, "call_indirect", "call_indirect", "call_indirect", -1, -1);
def(0x1a, "drop", "none", "alu", 1, 0);
def(0x1b, "select", "none", "alu", 3, 1);
def(0x20, "local.get", "local", "local", 0, 1);
def(0x21, "local.set", "local", "local", 1, 0);
def(0x22, "local.tee", "local", "local", 1, 1);
def(0x23, "global.get", "global", "global", 0, 1);
def(0x24, "global.set", "global", "global", 1, 0);
const INT_LOADS: readonly [number, string][] = [
  [0x28, "i32.load"],
  [0x29, "i64.load"],
  [0x2c, "i32.load8_s"],
  [0x2d, "i32.load8_u"],
  [0x2e, "i32.load16_s"],
  [0x2f, "i32.load16_u"],
  [0x30, "i64.load8_s"],
  [0x31, "i64.load8_u"],
  [0x32, "i64.load16_s"],
  [0x33, "i64.load16_u"],
  [0x34, "i64.load32_s"],
  [0x35, "i64.load32_u"],
];
for (const [op, name] of INT_LOADS) def(op, name, "memarg", "load", 1, 1);
const INT_STORES: readonly [number, string][] = [
  [0x36, "i32.store"],
  [0x37, "i64.store"],
  [0x3a, "i32.store8"],
  [0x3b, "i32.store16"],
  [0x3c, "i64.store8"],
  [0x3d, "i64.store16"],
  [0x3e, "i64.store32"],
];
for (const [op, name] of INT_STORES) def(op, name, "memarg", "store", 2, 0);
def(0x3f, "memory.size", "zero", "memory.size", 0, 1);
def(0x40, "memory.grow", "zero", "memory.grow", 1, 1);
def(0x41, "i32.const", "i32", "const", 0, 1);
def(0x42, "i64.const", "i64", "const", 0, 1);
def(0x45, "i32.eqz", "none", "alu", 1, 1);
for (let op = 0x46; op <= 0x4f; op++) def(op, `i32.cmp_${op.toString(16)}`, "none", "alu", 2, 1);
def(0x50, "i64.eqz", "none", "alu", 1, 1);
for (let op = 0x51; op <= 0x5a; op++) def(op, `i64.cmp_${op.toString(16)}`, "none", "alu", 2, 1);
// i32: clz ctz popcnt (unary), add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr
for (let op = 0x67; op <= 0x69; op++) def(op, `i32.unop_${op.toString(16)}`, "none", "alu", 1, 1);
for (let op = 0x6a; op <= 0x78; op++) {
  const cls: OpClass = op === 0x6c ? "mul" : op >= 0x6d && op <= 0x70 ? "div" : "alu";
  def(op, `i32.binop_${op.toString(16)}`, "none", cls, 2, 1);
}
// i64: same layout from 0x79
for (let op = 0x79; op <= 0x7b; op++) def(op, `i64.unop_${op.toString(16)}`, "none", "alu", 1, 1);
for (let op = 0x7c; op <= 0x8a; op++) {
  const cls: OpClass = op === 0x7e ? "mul" : op >= 0x7f && op <= 0x82 ? "div" : "alu";
  def(op, `i64.binop_${op.toString(16)}`, "none", cls, 2, 1);
}
def(0xa7, "i32.wrap_i64", "none", "alu", 1, 1);
def(0xac, "i64.extend_i32_s", "none", "alu", 1, 1);
def(0xad, "i64.extend_i32_u", "none", "alu", 1, 1);
// sign-extension operators proposal (merged into the spec in 2.0)
for (let op = 0xc0; op <= 0xc4; op++) def(op, `extend_${op.toString(16)}`, "none", "alu", 1, 1);
def(0xfc0a, "memory.copy", "zero2", "bulk", 3, 0);
def(0xfc0b, "memory.fill", "zero", "bulk", 3, 0);

/** Information about an accepted opcode, or undefined. */
export function opInfo(op: number): OpInfo | undefined {
  return INFO.get(op);
}

/** A decoded instruction. `a` is the first index immediate (label, function, local, global, type). */
export interface Instr {
  readonly op: number;
  /** Offset of the opcode in the body's code bytes. */
  readonly start: number;
  /** Offset just after the instruction. */
  readonly end: number;
  /** Label depth, function, local, global or type index; the result count (0 or 1) for block/loop/if. */
  readonly a: number;
  /** br_table: the targets, default last. */
  readonly targets?: readonly number[];
}

function isFloatOp(op: number): boolean {
  return op === 0x2a || op === 0x2b || op === 0x38 || op === 0x39 || op === 0x43 || op === 0x44 ||
    (op >= 0x5b && op <= 0x66) || (op >= 0x8b && op <= 0xa6) || (op >= 0xa8 && op <= 0xab) ||
    (op >= 0xae && op <= 0xbf);
}

function reject(op: number): never {
  const hex = op.toString(16);
  if (isFloatOp(op) || (op >= 0xfc00 && op <= 0xfc07)) {
    throw new WasmValidationError("FLOAT", `Cannot accept wasm module: float instruction 0x${hex}`);
  }
  if (op === 0xfd) {
    throw new WasmValidationError("SIMD", "Cannot accept wasm module: SIMD instruction (0xfd prefix)");
  }
  if (op === 0xfe) {
    throw new WasmValidationError("THREADS", "Cannot accept wasm module: atomic instruction (0xfe prefix)");
  }
  if (
    op === 0x1c || op === 0x25 || op === 0x26 || (op >= 0xd0 && op <= 0xd2) ||
    (op >= 0xfc08 && op <= 0xfc11) ||
    op === 0x12 || op === 0x13 || (op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f
  ) {
    throw new WasmValidationError(
      "UNSUPPORTED",
      `Cannot accept wasm module: instruction 0x${hex} is outside ZVM's subset`,
    );
  }
  throw new WasmDecodeError("BAD_OPCODE", 0, `Cannot decode wasm module: unknown opcode 0x${hex}`);
}

/**
 * Decodes one function body's instructions, checking nesting (every block closed, the body ends with the
 * final `end` and nothing after it), control depth and `br_table` size against `limits`, and the subset.
 */
export function decodeInstructions(code: Uint8Array, limits: ModuleLimits): Instr[] {
  const r = new Reader(code);
  const out: Instr[] = [];
  let depth = 1; // the function body itself is a block
  while (r.pos < code.length) {
    const start = r.pos;
    let op = r.u8();
    if (op === 0xfc) op = 0xfc00 + r.u32();
    const info = INFO.get(op);
    if (info === undefined) {
      try {
        reject(op);
      } catch (e) {
        if (e instanceof WasmDecodeError) {
          throw new WasmDecodeError(
            "BAD_OPCODE",
            start,
            `Cannot decode wasm module: unknown opcode 0x${op.toString(16)}`,
          );
        }
        throw e;
      }
    }
    let a = 0;
    let targets: number[] | undefined;
    switch (info.imm) {
      case "none":
        break;
      case "blocktype": {
        const bt = r.u8();
        if (bt === 0x40) a = 0;
        else if (bt === 0x7f || bt === 0x7e) a = 1;
        else if (bt === 0x7d || bt === 0x7c) {
          throw new WasmValidationError("FLOAT", "Cannot accept wasm module: block of float type");
        } else if (bt === 0x7b) {
          throw new WasmValidationError("SIMD", "Cannot accept wasm module: block of v128 type");
        } else {
          throw new WasmValidationError(
            "UNSUPPORTED",
            "Cannot accept wasm module: multi-value or reference-typed block",
          );
        }
        depth++;
        if (depth > limits.maxControlDepth) {
          throw new WasmLimitError("maxControlDepth", depth, limits.maxControlDepth, "control nesting depth");
        }
        break;
      }
      case "label":
      case "func":
      case "local":
      case "global":
        a = r.u32();
        break;
      case "br_table": {
        const n = r.count(
          limits.maxBrTableTargets,
          1,
          "br_table target",
          (n) => {
            throw new WasmLimitError("maxBrTableTargets", n, limits.maxBrTableTargets, "br_table size");
          },
        );
        targets = [];
        for (let i = 0; i <= n; i++) targets.push(r.u32());
        break;
      }
      case "call_indirect":
        a = r.u32();
        if (r.u8() !== 0) {
          throw new WasmValidationError(
            "UNSUPPORTED",
            "Cannot accept wasm module: call_indirect on a table other than 0",
          );
        }
        break;
      case "memarg":
        r.u32(); // alignment hint
        r.u32(); // offset
        break;
      case "zero":
        if (r.u8() !== 0) {
          throw new WasmValidationError(
            "UNSUPPORTED",
            "Cannot accept wasm module: memory index other than 0",
          );
        }
        break;
      case "zero2":
        if (r.u8() !== 0 || r.u8() !== 0) {
          throw new WasmValidationError(
            "UNSUPPORTED",
            "Cannot accept wasm module: memory index other than 0",
          );
        }
        break;
      case "i32":
        r.s32();
        break;
      case "i64":
        r.s64();
        break;
    }
    if (op === Op.END) {
      depth--;
      if (depth === 0 && r.pos !== code.length) {
        throw new WasmDecodeError(
          "BAD_STRUCTURE",
          r.pos,
          "Cannot decode wasm module: instructions after the final end",
        );
      }
    }
    out.push(targets === undefined ? { op, start, end: r.pos, a } : { op, start, end: r.pos, a, targets });
  }
  if (depth !== 0) {
    throw new WasmDecodeError(
      "BAD_STRUCTURE",
      code.length,
      "Cannot decode wasm module: function body ends inside a block",
    );
  }
  return out;
}
