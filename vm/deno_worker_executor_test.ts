import assert from "node:assert/strict";
import { WorkerExecutor } from "./deno_worker_executor.ts";
import { VmError } from "./errors.ts";
import { MemoryState } from "./memory_state.ts";
import { readBuilt } from "./sdk/build.ts";
import { buildModule, VOID } from "./_test_wasm.ts";

const context = {
  caller: new Uint8Array(20),
  contract: new Uint8Array(20).fill(9),
  blockHeight: 1n,
  blockTime: 0n,
};

Deno.test("WorkerExecutor runs a call in a worker and terminates one that passes the wall-clock backstop", async () => {
  // Generous: the first call compiles a contract in a cold worker on a possibly loaded machine; the spin
  // below never finishes, so only its kill is being tested.
  const ex = new WorkerExecutor({ timeoutMs: 3_000 });
  try {
    const ok = await ex.execute({
      code: readBuilt("counter"),
      method: "increment",
      input: new Uint8Array(),
      gasLimit: 100_000,
      context,
      state: new MemoryState(),
    });
    assert.equal(ok.status, "ok");
    assert.equal(ok.storageChanges.length, 1);
    const spin = buildModule({
      funcs: [{ type: VOID, code: [0x03, 0x40, 0x0c, 0x00, 0x0b], export: "spin" }],
    });
    await assert.rejects(
      ex.execute({
        code: spin,
        method: "spin",
        input: new Uint8Array(),
        gasLimit: Number.MAX_SAFE_INTEGER,
        context,
        state: new MemoryState(),
      }),
      (e) => e instanceof VmError && e.code === "TIMEOUT",
    );
    const after = await ex.execute({
      code: readBuilt("counter"),
      method: "get",
      input: new Uint8Array(),
      gasLimit: 100_000,
      context,
      state: new MemoryState(),
    });
    assert.equal(after.status, "ok"); // a fresh worker took over
  } finally {
    ex.close();
  }
});
