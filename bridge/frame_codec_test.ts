import assert from "node:assert/strict";
import fc from "fast-check";
import { BridgeError, StreamErrorCode } from "./errors.ts";
import { decodeFrame, encodeFrame, FRAME_VERSION, FrameDecoder, FrameType } from "./frame_codec.ts";

Deno.test("encodeFrame() writes the seed's header bit-exact", () => {
  const f = encodeFrame(FrameType.GRPC_REQUEST, Uint8Array.of(0xaa, 0xbb, 0xcc));
  assert.deepEqual([...f], [0x01, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc]);
  const big = encodeFrame(FrameType.MESSAGE_CONTINUATION, new Uint8Array(0x1234));
  assert.deepEqual([...big.subarray(0, 4)], [FRAME_VERSION, 0x07, 0x12, 0x34]);
  assert.equal(big.length, 4 + 0x1234);
});

Deno.test("encodeFrame() rejects a payload over 65535", () => {
  assert.throws(() => encodeFrame(FrameType.MESSAGE, new Uint8Array(65536)), RangeError);
});

Deno.test("decodeFrame() round-trips every type and re-encodes identically", () => {
  const payloads: Array<[number, Uint8Array]> = [
    [FrameType.GRPC_REQUEST, new Uint8Array(10)],
    [FrameType.HALF_CLOSE, new Uint8Array(0)],
    [FrameType.CANCEL, Uint8Array.of(1)],
    [FrameType.MESSAGE, new Uint8Array(65535)],
    [FrameType.AUTH, new Uint8Array(65)],
  ];
  for (const [type, payload] of payloads) {
    const bytes = encodeFrame(type, payload);
    const [frame, next] = decodeFrame(bytes);
    assert.equal(frame.type, type);
    assert.equal(next, bytes.length);
    assert.deepEqual(encodeFrame(frame.type, frame.payload), bytes);
  }
});

Deno.test("FrameDecoder.push() returns nothing until a frame is complete, byte by byte", () => {
  const bytes = new Uint8Array([
    ...encodeFrame(FrameType.MESSAGE, Uint8Array.of(0, 0, 0, 2, 9, 8)),
    ...encodeFrame(FrameType.HALF_CLOSE),
  ]);
  const d = new FrameDecoder();
  const got = [];
  for (const b of bytes) {
    got.push(...d.push(Uint8Array.of(b)).map((f) => ({ type: f.type, payload: [...f.payload] })));
  }
  assert.deepEqual(got, [{ type: FrameType.MESSAGE, payload: [0, 0, 0, 2, 9, 8] }, {
    type: FrameType.HALF_CLOSE,
    payload: [],
  }]);
  assert.equal(d.pending, false);
  d.finish();
});

function expectStreamError(fn: () => unknown, code: number): void {
  assert.throws(fn, (e: unknown) => e instanceof BridgeError && e.streamError === code);
}

Deno.test("FrameDecoder rejects an unknown version with UNSUPPORTED_VERSION", () => {
  expectStreamError(
    () => new FrameDecoder().push(Uint8Array.of(2, 1, 0, 0)),
    StreamErrorCode.UNSUPPORTED_VERSION,
  );
});

Deno.test("FrameDecoder rejects an unknown type with UNKNOWN_FRAME_TYPE", () => {
  expectStreamError(
    () => new FrameDecoder().push(Uint8Array.of(1, 0x7f, 0, 0)),
    StreamErrorCode.UNKNOWN_FRAME_TYPE,
  );
});

Deno.test("FrameDecoder rejects a length over the type's limit before buffering it", () => {
  const d = new FrameDecoder({
    maxHeaderFrameBytes: 100,
    maxMessageFrameBytes: 65535,
    maxControlFrameBytes: 65535,
  });
  expectStreamError(
    () => d.push(Uint8Array.of(1, FrameType.GRPC_REQUEST, 0, 101)),
    StreamErrorCode.FRAME_TOO_LARGE,
  );
  // The decoder stays failed.
  expectStreamError(() => d.push(Uint8Array.of(1, 8, 0, 0)), StreamErrorCode.FRAME_TOO_LARGE);
  expectStreamError(
    () => new FrameDecoder().push(Uint8Array.of(1, FrameType.HALF_CLOSE, 0, 1, 0)),
    StreamErrorCode.FRAME_TOO_LARGE,
  );
});

Deno.test("FrameDecoder.finish() reports a frame cut off by the end of the stream", () => {
  const d = new FrameDecoder();
  d.push(Uint8Array.of(1, FrameType.MESSAGE, 0, 10, 1));
  expectStreamError(() => d.finish(), StreamErrorCode.TRUNCATED);
});

Deno.test("FrameDecoder: random bytes only ever produce BridgeError (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
      const d = new FrameDecoder();
      try {
        for (const c of chunks) d.push(c);
        d.finish();
      } catch (e) {
        if (!(e instanceof BridgeError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("FrameDecoder: any split of valid frames decodes the same (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(1, 2, 6, 7, 9), fc.uint8Array({ maxLength: 200 })), { maxLength: 6 }),
      fc.array(fc.nat(50), { maxLength: 10 }),
      (frames, cuts) => {
        const bytes = new Uint8Array(frames.flatMap(([t, p]) => [...encodeFrame(t, p)]));
        const d = new FrameDecoder();
        const got: Array<[number, number[]]> = [];
        let off = 0;
        for (const c of cuts) {
          got.push(
            ...d.push(bytes.slice(off, off + c)).map((f): [number, number[]] => [f.type, [...f.payload]]),
          );
          off = Math.min(bytes.length, off + c);
        }
        got.push(...d.push(bytes.slice(off)).map((f): [number, number[]] => [f.type, [...f.payload]]));
        assert.deepEqual(got, frames.map(([t, p]) => [t, [...p]]));
      },
    ),
  );
});
