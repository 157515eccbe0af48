import assert from "node:assert/strict";
import { ADDRESS_LENGTH, executeContract, type ExecutionResult } from "./execute.ts";
import { WasmValidationError } from "./errors.ts";
import { instrumentModule } from "./instrument.ts";
import { DEFAULT_EXECUTION_LIMITS, DEFAULT_MODULE_LIMITS } from "./limits.ts";
import { DEFAULT_GAS_SCHEDULE } from "./gas_schedule.ts";
import { MemoryState } from "./memory_state.ts";
import { ModuleCache } from "./module_cache.ts";
import { readBuilt } from "./sdk/build.ts";
import { decodeModule } from "./wasm_module.ts";
import { buildModule, I32, i32, I64, i64, VOID } from "./_test_wasm.ts";

const cache = new ModuleCache();
const CALLER = new Uint8Array(ADDRESS_LENGTH).fill(1);
const SELF = new Uint8Array(ADDRESS_LENGTH).fill(2);
const COUNTER = new Uint8Array(ADDRESS_LENGTH).fill(3);
const enc = new TextEncoder();

function run(
  code: Uint8Array,
  method: string,
  gasLimit: number,
  state = new MemoryState(),
  input = new Uint8Array(),
): Promise<ExecutionResult> {
  return executeContract({
    code,
    method,
    input,
    gasLimit,
    state,
    cache,
    context: { caller: CALLER, contract: SELF, blockHeight: 7n, blockTime: 1_700_000_000_000n },
  });
}

// i32 counter loop: N iterations, each `local.get; i32.const 1; i32.sub; local.tee; br_if 0`
function loopModule(n: number): Uint8Array {
  return buildModule({
    funcs: [{
      type: VOID,
      locals: [[1, I32]],
      code: [...i32(n), 0x21, 0x00, 0x03, 0x40, 0x20, 0x00, ...i32(1), 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b],
      export: "run",
    }],
  });
}

Deno.test("a straight-line function costs the sum of its instruction prices", async () => {
  const code = buildModule({
    funcs: [{ type: VOID, code: [...i32(1), 0x1a, ...i64(2n), ...i64(3n), 0x7e, 0x1a], export: "run" }],
  });
  // const 1 + drop 1 + const 1 + const 1 + mul 3 + drop 1 = 8
  const r = await run(code, "run", 1000);
  assert.equal(r.status, "ok");
  assert.equal(r.gasUsed, 8);
});

Deno.test("a counted loop uses exactly 2 + 6n gas, and one gas less is out of gas", async () => {
  for (const n of [1, 10, 1000]) {
    const code = loopModule(n);
    const exact = 2 + 6 * n; // prologue segment (const + local.set) + n loop segments (1+1+1+1+2)
    const ok = await run(code, "run", exact);
    assert.equal(ok.status, "ok");
    assert.equal(ok.gasUsed, exact);
    const short = await run(code, "run", exact - 1);
    assert.equal(short.status, "out_of_gas");
    assert.equal(short.gasUsed, exact - 1);
  }
});

Deno.test("an infinite loop ends out of gas at exactly its limit, identically on every run", async () => {
  const code = buildModule({ funcs: [{ type: VOID, code: [0x03, 0x40, 0x0c, 0x00, 0x0b], export: "spin" }] });
  for (let i = 0; i < 3; i++) {
    const r = await run(code, "spin", 1_000_001);
    assert.equal(r.status, "out_of_gas");
    assert.equal(r.error?.code, "OUT_OF_GAS");
    assert.equal(r.gasUsed, 1_000_001);
  }
});

Deno.test("unbounded recursion traps with STACK_OVERFLOW at a depth fixed by frame costs", async () => {
  // rec(n): if (n == 0) return; rec(n - 1)      go(): rec(D)
  const build = (depth: number): Uint8Array =>
    buildModule({
      funcs: [
        {
          type: { params: [I32], results: [] },
          code: [0x20, 0x00, 0x45, 0x04, 0x40, 0x0f, 0x0b, 0x20, 0x00, ...i32(1), 0x6b, 0x10, 0x00],
        },
        { type: VOID, code: [...i32(depth), 0x10, 0x00], export: "go" },
      ],
    });
  const { frameCosts } = instrumentModule(
    decodeModule(build(0)),
    DEFAULT_GAS_SCHEDULE,
    DEFAULT_MODULE_LIMITS,
  );
  const [rec, go] = frameCosts as [number, number];
  const budget = DEFAULT_EXECUTION_LIMITS.maxStackUnits;
  const maxFrames = Math.floor((budget - go) / rec); // rec(D) uses D + 1 frames
  const deepest = await run(build(maxFrames - 1), "go", 100_000_000);
  assert.equal(deepest.status, "ok");
  const over = await run(build(maxFrames), "go", 100_000_000);
  assert.equal(over.status, "trap");
  assert.equal(over.error?.code, "STACK_OVERFLOW");
  const again = await run(build(maxFrames), "go", 100_000_000);
  assert.equal(again.gasUsed, over.gasUsed);
  const runaway = await run(build(-1 >>> 1), "go", 100_000_000);
  assert.equal(runaway.error?.code, "STACK_OVERFLOW");
});

Deno.test("memory.grow is charged per page and cannot pass maxMemoryPages", async () => {
  const IMPORTS = [{ module: "zvm", name: "return_data", type: { params: [I32, I32], results: [] } }];
  const grow = (pages: number): Uint8Array =>
    buildModule({
      imports: IMPORTS,
      funcs: [{
        type: VOID,
        code: [...i32(0), ...i32(pages), 0x40, 0x00, 0x36, 0x02, 0x00, ...i32(0), ...i32(4), 0x10, 0x00],
        export: "run",
      }],
    });
  const bomb = await run(grow(60000), "run", 10_000_000);
  assert.equal(bomb.status, "out_of_gas");
  const capped = await run(grow(600), "run", 1e12);
  assert.equal(capped.status, "ok");
  assert.deepEqual([...capped.returnData], [0xff, 0xff, 0xff, 0xff]); // memory.grow returned -1
  const one = await run(grow(1), "run", 1e12);
  assert.deepEqual([...one.returnData], [1, 0, 0, 0]);
  const zero = await run(grow(0), "run", 1e12);
  assert.equal(one.gasUsed - zero.gasUsed, DEFAULT_GAS_SCHEDULE.memoryGrowPage);
});

Deno.test("memory.fill is charged 1 gas per 8 bytes, rounded up", async () => {
  const fill = (n: number): Uint8Array =>
    buildModule({
      funcs: [{ type: VOID, code: [...i32(0), ...i32(0), ...i32(n), 0xfc, 0x0b, 0x00], export: "run" }],
    });
  const gas = async (n: number): Promise<number> => (await run(fill(n), "run", 1_000_000)).gasUsed;
  assert.equal(await gas(0), 3 + 20);
  assert.equal(await gas(800), 3 + 20 + 100);
  assert.equal(await gas(801), 3 + 20 + 101);
  const oob = await run(fill(70000), "run", 1_000_000);
  assert.equal(oob.error?.code, "WASM_TRAP");
});

const WRITE = { module: "zvm", name: "storage_write", type: { params: [I32, I32, I32, I32], results: [] } };
const RETURN = { module: "zvm", name: "return_data", type: { params: [I32, I32], results: [] } };
const REVERT = { module: "zvm", name: "revert", type: { params: [I32, I32], results: [] } };

Deno.test("host calls with out-of-bounds pointers trap with HOST_OUT_OF_BOUNDS and change no state", async () => {
  const code = buildModule({
    imports: [WRITE],
    funcs: [
      { type: VOID, code: [...i32(0), ...i32(1), ...i32(0), ...i32(1), 0x10, 0x00], export: "good" },
      {
        type: VOID,
        code: [
          ...i32(0),
          ...i32(1),
          ...i32(0),
          ...i32(1),
          0x10,
          0x00,
          ...i32(0),
          ...i32(1),
          ...i32(65535),
          ...i32(2),
          0x10,
          0x00,
        ],
        export: "bad",
      },
      { type: VOID, code: [...i32(0), ...i32(1), ...i32(-1), ...i32(1), 0x10, 0x00], export: "negative" },
    ],
  });
  const good = await run(code, "good", 1_000_000);
  assert.equal(good.status, "ok");
  assert.equal(good.storageChanges.length, 1);
  for (const m of ["bad", "negative"]) {
    const r = await run(code, m, 1_000_000);
    assert.equal(r.status, "trap");
    assert.equal(r.error?.code, "HOST_OUT_OF_BOUNDS");
    assert.equal(r.storageChanges.length, 0);
  }
});

Deno.test("oversized return data traps with HOST_LIMIT; revert returns its reason and no changes", async () => {
  const code = buildModule({
    imports: [RETURN, WRITE, REVERT],
    funcs: [
      {
        type: VOID,
        code: [...i32(0), ...i32(DEFAULT_EXECUTION_LIMITS.maxReturnBytes + 1), 0x10, 0x00],
        export: "big",
      },
      {
        type: VOID,
        code: [...i32(0), ...i32(1), ...i32(0), ...i32(1), 0x10, 0x01, ...i32(16), ...i32(4), 0x10, 0x02],
        export: "nope",
      },
    ],
    memory: { min: 2 },
    data: [{ offset: 16, bytes: enc.encode("nope") }],
  });
  const big = await run(code, "big", 1_000_000);
  assert.equal(big.error?.code, "HOST_LIMIT");
  const nope = await run(code, "nope", 1_000_000);
  assert.equal(nope.status, "revert");
  assert.equal(new TextDecoder().decode(nope.returnData), "nope");
  assert.equal(nope.storageChanges.length, 0);
  assert.ok(nope.gasUsed > 0);
});

Deno.test("executeContract() reports invalid modules, unknown methods and oversized input as results", async () => {
  const bad = await run(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), "x", 10);
  assert.equal(bad.status, "invalid");
  assert.equal(bad.error?.code, "INVALID_MODULE");
  const floaty = await run(
    buildModule({ funcs: [{ type: { params: [0x7c], results: [] }, code: [] }] }),
    "x",
    10,
  );
  assert.ok(floaty.error?.cause instanceof WasmValidationError);
  const counter = readBuilt("counter");
  assert.equal((await run(counter, "nope", 10)).error?.code, "NO_METHOD");
  assert.equal((await run(counter, "memory", 10)).error?.code, "NO_METHOD");
  const input = new Uint8Array(DEFAULT_EXECUTION_LIMITS.maxInputBytes + 1);
  assert.equal((await run(counter, "get", 10, new MemoryState(), input)).error?.code, "BAD_INPUT");
});

// A proxy contract for nested calls. Memory: 0 counter address, 32 "increment", 48 "k", 49 "j",
// 64 own address, 96 "writeThenRevert", 128 "recurse", 200 status scratch.
const CALL = {
  module: "zvm",
  name: "call_contract",
  type: { params: [I32, I32, I32, I32, I32, I64, I64], results: [I32] },
};
const EMIT = { module: "zvm", name: "emit_event", type: { params: [I32, I32, I32, I32], results: [] } };
function callCode(addr: number, method: number, len: number): number[] {
  return [
    ...i32(addr),
    ...i32(method),
    ...i32(len),
    ...i32(0),
    ...i32(0),
    ...i64(0n),
    ...i64(0n),
    0x10,
    0x00,
  ];
}
const storeStatusAndWrite = (keyAt: number): number[] => [
  0x21,
  0x00,
  ...i32(200),
  0x20,
  0x00,
  0x36,
  0x02,
  0x00, // mem[200] = status
  ...i32(keyAt),
  ...i32(1),
  ...i32(200),
  ...i32(4),
  0x10,
  0x01, // storage_write(key, status)
];
const proxy = buildModule({
  imports: [CALL, WRITE, REVERT, EMIT],
  funcs: [
    {
      type: VOID,
      locals: [[1, I32]],
      code: [...callCode(0, 32, 9), ...storeStatusAndWrite(48)],
      export: "callOk",
    },
    {
      type: VOID,
      locals: [[1, I32]],
      code: [...callCode(0, 32, 9), ...storeStatusAndWrite(48), ...i32(0), ...i32(0), 0x10, 0x02],
      export: "callThenRevert",
    },
    {
      type: VOID,
      code: [...i32(49), ...i32(1), ...i32(49), ...i32(1), 0x10, 0x01, ...i32(0), ...i32(0), 0x10, 0x02],
      export: "writeThenRevert",
    },
    {
      type: VOID,
      locals: [[1, I32]],
      code: [...callCode(64, 96, 15), ...storeStatusAndWrite(48)],
      export: "callFailing",
    },
    {
      type: VOID,
      code: [...i32(0), ...i32(0), ...i32(0), ...i32(0), 0x10, 0x03, ...callCode(64, 128, 7), 0x1a],
      export: "recurse",
    },
  ],
  data: [
    { offset: 0, bytes: COUNTER },
    { offset: 32, bytes: enc.encode("increment") },
    { offset: 48, bytes: enc.encode("kj") },
    { offset: 64, bytes: SELF },
    { offset: 96, bytes: enc.encode("writeThenRevert") },
    { offset: 128, bytes: enc.encode("recurse") },
  ],
});

function world(): MemoryState {
  const s = new MemoryState();
  s.deploy(COUNTER, readBuilt("counter"));
  s.deploy(SELF, proxy);
  return s;
}
const COUNT = enc.encode("count");
const K = enc.encode("k");
const J = enc.encode("j");

Deno.test("call_contract() commits a successful callee's writes with the caller's", async () => {
  const s = world();
  const r = await run(proxy, "callOk", 1_000_000, s);
  assert.equal(r.status, "ok", r.error?.message ?? "");
  s.apply(r);
  assert.deepEqual(s.storageGet(COUNTER, COUNT), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
  assert.deepEqual(s.storageGet(SELF, K), new Uint8Array([0, 0, 0, 0]));
  assert.equal(r.events.length, 1); // the counter's Incremented event
});

Deno.test("a reverting caller undoes its callee's writes and events", async () => {
  const s = world();
  const r = await run(proxy, "callThenRevert", 1_000_000, s);
  assert.equal(r.status, "revert");
  assert.equal(r.storageChanges.length, 0);
  assert.equal(r.events.length, 0);
});

Deno.test("a failing callee's writes are undone while the caller continues", async () => {
  const s = world();
  const r = await run(proxy, "callFailing", 1_000_000, s);
  assert.equal(r.status, "ok", r.error?.message ?? "");
  s.apply(r);
  assert.deepEqual(s.storageGet(SELF, K), new Uint8Array([1, 0, 0, 0])); // status 1 = revert
  assert.equal(s.storageGet(SELF, J), undefined);
});

Deno.test("contract call depth is limited to maxCallDepth", async () => {
  const r = await run(proxy, "recurse", 100_000_000, world());
  assert.equal(r.status, "ok", r.error?.message ?? "");
  assert.equal(r.events.length, DEFAULT_EXECUTION_LIMITS.maxCallDepth);
});

// A contract that returns memory[0..8) (byte 0, then a mutable global stored at 4) and then changes both.
function stickyModule(): Uint8Array {
  const RET = { params: [I32, I32], results: [] };
  return buildModule({
    imports: [{ module: "zvm", name: "return_data", type: RET }],
    memory: { min: 1, max: 4 },
    data: [{ offset: 0, bytes: new Uint8Array([7]) }],
    globals: [{ type: I32, mutable: true, init: { op: "i32.const", value: 40 } }],
    funcs: [
      {
        type: VOID,
        code: [
          ...[...i32(4), 0x23, 0x00, 0x36, 0x02, 0x00], // mem[4..8) = g
          ...[...i32(0), ...i32(8), 0x10, 0x00], // return_data(0, 8)
          ...[...i32(0), ...i32(0), 0x2d, 0x00, 0x00, ...i32(1), 0x6a, 0x3a, 0x00, 0x00], // mem[0]++
          ...[0x23, 0x00, ...i32(1), 0x6a, 0x24, 0x00], // g++
        ],
        export: "bump",
      },
      {
        type: VOID,
        code: [0x23, 0x00, ...i32(1), 0x6a, 0x24, 0x00, ...i32(9), ...i32(99), 0x3a, 0x00, 0x00, 0x00],
        export: "dirty_then_trap",
      },
      { type: VOID, code: [...i32(1), 0x40, 0x00, 0x1a], export: "grow" },
    ],
  });
}

Deno.test("pooled instances start every call from the fresh image: memory, globals, after traps and growth", async () => {
  const code = stickyModule();
  const expected = [7, 0, 0, 0, 40, 0, 0, 0];
  const first = await run(code, "bump", 10_000);
  assert.equal(first.status, "ok");
  assert.deepEqual([...first.returnData], expected);
  // The same instance (pooled) must not show the previous call's writes to memory or the global.
  for (let i = 0; i < 5; i++) {
    const again = await run(code, "bump", 10_000);
    assert.deepEqual([...again.returnData], expected);
    assert.equal(again.gasUsed, first.gasUsed, "same call, same gas, pooled or fresh");
  }
  const trapped = await run(code, "dirty_then_trap", 10_000);
  assert.equal(trapped.status, "trap");
  assert.deepEqual([...(await run(code, "bump", 10_000)).returnData], expected);
  const grown = await run(code, "grow", 10_000);
  assert.equal(grown.status, "ok");
  assert.deepEqual([...(await run(code, "bump", 10_000)).returnData], expected);
  // A fresh cache (nothing pooled) charges exactly the same gas.
  const fresh = await executeContract({
    code,
    method: "bump",
    input: new Uint8Array(),
    gasLimit: 10_000,
    state: new MemoryState(),
    cache: new ModuleCache(),
    context: { caller: CALLER, contract: SELF, blockHeight: 7n, blockTime: 1_700_000_000_000n },
  });
  assert.equal(fresh.gasUsed, first.gasUsed);
});
