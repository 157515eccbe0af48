import assert from "node:assert/strict";
import fc from "fast-check";
import { Reader, Writer } from "./_leb128.ts";
import { WasmDecodeError, WasmLimitError, WasmValidationError } from "./errors.ts";
import { DEFAULT_MODULE_LIMITS } from "./limits.ts";
import { prepareModule } from "./prepare_module.ts";
import { CONTRACTS, readBuilt } from "./sdk/build.ts";
import { decodeModule, encodeModule } from "./wasm_module.ts";
import { decodeInstructions } from "./wasm_instructions.ts";
import { buildModule, VOID } from "./_test_wasm.ts";

function isTyped(e: unknown): boolean {
  return e instanceof WasmDecodeError || e instanceof WasmValidationError || e instanceof WasmLimitError;
}

Deno.test("encodeModule() round-trips the example contracts (decode, encode, decode, re-encode)", () => {
  for (const name of CONTRACTS) {
    const bytes = readBuilt(name);
    const once = encodeModule(decodeModule(bytes));
    const twice = encodeModule(decodeModule(once));
    assert.deepEqual(twice, once);
    // binaryen writes canonical LEB128 and we only drop custom sections, so lengths stay close
    assert.ok(once.length <= bytes.length);
    for (const body of decodeModule(bytes).codes) decodeInstructions(body.code, DEFAULT_MODULE_LIMITS);
  }
});

Deno.test("LEB128 reader and writer agree on edge values", () => {
  for (const v of [0, 1, 63, 64, 127, 128, 2 ** 31 - 1, -1, -64, -65, -(2 ** 31)]) {
    assert.equal(new Reader(new Writer().s32(v).finish()).s32(), v);
  }
  for (const v of [0, 1, 127, 128, 2 ** 32 - 1]) {
    assert.equal(new Reader(new Writer().u32(v).finish()).u32(), v);
  }
  for (const v of [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 1234567890123n]) {
    assert.equal(new Reader(new Writer().s64(v).finish()).s64(), v);
  }
  assert.throws(() => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).u32(), {
    code: "BAD_LEB128",
  });
  assert.throws(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f])).u32(), {
    code: "BAD_LEB128",
  });
  assert.throws(() => new Reader(new Uint8Array([0x80])).u32(), { code: "TRUNCATED" });
});

Deno.test("decodeModule() rejects a bad header, truncation and trailing section bytes with WasmDecodeError", () => {
  assert.throws(() => decodeModule(new Uint8Array([1, 2, 3])), {
    name: "WasmDecodeError",
    code: "BAD_MAGIC",
  });
  const good = buildModule({ funcs: [{ type: VOID, code: [], export: "f" }] });
  assert.throws(() => decodeModule(good.subarray(0, good.length - 1)), WasmDecodeError);
  const bad = new Uint8Array([...good.subarray(0, 8), 0x01, 0x01, 0x00, 0x00]); // type section: count 0 + 1 extra
  assert.throws(() => decodeModule(bad), WasmDecodeError);
});

Deno.test("decodeModule() checks limits before allocating: module size, function count, locals", () => {
  const good = buildModule({ funcs: [{ type: VOID, code: [], export: "f" }] });
  assert.throws(
    () => decodeModule(good, { ...DEFAULT_MODULE_LIMITS, maxModuleBytes: 10 }),
    (e) => e instanceof WasmLimitError && e.limit === "maxModuleBytes",
  );
  const two = buildModule({ funcs: [{ type: VOID, code: [] }, { type: VOID, code: [] }] });
  assert.throws(() => decodeModule(two, { ...DEFAULT_MODULE_LIMITS, maxFunctions: 1 }), {
    limit: "maxFunctions",
  });
  // A function section claiming 2^32-1 functions fails on the limit, not on an allocation.
  const huge = new Uint8Array([...good.subarray(0, 8), 0x03, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.throws(() => decodeModule(huge), WasmLimitError);
  const locals = buildModule({ funcs: [{ type: VOID, locals: [[5000, 0x7f]], code: [] }] });
  assert.throws(() => decodeModule(locals), { limit: "maxLocals" });
});

Deno.test("decodeModule() and prepareModule() give only typed errors on random bytes (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), fc.boolean(), (tail, withHeader) => {
      const bytes = withHeader ? new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...tail]) : tail;
      try {
        prepareModule(bytes);
      } catch (e) {
        if (!isTyped(e)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("prepareModule() gives only typed errors on mutated contracts (property)", () => {
  const base = readBuilt("counter");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      (edits) => {
        const bytes = base.slice();
        for (const [at, v] of edits) bytes[at] = v;
        try {
          const p = prepareModule(bytes);
          // Whatever passes our checks must also be accepted or cleanly rejected by the engine.
          try {
            new WebAssembly.Module(p.bytes as Uint8Array<ArrayBuffer>);
          } catch (e) {
            assert.ok(e instanceof WebAssembly.CompileError);
          }
        } catch (e) {
          if (!isTyped(e)) throw e;
        }
      },
    ),
    { numRuns: 300 },
  );
});
