import assert from "node:assert/strict";
import { MetricsRegistry, renderPrometheus } from "../core/mod.ts";
import { summarizeMetrics, supervisorMetrics, workerSnapshot } from "./supervisor_metrics.ts";

Deno.test("supervisorMetrics() reports up, restarts and starts per service", () => {
  const text = renderPrometheus(supervisorMetrics([
    { name: "ping", state: "running", attempt: 3, restarts: 2, since: "", endpoints: [] },
    { name: "cns", state: "backoff", attempt: 1, restarts: 0, since: "", endpoints: [] },
  ], "1.2.3"));
  assert.match(text, /ghost_build_info\{version="1\.2\.3"\} 1/);
  assert.match(text, /ghost_service_up\{service="ping"\} 1/);
  assert.match(text, /ghost_service_up\{service="cns"\} 0/);
  assert.match(text, /ghost_service_restarts_total\{service="ping"\} 2/);
});

Deno.test("workerSnapshot() labels a valid snapshot and rejects malformed ones", () => {
  const reg = new MetricsRegistry();
  reg.counter("x_total", "x").inc(2);
  reg.histogram("lat_seconds", "lat").observe(0.01);
  const snap = workerSnapshot("ping", reg.snapshot());
  assert.ok(snap);
  assert.equal(snap.labels.service, "ping");
  assert.match(renderPrometheus(snap), /x_total\{service="ping"\} 2/);
  const bad: unknown[] = [
    null,
    {
      labels: {},
      families: [{ type: "counter", name: "a", help: "h", samples: [{ labels: {}, value: "1" }] }],
    },
    { labels: { a: 1 }, families: [] },
    { labels: {}, families: [{ type: "summary", name: "a", help: "h", samples: [] }] },
    {
      labels: {},
      families: [{
        type: "histogram",
        name: "a",
        help: "h",
        buckets: [1],
        samples: [{ labels: {}, counts: [], sum: 0, count: 0 }],
      }],
    },
  ];
  for (const b of bad) assert.equal(workerSnapshot("ping", b), undefined, JSON.stringify(b));
});

Deno.test("summarizeMetrics() sums series per family and skips bad snapshots", () => {
  const reg = new MetricsRegistry();
  const c = reg.counter("q_total", "q", ["t"]);
  c.inc(2, { t: "udp" });
  c.inc(3, { t: "tcp" });
  assert.deepEqual(
    summarizeMetrics([{ service: "a", snapshot: reg.snapshot() }, { service: "b", snapshot: 7 }]),
    {
      a: { q_total: 5 },
    },
  );
});

Deno.test("permissionsMissing() names what a reload would need beyond the running worker's set", async () => {
  const { permissionsMissing } = await import("./supervisor.ts");
  const { permissionSet } = await import("../core/mod.ts");
  const have = permissionSet({ net: ["127.0.0.1:4443", "127.0.0.1"], read: ["/d"] });
  assert.deepEqual(permissionsMissing(have, permissionSet({ net: ["127.0.0.1"], read: ["/d"] })), []);
  assert.deepEqual(permissionsMissing(have, permissionSet({ net: ["10.0.0.7"], write: ["/d"] })), [
    "net 10.0.0.7",
    "write /d",
  ]);
  assert.deepEqual(permissionsMissing(have, permissionSet({ net: true })), ["net (all)"]);
  assert.deepEqual(permissionsMissing(permissionSet({ net: true }), permissionSet({ net: ["x"] })), []);
});
