import assert from "node:assert/strict";
import fc from "fast-check";
import { QpackDecoder, QpackEncoder } from "./qpack_dynamic.ts";
import { QpackError, QpackErrorCode } from "./qpack.ts";
import type { HeaderField } from "../http2/hpack.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("QpackDecoder follows RFC 9204 Appendix B.2-B.5 byte for byte (encoder stream, sections, decoder stream)", () => {
  const d = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 2 });
  // B.1 needs no table.
  assert.deepEqual(d.decodeSection(0, hex("0000 510b 2f69 6e64 6578 2e68 746d 6c")), [[
    ":path",
    "/index.html",
  ]]);
  assert.equal(toHex(d.takeDecoderStream()), "");

  // B.2: Set Dynamic Table Capacity=220; Insert With Name Reference (static 0 and 1).
  // The section on stream 4 arrives first and blocks (Required Insert Count 2), then the inserts unblock it.
  const section4 = hex("0381 10 11");
  assert.equal(d.decodeSection(4, section4), undefined);
  assert.deepEqual([...d.blocked], [[4, 2]]);
  const ready = d.encoderStream(
    hex("3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468"),
  );
  assert.deepEqual(ready, [4]);
  assert.deepEqual([d.table.capacity, d.table.size, d.table.insertCount], [220, 106, 2]);
  assert.deepEqual(d.decodeSection(4, section4), [[":authority", "www.example.com"], [
    ":path",
    "/sample/path",
  ]]);
  // Insert Count Increment (2) for the inserts, then the Section Acknowledgment for stream 4 (0x84).
  assert.equal(toHex(d.takeDecoderStream()), "0284");

  // B.3: Insert With Literal Name custom-key: custom-value; Insert Count Increment (1).
  d.encoderStream(hex("4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565"));
  assert.deepEqual([d.table.size, d.table.insertCount], [160, 3]);
  assert.equal(toHex(d.takeDecoderStream()), "01");

  // B.4: Duplicate (relative 2 = absolute 0); the section on stream 8 (Required Insert Count 4, Base 4).
  d.encoderStream(hex("02"));
  assert.deepEqual([d.table.size, d.table.insertCount], [217, 4]);
  assert.equal(toHex(d.takeDecoderStream()), "01");
  assert.deepEqual(d.decodeSection(8, hex("0500 80 c1 81")), [
    [":authority", "www.example.com"],
    [":path", "/"],
    ["custom-key", "custom-value"],
  ]);
  assert.equal(toHex(d.takeDecoderStream()), "88");
  d.cancelStream(8, true);
  assert.equal(toHex(d.takeDecoderStream()), "48", "Stream Cancellation (Stream=8)");

  // B.5: Insert With Name Reference (dynamic, relative 1 = absolute 2): custom-key: custom-value2; evicts entry 0.
  d.encoderStream(hex("810d 6375 7374 6f6d 2d76 616c 7565 32"));
  assert.deepEqual([d.table.size, d.table.insertCount, d.table.oldest], [215, 5, 1]);
  assert.deepEqual(d.table.get(4), ["custom-key", "custom-value2"]);
  assert.equal(d.table.get(0), undefined);
  assert.equal(toHex(d.takeDecoderStream()), "01");
});

Deno.test("QpackDecoder bounds: blocked streams, capacity, evicted and future references, the QPACK bomb", () => {
  const d = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 1, maxFieldSectionSize: 1_000 });
  assert.equal(d.decodeSection(0, hex("0381 10")), undefined);
  assert.throws(() => d.decodeSection(4, hex("0381 10")), /more than 1 blocked streams/);
  assert.throws(
    () => new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0 }).encoderStream(hex("3fbd02")),
    (e: unknown) => e instanceof QpackError && e.code === QpackErrorCode.QPACK_ENCODER_STREAM_ERROR,
  );
  const e = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0 });
  // An insert with no capacity set, and a reference to an entry that is not there.
  assert.throws(() => e.encoderStream(hex("c00f 7777 772e 6578 616d 706c 652e 636f 6d")), /in a table of 0/);
  const f = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0 });
  assert.throws(() => f.encoderStream(hex("3fbd01 05")), /not in the table/);
  // One 100-byte entry referenced 20 times is 20 x 132 decoded bytes: over a 1,000-byte section limit.
  const bomb = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0, maxFieldSectionSize: 1_000 });
  const value = "v".repeat(100);
  bomb.encoderStream(
    Uint8Array.from([0x3f, 0xbd, 0x01, 0x41, 0x61, 0x64, ...new TextEncoder().encode(value)]),
  );
  assert.deepEqual(bomb.decodeSection(0, hex("0200 80")), [["a", value]]);
  assert.throws(
    () => bomb.decodeSection(4, Uint8Array.from([0x02, 0x00, ...new Array(20).fill(0x80)])),
    /larger than 1000/,
  );
  // Required Insert Count must match the newest reference exactly (§4.5.1.1).
  bomb.encoderStream(hex("4162 0178")); // a second entry, b: x
  // Required Insert Count 2 while the section only needs entry 0: refused.
  assert.throws(
    () => bomb.decodeSection(8, hex("0300 81")),
    /Required Insert Count 2 but the newest reference is 0/,
  );
  assert.deepEqual(bomb.decodeSection(12, hex("0300 80 81")), [["b", "x"], ["a", value]]);
});

Deno.test("QpackDecoder reads instructions split at every byte boundary", () => {
  const stream = hex(
    "3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468 4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565 02",
  );
  for (let cut = 1; cut < stream.length; cut++) {
    const d = new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 0 });
    d.encoderStream(stream.subarray(0, cut));
    d.encoderStream(stream.subarray(cut));
    assert.deepEqual([d.table.size, d.table.insertCount], [217, 4], `cut at ${cut}`);
  }
});

/** An encoder and a decoder wired together: the encoder stream is delivered before each section. */
function pair(capacity: number) {
  const dec = new QpackDecoder({
    maxTableCapacity: capacity,
    maxBlockedStreams: 0,
    maxFieldSectionSize: 1 << 20,
  });
  const enc = new QpackEncoder({ peerMaxTableCapacity: capacity });
  return { dec, enc };
}

Deno.test("QpackEncoder inserts repeated fields and references them once acknowledged; sections shrink", () => {
  const { dec, enc } = pair(4096);
  const fields: HeaderField[] = [
    [":method", "GET"],
    [":scheme", "https"],
    [":authority", "edge.example"],
    [":path", "/a"],
    ["user-agent", "wraith-test/1.0"],
    ["x-request-class", "bulk"],
    ["cookie", "secret=1"],
  ];
  const sizes: number[] = [];
  for (let stream = 0; stream < 40; stream += 4) {
    const section = enc.encodeSection(stream, fields);
    dec.encoderStream(enc.takeEncoderStream());
    assert.deepEqual(dec.decodeSection(stream, section), fields);
    enc.decoderStream(dec.takeDecoderStream());
    sizes.push(section.length);
  }
  assert.ok((sizes[0] ?? 0) > (sizes[2] ?? 0) * 2, `later sections are smaller: ${sizes}`);
  // The sensitive cookie is never inserted.
  for (let i = dec.table.oldest; i < dec.table.insertCount; i++) {
    assert.notEqual(dec.table.get(i)?.[0], "cookie");
  }
});

Deno.test("QPACK encoder/decoder round-trip random sections with acknowledgements delayed and a small table (property)", () => {
  const name = fc.constantFrom(":authority", "x-a", "x-b", "user-agent", "accept", "x-long-name-for-tests");
  const value = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));
  const section = fc.array(fc.tuple(name, value), { maxLength: 8 });
  fc.assert(
    fc.property(
      fc.array(section, { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 0, max: 5 }),
      fc.constantFrom(0, 64, 200, 1024),
      (sections, lag, capacity) => {
        const { dec, enc } = pair(capacity);
        const acks: Uint8Array[] = [];
        sections.forEach((fields, i) => {
          const bytes = enc.encodeSection(i * 4, fields as HeaderField[]);
          dec.encoderStream(enc.takeEncoderStream());
          assert.deepEqual(dec.decodeSection(i * 4, bytes), fields);
          acks.push(dec.takeDecoderStream());
          // The encoder hears about acknowledgements `lag` sections late.
          if (acks.length > lag) enc.decoderStream(acks.shift() ?? new Uint8Array(0));
        });
        for (const a of acks) enc.decoderStream(a);
        assert.ok(dec.table.size <= capacity);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("QpackDecoder gives only QpackError on random encoder-stream bytes and random sections (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 100 }), (stream, section) => {
      const d = new QpackDecoder({ maxTableCapacity: 256, maxBlockedStreams: 4, maxFieldSectionSize: 4096 });
      try {
        d.encoderStream(stream);
      } catch (error) {
        assert.ok(error instanceof QpackError, String(error));
      }
      try {
        d.decodeSection(0, section);
      } catch (error) {
        assert.ok(error instanceof QpackError, String(error));
      }
      assert.ok(d.table.size <= 256);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const e = new QpackEncoder({ peerMaxTableCapacity: 256 });
      try {
        e.decoderStream(bytes);
      } catch (error) {
        assert.ok(
          error instanceof QpackError && error.code === QpackErrorCode.QPACK_DECODER_STREAM_ERROR,
          String(error),
        );
      }
    }),
    { numRuns: 2000 },
  );
});
