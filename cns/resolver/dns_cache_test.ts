import assert from "node:assert/strict";
import { cacheKey, DnsCache, STALE_TTL_S } from "./dns_cache.ts";
import { RCODE } from "../proto/message.ts";

const A = (ttl: number) => ({ name: "a.test", type: "A", class: "IN", ttl, data: "192.0.2.1" });
const SOA = (ttl: number, minimum: number) => ({
  name: "test",
  type: "SOA",
  class: "IN",
  ttl,
  data: { mname: "ns.test", rname: "h.test", serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});
const key = cacheKey("A.test.", "a");

Deno.test("DnsCache decrements TTLs and expires at the smallest TTL", () => {
  const c = new DnsCache({ maxEntries: 10 });
  assert.equal(c.set(key, { rcode: 0, answers: [A(60), A(100)], authorities: [] }, 0), 60);
  assert.deepEqual(c.get(key, 10_500)?.answers.map((r) => r.ttl), [50, 50]);
  assert.equal(c.get(cacheKey("a.test", "A", "IN"), 59_999)?.answers[0]?.ttl, 1);
  assert.equal(c.get(key, 60_000), undefined);
  assert.equal(c.size, 0);
});

Deno.test("DnsCache caches NXDOMAIN for min(SOA TTL, MINIMUM) and skips it without a SOA", () => {
  const c = new DnsCache({ maxEntries: 10 });
  assert.equal(c.set(key, { rcode: RCODE.NXDOMAIN, answers: [], authorities: [SOA(300, 30)] }, 0), 30);
  assert.equal(c.get(key, 29_000)?.rcode, RCODE.NXDOMAIN);
  assert.equal(c.get(key, 30_000), undefined);
  assert.equal(c.set(key, { rcode: RCODE.NXDOMAIN, answers: [], authorities: [] }, 0), 0);
  assert.equal(c.set(key, { rcode: RCODE.SERVFAIL, answers: [], authorities: [] }, 0), 0);
});

Deno.test("DnsCache caps TTLs at maxTtlS and negative TTLs at maxNegativeTtlS", () => {
  const c = new DnsCache({ maxEntries: 10, maxTtlS: 10, maxNegativeTtlS: 5 });
  assert.equal(c.set(key, { rcode: 0, answers: [A(1000)], authorities: [] }, 0), 10);
  assert.equal(c.get(key, 0)?.answers[0]?.ttl, 10);
  assert.equal(c.set("n", { rcode: 0, answers: [], authorities: [SOA(100, 100)] }, 0), 5);
});

Deno.test("DnsCache evicts the least recently used entry", () => {
  const c = new DnsCache({ maxEntries: 2 });
  c.set("a", { rcode: 0, answers: [A(60)], authorities: [] }, 0);
  c.set("b", { rcode: 0, answers: [A(60)], authorities: [] }, 0);
  assert.ok(c.get("a", 1)); // a is now the youngest
  c.set("c", { rcode: 0, answers: [A(60)], authorities: [] }, 2);
  assert.ok(c.get("a", 3));
  assert.equal(c.get("b", 3), undefined);
  assert.ok(c.get("c", 3));
});

Deno.test("DnsCache serves stale within staleMaxS only when asked", () => {
  const c = new DnsCache({ maxEntries: 10, staleMaxS: 100 });
  c.set(key, { rcode: 0, answers: [A(10)], authorities: [] }, 0);
  assert.equal(c.get(key, 20_000), undefined);
  const hit = c.get(key, 20_000, { allowStale: true });
  assert.equal(hit?.stale, true);
  assert.equal(hit?.answers[0]?.ttl, STALE_TTL_S);
  assert.equal(c.get(key, 110_000, { allowStale: true }), undefined);
});
