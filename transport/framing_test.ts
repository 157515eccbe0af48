import { concatBytes, toHex } from "../core/mod.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CloseCode, TransportError } from "./errors.ts";
import {
  decodeLengthPrefixed,
  decodeVarint,
  decodeVarintBigInt,
  encodeLengthPrefixed,
  encodeVarint,
  encodeVarintFrame,
  FrameDecoder,
  type FrameFormat,
  LengthPrefixedDecoder,
  lengthPrefixFormat,
  MAX_VARINT,
  peekVarint,
  type PrefixSize,
  StreamingFrameDecoder,
  varintFrameFormat,
  varintLength,
} from "./framing.ts";

// Lenient on purpose: an odd trailing digit is dropped (one test relies on it).
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

/** Splits `bytes` at the given cut points. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => concatBytes(...parts);

// RFC 9000 Appendix A.1, "Sample Variable-Length Integer Decoding".
const RFC9000_VARINTS: [string, bigint][] = [
  ["c2197c5eff14e88c", 151_288_809_941_952_652n],
  ["9d7f3e7d", 494_878_333n],
  ["7bbd", 15_293n],
  ["25", 37n],
  ["4025", 37n], // a two-byte encoding of 37 also decodes
];

Deno.test("decodeVarintBigInt() decodes the RFC 9000 Appendix A.1 samples", () => {
  for (const [bytes, value] of RFC9000_VARINTS) {
    const b = hex(bytes);
    assert.deepEqual(decodeVarintBigInt(b), [value, b.length]);
  }
});

Deno.test("encodeVarint() writes the shortest RFC 9000 form", () => {
  assert.equal(toHex(encodeVarint(151_288_809_941_952_652n)), "c2197c5eff14e88c");
  assert.equal(toHex(encodeVarint(494_878_333)), "9d7f3e7d");
  assert.equal(toHex(encodeVarint(15_293)), "7bbd");
  assert.equal(toHex(encodeVarint(37)), "25");
  assert.equal(varintLength(63), 1);
  assert.equal(varintLength(64), 2);
  assert.equal(varintLength(16_383), 2);
  assert.equal(varintLength(16_384), 4);
  assert.equal(varintLength(1_073_741_823), 4);
  assert.equal(varintLength(1_073_741_824), 8);
  assert.equal(toHex(encodeVarint(MAX_VARINT)), "ffffffffffffffff");
  assert.throws(() => encodeVarint(MAX_VARINT + 1n), RangeError);
  assert.throws(() => encodeVarint(-1), RangeError);
  assert.throws(() => encodeVarint(1.5), RangeError);
  const into = new Uint8Array(3);
  encodeVarint(15_293, into, 1);
  assert.equal(toHex(into), "007bbd");
  assert.throws(() => encodeVarint(15_293, into, 2), RangeError);
});

Deno.test("decodeVarint() rejects truncated input and values above 2^53-1 with PROTOCOL_ERROR", () => {
  assert.deepEqual(decodeVarint(hex("9d7f3e7d")), [494_878_333, 4]);
  assert.deepEqual(decodeVarint(hex("00257bbd"), 1), [37, 2]);
  for (const bad of [hex(""), hex("7b"), hex("9d7f3e"), hex("c2197c5eff14e8")]) {
    assert.throws(
      () => decodeVarint(bad),
      (e: unknown) => e instanceof TransportError && e.code === CloseCode.PROTOCOL_ERROR,
    );
    assert.equal(peekVarint(bad), undefined);
  }
  assert.throws(() => decodeVarint(hex("c2197c5eff14e88c")), /exceeds 2\^53-1/);
});

Deno.test("varints round-trip: encode, decode, re-encode", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: MAX_VARINT }), (v) => {
      const bytes = encodeVarint(v);
      assert.equal(bytes.length, varintLength(v));
      const [decoded, next] = decodeVarintBigInt(bytes);
      assert.equal(decoded, v);
      assert.equal(next, bytes.length);
      assert.deepEqual(encodeVarint(decoded), bytes);
      if (v <= BigInt(Number.MAX_SAFE_INTEGER)) {
        assert.deepEqual(decodeVarint(bytes), [Number(v), bytes.length]);
      }
    }),
  );
});

Deno.test("encodeLengthPrefixed() and decodeLengthPrefixed() round-trip with u16 and u32 prefixes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<PrefixSize>(2, 4), (payload, prefix) => {
      const framed = encodeLengthPrefixed(payload, prefix);
      assert.equal(framed.length, prefix + payload.length);
      const [body, next] = decodeLengthPrefixed(framed, 0, { prefix, maxMessageBytes: 300 });
      assert.deepEqual(body, payload);
      assert.equal(next, framed.length);
      assert.deepEqual(encodeLengthPrefixed(body, prefix), framed);
    }),
  );
  assert.equal(toHex(encodeLengthPrefixed(hex("abcd"), 2)), "0002abcd");
  assert.equal(toHex(encodeLengthPrefixed(hex("abcd"), 4)), "00000002abcd");
  assert.throws(() => encodeLengthPrefixed(new Uint8Array(65_536), 2), /length 65536 exceeds 65535/);
});

Deno.test("decodeLengthPrefixed() rejects a length over the limit before reading the body", () => {
  const claim = hex("00011170"); // 70,000 with nothing behind it
  assert.throws(
    () => decodeLengthPrefixed(claim, 0, { prefix: 4, maxMessageBytes: 65_535 }),
    (e: unknown) =>
      e instanceof TransportError && e.code === CloseCode.MESSAGE_TOO_LARGE &&
      e.message === "Cannot decode message: length 70000 exceeds 65535",
  );
  assert.throws(
    () => decodeLengthPrefixed(hex("0005aa"), 0, { prefix: 2, maxMessageBytes: 10 }),
    (e: unknown) => e instanceof TransportError && e.code === CloseCode.PROTOCOL_ERROR,
  );
  assert.throws(() => new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 70_000 }), RangeError);
});

Deno.test("LengthPrefixedDecoder.push() returns [] for partial input and frames once complete", () => {
  const d = new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 100 });
  assert.deepEqual(d.push(hex("00")), []);
  assert.equal(d.pending, true);
  assert.deepEqual(d.push(hex("03aa")), []);
  assert.deepEqual(d.push(hex("bbcc0000" + "0001")), [hex("aabbcc"), new Uint8Array(0)]);
  assert.equal(d.pending, true, "a 1-byte body is announced");
  assert.throws(() => d.finish(), /stream ended after 0 of 1 body bytes/);
  const inHeader = new LengthPrefixedDecoder({ prefix: 4, maxMessageBytes: 100 });
  inHeader.push(hex("0000"));
  assert.equal(inHeader.bufferedBytes, 2);
  assert.throws(() => inHeader.finish(), /stream ended in a header after 2 bytes/);
  const clean = new LengthPrefixedDecoder({ prefix: 4, maxMessageBytes: 100 });
  clean.push(encodeLengthPrefixed(hex("01"), 4));
  clean.finish();
});

Deno.test("LengthPrefixedDecoder rejects an oversized length from the prefix alone and stays failed", () => {
  const d = new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 512 });
  assert.throws(() => d.push(hex("ffff")), /Cannot decode message: length 65535 exceeds 512/);
  assert.throws(() => d.push(hex("0001aa")), /length 65535 exceeds 512/);
});

Deno.test("LengthPrefixedDecoder output is independent of how the input is split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.constantFrom<PrefixSize>(2, 4),
      (messages, cuts, prefix) => {
        const wire = concat(messages.map((m) => encodeLengthPrefixed(m, prefix)));
        const d = new LengthPrefixedDecoder({ prefix, maxMessageBytes: 70 });
        const out = split(wire, cuts).flatMap((chunk) => d.push(chunk));
        assert.deepEqual(out.map(toHex), messages.map(toHex));
        d.finish();
      },
    ),
  );
});

Deno.test("LengthPrefixedDecoder on random bytes only ever throws TransportError", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.constantFrom<PrefixSize>(2, 4),
      (bytes, cuts, prefix) => {
        const d = new LengthPrefixedDecoder({ prefix, maxMessageBytes: 64 });
        try {
          for (const chunk of split(bytes, cuts)) d.push(chunk);
          d.finish();
        } catch (error) {
          assert.ok(error instanceof TransportError, String(error));
          assert.ok([CloseCode.PROTOCOL_ERROR, CloseCode.MESSAGE_TOO_LARGE].includes(error.code as 2 | 16));
        }
      },
    ),
  );
});

Deno.test("varintFrameFormat() decodes HTTP/3-shaped frames with per-type limits", () => {
  const frames = [
    encodeVarintFrame(0x04, hex("0100")), // SETTINGS-like
    encodeVarintFrame(0x00, new Uint8Array(300)), // DATA-like
    encodeVarintFrame(0x1fn * 3n + 0x21n, hex("ff")), // reserved type (RFC 9114 §7.2.8)
    encodeVarintFrame(MAX_VARINT, new Uint8Array(0)),
  ];
  const wire = concat(frames);
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 10 }), (cuts) => {
      const d = new FrameDecoder(varintFrameFormat(), {
        maxBodyLength: (type) => (type === 0x04n ? 16 : 1024),
      });
      const out = split(wire, cuts).flatMap((c) => d.push(c));
      assert.deepEqual(out.map((f) => f.type), [0x04n, 0x00n, 0x1fn * 3n + 0x21n, MAX_VARINT]);
      assert.deepEqual(out.map((f) => f.payload.length), [2, 300, 1, 0]);
    }),
  );
  const limited = new FrameDecoder(varintFrameFormat("HTTP/3 frame"), { maxBodyLength: () => 16 });
  assert.throws(
    () => limited.push(encodeVarintFrame(0x04, new Uint8Array(17))),
    /HTTP\/3 frame: length 17 exceeds 16/,
  );
});

Deno.test("varint frames on random bytes only ever throw TransportError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const d = new FrameDecoder(varintFrameFormat(), { maxBodyLength: 32 });
      try {
        for (const chunk of split(bytes, cuts)) d.push(chunk);
        d.finish();
      } catch (error) {
        assert.ok(error instanceof TransportError, String(error));
      }
    }),
  );
});

/** A GhostBridge-shaped header (version u8 = 1, type u8, length u16): the generic decoder with a custom parser. */
const bridgeLike: FrameFormat<{ version: number; type: number }, { type: number; payload: Uint8Array }> = {
  name: "bridge frame",
  maxHeaderLength: 4,
  parseHeader(bytes) {
    if (bytes.length < 4) return undefined;
    const version = bytes[0] ?? 0;
    if (version !== 1) {
      throw new TransportError(CloseCode.PROTOCOL_ERROR, `Cannot decode bridge frame: version ${version}`);
    }
    return {
      header: { version, type: bytes[1] ?? 0 },
      headerLength: 4,
      bodyLength: ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0),
    };
  },
  build: (h, payload) => ({ type: h.type, payload }),
};

Deno.test("FrameDecoder works with a custom 4-byte header parser", () => {
  const d = new FrameDecoder(bridgeLike, { maxBodyLength: 1000 });
  assert.deepEqual(d.push(hex("0105")), []);
  const out = d.push(hex("0002abcd" + "0103000"));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], { type: 5, payload: hex("abcd") });
  assert.deepEqual(d.push(hex("0")), []); // odd hex digit is dropped by hex(); nothing to decode
  assert.throws(() => new FrameDecoder(bridgeLike, { maxBodyLength: 10 }).push(hex("02010000")), /version 2/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
      try {
        new FrameDecoder(bridgeLike, { maxBodyLength: 16 }).push(bytes);
      } catch (error) {
        assert.ok(error instanceof TransportError);
      }
    }),
  );
});

Deno.test("StreamingFrameDecoder streams bodies as views without buffering them", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, cuts) => {
        const wire = concat(messages.map((m) => encodeLengthPrefixed(m, 4)));
        const d = new StreamingFrameDecoder(lengthPrefixFormat(4), { maxBodyLength: 70 });
        const bodies: Uint8Array[][] = [];
        for (const chunk of split(wire, cuts)) {
          for (const e of d.push(chunk)) {
            if (e.kind === "header") bodies.push([]);
            else if (e.kind === "body") {
              assert.equal(e.bytes.buffer, wire.buffer, "a view into the pushed chunk");
              bodies[bodies.length - 1]?.push(e.bytes);
            }
          }
          assert.ok(d.bufferedBytes <= 4, "only header bytes are buffered");
        }
        d.finish();
        assert.deepEqual(bodies.map((parts) => toHex(concat(parts))), messages.map(toHex));
      },
    ),
  );
});

Deno.test("StreamingFrameDecoder checks the length before taking any body byte, and on random bytes only throws TransportError", () => {
  const d = new StreamingFrameDecoder(lengthPrefixFormat(4), { maxBodyLength: 1000 });
  assert.throws(() => d.push(hex("000003e9ff")), /length 1001 exceeds 1000/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const s = new StreamingFrameDecoder(varintFrameFormat(), { maxBodyLength: 64 });
      try {
        for (const chunk of split(bytes, cuts)) s.push(chunk);
        s.finish();
      } catch (error) {
        assert.ok(error instanceof TransportError, String(error));
      }
    }),
  );
});
