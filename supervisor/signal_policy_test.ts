import assert from "node:assert/strict";
import { SignalPolicy } from "./signal_policy.ts";

Deno.test("SignalPolicy drains on the first signal, ignores its echo, and forces on a later one", () => {
  const p = new SignalPolicy(1_000);
  assert.equal(p.onSignal(10_000), "drain");
  // The terminal's Ctrl-C and the copy `deno task` forwards arrive together.
  assert.equal(p.onSignal(10_003), "ignore");
  assert.equal(p.onSignal(11_000), "ignore");
  assert.equal(p.onSignal(11_001), "force");
});
