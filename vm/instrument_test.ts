// Gas metering and stack limiting by rewriting, checked by running the rewritten module in V8 itself.
import assert from "node:assert/strict";
import { DEFAULT_GAS_SCHEDULE } from "./gas_schedule.ts";
import { DEFAULT_MODULE_LIMITS } from "./limits.ts";
import { CHARGE_EXPORT, GAS_EXPORT, instrumentModule, MEMORY_EXPORT, STACK_EXPORT } from "./instrument.ts";
import { decodeModule, encodeModule } from "./wasm_module.ts";
import { buildModule, I32, i32, VOID } from "./_test_wasm.ts";

const S = DEFAULT_GAS_SCHEDULE.instr;

interface Metered {
  readonly gas: WebAssembly.Global;
  readonly stack: WebAssembly.Global;
  readonly exports: WebAssembly.Exports;
}

function meter(wasm: Uint8Array): Metered {
  const { module } = instrumentModule(decodeModule(wasm), DEFAULT_GAS_SCHEDULE, DEFAULT_MODULE_LIMITS);
  const bytes = encodeModule(module);
  assert.ok(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>), "the rewritten module validates");
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {});
  const gas = instance.exports[GAS_EXPORT];
  const stack = instance.exports[STACK_EXPORT];
  assert.ok(gas instanceof WebAssembly.Global && stack instanceof WebAssembly.Global);
  return { gas, stack, exports: instance.exports };
}

/** Gas one call of `name(...args)` takes, with plenty of gas and stack. */
function cost(m: Metered, name: string, ...args: number[]): bigint {
  m.gas.value = 1_000_000_000n;
  m.stack.value = 100_000;
  (m.exports[name] as (...a: number[]) => unknown)(...args);
  return 1_000_000_000n - (m.gas.value as bigint);
}

const ADD = buildModule({
  funcs: [{ type: { params: [], results: [I32] }, code: [...i32(1), ...i32(2), 0x6a], export: "add" }],
});

// loop(n): counts n down to 0 in a loop (local 0 = n).
const LOOP = buildModule({
  funcs: [{
    type: { params: [I32], results: [] },
    // loop; local.get 0; if; local.get 0; i32.const 1; i32.sub; local.set 0; br 1; end; end
    code: [
      0x03,
      0x40,
      0x20,
      0x00,
      0x04,
      0x40,
      0x20,
      0x00,
      ...i32(1),
      0x6b,
      0x21,
      0x00,
      0x0c,
      0x01,
      0x0b,
      0x0b,
    ],
    export: "loop",
  }],
});

Deno.test("instrumentModule() exports the gas and stack globals and the memory", () => {
  const m = meter(ADD);
  assert.ok(m.exports[MEMORY_EXPORT] instanceof WebAssembly.Memory);
  assert.equal(typeof m.gas.value, "bigint");
});

Deno.test("a straight-line body pays the sum of its instructions' prices, once, the same every time", () => {
  const m = meter(ADD);
  const first = cost(m, "add");
  assert.equal(first, BigInt(2 * S.const + S.alu));
  assert.equal(cost(m, "add"), first);
});

Deno.test("a loop pays per iteration: the cost is linear in the trip count", () => {
  const m = meter(LOOP);
  const c = [0, 1, 2, 3, 10].map((n) => cost(m, "loop", n));
  const step = (c[2] ?? 0n) - (c[1] ?? 0n);
  assert.ok(step > 0n);
  assert.equal((c[3] ?? 0n) - (c[2] ?? 0n), step);
  assert.equal((c[4] ?? 0n) - (c[3] ?? 0n), 7n * step);
});

Deno.test("gas one short of a segment's price traps before the segment runs; exactly enough runs to zero", () => {
  const m = meter(ADD);
  const price = cost(m, "add");
  m.gas.value = price - 1n;
  assert.throws(() => (m.exports["add"] as () => number)(), WebAssembly.RuntimeError);
  assert.ok((m.gas.value as bigint) < 0n, "out of gas shows as a negative gas global");
  m.gas.value = price;
  assert.equal((m.exports["add"] as () => number)(), 3);
  assert.equal(m.gas.value, 0n);
});

Deno.test("the exported charge function takes whole gas from the global and says when it went below zero", () => {
  const m = meter(ADD);
  const charge = m.exports[CHARGE_EXPORT] as (amount: number) => number;
  m.gas.value = 100n;
  assert.equal(charge(40), 0);
  assert.equal(m.gas.value, 60n);
  assert.equal(charge(60), 0, "exactly enough leaves zero, not out of gas");
  assert.equal(m.gas.value, 0n);
  assert.equal(charge(1), 1);
  assert.equal(m.gas.value, -1n);
  m.gas.value = 2n ** 53n;
  assert.equal(charge(2 ** 53 - 1), 0, "amounts up to 2^53 are exact");
  assert.equal(m.gas.value, 1n);
  m.gas.value = 10n;
  assert.equal(charge(2.9), 0, "a fraction is truncated");
  assert.equal(m.gas.value, 8n);
  assert.equal(charge(-5), 0, "a negative amount takes nothing (saturates at zero)");
  assert.equal(charge(Number.NaN), 0);
  assert.equal(m.gas.value, 8n);
});

Deno.test("memory.grow is charged per page before growing", () => {
  const m = meter(buildModule({
    memory: { min: 1, max: 4 },
    funcs: [{ type: { params: [I32], results: [I32] }, code: [0x20, 0x00, 0x40, 0x00], export: "grow" }],
  }));
  const none = cost(m, "grow", 0);
  const one = cost(m, "grow", 1);
  assert.equal(one - none, BigInt(DEFAULT_GAS_SCHEDULE.memoryGrowPage));
});

Deno.test("the stack limiter takes a frame's units at entry and gives them back at every exit", () => {
  // rec(n): if n == 0 return; rec(n - 1)
  const m = meter(buildModule({
    funcs: [
      {
        type: { params: [I32], results: [] },
        code: [0x20, 0x00, 0x45, 0x04, 0x40, 0x0f, 0x0b, 0x20, 0x00, ...i32(1), 0x6b, 0x10, 0x00],
        export: "rec",
      },
      { type: VOID, code: [], export: "nop" },
    ],
  }));
  m.gas.value = 1_000_000_000n;
  m.stack.value = 100_000;
  (m.exports["rec"] as (n: number) => void)(50);
  assert.equal(m.stack.value, 100_000, "all units given back after a deep call returns");
  m.stack.value = 200;
  assert.throws(() => (m.exports["rec"] as (n: number) => void)(1_000), WebAssembly.RuntimeError);
  assert.ok((m.stack.value as number) < 0, "a stack overflow shows as a negative stack global");
});
