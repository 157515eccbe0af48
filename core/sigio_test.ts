import assert from "node:assert/strict";
import { SigioWaiter } from "./sigio.ts";

Deno.test("SigioWaiter: a SIGIO wakes the sleeper; a pending one is not waited for; wake() ends a wait", async () => {
  const w = new SigioWaiter();
  try {
    assert.equal(w.pending, false);
    const sleeping = w.wait(10_000);
    Deno.kill(Deno.pid, "SIGIO");
    await sleeping;
    assert.equal(w.pending, true);
    await w.wait(10_000); // pending: returns at once
    w.clear();
    const again = w.wait(10_000);
    w.wake();
    await again;
    w.clear();
    await w.wait(1); // nothing came: the timeout ends it
    assert.equal(w.pending, false);
  } finally {
    w.close();
  }
});
