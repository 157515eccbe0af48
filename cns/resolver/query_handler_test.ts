import assert from "node:assert/strict";
import fc from "fast-check";
import { answer, decode, FakeTransport, query, txt } from "../_test_util.ts";
import { cnsMetrics } from "./cns_metrics.ts";
import { Forwarder } from "./forwarder.ts";
import { EDNS_PADDING, paddingLength, RESPONSE_PADDING_BLOCK } from "../proto/edns.ts";
import { AllowList } from "../proto/ip_prefix.ts";
import { MemoryZone } from "./memory_zone.ts";
import { FLAG, RCODE, rcodeOf } from "../proto/message.ts";
import { QueryHandler } from "./query_handler.ts";
import { ResponseRateLimiter } from "./rate_limiter.ts";
import type { ClientInfo } from "./resolver.ts";
import { ZoneResolver } from "./zone.ts";

const zone = new MemoryZone({
  origin: "example.test",
  records: [
    "www.example.test 300 A 192.0.2.10",
    ...Array.from({ length: 60 }, (_, i) => `big.example.test 300 TXT "${"x".repeat(40)}-${i}"`),
  ],
});
const local: ClientInfo = { address: "127.0.0.1", transport: "udp" };
const remote: ClientInfo = { address: "203.0.113.9", transport: "udp" };
const upstream = new FakeTransport((q) => [
  answer(
    q,
    (m) => ({
      answers: [{ name: m.questions[0]?.name ?? "", type: "A", class: "IN", ttl: 60, data: "198.51.100.1" }],
    }),
  ),
]);

function handler(extra: Partial<ConstructorParameters<typeof QueryHandler>[0]> = {}): QueryHandler {
  return new QueryHandler({
    authoritative: [new ZoneResolver([zone])],
    recursive: new Forwarder({ upstreams: [{ hostname: "192.0.2.53", port: 53 }], transport: upstream }),
    recursionAllow: new AllowList(["127.0.0.0/8", "::1"]),
    ...extra,
  });
}

Deno.test("QueryHandler answers a local name authoritatively, echoing ID, RD and the question", async () => {
  const r = decode(await handler().handle(query("WWW.example.test", "A", { id: 77 }), remote));
  assert.equal(r.id, 77);
  assert.equal(r.type, "response");
  assert.ok(r.flags & FLAG.AA);
  assert.ok(r.flags & FLAG.RD);
  assert.equal(r.questions[0]?.name, "WWW.example.test");
  assert.equal(r.answers[0]?.data, "192.0.2.10");
});

Deno.test("QueryHandler forwards for allowed clients and refuses others", async () => {
  const h = handler();
  const ok = decode(await h.handle(query("example.org"), local));
  assert.equal(ok.answers[0]?.data, "198.51.100.1");
  assert.ok(ok.flags & FLAG.RA);
  const no = decode(await h.handle(query("example.org"), remote));
  assert.equal(rcodeOf(no.flags), RCODE.REFUSED);
  assert.equal(no.flags & FLAG.RA, 0);
});

Deno.test("QueryHandler refuses non-local names without upstreams", async () => {
  const h = handler({
    recursive: new Forwarder({ upstreams: [], transport: upstream }),
  });
  assert.equal(rcodeOf(decode(await h.handle(query("example.org"), local)).flags), RCODE.REFUSED);
});

Deno.test("QueryHandler answers FORMERR when the header is readable and drops otherwise", async () => {
  const h = handler();
  const bad = Uint8Array.of(0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1);
  const r = await h.handle(bad, local);
  assert.ok(r);
  assert.equal(r.length, 12);
  assert.equal((r[0] ?? 0) << 8 | (r[1] ?? 0), 0xabcd);
  assert.equal((r[3] ?? 0) & 0xf, RCODE.FORMERR);
  assert.ok((r[2] ?? 0) & 0x80);
  assert.equal(await h.handle(Uint8Array.of(1, 2, 3), local), null);
});

Deno.test("QueryHandler drops responses sent to it", async () => {
  const h = handler();
  const resp = answer(query("www.example.test"), () => ({}));
  assert.equal(await h.handle(resp, local), null);
});

Deno.test("QueryHandler answers NOTIMP for other opcodes and BADVERS for EDNS version 1", async () => {
  const h = handler();
  const notify = decode(await h.handle(query("www.example.test", "SOA", { flags: 4 << 11 }), local));
  assert.equal(rcodeOf(notify.flags), RCODE.NOTIMP);
  const bad = decode(
    await h.handle(query("www.example.test", "A", { udpSize: 1232, ednsVersion: 1 }), local),
  );
  const opt = bad.additionals.find((r) => r.type === "OPT");
  assert.equal(opt?.extendedRcode, 1);
  assert.equal(rcodeOf(bad.flags), 0);
});

Deno.test("QueryHandler truncates UDP answers to 512 without EDNS and to the client's size with it", async () => {
  const h = handler();
  const plain = await h.handle(query("big.example.test", "TXT"), local);
  assert.ok(plain && plain.length <= 512);
  const p = decode(plain);
  assert.ok(p.flags & FLAG.TC);
  assert.equal(p.answers.length, 0);
  const big = await h.handle(query("big.example.test", "TXT", { udpSize: 4096 }), local);
  assert.ok(big && big.length <= 1232);
  assert.ok(decode(big).flags & FLAG.TC);
  assert.ok(decode(big).additionals.some((r) => r.type === "OPT"), "our OPT stays in a truncated answer");
  const tcp = decode(await h.handle(query("big.example.test", "TXT"), { ...local, transport: "tcp" }));
  assert.equal(tcp.flags & FLAG.TC, 0);
  assert.equal(tcp.answers.length, 60);
  assert.match(txt(tcp.answers[0]), /^x+-\d+$/);
});

Deno.test("QueryHandler pads answers to padded DoQ/DoH queries to 468-octet blocks, never in the clear", async () => {
  const h = handler();
  const paddingOf = (bytes: Uint8Array | null) =>
    decode(bytes).additionals.find((r) => r.type === "OPT")?.options?.find((o) => o.code === EDNS_PADDING);
  for (const transport of ["doq", "doh"] as const) {
    const cases: [string, string][] = [["www.example.test", "A"], ["big.example.test", "TXT"], [
      "no.example.test",
      "A",
    ]];
    for (const [name, type] of cases) {
      const out = await h.handle(query(name, type, { udpSize: 1232, padding: 100 }), { ...local, transport });
      assert.ok(out);
      assert.equal(out.length % RESPONSE_PADDING_BLOCK, 0, `${transport} ${name}: ${out.length} octets`);
      assert.ok(paddingOf(out), "the response carries a Padding option");
      // Without the client's Padding option, no padding: RFC 7830 §4 pads only in answer to a padded query.
      const plain = await h.handle(query(name, type, { udpSize: 1232 }), { ...local, transport });
      assert.equal(paddingOf(plain), undefined);
      assert.ok(plain && plain.length < out.length);
    }
  }
  for (const transport of ["udp", "tcp"] as const) {
    const out = await h.handle(query("www.example.test", "A", { udpSize: 1232, padding: 100 }), {
      ...local,
      transport,
    });
    assert.equal(paddingOf(out), undefined, `RFC 7830 §6: no padding over cleartext ${transport}`);
  }
});

Deno.test("paddingLength fills to the next block boundary and adds nothing on one (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65_535 }), fc.integer({ min: 1, max: 1024 }), (len, block) => {
      const pad = paddingLength(len, block);
      assert.ok(pad >= 0 && pad < block);
      assert.equal((len + pad) % block, 0);
    }),
  );
  assert.equal(paddingLength(468), 0);
  assert.equal(paddingLength(469), 467);
});

Deno.test("QueryHandler rate-limits UDP responses with slip, not TCP", async () => {
  const h = handler({
    rateLimiter: new ResponseRateLimiter({ responsesPerSecond: 1, slip: 2 }),
    now: () => 0,
  });
  const q = query("www.example.test");
  assert.equal(decode(await h.handle(q, remote)).answers.length, 1);
  assert.equal(await h.handle(q, remote), null);
  const slipped = decode(await h.handle(q, remote));
  assert.ok(slipped.flags & FLAG.TC);
  assert.equal(slipped.answers.length, 0);
  assert.equal(decode(await h.handle(q, { ...remote, transport: "tcp" })).answers.length, 1);
});

Deno.test("QueryHandler refuses AXFR and non-IN classes", async () => {
  const h = handler();
  assert.equal(rcodeOf(decode(await h.handle(query("example.test", "AXFR"), local)).flags), RCODE.REFUSED);
});

Deno.test("QueryHandler counts queries by transport, qtype and rcode", async () => {
  const metrics = cnsMetrics();
  const h = handler({ metrics });
  await h.handle(query("www.example.test"), local);
  await h.handle(query("nope.example.test", "UNKNOWN_999"), local);
  assert.equal(metrics.queries.get({ transport: "udp", qtype: "A", rcode: "NOERROR" }), 1);
  // Unlisted types share one label value, so clients cannot grow the series.
  assert.equal(metrics.queries.get({ transport: "udp", qtype: "OTHER", rcode: "NXDOMAIN" }), 1);
});

Deno.test("QueryHandler never throws and answers or drops for random input (property)", async () => {
  const h = handler();
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      const r = await h.handle(bytes, remote);
      if (r !== null) assert.ok(r.length >= 12);
    }),
    { numRuns: 1000 },
  );
});
