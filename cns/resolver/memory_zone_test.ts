import assert from "node:assert/strict";
import { MemoryZone } from "./memory_zone.ts";
import { ZoneResolver } from "./zone.ts";
import { RCODE } from "../proto/message.ts";
import { parseRecordText } from "../proto/record_text.ts";

const zone = new MemoryZone({
  origin: "example.test",
  records: [
    "www.example.test. 300 IN A 192.0.2.10",
    "www.example.test. 300 IN AAAA 2001:db8::10",
    "alias.example.test 60 CNAME www.example.test",
    "out.example.test 60 CNAME elsewhere.org",
    'a.b.example.test 60 TXT "hello world" zns=0x00',
    "*.wild.example.test 60 A 192.0.2.99",
    "example.test 60 MX 10 mail.example.test",
  ],
});

Deno.test("MemoryZone answers an exact match with AA", () => {
  const r = zone.lookup({ name: "WWW.Example.Test", type: "A", class: "IN" });
  assert.equal(r.rcode, RCODE.NOERROR);
  assert.equal(r.authoritative, true);
  assert.deepEqual(r.answers.map((a) => a.data), ["192.0.2.10"]);
});

Deno.test("MemoryZone follows an in-zone CNAME and stops at an out-of-zone one", () => {
  const r = zone.lookup({ name: "alias.example.test", type: "AAAA" });
  assert.deepEqual(r.answers.map((a) => a.type), ["CNAME", "AAAA"]);
  const o = zone.lookup({ name: "out.example.test", type: "A" });
  assert.deepEqual(o.answers.map((a) => a.type), ["CNAME"]);
});

Deno.test("MemoryZone gives NODATA and NXDOMAIN with the SOA", () => {
  const nodata = zone.lookup({ name: "www.example.test", type: "MX" });
  assert.equal(nodata.rcode, RCODE.NOERROR);
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authorities[0]?.type, "SOA");
  const ent = zone.lookup({ name: "b.example.test", type: "A" });
  assert.equal(ent.rcode, RCODE.NOERROR, "an empty non-terminal exists");
  const nx = zone.lookup({ name: "nope.example.test", type: "A" });
  assert.equal(nx.rcode, RCODE.NXDOMAIN);
  assert.equal(nx.authorities[0]?.ttl, 300);
});

Deno.test("MemoryZone answers wildcards with the asked owner name", () => {
  const r = zone.lookup({ name: "x.wild.example.test", type: "A" });
  assert.equal(r.answers[0]?.name, "x.wild.example.test");
  assert.equal(r.answers[0]?.data, "192.0.2.99");
});

Deno.test("MemoryZone rejects records outside the zone and CNAME beside data", () => {
  assert.throws(
    () => new MemoryZone({ origin: "a.test", records: ["b.test 1 A 1.2.3.4"] }),
    /outside the zone/,
  );
  assert.throws(
    () =>
      new MemoryZone({ origin: "a.test", records: ["x.a.test 1 A 1.2.3.4", "x.a.test 1 CNAME y.a.test"] }),
    /CNAME/,
  );
});

Deno.test("parseRecordText() rejects malformed lines", () => {
  assert.throws(() => parseRecordText("a.test 1 A 300.1.1.1"), /IPv4/);
  assert.throws(() => parseRecordText("a.test x A 1.1.1.1"), /TTL/);
  assert.throws(() => parseRecordText("a.test 1 HINFO x y"), /not supported/);
  assert.throws(() => parseRecordText(`${"a".repeat(64)}.test 1 A 1.1.1.1`), /label/);
  assert.equal(parseRecordText("s.test 5 SRV 1 2 53 t.test").type, "SRV");
});

Deno.test("ZoneResolver picks the most specific zone", async () => {
  const inner = new MemoryZone({ origin: "sub.example.test", records: ["x.sub.example.test 5 A 192.0.2.1"] });
  const zr = new ZoneResolver([zone, inner]);
  assert.ok(zr.owns("x.sub.example.test"));
  assert.ok(!zr.owns("example.org"));
  const r = await zr.resolve({
    question: { name: "x.sub.example.test", type: "A" },
    recursionDesired: true,
    client: { address: "::1", transport: "udp" },
  });
  assert.equal(r.answers[0]?.data, "192.0.2.1");
});
