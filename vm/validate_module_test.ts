import assert from "node:assert/strict";
import { WasmLimitError, WasmValidationError } from "./errors.ts";
import { DEFAULT_MODULE_LIMITS } from "./limits.ts";
import { prepareModule } from "./prepare_module.ts";
import { decodeModule, encodeModule } from "./wasm_module.ts";
import { buildModule, I32, i32, I64, VOID } from "./_test_wasm.ts";

function rejects(bytes: Uint8Array, code: string): void {
  assert.throws(() => prepareModule(bytes), (e) => e instanceof WasmValidationError && e.code === code);
}

Deno.test("prepareModule() rejects floats: types, locals and instructions", () => {
  rejects(buildModule({ funcs: [{ type: { params: [0x7d], results: [] }, code: [] }] }), "FLOAT");
  rejects(buildModule({ funcs: [{ type: VOID, locals: [[1, 0x7c]], code: [] }] }), "FLOAT");
  // f32.const 1.0; drop
  rejects(buildModule({ funcs: [{ type: VOID, code: [0x43, 0, 0, 0x80, 0x3f, 0x1a] }] }), "FLOAT");
  // i32.trunc_sat_f32_s (nontrapping-f2i) is a float instruction too
  rejects(buildModule({ funcs: [{ type: VOID, code: [0x41, 0, 0xfc, 0x00, 0x1a] }] }), "FLOAT");
});

Deno.test("prepareModule() rejects SIMD, atomics and shared memory", () => {
  rejects(
    buildModule({ funcs: [{ type: VOID, code: [0xfd, 0x0c, ...new Array(16).fill(0), 0x1a] }] }),
    "SIMD",
  );
  rejects(buildModule({ funcs: [{ type: VOID, code: [0xfe, 0x03, 0x00] }] }), "THREADS");
  const m = decodeModule(buildModule({ funcs: [] }));
  const shared = encodeModule({ ...m, memories: [{ min: 1, max: 1, shared: true }] });
  rejects(shared, "THREADS");
});

Deno.test("prepareModule() rejects other features outside the subset", () => {
  // multi-value result
  rejects(
    buildModule({ funcs: [{ type: { params: [], results: [I32, I32] }, code: [...i32(1), ...i32(2)] }] }),
    "UNSUPPORTED",
  );
  // start section
  const m = decodeModule(buildModule({ funcs: [{ type: VOID, code: [] }] }));
  rejects(encodeModule({ ...m, start: 0 }), "UNSUPPORTED");
  // ref.null
  rejects(buildModule({ funcs: [{ type: VOID, code: [0xd0, 0x70, 0x1a] }] }), "UNSUPPORTED");
  // memory.init needs passive segments
  rejects(
    buildModule({ funcs: [{ type: VOID, code: [...i32(0), ...i32(0), ...i32(0), 0xfc, 0x08, 0x00, 0x00] }] }),
    "UNSUPPORTED",
  );
});

Deno.test("prepareModule() checks imports, exports and memory", () => {
  rejects(buildModule({ imports: [{ module: "zvm", name: "nope", type: VOID }], funcs: [] }), "BAD_IMPORT");
  rejects(
    buildModule({
      imports: [{ module: "zvm", name: "gas_left", type: { params: [], results: [I32] } }],
      funcs: [],
    }),
    "BAD_IMPORT",
  );
  rejects(buildModule({ funcs: [{ type: VOID, code: [], export: "__zvm_gas" }] }), "BAD_EXPORT");
  rejects(buildModule({ funcs: [], memory: null }), "NO_MEMORY");
  assert.throws(
    () => prepareModule(buildModule({ funcs: [], memory: { min: 513 } })),
    (e) => e instanceof WasmLimitError && e.limit === "maxMemoryPages",
  );
  rejects(buildModule({ funcs: [{ type: VOID, code: [0x10, 0x05] }] }), "BAD_INDEX");
  rejects(buildModule({ funcs: [{ type: VOID, code: [0x0c, 0x03] }] }), "BAD_INDEX");
  rejects(buildModule({ funcs: [], data: [{ offset: 65530, bytes: new Uint8Array(10) }] }), "BAD_INDEX");
});

Deno.test("prepareModule() clamps the memory maximum to maxMemoryPages and accepts i64 code", () => {
  const p = prepareModule(
    buildModule({
      funcs: [{ type: VOID, code: [...[0x42, 0x05], 0x1a], export: "run" }],
      memory: { min: 1 },
    }),
  );
  assert.equal(decodeModule(p.bytes).memories[0]?.max, DEFAULT_MODULE_LIMITS.maxMemoryPages);
  assert.deepEqual([...p.methods], ["run"]);
  void I64;
});
