/**
 * Gas metering and stack-height limiting by bytecode rewriting, before the module is compiled (V8 has no
 * fuel). {@linkcode instrumentModule} takes a validated {@linkcode WasmModule} and returns a new one with:
 *
 * 1. two mutable globals exported as `__zvm_gas` (i64, gas left) and `__zvm_stack` (i32, stack units left),
 *    and the memory exported as `__zvm_memory`; the host sets both globals before every call; the contract's
 *    own mutable globals are exported as `__zvm_g<index>` so a pooled instance can be reset exactly; and an
 *    exported `__zvm_charge(amount)` through which host functions take their gas;
 * 2. a gas charge at the start of every metered segment: `gas -= cost; if (gas < 0) unreachable`. A segment
 *    starts at function entry and immediately after every `loop`, `if`, `else`, `end` (except the function's
 *    last), `br`, `br_if`, `br_table`, `return` and `unreachable`; its cost is the sum of the schedule's
 *    prices of its instructions, including the one that ends it. `block` and `call` do not end a segment.
 *    A segment of cost 0 gets no charge. So every path through a function pays for exactly the
 *    segments it enters, the whole segment at once;
 * 3. `memory.grow`, `memory.copy` and `memory.fill` replaced by calls to injected functions that charge per
 *    page / per byte first, then do the operation; the memory's maximum clamped to `maxMemoryPages`;
 * 4. a stack limiter: each function's frame costs `8 + params + locals + max operand stack height` units,
 *    taken from `__zvm_stack` at entry (`if (stack < 0) unreachable`) and given back at exit. The body is
 *    wrapped in a block so that every exit (fall-through, `return`, a branch to the function's label) passes
 *    the give-back; `return` becomes `br` to that block. Recursion depth is therefore bounded by the units the
 *    host grants, identically on every machine.
 *
 * A trap with `__zvm_gas < 0` is "out of gas"; with `__zvm_stack < 0` it is "stack overflow".
 *
 * @module
 */

import { Writer } from "./_leb128.ts";
import { WasmDecodeError, WasmValidationError } from "./errors.ts";
import type { GasSchedule } from "./gas_schedule.ts";
import type { ModuleLimits } from "./limits.ts";
import { decodeInstructions, type Instr, Op, opInfo } from "./wasm_instructions.ts";
import { type FuncType, ValType, type WasmModule } from "./wasm_module.ts";

/** Export name of the gas-left global (i64). */
export const GAS_EXPORT = "__zvm_gas";
/** Export name of the stack-units-left global (i32). */
export const STACK_EXPORT = "__zvm_stack";
/**
 * Export name of the injected `(amount: f64) -> i32` that takes `amount` gas (truncated to an integer) and
 * returns 1 when gas is then below zero. Host functions charge through it: a call into wasm costs a few
 * nanoseconds, reading and writing the i64 global from JS (a BigInt each way) about fifty.
 */
export const CHARGE_EXPORT = "__zvm_charge";
/** Export name of the contract's memory. */
export const MEMORY_EXPORT = "__zvm_memory";
/** Prefix of the exports of the contract's own mutable globals (`__zvm_g<index>`), for instance reuse. */
export const GLOBAL_EXPORT_PREFIX = "__zvm_g";
/** Fixed stack units of every frame, on top of its locals and operand stack. */
export const FRAME_OVERHEAD = 8;

const EMPTY = new Uint8Array(0);

interface Frame {
  readonly kind: number; // Op.BLOCK / LOOP / IF, or -1 for the function
  readonly entry: number;
  readonly arity: number;
}

interface Ctx {
  readonly m: WasmModule;
  readonly schedule: GasSchedule;
  readonly gas: number;
  readonly stack: number;
  readonly growFn: number;
  readonly copyFn: number;
  readonly fillFn: number;
  readonly funcTypes: readonly FuncType[];
}

function bad(message: string): never {
  throw new WasmValidationError("BAD_INDEX", `Cannot accept wasm module: ${message}`);
}

function chargeGas(w: Writer, gas: number, cost: number): void {
  // gas -= cost; if (gas < 0) unreachable
  w.byte(0x23).u32(gas).byte(0x42).s64(BigInt(cost)).byte(0x7d).byte(0x24).u32(gas);
  checkGas(w, gas);
}

function checkGas(w: Writer, gas: number): void {
  w.byte(0x23).u32(gas).byte(0x42).byte(0x00).byte(0x53).byte(0x04).byte(0x40).byte(0x00).byte(0x0b);
}

/** The metered body of one function; exported for tests. Returns the new code bytes and the frame cost. */
export function instrumentBody(
  ctx: Ctx,
  funcIndex: number,
  localTypes: readonly ValType[],
  code: Uint8Array,
  instrs: readonly Instr[],
): { code: Uint8Array; frameCost: number } {
  const type = ctx.funcTypes[funcIndex];
  if (type === undefined) return bad(`function ${funcIndex} has no type`);
  const funcCount = ctx.funcTypes.length;
  const out: Uint8Array[] = [EMPTY]; // out[0]: stack-limiter prologue, filled in at the end
  const prices = ctx.schedule.instr;
  const frames: Frame[] = [{ kind: -1, entry: 0, arity: type.results.length }];
  let height = 0;
  let maxHeight = 0;
  let segSlot = 0;
  let segCost = 0;
  const openSegment = (): void => {
    segSlot = out.length;
    out.push(EMPTY);
    segCost = 0;
  };
  const closeSegment = (): void => {
    if (segCost > 0) {
      const w = new Writer();
      chargeGas(w, ctx.gas, segCost);
      out[segSlot] = w.finish();
    }
  };
  const pop = (n: number): void => {
    const floor = frames[frames.length - 1]?.entry ?? 0;
    height = Math.max(floor, height - n);
  };
  const push = (n: number): void => {
    height += n;
    if (height > maxHeight) maxHeight = height;
  };
  const unreachableRest = (): void => {
    height = frames[frames.length - 1]?.entry ?? 0;
  };
  const checkLabel = (l: number): void => {
    if (l >= frames.length) bad(`branch depth ${l} out of range in function ${funcIndex}`);
  };
  const bt = type.results[0] ?? 0x40;
  out.push(new Uint8Array([0x02, bt])); // wrapper block: every exit of the body lands after it
  openSegment();
  let finished = false;
  for (const ins of instrs) {
    if (finished) {
      throw new WasmDecodeError(
        "BAD_STRUCTURE",
        ins.start,
        "Cannot decode wasm module: instructions after the final end",
      );
    }
    const info = opInfo(ins.op);
    if (info === undefined) {
      throw new WasmDecodeError("BAD_OPCODE", ins.start, "Cannot decode wasm module: unknown opcode");
    }
    segCost += prices[info.cls];
    let emit: Uint8Array = code.subarray(ins.start, ins.end);
    let boundary = false;
    switch (ins.op) {
      case Op.BLOCK:
      case Op.LOOP:
        frames.push({ kind: ins.op, entry: height, arity: ins.a });
        boundary = ins.op === Op.LOOP;
        break;
      case Op.IF:
        pop(1);
        frames.push({ kind: Op.IF, entry: height, arity: ins.a });
        boundary = true;
        break;
      case Op.ELSE: {
        const top = frames[frames.length - 1];
        if (top === undefined || top.kind !== Op.IF) {
          throw new WasmDecodeError(
            "BAD_STRUCTURE",
            ins.start,
            "Cannot decode wasm module: else outside an if",
          );
        }
        height = top.entry;
        boundary = true;
        break;
      }
      case Op.END: {
        const top = frames.pop();
        if (top === undefined) {
          throw new WasmDecodeError("BAD_STRUCTURE", ins.start, "Cannot decode wasm module: unbalanced end");
        }
        height = top.entry;
        push(top.arity);
        if (top.kind === -1) {
          finished = true;
          emit = EMPTY; // replaced by the epilogue below
        } else boundary = true;
        break;
      }
      case Op.BR:
        checkLabel(ins.a);
        unreachableRest();
        boundary = true;
        break;
      case Op.BR_IF:
        checkLabel(ins.a);
        pop(1);
        boundary = true;
        break;
      case Op.BR_TABLE:
        for (const t of ins.targets ?? []) checkLabel(t);
        pop(1);
        unreachableRest();
        boundary = true;
        break;
      case Op.RETURN: {
        // return == br to the wrapper block, which sits where the function's own label was.
        emit = new Writer().byte(0x0c).u32(frames.length - 1).finish();
        unreachableRest();
        boundary = true;
        break;
      }
      case Op.UNREACHABLE:
        unreachableRest();
        boundary = true;
        break;
      case Op.CALL: {
        const t = ctx.funcTypes[ins.a];
        if (t === undefined || ins.a >= funcCount) return bad(`call to function ${ins.a} out of range`);
        pop(t.params.length);
        push(t.results.length);
        break;
      }
      case Op.CALL_INDIRECT: {
        const t = ctx.m.types[ins.a];
        if (t === undefined) return bad(`call_indirect with type ${ins.a} out of range`);
        if (ctx.m.tables.length === 0) return bad("call_indirect without a table");
        pop(t.params.length + 1);
        push(t.results.length);
        break;
      }
      case Op.LOCAL_GET:
      case Op.LOCAL_SET:
      case Op.LOCAL_TEE:
        if (ins.a >= localTypes.length) bad(`local ${ins.a} out of range in function ${funcIndex}`);
        pop(info.pop);
        push(info.push);
        break;
      case Op.GLOBAL_GET:
      case Op.GLOBAL_SET:
        if (ins.a >= ctx.m.globals.length) bad(`global ${ins.a} out of range`);
        pop(info.pop);
        push(info.push);
        break;
      case Op.MEMORY_GROW:
        emit = new Writer().byte(0x10).u32(ctx.growFn).finish();
        pop(1);
        push(1);
        break;
      case Op.MEMORY_COPY:
      case Op.MEMORY_FILL:
        emit = new Writer().byte(0x10).u32(ins.op === Op.MEMORY_COPY ? ctx.copyFn : ctx.fillFn).finish();
        pop(3);
        break;
      default:
        pop(info.pop);
        push(info.push);
    }
    out.push(emit);
    if (boundary) {
      closeSegment();
      openSegment();
    }
  }
  if (!finished) {
    throw new WasmDecodeError(
      "BAD_STRUCTURE",
      code.length,
      "Cannot decode wasm module: function body without its final end",
    );
  }
  closeSegment();
  const frameCost = FRAME_OVERHEAD + localTypes.length + maxHeight;
  // Prologue: stack -= frameCost; if (stack < 0) unreachable
  out[0] = new Writer()
    .byte(0x23).u32(ctx.stack).byte(0x41).s32(frameCost).byte(0x6b).byte(0x24).u32(ctx.stack)
    .byte(0x23).u32(ctx.stack).byte(0x41).byte(0x00).byte(0x48).byte(0x04).byte(0x40).byte(0x00).byte(0x0b)
    .finish();
  // Epilogue: close the wrapper, stack += frameCost, end of function.
  out.push(
    new Writer().byte(0x0b)
      .byte(0x23).u32(ctx.stack).byte(0x41).s32(frameCost).byte(0x6a).byte(0x24).u32(ctx.stack)
      .byte(0x0b).finish(),
  );
  let total = 0;
  for (const part of out) total += part.length;
  const result = new Uint8Array(total);
  let at = 0;
  for (const part of out) {
    result.set(part, at);
    at += part.length;
  }
  return { code: result, frameCost };
}

function typeIndex(types: FuncType[], t: FuncType): number {
  const i = types.findIndex((u) =>
    u.params.length === t.params.length && u.results.length === t.results.length &&
    u.params.every((p, j) => p === t.params[j]) && u.results.every((r, j) => r === t.results[j])
  );
  if (i >= 0) return i;
  types.push(t);
  return types.length - 1;
}

/** Result of {@linkcode instrumentModule}. */
export interface InstrumentResult {
  /** The rewritten module. */
  readonly module: WasmModule;
  /** Frame cost in stack units of each defined function, in order. */
  readonly frameCosts: readonly number[];
}

/** Rewrites a validated module for metering (see module docs). */
export function instrumentModule(
  m: WasmModule,
  schedule: GasSchedule,
  limits: ModuleLimits,
): InstrumentResult {
  const funcTypes: FuncType[] = [];
  for (const im of m.imports) {
    if (im.kind !== "func") continue;
    const t = m.types[im.typeIndex];
    if (t === undefined) return bad(`import type ${im.typeIndex} out of range`);
    funcTypes.push(t);
  }
  for (const ti of m.functions) {
    const t = m.types[ti];
    if (t === undefined) return bad(`function type ${ti} out of range`);
    funcTypes.push(t);
  }
  const types = [...m.types];
  const I = ValType.I32;
  const L = ValType.I64;
  const growType = typeIndex(types, { params: [I], results: [I] });
  const bulkType = typeIndex(types, { params: [I, I, I], results: [] });
  const chargeType = typeIndex(types, { params: [ValType.F64], results: [I] });
  const gas = m.globals.length;
  const stack = gas + 1;
  const firstInjected = funcTypes.length;
  const ctx: Ctx = {
    m,
    schedule,
    gas,
    stack,
    growFn: firstInjected,
    copyFn: firstInjected + 1,
    fillFn: firstInjected + 2,
    funcTypes,
  };
  const codes = [];
  const frameCosts: number[] = [];
  const importCount = funcTypes.length - m.functions.length;
  for (let i = 0; i < m.codes.length; i++) {
    const body = m.codes[i];
    const ft = funcTypes[importCount + i];
    if (body === undefined || ft === undefined) return bad(`function ${i} has no body`);
    const localTypes: ValType[] = [...ft.params];
    for (const [count, t] of body.locals) for (let k = 0; k < count; k++) localTypes.push(t);
    const instrs = decodeInstructions(body.code, limits);
    const { code, frameCost } = instrumentBody(ctx, importCount + i, localTypes, body.code, instrs);
    codes.push({ locals: body.locals, code });
    frameCosts.push(frameCost);
  }
  // Injected helpers (indices after every existing function, so no existing index moves).
  const page = BigInt(schedule.memoryGrowPage);
  const per = BigInt(schedule.bulkBytesPerGas);
  const grow = new Writer()
    .byte(0x23).u32(gas).byte(0x20).u32(0).byte(0xad).byte(0x42).s64(page).byte(0x7e).byte(0x7d).byte(0x24)
    .u32(gas);
  checkGas(grow, gas);
  grow.byte(0x20).u32(0).byte(0x40).byte(0x00).byte(0x0b);
  const bulk = (sub: number, zeros: number): Uint8Array => {
    const w = new Writer()
      .byte(0x23).u32(gas).byte(0x20).u32(2).byte(0xad).byte(0x42).s64(per - 1n).byte(0x7c).byte(0x42).s64(
        per,
      )
      .byte(0x80) // i64.div_u
      .byte(0x7d).byte(0x24).u32(gas);
    checkGas(w, gas);
    w.byte(0x20).u32(0).byte(0x20).u32(1).byte(0x20).u32(2).byte(0xfc).u32(sub);
    for (let z = 0; z < zeros; z++) w.byte(0x00);
    return w.byte(0x0b).finish();
  };
  codes.push({ locals: [], code: grow.finish() });
  codes.push({ locals: [], code: bulk(10, 2) });
  codes.push({ locals: [], code: bulk(11, 1) });
  // charge(amount): gas -= i64.trunc_sat_f64_u(amount); return gas < 0
  const charge = new Writer()
    .byte(0x23).u32(gas).byte(0x20).u32(0).byte(0xfc).u32(7).byte(0x7d).byte(0x24).u32(gas)
    .byte(0x23).u32(gas).byte(0x42).byte(0x00).byte(0x53).byte(0x0b);
  codes.push({ locals: [], code: charge.finish() });
  const mem = m.memories[0];
  if (mem === undefined) {
    throw new WasmValidationError("NO_MEMORY", "Cannot accept wasm module: the module defines no memory");
  }
  const max = Math.min(mem.max ?? limits.maxMemoryPages, limits.maxMemoryPages);
  return {
    module: {
      ...m,
      types,
      functions: [...m.functions, growType, bulkType, bulkType, chargeType],
      memories: [{ min: mem.min, max, shared: false }],
      globals: [
        ...m.globals,
        { type: { type: L, mutable: true }, init: { op: "i64.const", value: 0n } },
        { type: { type: I, mutable: true }, init: { op: "i32.const", value: 0 } },
      ],
      exports: [
        ...m.exports,
        // Every mutable global of the contract, so a pooled instance can be put back to its initial state.
        ...m.globals.flatMap((g, index) =>
          g.type.mutable ? [{ name: `${GLOBAL_EXPORT_PREFIX}${index}`, kind: "global" as const, index }] : []
        ),
        { name: GAS_EXPORT, kind: "global", index: gas },
        { name: STACK_EXPORT, kind: "global", index: stack },
        { name: CHARGE_EXPORT, kind: "func", index: firstInjected + 3 },
        { name: MEMORY_EXPORT, kind: "memory", index: 0 },
      ],
      codes,
    },
    frameCosts,
  };
}
