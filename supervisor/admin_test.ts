import assert from "node:assert/strict";
import { type AdminSource, handleAdmin, type StatusDocument } from "./admin.ts";

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
