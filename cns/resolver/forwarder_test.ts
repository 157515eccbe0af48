import assert from "node:assert/strict";
import { answer, decode, FakeTransport, query } from "../_test_util.ts";
import { DnsCache } from "./dns_cache.ts";
import { UpstreamError } from "../errors.ts";
import { Forwarder, matchResponse } from "./forwarder.ts";
import { FLAG, RCODE } from "../proto/message.ts";
import type { ResolveRequest } from "./resolver.ts";

const U1 = { hostname: "192.0.2.53", port: 53 };
const U2 = { hostname: "192.0.2.54", port: 53 };
const req = (name = "www.example.org", type = "A", rd = true): ResolveRequest => ({
  question: { name, type, class: "IN" },
  recursionDesired: rd,
  client: { address: "127.0.0.1", transport: "udp" },
});
const A = (name: string, ttl = 60) => ({ name, type: "A", class: "IN", ttl, data: "192.0.2.7" });
const seq = (...values: number[]) => {
  let i = 0;
  return (n: number) => (values[i++ % values.length] ?? 0) % n;
};

Deno.test("Forwarder asks with a random ID and returns the matching answer", async () => {
  const t = new FakeTransport((q) => [answer(q, () => ({ answers: [A("www.example.org")] }))]);
  const f = new Forwarder({ upstreams: [U1], transport: t, random: seq(0, 0xbeef) });
  const r = await f.resolve(req());
  assert.equal(r.rcode, RCODE.NOERROR);
  assert.equal(r.answers[0]?.data, "192.0.2.7");
  assert.equal(decode(t.log[0]?.query ?? null).id, 0xbeef);
});

Deno.test("Forwarder ignores answers with the wrong ID, question, or QR bit and keeps waiting", async () => {
  const t = new FakeTransport((q) => {
    const good = answer(q, () => ({ answers: [A("www.example.org")] }));
    const wrongId = good.slice();
    wrongId[0] = (wrongId[0] ?? 0) ^ 0xff;
    const wrongName = answer(
      q,
      (m) => ({ questions: [{ ...m.questions[0], name: "evil.example.org" }] as never }),
    );
    const notResponse = good.slice();
    notResponse[2] = (notResponse[2] ?? 0) & 0x7f;
    const garbage = Uint8Array.of(1, 2, 3);
    return [wrongId, wrongName, notResponse, garbage, good];
  });
  const f = new Forwarder({ upstreams: [U1], transport: t });
  const r = await f.resolve(req());
  assert.equal(r.answers.length, 1);
});

Deno.test("matchResponse() compares the question name case-insensitively", () => {
  const q = query("WWW.Example.ORG", "A", { id: 9 });
  const resp = answer(q, () => ({}));
  assert.ok(matchResponse(resp, 9, { name: "www.example.org", type: "A", class: "IN" }));
  assert.equal(matchResponse(resp, 9, { name: "www.example.org", type: "AAAA", class: "IN" }), undefined);
});

Deno.test("Forwarder moves to the next upstream on timeout and SERVFAIL", async () => {
  const t = new FakeTransport((q, target) => {
    if (target === U1) return undefined; // silence
    return [answer(q, () => ({ answers: [A("www.example.org")] }))];
  });
  const f = new Forwarder({ upstreams: [U1, U2], transport: t, random: seq(0) });
  assert.equal((await f.resolve(req())).answers.length, 1);
  assert.deepEqual(t.log.map((e) => e.target), [U1, U2]);

  const sf = new FakeTransport((q, target) =>
    target === U1
      ? [answer(q, () => ({ flags: FLAG.RD | RCODE.SERVFAIL }))]
      : [answer(q, () => ({ answers: [A("x")] }))]
  );
  const f2 = new Forwarder({ upstreams: [U1, U2], transport: sf, random: seq(0) });
  assert.equal((await f2.resolve(req("x"))).answers.length, 1);
});

Deno.test("Forwarder retries over TCP when the UDP answer is truncated", async () => {
  const t = new FakeTransport((q, _t, via) =>
    via === "udp"
      ? [answer(q, () => ({ flags: FLAG.TC | FLAG.RD }))]
      : [answer(q, () => ({ answers: [A("www.example.org"), A("www.example.org")] }))]
  );
  const f = new Forwarder({ upstreams: [U1], transport: t });
  const r = await f.resolve(req());
  assert.equal(r.answers.length, 2);
  assert.deepEqual(t.log.map((e) => e.via), ["udp", "tcp"]);
});

Deno.test("Forwarder throws UpstreamError after all attempts and REFUSED-coded without upstreams", async () => {
  const t = new FakeTransport(() => undefined);
  const f = new Forwarder({ upstreams: [U1, U2], transport: t, attempts: 3 });
  await assert.rejects(
    () => f.resolve(req()),
    (e: unknown) => e instanceof UpstreamError && e.code === RCODE.SERVFAIL,
  );
  assert.equal(t.log.length, 3);
  const none = new Forwarder({ upstreams: [], transport: t });
  await assert.rejects(
    () => none.resolve(req()),
    (e: unknown) => e instanceof UpstreamError && e.code === RCODE.REFUSED,
  );
});

Deno.test("Forwarder caches answers, decrements TTLs, and serves stale when upstreams fail", async () => {
  let now = 0;
  let up = true;
  const t = new FakeTransport((
    q,
  ) => (up ? [answer(q, () => ({ answers: [A("www.example.org", 10)] }))] : undefined));
  const cache = new DnsCache({ maxEntries: 10, staleMaxS: 60 });
  const f = new Forwarder({ upstreams: [U1], transport: t, cache, serveStale: true, now: () => now });
  await f.resolve(req());
  now = 4000;
  const hit = await f.resolve(req());
  assert.equal(hit.source, "cache");
  assert.equal(hit.answers[0]?.ttl, 6);
  assert.equal(t.log.length, 1);
  up = false;
  now = 20_000;
  const stale = await f.resolve(req());
  assert.equal(stale.source, "stale");
  assert.equal(stale.answers[0]?.ttl, 30);
});

Deno.test("Forwarder caches NXDOMAIN with the SOA minimum", async () => {
  let now = 0;
  const soa = {
    name: "example.org",
    type: "SOA",
    class: "IN",
    ttl: 900,
    data: { mname: "ns", rname: "h", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 20 },
  };
  const t = new FakeTransport((
    q,
  ) => [answer(q, () => ({ flags: FLAG.RD | RCODE.NXDOMAIN, authorities: [soa] }))]);
  const f = new Forwarder({
    upstreams: [U1],
    transport: t,
    cache: new DnsCache({ maxEntries: 5 }),
    now: () => now,
  });
  assert.equal((await f.resolve(req("nx.example.org"))).rcode, RCODE.NXDOMAIN);
  now = 19_000;
  assert.equal((await f.resolve(req("nx.example.org"))).source, "cache");
  now = 21_000;
  assert.equal((await f.resolve(req("nx.example.org"))).source, "upstream");
});

Deno.test("Forwarder shares one exchange between identical questions in flight", async () => {
  const t = new FakeTransport((q) => [answer(q, () => ({ answers: [A("www.example.org")] }))]);
  const f = new Forwarder({ upstreams: [U1], transport: t });
  await Promise.all([f.resolve(req()), f.resolve(req()), f.resolve(req())]);
  assert.equal(t.log.length, 1);
});

Deno.test("Forwarder answers RD=0 from the cache only", async () => {
  const t = new FakeTransport((q) => [answer(q, () => ({ answers: [A("www.example.org")] }))]);
  const f = new Forwarder({ upstreams: [U1], transport: t, cache: new DnsCache({ maxEntries: 5 }) });
  assert.equal((await f.resolve(req("www.example.org", "A", false))).rcode, RCODE.REFUSED);
  await f.resolve(req());
  assert.equal((await f.resolve(req("www.example.org", "A", false))).source, "cache");
});
