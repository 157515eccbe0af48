// The README's main command, `./deno task start`, stopped with Ctrl-C the way a terminal sends it (SIGINT to
// the whole foreground process group): it drains every service and exits 0.
import assert from "node:assert/strict";
import { startDevnet } from "../interop/_devnet.ts";

async function healthy(admin: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const res = await fetch(`${admin}/status`, { signal: AbortSignal.timeout(1_000) });
      const doc = await res.json() as { services?: { state: string }[] };
      if (doc.services !== undefined && doc.services.every((s) => s.state === "running")) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the devnet did not come up");
}

Deno.test({
  name: "./deno task start drains and exits 0 on Ctrl-C sent to its process group",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const devnet = await startDevnet("ghost-ctrl-c-", { via: "task" });
    await healthy(devnet.admin);
    const { code, logs } = await devnet.interrupt();
    assert.equal(code, 0, logs.slice(-3000));
    assert.match(logs, /shutting down.*SIGINT/);
    assert.match(logs, /draining services/);
    assert.doesNotMatch(logs, /second signal/);
  },
});
