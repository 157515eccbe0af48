import assert from "node:assert/strict";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { decodeMessage, encodeMessage } from "./message_codec.ts";
import { DnsFormatError } from "../errors.ts";
import type { DnsMessage } from "./message.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

// A query for example.com A, id 0x1234, RD.
const QUERY = hex("1234 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001");

function rejects(bytes: Uint8Array, pattern: RegExp): DnsFormatError {
  try {
    decodeMessage(bytes);
  } catch (error) {
    assert.ok(error instanceof DnsFormatError, `expected DnsFormatError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail("decodeMessage() accepted malformed input");
}

Deno.test("decodeMessage() decodes a query", () => {
  const m = decodeMessage(QUERY);
  assert.equal(m.id, 0x1234);
  assert.equal(m.type, "query");
  assert.deepEqual(m.questions, [{ name: "example.com", type: "A", class: "IN" }]);
});

Deno.test("encodeMessage() round-trips a response with several record types", () => {
  const msg: DnsMessage = {
    id: 7,
    type: "response",
    flags: 0x0580,
    questions: [{ name: "a.test", type: "A", class: "IN" }],
    answers: [
      { name: "a.test", type: "A", class: "IN", ttl: 60, data: "192.0.2.1" },
      { name: "a.test", type: "AAAA", class: "IN", ttl: 60, data: "2001:db8::1" },
      { name: "a.test", type: "MX", class: "IN", ttl: 60, data: { preference: 10, exchange: "mx.a.test" } },
      {
        name: "_s._tcp.a.test",
        type: "SRV",
        class: "IN",
        ttl: 60,
        data: { priority: 1, weight: 2, port: 3, target: "a.test" },
      },
    ],
    authorities: [{
      name: "test",
      type: "SOA",
      class: "IN",
      ttl: 60,
      data: { mname: "ns.test", rname: "h.test", serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 },
    }],
    additionals: [{
      name: ".",
      type: "OPT",
      udpPayloadSize: 1232,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      options: [],
    }],
  };
  const bytes = encodeMessage(msg);
  const decoded = decodeMessage(bytes);
  assert.equal(decoded.answers.length, 4);
  assert.equal(decoded.answers[0]?.data, "192.0.2.1");
  assert.deepEqual(encodeMessage(decoded), bytes);
});

Deno.test("decodeMessage() rejects a header shorter than 12 bytes without a readable header", () => {
  const e = rejects(QUERY.subarray(0, 11), /shorter than a header/);
  assert.equal(e.header, undefined);
});

Deno.test("decodeMessage() rejects truncated input with the header readable", () => {
  const e = rejects(QUERY.subarray(0, QUERY.length - 2), /ends after/);
  assert.equal(e.header?.id, 0x1234);
});

Deno.test("decodeMessage() rejects counts larger than the records present", () => {
  const b = QUERY.slice();
  b[7] = 1; // ANCOUNT 1, no answer
  rejects(b, /cut off/);
});

Deno.test("decodeMessage() rejects trailing garbage", () => {
  rejects(Uint8Array.from([...QUERY, 0]), /trailing garbage/);
});

Deno.test("decodeMessage() rejects a compression loop", () => {
  // Question name is a pointer to itself (offset 12).
  rejects(hex("0001 0000 0001 0000 0000 0000 c00c 0001 0001"), /does not point backwards/);
});

Deno.test("decodeMessage() rejects a two-pointer loop", () => {
  // Answer name at 12 -> 14 -> 12.
  rejects(hex("0001 0000 0001 0000 0000 0000 c00e c00c 0001 0001"), /does not point backwards/);
});

Deno.test("decodeMessage() rejects a forward pointer", () => {
  rejects(hex("0001 0000 0001 0000 0000 0000 c012 0001 0001 0000 03616263 00"), /does not point backwards/);
});

Deno.test("decodeMessage() rejects a label longer than 63 (label type bits)", () => {
  // 0x40 is the retired extended label type, 0x80 reserved: both are how a 64+ length would read.
  rejects(hex("0001 0000 0001 0000 0000 0000 40" + "61".repeat(64) + "00 0001 0001"), /label type 0x40/);
});

Deno.test("decodeMessage() rejects a name longer than 255 bytes", () => {
  const label = "3f" + "61".repeat(63);
  rejects(hex("0001 0000 0001 0000 0000 0000" + label.repeat(4) + "00 0001 0001"), /longer than 255/);
});

Deno.test("decodeMessage() accepts a name of exactly 255 bytes", () => {
  const label = "3f" + "61".repeat(63); // 64 bytes
  const last = "3d" + "61".repeat(61); // 62 bytes; 3*64 + 62 + 1 = 255
  const m = decodeMessage(hex("0001 0000 0001 0000 0000 0000" + label.repeat(3) + last + "00 0001 0001"));
  assert.equal(m.questions[0]?.name.length, 253);
});

Deno.test("decodeMessage() rejects a label holding a dot or a non-ASCII byte", () => {
  rejects(hex("0001 0000 0001 0000 0000 0000 03 612e62 00 0001 0001"), /label byte 0x2e/);
  rejects(hex("0001 0000 0001 0000 0000 0000 02 61ff 00 0001 0001"), /label byte 0xff/);
});

Deno.test("decodeMessage() rejects an A record whose RDLENGTH is not 4", () => {
  rejects(
    hex("0001 8000 0000 0001 0000 0000 00 0001 0001 00000000 0005 0102030405"),
    /length 5, expected 4/,
  );
});

Deno.test("decodeMessage() rejects a CNAME whose name does not fill RDLENGTH", () => {
  rejects(hex("0001 8000 0000 0001 0000 0000 00 0005 0001 00000000 0003 00 0000"), /left over/);
});

Deno.test("decodeMessage() rejects two OPT records", () => {
  const opt = "00 0029 04d0 00000000 0000";
  rejects(hex("0001 0000 0000 0000 0000 0002" + opt + opt), /OPT/);
});

Deno.test("decodeMessage() rejects a record count over the limit before walking", () => {
  assert.throws(
    () => decodeMessage(hex("0001 0000 ffff ffff 0000 0000"), { maxMessageBytes: 65535, maxRecords: 100 }),
    (e: unknown) => e instanceof DnsFormatError && /exceed 100/.test(e.message),
  );
});

Deno.test("decodeMessage() throws only DnsFormatError on random bytes (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        decodeMessage(bytes);
      } catch (error) {
        if (!(error instanceof DnsFormatError)) throw error;
      }
    }),
    { numRuns: 3000 },
  );
});

Deno.test("decodeMessage() throws only DnsFormatError on mutated valid messages (property)", () => {
  const base = encodeMessage({
    id: 1,
    type: "response",
    flags: 0,
    questions: [{ name: "www.example.com", type: "A", class: "IN" }],
    answers: [
      { name: "www.example.com", type: "CNAME", class: "IN", ttl: 5, data: "example.com" },
      { name: "example.com", type: "A", class: "IN", ttl: 5, data: "192.0.2.1" },
      { name: "example.com", type: "TXT", class: "IN", ttl: 5, data: ["hello", "world"] },
    ],
    additionals: [{
      name: ".",
      type: "OPT",
      udpPayloadSize: 1232,
      flags: 0,
      options: [{ code: 12, data: Buffer.alloc(4) }],
    }],
  });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.nat(base.length),
      (edits, cut) => {
        const b = base.slice(0, Math.max(cut, 12));
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        try {
          decodeMessage(b);
        } catch (error) {
          if (!(error instanceof DnsFormatError)) throw error;
        }
      },
    ),
    { numRuns: 3000 },
  );
});
