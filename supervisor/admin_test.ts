import assert from "node:assert/strict";
import { type AdminSource, handleAdmin, type StatusDocument } from "./admin.ts";
import { liveSnapshot } from "./status_page.ts";

function source(state: "running" | "backoff"): AdminSource {
  const doc: StatusDocument = {
    version: "0",
    uptimeSeconds: 1,
    pid: 1,
    tls: { source: "dev", notAfter: "2030-01-01T00:00:00.000Z", daysLeft: 100 },
    services: [{ name: "ping", state, attempt: 1, restarts: 0, since: "", endpoints: [] }],
    metrics: {},
  };
  return { status: () => Promise.resolve(doc), metricsText: () => Promise.resolve("# HELP x y\n") };
}

Deno.test("handleAdmin() serves status, metrics and health", async () => {
  const st = await handleAdmin(new Request("http://a/status"), source("running"));
  assert.equal(st.status, 200);
  assert.equal((await st.json()).services[0].name, "ping");
  const m = await handleAdmin(new Request("http://a/metrics"), source("running"));
  assert.match(m.headers.get("content-type") ?? "", /text\/plain; version=0\.0\.4/);
  assert.equal(await m.text(), "# HELP x y\n");
  assert.equal((await handleAdmin(new Request("http://a/healthz"), source("running"))).status, 200);
  const sick = await handleAdmin(new Request("http://a/healthz"), source("backoff"));
  assert.equal(sick.status, 503);
  assert.match(await sick.text(), /ping=backoff/);
});

Deno.test("handleAdmin() refuses other methods and paths", async () => {
  const post = await handleAdmin(new Request("http://a/status", { method: "POST" }), source("running"));
  assert.equal(post.status, 405);
  await post.body?.cancel();
  const nf = await handleAdmin(new Request("http://a/nope"), source("running"));
  assert.equal(nf.status, 404);
  await nf.body?.cancel();
});

Deno.test("liveSnapshot() sums each chart's metric by its label; the page, its assets and one event are served", async () => {
  const snap = {
    labels: {},
    families: [
      {
        name: "ghost_cns_queries_total",
        help: "",
        type: "counter",
        samples: [
          { labels: { transport: "udp", qtype: "A" }, value: 3 },
          { labels: { transport: "udp", qtype: "AAAA" }, value: 4 },
          { labels: { transport: "doq", qtype: "A" }, value: 1 },
        ],
      },
      {
        name: "ghost_chain_block_interval_seconds",
        help: "",
        type: "histogram",
        buckets: [1],
        samples: [{ labels: {}, sum: 2.5, count: 5, counts: [5] }],
      },
    ],
  };
  const live = liveSnapshot(
    [{ service: "cns", snapshot: snap }, { service: "x", snapshot: "garbage" }],
    [],
    [],
    7,
  );
  assert.deepEqual(live.values.dns_qps, { udp: 7, doq: 1 });
  assert.deepEqual(live.values.block_time, { cns: [2.5, 5] });
  assert.equal(live.t, 7);
  const src = { ...source("running"), live: () => Promise.resolve(live), liveIntervalMs: 10 };
  const page = await handleAdmin(new Request("http://a/"), src);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.match(await page.text(), /EventSource\("\/events"\)/);
  const js = await handleAdmin(new Request("http://a/assets/uplot.js"), src);
  assert.match(await js.text(), /uPlot/);
  const ctl = new AbortController();
  const ev = await handleAdmin(new Request("http://a/events", { signal: ctl.signal }), src);
  assert.equal(ev.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = ev.body?.getReader();
  const first = new TextDecoder().decode((await reader?.read())?.value);
  assert.match(first, /^data: \{"t":7,/);
  ctl.abort();
  await reader?.cancel();
  // Without a live source there is no page.
  assert.equal((await handleAdmin(new Request("http://a/"), source("running"))).status, 404);
});
