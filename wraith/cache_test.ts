import assert from "node:assert/strict";
import fc from "fast-check";
import {
  conditionalFields,
  currentAge,
  freshnessLifetime,
  mayStore,
  parseCacheControl,
  reuse,
  updateFromNotModified,
  varyValues,
} from "./cache_policy.ts";
import { type CacheEntry, cacheKey, ResponseCache } from "./cache_store.ts";
import type { HeaderField } from "../transport/http/mod.ts";

const DATE = "Sun, 06 Dec 2026 08:00:00 GMT";
const T0 = Date.parse(DATE) / 1000;

Deno.test("[wraith cache] Cache-Control parsing: directives, quoted values, bad numbers, case", () => {
  const cc = parseCacheControl(
    'Public, MAX-AGE=60, s-maxage="30", no-cache="set-cookie, x", stale-while-revalidate=5',
  );
  assert.deepEqual([cc.public, cc.maxAge, cc.sMaxAge, cc.noCache, cc.staleWhileRevalidate], [
    true,
    60,
    30,
    true,
    5,
  ]);
  assert.equal(parseCacheControl("max-age=abc").maxAge, 0, "a malformed max-age is stale");
  assert.equal(parseCacheControl("max-age=99999999999").maxAge, 2 ** 31);
  assert.equal(parseCacheControl("max-stale").maxStale, true);
  assert.equal(parseCacheControl(null).noStore, false);
});

Deno.test("[wraith cache] what a shared cache may store (RFC 9111 §3, §3.5)", () => {
  const ok = (status: number, res: HeaderField[], req: HeaderField[] = [], method = "GET") =>
    mayStore(method, req, status, res).store;
  assert.equal(ok(200, [["cache-control", "max-age=60"]]), true);
  assert.equal(ok(200, []), true, "heuristically cacheable");
  assert.equal(ok(302, []), false, "302 without freshness");
  assert.equal(ok(302, [["cache-control", "max-age=60"]]), true);
  assert.equal(ok(500, [["cache-control", "max-age=60"]]), false);
  assert.equal(ok(200, [["cache-control", "max-age=60"]], [], "POST"), false);
  assert.equal(ok(200, [["cache-control", "private, max-age=60"]]), false);
  assert.equal(ok(200, [["cache-control", "no-store"]]), false);
  assert.equal(ok(200, [["cache-control", "max-age=60"]], [["cache-control", "no-store"]]), false);
  assert.equal(ok(200, [["vary", "accept, *"]]), false);
  assert.equal(ok(200, [["set-cookie", "a=1"], ["cache-control", "max-age=60"]]), false);
  assert.equal(ok(200, [["cache-control", "max-age=60"]], [["authorization", "Bearer x"]]), false);
  assert.equal(ok(200, [["cache-control", "s-maxage=60"]], [["authorization", "Bearer x"]]), true);
  assert.equal(ok(200, [["cache-control", "public"]], [["authorization", "Bearer x"]]), true);
});

Deno.test("[wraith cache] freshness lifetime: s-maxage over max-age over Expires over the heuristic", () => {
  assert.equal(freshnessLifetime(200, [["cache-control", "max-age=60, s-maxage=10"]]), 10);
  assert.equal(
    freshnessLifetime(200, [["cache-control", "max-age=60"], ["expires", "Sun, 06 Dec 2026 09:00:00 GMT"]]),
    60,
  );
  assert.equal(freshnessLifetime(200, [["date", DATE], ["expires", "Sun, 06 Dec 2026 08:05:00 GMT"]]), 300);
  assert.equal(
    freshnessLifetime(200, [["date", DATE], ["expires", "0"]]),
    0,
    "an invalid Expires is already expired",
  );
  assert.equal(
    freshnessLifetime(200, [["date", DATE], ["last-modified", "Sun, 06 Dec 2026 07:00:00 GMT"]]),
    360,
  );
  assert.equal(
    freshnessLifetime(200, [["date", DATE], ["last-modified", "Sun, 01 Jan 2017 00:00:00 GMT"]]),
    86_400,
  );
  assert.equal(
    freshnessLifetime(302, [["date", DATE], ["last-modified", "Sun, 06 Dec 2026 07:00:00 GMT"]]),
    0,
  );
});

Deno.test("[wraith cache] current age (RFC 9111 §4.2.3): Age, apparent age, response delay, residence", () => {
  // Sent at T0, answered 2 s later with Age 10 and a Date 1 s before arrival; now 5 s after arrival.
  const stored = {
    requestTime: T0,
    responseTime: T0 + 2,
    fields: [["date", new Date((T0 + 1) * 1000).toUTCString()], ["age", "10"]] as HeaderField[],
  };
  assert.equal(currentAge(stored, T0 + 7), 10 + 2 + 5);
  // A Date in the future of the response does not make the age negative.
  assert.equal(
    currentAge({
      requestTime: T0,
      responseTime: T0,
      fields: [["date", new Date((T0 + 100) * 1000).toUTCString()]],
    }, T0 + 3),
    3,
  );
});

Deno.test("[wraith cache] reuse: fresh, stale-while-revalidate, must-revalidate, request no-cache and max-age, stale-if-error", () => {
  const at = (cc: string, age: number, req: HeaderField[] = []) =>
    reuse(
      { status: 200, requestTime: T0, responseTime: T0, fields: [["date", DATE], ["cache-control", cc]] },
      req,
      T0 + age,
    );
  assert.equal(at("max-age=60", 10).kind, "fresh");
  assert.equal(at("max-age=60", 61).kind, "revalidate");
  assert.equal(at("max-age=60, stale-while-revalidate=30", 80).kind, "stale-while-revalidate");
  assert.equal(at("max-age=60, stale-while-revalidate=30", 95).kind, "revalidate");
  assert.equal(at("max-age=60, must-revalidate, stale-while-revalidate=30", 80).kind, "revalidate");
  assert.equal(at("max-age=60", 10, [["cache-control", "no-cache"]]).kind, "revalidate");
  assert.equal(at("max-age=60", 10, [["pragma", "no-cache"]]).kind, "revalidate");
  assert.equal(at("max-age=60", 30, [["cache-control", "max-age=20"]]).kind, "revalidate");
  assert.equal(at("max-age=60", 50, [["cache-control", "min-fresh=20"]]).kind, "revalidate");
  assert.equal(at("max-age=60", 70, [["cache-control", "max-stale=20"]]).kind, "fresh");
  assert.equal(at("no-cache, max-age=60", 1).kind, "revalidate");
  const sie = at("max-age=60, stale-if-error=100", 120);
  assert.ok(sie.kind === "revalidate" && sie.staleIfError);
  const tooOld = at("max-age=60, stale-if-error=100", 200);
  assert.ok(tooOld.kind === "revalidate" && !tooOld.staleIfError);
});

Deno.test("[wraith cache] revalidation: validators out, a 304 updates the stored fields; Vary values", () => {
  const stored: HeaderField[] = [["etag", '"v1"'], ["last-modified", DATE], ["cache-control", "max-age=60"], [
    "content-length",
    "5",
  ]];
  assert.deepEqual(conditionalFields(stored), [["if-none-match", '"v1"'], ["if-modified-since", DATE]]);
  assert.deepEqual(
    updateFromNotModified(stored, [["cache-control", "max-age=120"], ["content-length", "0"], [
      "x-new",
      "1",
    ]]),
    [["etag", '"v1"'], ["last-modified", DATE], ["content-length", "5"], ["cache-control", "max-age=120"], [
      "x-new",
      "1",
    ]],
  );
  assert.deepEqual(varyValues([["vary", "Accept-Encoding, accept"]], [["accept", "text/html"]]), [[
    "accept",
    "text/html",
  ], ["accept-encoding", null]]);
});

function entry(key: string, body: number, vary: [string, string | null][] = []): CacheEntry {
  const b = new Uint8Array(body);
  return {
    key,
    status: 200,
    fields: [],
    body: b,
    requestTime: 0,
    responseTime: 0,
    vary,
    size: ResponseCache.sizeOf([], b, key),
  };
}

Deno.test("[wraith cache] the store: variants by Vary, LRU eviction by bytes, object limit, purge, coalescing", async () => {
  const c = new ResponseCache(3_000, 2_000);
  assert.ok(c.put(entry("k1", 500, [["accept", "a"]])));
  assert.ok(c.put(entry("k1", 500, [["accept", "b"]])));
  assert.equal(c.get("k1", (n) => (n === "accept" ? "b" : null))?.vary[0]?.[1], "b");
  assert.equal(c.get("k1", () => null), undefined);
  assert.ok(c.put(entry("k2", 500)));
  assert.equal(c.put(entry("big", 2_500)), false, "over the object limit");
  c.get("k1", (n) => (n === "accept" ? "a" : null)); // k1 is now the most recently used
  assert.ok(c.put(entry("k3", 1_200)));
  assert.equal(c.get("k2", () => null), undefined, "k2, the least recently used, was evicted");
  assert.ok(c.stats.bytes <= 3_000 && c.stats.evictions >= 1);
  assert.equal(c.deletePrefix("nothing"), 0);
  assert.ok(c.deletePrefix("k") >= 2, "purge by prefix");
  assert.equal(c.stats.entries, 0);
  assert.equal(c.stats.bytes, 0);
  const first = c.join("x");
  const second = c.join("x");
  assert.ok(first.leader && !second.leader);
  let woke = false;
  const waiting = second.wait.then(() => (woke = true));
  first.done();
  await waiting;
  assert.ok(woke);
  assert.ok(c.join("x").leader, "a finished fetch leaves no one waiting");
  assert.equal(cacheKey(new URL("https://Example.COM:4443/a?b=1")), "https://example.com:4443/a?b=1");
});

Deno.test("[wraith cache] Cache-Control parsing and reuse never throw on any text (property)", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 120 }),
      fc.string({ maxLength: 60 }),
      fc.nat(1_000_000),
      (cc, req, age) => {
        parseCacheControl(cc);
        const r = reuse(
          { status: 200, requestTime: T0, responseTime: T0, fields: [["cache-control", cc], ["date", req]] },
          [["cache-control", req]],
          T0 + age,
        );
        assert.ok(["fresh", "stale-while-revalidate", "revalidate"].includes(r.kind));
        assert.ok(Number.isFinite(r.age) || r.age === Number.POSITIVE_INFINITY);
      },
    ),
    { numRuns: 2000 },
  );
});
