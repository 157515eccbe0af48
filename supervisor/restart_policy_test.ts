import assert from "node:assert/strict";
import { RestartPolicy } from "./restart_policy.ts";

Deno.test("RestartPolicy doubles the delay up to the cap", () => {
  const p = new RestartPolicy({ initialMs: 100, maxMs: 1_000, maxStartFailures: 100 });
  p.handleReady(0);
  const delays = [1, 2, 3, 4, 5, 6].map((i) => p.handleExit(i));
  assert.deepEqual(delays.map((d) => d.action === "restart" ? d.delayMs : -1), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
});

Deno.test("RestartPolicy resets after the worker stayed up long enough", () => {
  const p = new RestartPolicy({ initialMs: 100, maxMs: 10_000, maxStartFailures: 3, stableAfterMs: 1_000 });
  p.handleReady(0);
  p.handleExit(10);
  p.handleReady(20);
  assert.deepEqual(p.handleExit(30), { action: "restart", delayMs: 200, failures: 2 });
  p.handleReady(40);
  assert.deepEqual(p.handleExit(5_000), { action: "restart", delayMs: 100, failures: 1 });
});

Deno.test("RestartPolicy gives up on a service that never became ready", () => {
  const p = new RestartPolicy({ initialMs: 10, maxMs: 100, maxStartFailures: 3 });
  assert.equal(p.handleExit(0).action, "restart");
  assert.equal(p.handleExit(1).action, "restart");
  const d = p.handleExit(2);
  assert.equal(d.action, "give-up");
  assert.match(d.action === "give-up" ? d.reason : "", /3 times/);
});

Deno.test("RestartPolicy never gives up on a service that was ready once", () => {
  const p = new RestartPolicy({ initialMs: 10, maxMs: 100, maxStartFailures: 2 });
  p.handleReady(0);
  for (let i = 1; i < 10; i++) assert.equal(p.handleExit(i).action, "restart");
});
