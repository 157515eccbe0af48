import assert from "node:assert/strict";
import fc from "fast-check";
import { BridgeError, GrpcStatus } from "./errors.ts";
import { encodeGrpcMessage, GrpcMessageDecoder } from "./grpc_framing.ts";
import {
  decodeGrpcMessage,
  encodeGrpcMessage as encodeStatusMessage,
  formatGrpcTimeout,
  headersToMetadata,
  metadataToHeaders,
  parseGrpcTimeout,
} from "./grpc_metadata.ts";

Deno.test("GrpcMessageDecoder round-trips messages split at every byte, empty ones included", () => {
  const msgs = [new Uint8Array(0), Uint8Array.from([1, 2, 3]), new Uint8Array(300).fill(7)];
  const wire = new Uint8Array(msgs.reduce((n, m) => n + 5 + m.length, 0));
  let at = 0;
  for (const m of msgs) {
    const e = encodeGrpcMessage(m);
    assert.equal(e.length, 5 + m.length);
    wire.set(e, at);
    at += e.length;
  }
  for (let step = 1; step <= 7; step++) {
    const d = new GrpcMessageDecoder(1024);
    const got: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)));
    assert.deepEqual(got, msgs);
    assert.equal(d.pending, false);
  }
});

Deno.test("GrpcMessageDecoder refuses an oversize length before allocating, and compressed messages", () => {
  const over = Uint8Array.from([0, 0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => new GrpcMessageDecoder(4 << 20).push(over), (e) => {
    assert.ok(e instanceof BridgeError);
    assert.equal(e.code, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(e.message, /length 4294967295 exceeds 4194304/);
    return true;
  });
  const compressed = new GrpcMessageDecoder(10);
  assert.throws(() => compressed.push(Uint8Array.from([1, 0, 0, 0, 1, 9])), (e) => {
    assert.ok(e instanceof BridgeError);
    assert.equal(e.code, GrpcStatus.UNIMPLEMENTED);
    return true;
  });
  // Once failed, the decoder stays failed.
  assert.throws(() => compressed.push(Uint8Array.from([0, 0, 0, 0, 0])), BridgeError);
  assert.throws(() => new GrpcMessageDecoder(10).push(Uint8Array.from([2, 0, 0, 0, 0])), BridgeError);
});

Deno.test("GrpcMessageDecoder: random bytes only ever give BridgeError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 1, max: 9 }), (bytes, step) => {
      const d = new GrpcMessageDecoder(64);
      try {
        for (let i = 0; i < bytes.length; i += step) d.push(bytes.subarray(i, i + step));
      } catch (e) {
        if (!(e instanceof BridgeError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("metadata: text and -bin values round-trip; reserved and invalid headers are dropped", () => {
  const md = headersToMetadata({
    ":path": "/x.Y/Z",
    "content-type": "application/grpc",
    "grpc-timeout": "5S",
    "x-trace": "abc",
    "x-data-bin": "AAEC/w",
    "Bad Key": "v",
    "x-ctl": "a\u0007b",
    "x-multi": ["1", "2"],
  });
  assert.deepEqual(md.map(([k, v]) => [k, [...v]]), [
    ["x-trace", [97, 98, 99]],
    ["x-data-bin", [0, 1, 2, 255]],
    ["x-multi", [49]],
    ["x-multi", [50]],
  ]);
  const headers = metadataToHeaders(md);
  assert.deepEqual(headers, { "x-trace": "abc", "x-data-bin": "AAEC/w", "x-multi": ["1", "2"] });
  assert.deepEqual(headersToMetadata(headers), md);
});

Deno.test("grpc-timeout and grpc-message follow PROTOCOL-HTTP2.md", () => {
  assert.equal(parseGrpcTimeout("5S"), 5000);
  assert.equal(parseGrpcTimeout("250m"), 250);
  assert.equal(parseGrpcTimeout("1u"), 1, "a sub-millisecond deadline is still one");
  assert.equal(parseGrpcTimeout("2H"), 7_200_000);
  assert.equal(parseGrpcTimeout("123456789m"), undefined, "at most 8 digits");
  assert.equal(parseGrpcTimeout("5s"), undefined);
  assert.equal(parseGrpcTimeout(undefined), undefined);
  // The largest deadline gRPC can carry is 99,999,999 minutes; longer ones are capped there.
  assert.equal(formatGrpcTimeout(9e12), "99999999M");
  for (const ms of [1, 999, 99_999_999, 100_000_000, 5e12]) {
    const back = parseGrpcTimeout(formatGrpcTimeout(ms));
    assert.ok(back !== undefined && back >= ms, `${ms} -> ${formatGrpcTimeout(ms)}`);
  }
  const text = "50% done: naïve \n";
  const enc = encodeStatusMessage(text);
  assert.equal(enc, "50%25 done: na%C3%AFve %0A");
  assert.equal(decodeGrpcMessage(enc), text);
  assert.equal(decodeGrpcMessage("bad %zz escape"), "bad %zz escape");
});
