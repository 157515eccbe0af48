import assert from "node:assert/strict";
import fc from "fast-check";
import { MetricsRegistry } from "../../core/mod.ts";
import { decode, query } from "../_test_util.ts";
import { AnswerCache, answerFor, cacheableQuery } from "./answer_cache.ts";
import { cnsMetrics } from "./cns_metrics.ts";
import { AllowList } from "../proto/ip_prefix.ts";
import { MemoryZone } from "./memory_zone.ts";
import { FLAG } from "../proto/message.ts";
import { QueryHandler } from "./query_handler.ts";
import { ResponseRateLimiter } from "./rate_limiter.ts";
import type { ClientInfo, Resolver } from "./resolver.ts";
import { ZoneResolver } from "./zone.ts";

const RECORDS = [
  "www.example.test 300 A 192.0.2.10",
  "www.example.test 300 AAAA 2001:db8::10",
  "mail.example.test 300 MX 10 mx.example.test",
  ...Array.from({ length: 60 }, (_, i) => `big.example.test 300 TXT "${"x".repeat(40)}-${i}"`),
];

/** A resolver that owns `dyn.test`, answers without a data version: never cached. */
const uncachable: Resolver = {
  name: "dyn",
  owns: (q) => q === "dyn.test" || q.endsWith(".dyn.test"),
  resolve: () =>
    Promise.resolve({
      rcode: 0,
      answers: [{ name: "x.dyn.test", type: "A", class: "IN", ttl: 1, data: "192.0.2.99" }],
      authorities: [],
      additionals: [],
      authoritative: true,
      source: "zone",
    }),
};

function handlers(zone: MemoryZone, extra: Partial<ConstructorParameters<typeof QueryHandler>[0]> = {}) {
  const registry = new MetricsRegistry();
  const metrics = cnsMetrics(registry);
  const base = {
    authoritative: [new ZoneResolver([zone]), uncachable],
    recursionAllow: new AllowList(["127.0.0.0/8"]),
    ...extra,
  };
  return {
    cached: new QueryHandler({ ...base, metrics, answerCache: new AnswerCache() }),
    plain: new QueryHandler(base),
    metrics,
  };
}

const udp = (address = "203.0.113.9"): ClientInfo => ({ address, transport: "udp" });

Deno.test("answer cache: a repeated query is answered from the cache, byte for byte as the full path", async () => {
  const { cached, plain, metrics } = handlers(new MemoryZone({ origin: "example.test", records: RECORDS }));
  const q1 = query("www.example.test", "AAAA", { id: 1, udpSize: 1232 });
  const q2 = query("www.example.test", "AAAA", { id: 2, udpSize: 1232 });
  const first = await cached.handle(q1, udp());
  assert.equal(cached.answerCached(q2, udp())?.length, first?.length);
  const second = await cached.handle(q2, udp());
  assert.deepEqual(second, await plain.handle(q2, udp()));
  assert.equal(decode(second).id, 2);
  assert.equal(metrics.answerCache.get({ result: "stored" }), 1);
  assert.equal(metrics.answerCache.get({ result: "hit" }), 2);
  // Both paths count the query the same way.
  assert.equal(metrics.queries.get({ transport: "udp", qtype: "AAAA", rcode: "NOERROR" }), 3);
  // A name no resolver version covers is never stored.
  await cached.handle(query("x.dyn.test", "A"), udp());
  assert.equal(cached.answerCached(query("x.dyn.test", "A"), udp()), undefined);
});

Deno.test("answer cache: a change to the zone outdates its answers at once", async () => {
  const zone = new MemoryZone({ origin: "example.test", records: RECORDS });
  const { cached } = handlers(zone);
  const q = query("new.example.test", "A");
  assert.equal(decode(await cached.handle(q, udp())).answers.length, 0);
  zone.add({ name: "new.example.test", type: "A", class: "IN", ttl: 60, data: "192.0.2.77" });
  assert.equal(cached.answerCached(q, udp()), undefined);
  assert.equal(decode(await cached.handle(q, udp())).answers[0]?.data, "192.0.2.77");
});

Deno.test("answer cache: RA follows the asker, RRL still limits cached answers and slips with TC", async () => {
  const zone = new MemoryZone({ origin: "example.test", records: RECORDS });
  const forwarder: Resolver = {
    name: "fwd",
    owns: () => true,
    resolve: () => Promise.reject(new Error("unused")),
  };
  const { cached } = handlers(zone, {
    recursive: forwarder,
    rateLimiter: new ResponseRateLimiter({ responsesPerSecond: 1, slip: 1 }),
    now: () => 0,
  });
  const q = query("www.example.test", "A");
  const local = decode(await cached.handle(q, udp("127.0.0.1")));
  assert.ok(local.flags & FLAG.RA);
  const remote = decode(cached.answerCached(q, udp("198.51.100.7")) ?? null);
  assert.equal(remote.flags & FLAG.RA, 0, "a client outside recursion_allow sees RA=0");
  // The limit is 1/s per prefix: the next answer to the same client is slipped (TC=1, no answers).
  const slipped = decode(cached.answerCached(q, udp("198.51.100.7")) ?? null);
  assert.ok(slipped.flags & FLAG.TC);
  assert.equal(slipped.answers.length, 0);
});

Deno.test("answer cache: only plain queries up to 512 bytes, per transport, matched by bytes", () => {
  const q = query("www.example.test", "A");
  assert.ok(cacheableQuery(q));
  const resp = q.slice();
  resp[2] = (resp[2] ?? 0) | 0x80;
  assert.equal(cacheableQuery(resp), false, "a response is never a key");
  const notify = q.slice();
  notify[2] = ((notify[2] ?? 0) & 0x87) | (4 << 3);
  assert.equal(cacheableQuery(notify), false, "only opcode QUERY");
  assert.equal(cacheableQuery(q.subarray(0, 11)), false);
  assert.equal(cacheableQuery(new Uint8Array(513)), false);
  const cache = new AnswerCache({ maxEntries: 2 });
  const answer = (v: number) => ({
    response: Uint8Array.of(v),
    slipped: undefined,
    qtype: "A",
    rcode: "NOERROR",
    qname: "www.example.test",
    version: 0,
    versionOf: () => 0,
    expiresAt: 1000,
    count: () => {},
  });
  cache.set(q, "udp", answer(1));
  assert.equal(cache.get(q, "tcp", 0), undefined, "per transport");
  const other = q.slice();
  other[0] = 0x99; // another ID: the same key
  assert.equal(cache.get(other, "udp", 0)?.response[0], 1);
  const changed = q.slice();
  changed[q.length - 1] = 2; // another class: another key
  assert.equal(cache.get(changed, "udp", 0), undefined);
  assert.equal(cache.get(q, "udp", 1000), undefined, "expired");
  cache.set(q, "udp", answer(1));
  cache.set(changed, "udp", answer(2));
  cache.set(query("mail.example.test"), "udp", answer(3));
  assert.equal(cache.size, 2, "the oldest went");
  assert.equal(cache.get(q, "udp", 0), undefined);
  const stored = Uint8Array.of(0, 0, 0x84, 0x80, 0, 1);
  const out = answerFor(stored, Uint8Array.of(0xab, 0xcd), false);
  assert.deepEqual([...out.subarray(0, 4)], [0xab, 0xcd, 0x84, 0x00]);
  assert.deepEqual([...stored.subarray(0, 4)], [0, 0, 0x84, 0x80], "the stored answer is not changed");
});

Deno.test("answer cache property: for any mix of queries, IDs, flags, EDNS and transports, answers equal the uncached path", async () => {
  const forwarder: Resolver = {
    name: "fwd",
    owns: () => true,
    resolve: () => Promise.reject(new Error("unused")),
  };
  const { cached, plain } = handlers(new MemoryZone({ origin: "example.test", records: RECORDS }), {
    recursive: forwarder,
  });
  const names = [
    "www.example.test",
    "WwW.Example.TEST",
    "mail.example.test",
    "big.example.test",
    "nx.example.test",
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          name: fc.constantFrom(...names),
          type: fc.constantFrom("A", "AAAA", "MX", "TXT", "NS", "SOA"),
          id: fc.integer({ min: 0, max: 0xffff }),
          rd: fc.boolean(),
          cd: fc.boolean(),
          udpSize: fc.option(fc.constantFrom(512, 1232, 4096), { nil: undefined }),
          transport: fc.constantFrom("udp", "tcp", "doq", "doh") as fc.Arbitrary<ClientInfo["transport"]>,
          address: fc.constantFrom("127.0.0.1", "203.0.113.9"),
        }),
        { minLength: 1, maxLength: 20 },
      ),
      async (queries) => {
        for (const x of queries) {
          const q = query(x.name, x.type, {
            id: x.id,
            rd: x.rd,
            flags: x.cd ? FLAG.CD : 0,
            ...(x.udpSize !== undefined ? { udpSize: x.udpSize } : {}),
          });
          const client: ClientInfo = { address: x.address, transport: x.transport };
          assert.deepEqual(await cached.handle(q, client), await plain.handle(q, client));
        }
      },
    ),
    { numRuns: 200 },
  );
});
