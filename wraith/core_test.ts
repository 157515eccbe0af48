import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError } from "../core/mod.ts";
import {
  type BalanceAlgorithm,
  effectivePools,
  effectiveRoutes,
  parseBackend,
  parsePool,
  parseRoute,
  type PoolSpec,
  WRAITH_CONFIG,
} from "./config.ts";
import { hashKeyOf, Pool } from "./balancer.ts";
import { matchRoute, pathMatches } from "./router.ts";
import { RetryBudget } from "./retry_budget.ts";
import { forwardRequestFields, forwardResponseFields } from "./proxy_headers.ts";

/** A pool spec from a pool string, balanced with `balance`. */
function spec(text: string, balance: BalanceAlgorithm = "round_robin"): PoolSpec {
  return { ...parsePool(text), balance };
}

const policy = { ejectConsecutiveErrors: 3, ejectMs: 1_000, healthyThreshold: 2, unhealthyThreshold: 2 };

Deno.test("[wraith] config: --upstream makes the default pool and route; pools and routes parse from strings", () => {
  const c = WRAITH_CONFIG.parse({
    flags: { upstream: "http://127.0.0.1:8080,h2c://[::1]:9000*3" },
    env: {
      GHOST_WRAITH_POOLS:
        "api https://10.0.0.1 h3://10.0.0.2:8443*2 balance=hash hash_on=cookie:sid health=/healthz expect=200-299",
      GHOST_WRAITH_ROUTES: "api.example/v1/ header:x-canary=1 -> api; *.example -> default",
    },
  });
  assert.deepEqual(c.listen, [{ hostname: "::1", port: 4443 }, { hostname: "127.0.0.1", port: 4443 }]);
  const [first, second] = c.upstream;
  assert.deepEqual(first, {
    url: "http://127.0.0.1:8080",
    protocol: "h1",
    tls: false,
    hostname: "127.0.0.1",
    port: 8080,
    weight: 1,
  });
  assert.deepEqual(second, {
    url: "h2c://[::1]:9000",
    protocol: "h2",
    tls: false,
    hostname: "::1",
    port: 9000,
    weight: 3,
  });
  const pools = effectivePools(c);
  assert.deepEqual(pools.map((p) => [p.name, p.balance, p.backends.length]), [["api", "hash", 2], [
    "default",
    "round_robin",
    2,
  ]]);
  assert.deepEqual(pools[0]?.hashOn, { kind: "cookie", name: "sid" });
  assert.equal(pools[0]?.backends[0]?.port, 443);
  assert.deepEqual(pools[0]?.expect, [200, 299]);
  assert.deepEqual(effectiveRoutes(c).map((r) => r.text), [
    "api.example/v1/ header:x-canary=1 -> api",
    "*.example -> default",
    "/ -> default",
  ]);
  // What `mod.ts config` prints parses back to the same section.
  const toml = Object.fromEntries(
    WRAITH_CONFIG.toToml(c).filter((l) => !l.startsWith("#")).map((l) => {
      const eq = l.indexOf(" = ");
      return [l.slice(0, eq), JSON.parse(l.slice(eq + 3))];
    }),
  );
  assert.deepEqual(WRAITH_CONFIG.parse({ file: { path: "g.toml", table: toml } }), c);
});

Deno.test("[wraith] config errors name the key, where it came from and what is wrong", () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ GHOST_WRAITH_UPSTREAM: "ftp://x:1" }, /wraith\.upstream \(env GHOST_WRAITH_UPSTREAM\): .*scheme ftp:/],
    [{ GHOST_WRAITH_UPSTREAM: "http://x:1/path" }, /a backend has no path/],
    [{ GHOST_WRAITH_UPSTREAM: "http://x:1*0" }, /weight must be 1-1000/],
    [{ GHOST_WRAITH_ROUTES: "/ -> nowhere" }, /wraith\.routes .*unknown pool nowhere/],
    [{ GHOST_WRAITH_ROUTES: "/ api" }, /expected "\[HOST\]\[\/PREFIX\] -> POOL"/],
    [{ GHOST_WRAITH_POOLS: "a http://x:1; a http://y:1" }, /two pools have the same name/],
    [{ GHOST_WRAITH_POOLS: "a balance=random http://x:1" }, /"balance=random" is not a backend URL/],
    [{ GHOST_WRAITH_POOLS: "a http://x:1 http://x:1" }, /listed twice/],
    [{ GHOST_WRAITH_POOLS: "a" }, /pool a: no backends/],
    [{ GHOST_WRAITH_TRY_TIMEOUT_MS: "70000" }, /try_timeout_ms .*above total_timeout_ms/],
  ];
  for (const [env, re] of bad) {
    assert.throws(
      () => WRAITH_CONFIG.parse({ env }),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(env),
    );
  }
  assert.throws(() => parseBackend("http://u:p@x:1"), /only scheme:\/\/host:port/);
  const sni = parsePool("tls h2://10.0.0.1:443 h3://10.0.0.2 sni=Origin.Example");
  assert.deepEqual(sni.backends.map((b) => b.serverName), ["origin.example", "origin.example"]);
});

Deno.test("[wraith] routes: first match wins; host, wildcard, port, path prefix on segment boundaries, headers", () => {
  const routes = [
    parseRoute("api.example.com/v1 header:x-canary=1 -> canary"),
    parseRoute("api.example.com/v1 -> api"),
    parseRoute("*.example.com/static/ -> static"),
    parseRoute("example.com:8443/ -> alt"),
    parseRoute("/ -> web"),
  ];
  const m = (authority: string, path: string, headers: Record<string, string> = {}) =>
    matchRoute(routes, { authority, path, header: (n) => headers[n] ?? null })?.pool;
  assert.equal(m("api.example.com", "/v1/users", { "x-canary": "1" }), "canary");
  assert.equal(m("API.Example.com:443", "/v1"), "api");
  assert.equal(m("api.example.com", "/v1x"), "web");
  assert.equal(m("cdn.example.com", "/static/a.css"), "static");
  assert.equal(m("a.b.example.com", "/static/a.css"), "static");
  assert.equal(m("example.com", "/static/a.css"), "web");
  assert.equal(m("example.com:8443", "/x"), "alt");
  assert.equal(m("[::1]:4443", "/"), "web");
  assert.equal(
    matchRoute([parseRoute("a.test/ -> a")], { authority: "b.test", path: "/", header: () => null }),
    undefined,
  );
  assert.ok(pathMatches("/api/", "/api/x") && !pathMatches("/api/", "/api") && pathMatches("/api", "/api"));
});

Deno.test("[wraith] round robin spreads by weight, smoothly; unavailable backends are skipped; all down is panic mode", () => {
  let now = 0;
  const pool = new Pool(spec("p http://a:1*3 http://b:1 http://c:1"), policy, {
    now: () => now,
  });
  const order = Array.from({ length: 10 }, () => pool.pick()?.spec.hostname).join("");
  assert.equal(order, "abacaabaca");
  const counts = new Map<string, number>();
  for (let i = 0; i < 500; i++) {
    const h = pool.pick()?.spec.hostname ?? "";
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  assert.deepEqual([counts.get("a"), counts.get("b"), counts.get("c")], [300, 100, 100]);
  // Never the same light backend twice in a row: smooth, not bursty.
  assert.ok(!/bb|cc/.test(order), order);
  const [a, b, c] = pool.backends;
  assert.ok(a && b && c);
  for (let i = 0; i < 3; i++) {
    pool.begin(b);
    pool.end(b, false);
  }
  assert.equal(pool.available(b), false);
  for (let i = 0; i < 20; i++) assert.notEqual(pool.pick(), b);
  now = 1_000;
  assert.equal(pool.available(b), true, "the ejection ends after eject_ms");
  for (const x of [a, b, c]) {
    pool.checked(x, false);
    pool.checked(x, false);
  }
  assert.equal(pool.healthy, 0);
  assert.ok(pool.pick() !== undefined);
  assert.equal(pool.panics, 1);
  assert.equal(pool.pick({ exclude: new Set([a, b, c]) }), undefined);
});

Deno.test("[wraith] least requests (two choices) prefers the idle backend; hashing keeps keys on their backend", () => {
  let r = 0;
  const seq = [0.1, 0.9, 0.4, 0.6];
  const pool = new Pool(
    spec("p http://a:1 http://b:1", "least_requests"),
    policy,
    {
      random: () => seq[r++ % seq.length] ?? 0,
    },
  );
  const [a, b] = pool.backends;
  assert.ok(a && b);
  for (let i = 0; i < 5; i++) pool.begin(a);
  for (let i = 0; i < 10; i++) assert.equal(pool.pick(), b);

  const ring = new Pool(spec("p http://a:1 http://b:1 http://c:1 http://d:1", "hash"), policy);
  const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  const before = keys.map((k) => ring.pick({ key: k })?.spec.hostname);
  assert.deepEqual(keys.map((k) => ring.pick({ key: k })?.spec.hostname), before, "stable");
  const share = new Map<string, number>();
  for (const h of before) share.set(h ?? "", (share.get(h ?? "") ?? 0) + 1);
  for (const n of share.values()) assert.ok(n > 300 && n < 700, `balanced: ${[...share.values()]}`);
  const [, , c] = ring.backends;
  assert.ok(c);
  ring.drain(c);
  const after = keys.map((k) => ring.pick({ key: k })?.spec.hostname);
  const moved = keys.filter((_, i) => before[i] !== after[i]);
  assert.ok(moved.every((_, i) => before[keys.indexOf(moved[i] ?? "")] === "c"), "only c's keys move");
  assert.ok(!after.includes("c"));
  assert.equal(
    hashKeyOf({ kind: "cookie", name: "sid" }, { header: () => "a=1; sid=xyz", client: "::1" }),
    "xyz",
  );
  assert.equal(hashKeyOf({ kind: "client" }, { header: () => null, client: "::1" }), "::1");
});

Deno.test("[wraith] active checks take a backend out after unhealthy_threshold and back after healthy_threshold", () => {
  const pool = new Pool(spec("p http://a:1"), policy);
  const [a] = pool.backends;
  assert.ok(a);
  assert.equal(pool.checked(a, false), undefined);
  assert.equal(pool.checked(a, false), "down");
  assert.equal(pool.checked(a, true), undefined);
  assert.equal(pool.checked(a, true), "up");
});

Deno.test("[wraith] the retry budget allows min_per_s x 10 s plus a share of requests, and refills as the window moves", () => {
  let now = 0;
  const budget = new RetryBudget(20, 1, () => now);
  for (let i = 0; i < 100; i++) budget.request();
  let granted = 0;
  while (budget.tryRetry()) granted++;
  assert.equal(granted, 10 + 20);
  assert.equal(budget.refused, 1);
  now = 11_000;
  assert.equal(budget.tryRetry(), true, "a new window");
});

Deno.test("[wraith] proxy headers: hop-by-hop out, Via, Forwarded and X-Forwarded-* replaced unless trusted", () => {
  const fields = [
    ["connection", "keep-alive, x-secret"],
    ["x-secret", "1"],
    ["keep-alive", "timeout=5"],
    ["te", "trailers, deflate"],
    ["ghost-backend", "http://a:1"],
    ["x-forwarded-for", "6.6.6.6"],
    ["forwarded", "for=6.6.6.6"],
    ["via", "1.0 far"],
    ["accept", "*/*"],
  ] as const;
  const out = forwardRequestFields({
    fields,
    client: "2001:db8::1",
    host: "edge.example",
    proto: "https",
    version: "3",
    pseudonym: "wraith",
    trustForwarded: false,
  });
  assert.deepEqual(out, [
    ["te", "trailers"],
    ["accept", "*/*"],
    ["via", "1.0 far, 3 wraith"],
    ["forwarded", 'for="[2001:db8::1]";host="edge.example";proto=https'],
    ["x-forwarded-for", "2001:db8::1"],
    ["x-forwarded-proto", "https"],
    ["x-forwarded-host", "edge.example"],
  ]);
  const trusted = forwardRequestFields({
    fields,
    client: "10.0.0.1",
    host: "h",
    proto: "https",
    version: "2",
    pseudonym: "w",
    trustForwarded: true,
  });
  assert.ok(trusted.some(([n, v]) => n === "x-forwarded-for" && v === "6.6.6.6, 10.0.0.1"));
  assert.ok(
    trusted.some(([n, v]) => n === "forwarded" && v === 'for=6.6.6.6, for=10.0.0.1;host="h";proto=https'),
  );
  assert.deepEqual(
    forwardResponseFields(
      [["connection", "close"], ["transfer-encoding", "chunked"], ["x-a", "1"], ["via", "1.1 o"]],
      "1.1",
      "wraith",
    ),
    [["x-a", "1"], ["via", "1.1 o, 1.1 wraith"]],
  );
});

Deno.test("[wraith] route and pool parsers give only config errors on any input (property)", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (text) => {
      for (const parse of [parseRoute, parsePool, parseBackend]) {
        try {
          parse(text);
        } catch (error) {
          assert.ok(error instanceof TypeError, String(error));
        }
      }
    }),
    { numRuns: 3000 },
  );
});
