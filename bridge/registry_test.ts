import assert from "node:assert/strict";
import { LeastOutstandingBalancer, RoundRobinBalancer } from "./balancer.ts";
import { HealthStatus } from "./frame_payloads.ts";
import { ServiceRegistry } from "./registry.ts";
import { mayRetry } from "./retry_policy.ts";

const info = (id: string, service = "s.S") => ({
  service,
  version: "1",
  endpoint: "inproc:" + id,
  instanceId: id,
});

Deno.test("ServiceRegistry: a failing instance is taken out after the threshold and put back when it recovers", () => {
  const r = new ServiceRegistry(new RoundRobinBalancer(), { unhealthyThreshold: 2, healthyThreshold: 1 });
  const a = r.addLocal(info("a"), 0, true);
  r.addLocal(info("b"), 0, true);
  r.handleHealthResult(a.key, HealthStatus.NOT_SERVING, 1);
  assert.equal(r.candidates("s.S").length, 2);
  r.handleHealthResult(a.key, HealthStatus.NOT_SERVING, 2);
  assert.deepEqual(r.candidates("s.S").map((c) => c.info.instanceId), ["b"]);
  r.handleHealthResult(a.key, HealthStatus.SERVING, 3);
  assert.equal(r.candidates("s.S").length, 2);
  assert.equal(r.get(a.key)?.changedAt, 3);
});

Deno.test("ServiceRegistry: an unknown-health instance is not picked until its first check passes", () => {
  const r = new ServiceRegistry(new RoundRobinBalancer());
  const u = r.addLocal(info("u"), 0);
  assert.equal(r.pick("s.S"), undefined);
  assert.equal(r.serviceHealth("s.S"), HealthStatus.NOT_SERVING);
  assert.equal(r.serviceHealth("nope"), HealthStatus.SERVICE_UNKNOWN);
  r.handleHealthResult(u.key, HealthStatus.SERVING, 1);
  assert.equal(r.pick("s.S")?.key, u.key);
});

Deno.test("ServiceRegistry: peer instances are replaced by each discovery answer and dropped with the peer", () => {
  const r = new ServiceRegistry(new RoundRobinBalancer());
  r.setPeerInstances("p1", [{ ...info("x"), health: HealthStatus.SERVING }, {
    ...info("y"),
    health: HealthStatus.NOT_SERVING,
  }], 0);
  assert.deepEqual(r.candidates("s.S").map((c) => c.info.instanceId), ["x"]);
  r.setPeerInstances("p1", [{ ...info("y"), health: HealthStatus.SERVING }], 1);
  assert.deepEqual(r.candidates("s.S").map((c) => c.info.instanceId), ["y"]);
  r.dropPeer("p1");
  assert.equal(r.candidates("s.S").length, 0);
});

Deno.test("balancers: round robin cycles; least outstanding prefers idle instances", () => {
  const r = new ServiceRegistry(new RoundRobinBalancer());
  r.addLocal(info("a"), 0, true);
  r.addLocal(info("b"), 0, true);
  assert.deepEqual([r.pick("s.S"), r.pick("s.S"), r.pick("s.S")].map((c) => c?.info.instanceId), [
    "a",
    "b",
    "a",
  ]);
  const l = new ServiceRegistry(new LeastOutstandingBalancer());
  const a = l.addLocal(info("a"), 0, true);
  l.addLocal(info("b"), 0, true);
  l.begin(a.key);
  assert.equal(l.pick("s.S")?.info.instanceId, "b");
  assert.equal(l.pick("s.S")?.info.instanceId, "b");
  l.end(a.key);
  assert.deepEqual(
    new Set([l.pick("s.S")?.info.instanceId, l.pick("s.S")?.info.instanceId]),
    new Set(["a", "b"]),
  );
  assert.equal(l.pick("s.S", new Set(["local/a", "local/b"])), undefined);
});

Deno.test("mayRetry(): only before response bytes, with a replayable request, when safe", () => {
  const base = {
    responseDelivered: false,
    replayable: true,
    notProcessed: false,
    transportFailure: false,
    idempotent: false,
    attempts: 1,
    maxAttempts: 3,
  };
  assert.equal(mayRetry(base), false); // an application status
  assert.equal(mayRetry({ ...base, notProcessed: true }), true);
  assert.equal(mayRetry({ ...base, transportFailure: true }), false); // may have been processed
  assert.equal(mayRetry({ ...base, transportFailure: true, idempotent: true }), true);
  assert.equal(mayRetry({ ...base, notProcessed: true, responseDelivered: true }), false);
  assert.equal(mayRetry({ ...base, notProcessed: true, replayable: false }), false);
  assert.equal(mayRetry({ ...base, notProcessed: true, attempts: 3 }), false);
});
