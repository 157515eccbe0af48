import assert from "node:assert/strict";
import { MAX_SERIES_PER_FAMILY, MetricsRegistry, renderPrometheus } from "./metrics.ts";
import { transportMetrics } from "../transport/transport_metrics.ts";

Deno.test("renderPrometheus() writes HELP, TYPE, labels and histogram series in text format 0.0.4", () => {
  const r = new MetricsRegistry();
  r.counter("requests_total", "Requests served", ["method"]).inc(3, { method: "GET" });
  r.gauge("queue_depth", "Items queued").set(7);
  const h = r.histogram("latency_seconds", "Request latency", { buckets: [0.1, 1], labelNames: ["route"] });
  h.observe(0.05, { route: "/" });
  h.observe(0.5, { route: "/" });
  h.observe(3, { route: "/" });
  assert.equal(
    renderPrometheus([r.snapshot()]),
    [
      "# HELP requests_total Requests served",
      "# TYPE requests_total counter",
      'requests_total{method="GET"} 3',
      "# HELP queue_depth Items queued",
      "# TYPE queue_depth gauge",
      "queue_depth 7",
      "# HELP latency_seconds Request latency",
      "# TYPE latency_seconds histogram",
      'latency_seconds_bucket{route="/",le="0.1"} 1',
      'latency_seconds_bucket{route="/",le="1"} 2',
      'latency_seconds_bucket{route="/",le="+Inf"} 3',
      'latency_seconds_sum{route="/"} 3.55',
      'latency_seconds_count{route="/"} 3',
      "",
    ].join("\n"),
  );
});

Deno.test("renderPrometheus() escapes label values and help text", () => {
  const r = new MetricsRegistry();
  r.counter("odd_total", "Help with \\ and\nnewline", ["v"]).inc(1, { v: 'quote " back \\ line\nend' });
  const text = renderPrometheus(r.snapshot());
  assert.ok(text.includes("# HELP odd_total Help with \\\\ and\\nnewline\n"));
  assert.ok(text.includes('odd_total{v="quote \\" back \\\\ line\\nend"} 1\n'));
});

Deno.test("renderPrometheus() merges worker snapshots under one family with their labels", () => {
  const a = new MetricsRegistry({ labels: { service: "cns" } });
  const b = new MetricsRegistry({ labels: { service: "wraith" } });
  a.counter("conns_total", "Connections").inc(2);
  b.counter("conns_total", "Connections").inc(5);
  // A snapshot survives structured cloning (postMessage) unchanged.
  const snaps = [structuredClone(a.snapshot()), JSON.parse(JSON.stringify(b.snapshot()))];
  const text = renderPrometheus(snaps, { instance: "edge-1" });
  assert.equal(text.match(/# TYPE conns_total counter/g)?.length, 1);
  assert.ok(text.includes('conns_total{instance="edge-1",service="cns"} 2\n'));
  assert.ok(text.includes('conns_total{instance="edge-1",service="wraith"} 5\n'));
  // Identical label sets are summed.
  assert.ok(renderPrometheus([a.snapshot(), a.snapshot()]).includes('conns_total{service="cns"} 4\n'));
});

Deno.test("renderPrometheus() rejects a family registered with two types", () => {
  const a = new MetricsRegistry();
  const b = new MetricsRegistry();
  a.counter("thing", "x").inc();
  b.gauge("thing", "x").set(1);
  assert.throws(() => renderPrometheus([a.snapshot(), b.snapshot()]), /both counter and gauge/);
});

Deno.test("MetricsRegistry validates names, labels and values", () => {
  const r = new MetricsRegistry();
  assert.throws(() => r.counter("bad-name", "x"), /invalid metric name/);
  assert.throws(() => r.counter("ok", "x", ["__reserved"]), /label name/);
  assert.throws(() => r.histogram("h", "x", { labelNames: ["le"] }), /reserved/);
  assert.throws(() => r.histogram("h2", "x", { buckets: [1, 1] }), /ascending/);
  const c = r.counter("c_total", "x", ["a"]);
  assert.throws(() => c.inc(1), /labels \{\} do not match \{a\}/);
  assert.throws(() => c.inc(1, { a: "1", b: "2" }), /do not match/);
  assert.throws(() => c.inc(-1, { a: "1" }), RangeError);
  assert.equal(r.counter("c_total", "x", ["a"]), c, "same family is returned again");
  assert.throws(() => r.gauge("c_total", "x", ["a"]), /already counter/);
  const g = r.gauge("g", "x");
  g.inc(5);
  g.dec(2);
  assert.equal(g.get(), 3);
});

Deno.test("transportMetrics() registers once per registry", () => {
  const r = new MetricsRegistry();
  const m = transportMetrics(r);
  assert.equal(transportMetrics(r), m);
  m.connectionsAccepted.inc(1, { alpn: "ghost-ping/1" });
  m.handshakeSeconds.observe(0.003, { role: "server" });
  const text = renderPrometheus(r.snapshot());
  assert.ok(text.includes('ghost_transport_connections_accepted_total{alpn="ghost-ping/1"} 1'));
  assert.ok(text.includes('ghost_transport_handshake_seconds_bucket{role="server",le="0.005"} 1'));
});

Deno.test("latencyBuckets() gives the 1 / 2.5 / 5 series between its bounds, ascending", async () => {
  const { latencyBuckets, DEFAULT_BUCKETS } = await import("./metrics.ts");
  assert.deepEqual(latencyBuckets(0.001, 1), [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  assert.deepEqual(DEFAULT_BUCKETS, [
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
  ]);
});

Deno.test("metrics: a family keeps at most MAX_SERIES_PER_FAMILY series; later label sets share _other", () => {
  const r = new MetricsRegistry();
  const c = r.counter("ghost_test_paths_total", "Paths", ["path", "code"]);
  const h = r.histogram("ghost_test_path_seconds", "Latency", { labelNames: ["path"], buckets: [1] });
  for (let i = 0; i < MAX_SERIES_PER_FAMILY + 50; i++) {
    c.inc(1, { path: `/p${i}`, code: "OK" });
    h.observe(0.5, { path: `/p${i}` });
  }
  c.inc(2, { path: "/p0", code: "OK" }); // an existing series still counts on its own
  assert.equal(c.get({ path: "/p0", code: "OK" }), 3);
  assert.equal(c.get({ path: "_other", code: "_other" }), 50);
  const snap = r.snapshot();
  const counter = snap.families.find((f) => f.name === "ghost_test_paths_total");
  assert.equal(counter?.samples.length, MAX_SERIES_PER_FAMILY + 1);
  const hist = snap.families.find((f) => f.name === "ghost_test_path_seconds");
  assert.equal(hist?.samples.length, MAX_SERIES_PER_FAMILY + 1);
});

Deno.test("metrics: bound recorders count into the same series as labelled calls", () => {
  const r = new MetricsRegistry();
  const c = r.counter("ghost_test_bound_total", "Bound", ["k"]);
  const inc = c.bind({ k: "a" });
  inc();
  inc(4);
  c.inc(1, { k: "a" });
  assert.equal(c.get({ k: "a" }), 6);
  assert.throws(() => c.bind({ other: "x" }), TypeError);
  const h = r.histogram("ghost_test_bound_seconds", "Bound", { labelNames: ["k"], buckets: [1, 2] });
  const obs = h.bind({ k: "a" });
  obs(0.5, 3);
  obs(1.5);
  h.observe(3, { k: "a" });
  assert.equal(h.count({ k: "a" }), 5);
  const text = renderPrometheus(r.snapshot());
  assert.match(text, /ghost_test_bound_seconds_bucket\{k="a",le="1"\} 3/);
  assert.match(text, /ghost_test_bound_seconds_bucket\{k="a",le="2"\} 4/);
  assert.match(text, /ghost_test_bound_seconds_sum\{k="a"\} 6/);
});
