import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../core/mod.ts";
import { encodeVarint, encodeVarintFrame } from "../mod.ts";
import {
  encodeH3Goaway,
  encodeH3Settings,
  H3Error,
  H3ErrorCode,
  H3FrameType,
  H3Setting,
  parseH3Settings,
} from "./h3_frame.ts";
import { H3Session, H3StreamType } from "./h3_session.ts";

function fails(run: () => unknown, code: number): void {
  assert.throws(run, (e) => e instanceof H3Error && e.code === code && !e.stream);
}

const SETTINGS = encodeH3Settings(new Map([[H3Setting.MAX_FIELD_SECTION_SIZE, 4096]]));
const control = (...frames: Uint8Array[]) => concatBytes(encodeVarint(H3StreamType.CONTROL), ...frames);

Deno.test("our control stream opens with SETTINGS: our QPACK table and blocked streams, our section limit", () => {
  const preface = new H3Session({ role: "server", maxFieldSectionSize: 8192 }).controlStreamPreface();
  assert.equal(preface[0], 0x00);
  assert.equal(preface[1], 0x04);
  assert.deepEqual([...parseH3Settings(preface.subarray(3))], [[0x01, 4096n], [0x07, 16n], [0x06, 8192n]]);
  const off = new H3Session({ role: "server", qpackMaxTableCapacity: 0 }).controlStreamPreface();
  assert.deepEqual([...parseH3Settings(off.subarray(3))], [[0x01, 0n], [0x07, 0n], [0x06, 65536n]]);
});

Deno.test("the peer's control stream: SETTINGS, GOAWAY, unknown frames skipped, any chunking", () => {
  const wire = control(
    SETTINGS,
    encodeVarintFrame(0x21n, new Uint8Array(3)),
    encodeH3Goaway(8),
    encodeH3Goaway(4),
  );
  for (const step of [1, 3, wire.length]) {
    const s = new H3Session({ role: "client" });
    const r = s.uniStream();
    const events = [];
    for (let i = 0; i < wire.length; i += step) events.push(...r.push(wire.subarray(i, i + step)));
    assert.deepEqual(events.map((e) => e.type), ["settings", "goaway", "goaway"]);
    assert.equal(s.peerSettings?.get(H3Setting.MAX_FIELD_SECTION_SIZE), 4096n);
    assert.equal(s.goaway, 4n);
    fails(() => r.finish(), H3ErrorCode.H3_CLOSED_CRITICAL_STREAM);
  }
});

Deno.test("a reserved frame of any size on the control stream is skipped as it streams by (§9)", () => {
  const s = new H3Session({ role: "server" });
  const r = s.uniStream();
  const grease = encodeVarintFrame(0x21n + 0x1fn * 3n, new Uint8Array(1 << 20));
  const wire = concatBytes(control(SETTINGS), grease, encodeH3Goaway(0));
  const events = [];
  for (let i = 0; i < wire.length; i += 4096) events.push(...r.push(wire.subarray(i, i + 4096)));
  assert.deepEqual(events.map((e) => e.type), ["settings", "goaway"]);
  // A known control frame stays bounded: a 1 MiB SETTINGS is refused.
  const big = encodeVarintFrame(H3FrameType.SETTINGS, new Uint8Array(1 << 20));
  fails(() => new H3Session({ role: "server" }).uniStream().push(control(big)), H3ErrorCode.H3_FRAME_ERROR);
});

Deno.test("control stream violations are connection errors with the RFC 9114 codes", () => {
  const read = (role: "server" | "client", bytes: Uint8Array) =>
    new H3Session({ role }).uniStream().push(bytes);
  fails(() => read("server", control(encodeH3Goaway(0))), H3ErrorCode.H3_MISSING_SETTINGS);
  fails(() => read("server", control(SETTINGS, SETTINGS)), H3ErrorCode.H3_FRAME_UNEXPECTED);
  fails(
    () => read("server", control(SETTINGS, encodeVarintFrame(H3FrameType.DATA, new Uint8Array(1)))),
    H3ErrorCode.H3_FRAME_UNEXPECTED,
  );
  fails(() => read("client", control(SETTINGS, encodeH3Goaway(2))), H3ErrorCode.H3_ID_ERROR);
  fails(
    () => read("client", control(SETTINGS, encodeH3Goaway(4), encodeH3Goaway(8))),
    H3ErrorCode.H3_ID_ERROR,
  );
  fails(
    () => read("client", control(SETTINGS, encodeVarintFrame(H3FrameType.MAX_PUSH_ID, Uint8Array.of(1)))),
    H3ErrorCode.H3_FRAME_UNEXPECTED,
  );
  fails(
    () => read("server", control(encodeVarintFrame(H3FrameType.SETTINGS, Uint8Array.of(0x02, 0x00)))),
    H3ErrorCode.H3_SETTINGS_ERROR,
  );
  fails(() => read("client", encodeVarint(H3StreamType.PUSH)), H3ErrorCode.H3_ID_ERROR);
  fails(() => read("server", encodeVarint(H3StreamType.PUSH)), H3ErrorCode.H3_STREAM_CREATION_ERROR);
  const s = new H3Session({ role: "server" });
  s.uniStream().push(control(SETTINGS));
  fails(() => s.uniStream().push(control(SETTINGS)), H3ErrorCode.H3_STREAM_CREATION_ERROR);
});

Deno.test("QPACK streams feed the dynamic table; what breaks RFC 9204 §4.3-§4.4 is a connection error", () => {
  const s = new H3Session({ role: "server", qpackMaxTableCapacity: 220 });
  const enc = s.uniStream();
  // Set Dynamic Table Capacity 220, then an Insert With Name Reference (static 0, :authority www.example.com).
  assert.deepEqual(
    enc.push(concatBytes(encodeVarint(H3StreamType.QPACK_ENCODER), Uint8Array.of(0x3f, 0xbd, 0x01))),
    [],
  );
  enc.push(Uint8Array.of(0xc0, 0x03, 0x61, 0x62, 0x63));
  assert.deepEqual(s.decoder.table.get(0), [":authority", "abc"]);
  assert.deepEqual([...s.decoder.takeDecoderStream()], [0x01], "Insert Count Increment (1)");
  const dec = s.uniStream();
  assert.deepEqual(
    dec.push(concatBytes(encodeVarint(H3StreamType.QPACK_DECODER), Uint8Array.of(0x44, 0x7f))),
    [],
  );
  assert.deepEqual(dec.push(Uint8Array.of(0x05)), []); // the rest of a multi-byte stream id (Stream Cancellation)
  fails(() => dec.finish(), H3ErrorCode.H3_CLOSED_CRITICAL_STREAM);
  const one = (type: bigint, ...bytes: number[]) =>
    new H3Session({ role: "client", qpackMaxTableCapacity: 220 }).uniStream().push(
      concatBytes(encodeVarint(type), Uint8Array.from(bytes)),
    );
  fails(() => one(H3StreamType.QPACK_ENCODER, 0x3f, 0xbe, 0x01), 0x201); // capacity 221, above our 220
  fails(() => one(H3StreamType.QPACK_ENCODER, 0xc0 | 17, 0x01, 0x61), 0x201); // insert before any capacity
  fails(() => one(H3StreamType.QPACK_ENCODER, 0x00), 0x201); // duplicate of nothing
  fails(() => one(H3StreamType.QPACK_DECODER, 0x84), 0x202); // acknowledgement of a section never sent
  fails(() => one(H3StreamType.QPACK_DECODER, 0x01), 0x202); // insert count increment beyond our inserts
  fails(
    () => s.uniStream().push(encodeVarint(H3StreamType.QPACK_ENCODER)),
    H3ErrorCode.H3_STREAM_CREATION_ERROR,
  );
  // An endpoint that advertises capacity 0 refuses every insert.
  const none = new H3Session({ role: "client", qpackMaxTableCapacity: 0 }).uniStream();
  fails(
    () => none.push(concatBytes(encodeVarint(H3StreamType.QPACK_ENCODER), Uint8Array.of(0x3f, 0x01))),
    0x201,
  );
});

Deno.test("unknown and reserved stream types are ignored, and their end is no error", () => {
  const r = new H3Session({ role: "server" }).uniStream();
  assert.deepEqual(r.push(concatBytes(encodeVarint(0x21n + 0x1fn * 7n), new Uint8Array(10))), [{
    type: "ignore",
  }]);
  assert.deepEqual(r.push(new Uint8Array(5)), []);
  r.finish();
});

Deno.test("a uni stream reader never throws anything but H3Error (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.integer({ min: 1, max: 7 }),
      fc.boolean(),
      (bytes, step, client) => {
        const r = new H3Session({ role: client ? "client" : "server" }).uniStream();
        try {
          for (let i = 0; i < bytes.length; i += step) r.push(bytes.subarray(i, i + step));
          r.finish();
        } catch (error) {
          assert.ok(error instanceof H3Error, String(error));
        }
      },
    ),
  );
});
