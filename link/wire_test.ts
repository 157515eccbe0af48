import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFrame, encodeFrame, FrameDecoder, type LinkFrame, WireError } from "./wire.ts";

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const addr = fc.string({ maxLength: 60 });
const frame: fc.Arbitrary<LinkFrame> = fc.oneof(
  fc.uint8Array({ maxLength: 100 }).map((init) => ({ type: 1 as const, init })),
  fc.tuple(fc.uint8Array({ minLength: 128, maxLength: 128 }), addr).map(([resp, observed]) => ({
    type: 2 as const,
    resp,
    observed,
  })),
  fc.tuple(
    fc.uint8Array({ minLength: 64, maxLength: 64 }),
    fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
  )
    .map(([fin, purpose]) => ({ type: 3 as const, fin, purpose })),
  key.map((target) => ({ type: 10 as const, target })),
  fc.tuple(key, addr).map(([peer, a]) => ({ type: 11 as const, peer, addr: a })),
  fc.string({ maxLength: 100 }).map((reason) => ({ type: 12 as const, reason })),
  fc.constant({ type: 4 as const }),
  fc.constant({ type: 13 as const }),
  fc.boolean().map((reachable) => ({ type: 14 as const, reachable })),
  key.map((target) => ({ type: 20 as const, target })),
  key.map((from) => ({ type: 21 as const, from })),
  fc.uint8Array({ maxLength: 2000 }).map((packet) => ({ type: 30 as const, packet })),
  fc.uint8Array({ maxLength: 2000 }).map((packet) => ({ type: 31 as const, packet })),
  fc.tuple(key, fc.boolean()).map(([target, serving]) => ({ type: 40 as const, target, serving })),
  fc.array(fc.tuple(key, addr).map(([k, a]) => ({ key: k, addr: a })), { maxLength: 20 })
    .map((nodes) => ({ type: 41 as const, nodes })),
  fc.uint8Array({ maxLength: 300 }).map((record) => ({ type: 42 as const, record })),
  fc.boolean().map((stored) => ({ type: 43 as const, stored })),
  key.map((k) => ({ type: 44 as const, key: k })),
  fc.uint8Array({ maxLength: 300 }).map((record) => ({ type: 45 as const, record })),
);

Deno.test("wire property: frames round-trip, in one piece or cut anywhere", () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), (frames, cuts) => {
      const bytes = frames.map(encodeFrame);
      const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of bytes) {
        all.set(b, at);
        at += b.length;
      }
      const d = new FrameDecoder();
      const got: LinkFrame[] = [];
      let from = 0;
      for (const c of [...cuts.map((x) => x % (all.length + 1))].sort((x, y) => x - y)) {
        got.push(...d.push(all.subarray(from, Math.max(from, c))));
        from = Math.max(from, c);
      }
      got.push(...d.push(all.subarray(from)));
      assert.deepEqual(got, frames);
      assert.equal(d.buffered, 0);
    }),
  );
});

Deno.test("wire property: any bytes decode to frames or a WireError, nothing else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        new FrameDecoder().push(b);
      } catch (e) {
        assert.ok(e instanceof WireError, String(e));
      }
    }),
  );
  assert.throws(() => decodeFrame(99, new Uint8Array(0)), /Unknown frame type 99/);
  assert.throws(() => decodeFrame(3, new Uint8Array(65).fill(7)), /purpose/);
  assert.throws(() => decodeFrame(11, new Uint8Array(40)), /CONNECT address/);
  assert.throws(() => encodeFrame({ type: 10, target: new Uint8Array(31) }), RangeError);
});

Deno.test("wire: a relay reads its header frame and takes the rest as bytes, untouched", () => {
  const head = encodeFrame({ type: 20, target: new Uint8Array(32).fill(4) });
  const after = encodeFrame({ type: 30, packet: Uint8Array.of(1, 2, 3) });
  const d = new FrameDecoder();
  d.stopAfterFirst = true;
  const both = new Uint8Array(head.length + after.length);
  both.set(head);
  both.set(after, head.length);
  const frames = d.push(both);
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.type, 20);
  assert.deepEqual(d.takeRest(), after);
  assert.equal(d.buffered, 0);
});
