import assert from "node:assert/strict";
import fc from "fast-check";
import { addressPrefix, formatRatePolicy, Gcra, parseRatePolicy, rateLimitFields } from "./rate_limit.ts";

Deno.test("[wraith rate] policies parse and print back; bad ones say what is wrong", () => {
  const p = parseRatePolicy("per-client client 100/1s burst=200 prefix4=24 prefix6=56");
  assert.deepEqual([p.limit, p.windowMs, p.burst, p.prefix4, p.prefix6, p.pool], [
    100,
    1000,
    200,
    24,
    56,
    undefined,
  ]);
  assert.equal(formatRatePolicy(p), "per-client client 100/1s burst=200 prefix4=24 prefix6=56");
  assert.deepEqual(parseRatePolicy(formatRatePolicy(p)), p);
  assert.equal(parseRatePolicy("api route 6000/1m pool=api").windowMs, 60_000);
  for (
    const bad of [
      "x client",
      "x nobody 1/1s",
      "x client 0/1s",
      "x client 10/1y",
      "x client 10/1s burst=0",
      "X client 1/1s",
    ]
  ) {
    assert.throws(() => parseRatePolicy(bad), TypeError, bad);
  }
});

Deno.test("[wraith rate] GCRA: a burst, then one request per interval; Retry-After and the draft's fields", () => {
  const g = new Gcra(parseRatePolicy("c client 10/1s burst=3"));
  const at = (ms: number) => g.check("k", ms);
  assert.deepEqual([at(0), at(0), at(0)].map((d) => [d.allowed, d.remaining]), [[true, 2], [true, 1], [
    true,
    0,
  ]]);
  const refused = at(0);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterS, 1);
  assert.equal(at(50).allowed, false, "not before one interval (100 ms)");
  assert.equal(at(100).allowed, true);
  assert.equal(at(150).allowed, false);
  assert.equal(at(10_000).remaining, 2, "a long pause makes the burst whole again");
  assert.equal(g.limited, 3);
  assert.equal(g.check("other", 0).allowed, true, "keys are separate");
  assert.deepEqual(rateLimitFields(g.policy, { allowed: true, remaining: 7, resetS: 1, retryAfterS: 0 }), [
    ["ratelimit-policy", '"c";q=10;w=1'],
    ["ratelimit", '"c";r=7;t=1'],
  ]);
});

Deno.test("[wraith rate] over any schedule, no window of the policy lets more than burst + rate through (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(3_000), { minLength: 1, maxLength: 300 }), (times) => {
      const g = new Gcra(parseRatePolicy("c client 5/1s burst=4"));
      const allowed = times.sort((a, b) => a - b).filter((t) => g.check("k", t).allowed);
      for (const t of allowed) {
        const inWindow = allowed.filter((u) => u >= t && u < t + 1000).length;
        assert.ok(inWindow <= 4 + 5, `${inWindow} in the second after ${t}`);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("[wraith rate] client keys: IPv4 and IPv6 prefixes, v4-mapped, zone ids", () => {
  assert.equal(addressPrefix("192.0.2.77", 24, 64), "192.0.2.0/24");
  assert.equal(addressPrefix("192.0.2.77", 32, 64), "192.0.2.77/32");
  assert.equal(addressPrefix("2001:db8:1:2:3:4:5:6", 32, 48), "20010db8000100000000000000000000/48");
  assert.equal(addressPrefix("2001:db8:1::1", 32, 64), addressPrefix("2001:db8:1:0:ffff::9", 32, 64));
  assert.equal(addressPrefix("::1", 32, 128), "00000000000000000000000000000001/128");
  assert.equal(addressPrefix("::ffff:192.0.2.1", 32, 128), "00000000000000000000ffffc0000201/128");
  assert.equal(addressPrefix("fe80::1%eth0", 32, 64), addressPrefix("fe80::2", 32, 64));
  assert.match(addressPrefix("not an ip", 32, 64), /^other:/);
});
