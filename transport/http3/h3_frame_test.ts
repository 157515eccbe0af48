// HTTP/3 frames: which frame goes on which stream (RFC 9114 §7.2 Table 1), SETTINGS and GOAWAY payloads, limits.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkFrameAllowed,
  encodeH3Goaway,
  encodeH3Settings,
  h3Decoder,
  H3Error,
  H3ErrorCode,
  H3FrameType,
  H3Setting,
  isReservedType,
  parseH3Goaway,
  parseH3Settings,
} from "./h3_frame.ts";
import { encodeVarintFrame } from "../mod.ts";

function code(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof H3Error, String(error));
    return error.code;
  }
  return undefined;
}

Deno.test("reserved frame types (0x1f * N + 0x21) are recognised", () => {
  for (const t of [0x21n, 0x40n, 0x5fn, 0x1fn * 1000n + 0x21n]) assert.ok(isReservedType(t), t.toString(16));
  for (const t of [0x00n, 0x20n, 0x22n, 0x41n]) assert.ok(!isReservedType(t), t.toString(16));
});

Deno.test("each frame type only where RFC 9114 allows it; HTTP/2 types and a late SETTINGS are errors", () => {
  const { DATA, HEADERS, SETTINGS, GOAWAY, MAX_PUSH_ID, PUSH_PROMISE, CANCEL_PUSH } = H3FrameType;
  assert.equal(checkFrameAllowed(SETTINGS, "control", true), true);
  assert.equal(code(() => checkFrameAllowed(GOAWAY, "control", true)), H3ErrorCode.H3_MISSING_SETTINGS);
  assert.equal(code(() => checkFrameAllowed(SETTINGS, "control", false)), H3ErrorCode.H3_FRAME_UNEXPECTED);
  for (const t of [GOAWAY, MAX_PUSH_ID, CANCEL_PUSH]) {
    assert.equal(checkFrameAllowed(t, "control", false), true);
    assert.equal(code(() => checkFrameAllowed(t, "request", false)), H3ErrorCode.H3_FRAME_UNEXPECTED);
  }
  for (const t of [DATA, HEADERS]) {
    assert.equal(checkFrameAllowed(t, "request", false), true);
    assert.equal(code(() => checkFrameAllowed(t, "control", false)), H3ErrorCode.H3_FRAME_UNEXPECTED);
  }
  assert.equal(
    code(() => checkFrameAllowed(PUSH_PROMISE, "control", false)),
    H3ErrorCode.H3_FRAME_UNEXPECTED,
  );
  for (const t of [0x02n, 0x06n, 0x08n, 0x09n]) {
    assert.equal(code(() => checkFrameAllowed(t, "request", false)), H3ErrorCode.H3_FRAME_UNEXPECTED);
  }
  // Unknown and reserved types are ignored, anywhere.
  assert.equal(checkFrameAllowed(0x21n, "control", false), false);
  assert.equal(checkFrameAllowed(0xabcdn, "request", false), false);
});

Deno.test("SETTINGS round-trip; repeats and HTTP/2 identifiers are H3_SETTINGS_ERROR, truncation H3_FRAME_ERROR", () => {
  const frame = encodeH3Settings(
    new Map([[H3Setting.QPACK_MAX_TABLE_CAPACITY, 0], [H3Setting.MAX_FIELD_SECTION_SIZE, 65536]]),
  );
  const [f] = h3Decoder(1 << 20, 1 << 16).push(frame);
  assert.equal(f?.type, H3FrameType.SETTINGS);
  const s = parseH3Settings(f?.payload ?? new Uint8Array(0));
  assert.equal(s.get(H3Setting.MAX_FIELD_SECTION_SIZE), 65536n);
  assert.equal(
    code(() => parseH3Settings(Uint8Array.of(0x06, 0x01, 0x06, 0x02))),
    H3ErrorCode.H3_SETTINGS_ERROR,
  );
  assert.equal(code(() => parseH3Settings(Uint8Array.of(0x03, 0x01))), H3ErrorCode.H3_SETTINGS_ERROR);
  assert.equal(code(() => parseH3Settings(Uint8Array.of(0x06))), H3ErrorCode.H3_FRAME_ERROR);
});

Deno.test("GOAWAY carries one varint id", () => {
  const [f] = h3Decoder(1024, 1024).push(encodeH3Goaway(400));
  assert.equal(parseH3Goaway(f?.payload ?? new Uint8Array(0)), 400n);
  assert.equal(code(() => parseH3Goaway(Uint8Array.of(0x40))), H3ErrorCode.H3_FRAME_ERROR);
  assert.equal(code(() => parseH3Goaway(Uint8Array.of(0x01, 0x02))), H3ErrorCode.H3_FRAME_ERROR);
});

Deno.test("the decoder bounds each frame type before buffering it", () => {
  assert.throws(() => h3Decoder(1024, 1024).push(encodeVarintFrame(H3FrameType.DATA, new Uint8Array(2000))));
  assert.throws(() =>
    h3Decoder(1 << 20, 1024).push(encodeVarintFrame(H3FrameType.HEADERS, new Uint8Array(2000)))
  );
  assert.throws(() =>
    h3Decoder(1 << 20, 1 << 20).push(encodeVarintFrame(H3FrameType.SETTINGS, new Uint8Array(20_000)))
  );
  assert.equal(
    h3Decoder(4096, 1024).push(encodeVarintFrame(H3FrameType.DATA, new Uint8Array(4096))).length,
    1,
  );
});

Deno.test("SETTINGS and GOAWAY payload parsers give only H3Error on any bytes (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      for (const parse of [parseH3Settings, parseH3Goaway]) {
        try {
          parse(bytes);
        } catch (error) {
          assert.ok(error instanceof H3Error, String(error));
        }
      }
    }),
    { numRuns: 3000 },
  );
});
