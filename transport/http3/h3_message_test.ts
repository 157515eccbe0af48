import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../core/mod.ts";
import { encodeVarint, encodeVarintFrame } from "../mod.ts";
import type { HeaderField } from "../http/fields.ts";
import { H3Error, H3ErrorCode, H3FrameType } from "./h3_frame.ts";
import { encodeH3Data, encodeH3Headers, type H3MessageEvent, H3MessageReader } from "./h3_message.ts";

const GET: HeaderField[] = [[":method", "GET"], [":scheme", "https"], [":authority", "a.test"], [
  ":path",
  "/x",
]];
const POST: HeaderField[] = [[":method", "POST"], ...GET.slice(1), ["content-length", "5"]];
const OK: HeaderField[] = [[":status", "200"], ["content-type", "text/plain"]];

/** Reads a whole stream, split into chunks of `step` bytes. */
function read(
  bytes: Uint8Array,
  role: "server" | "client" = "server",
  step = bytes.length || 1,
): H3MessageEvent[] {
  const r = new H3MessageReader({ role });
  const out: H3MessageEvent[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...r.push(bytes.subarray(i, i + step)));
  out.push(...r.finish());
  return out;
}

function body(events: H3MessageEvent[]): string {
  return new TextDecoder().decode(concatBytes(...events.flatMap((e) => e.type === "data" ? [e.data] : [])));
}

function fails(run: () => unknown, code: number, stream: boolean): void {
  assert.throws(run, (e) => e instanceof H3Error && e.code === code && e.stream === stream);
}

Deno.test("a request with body and trailers reads the same in any chunking (RFC 9114 §4.1)", () => {
  const wire = concatBytes(
    encodeH3Headers(POST),
    encodeH3Data(new TextEncoder().encode("he")),
    encodeVarintFrame(0x21n, new Uint8Array(40)), // reserved type: skipped (§7.2.8)
    encodeH3Data(new TextEncoder().encode("llo")),
    encodeH3Headers([["x-checksum", "1"]]),
  );
  for (const step of [1, 2, 7, wire.length]) {
    const events = read(wire, "server", step);
    assert.deepEqual(events[0], { type: "headers", fields: POST });
    assert.equal(body(events), "hello");
    assert.deepEqual(events.at(-2), { type: "trailers", fields: [["x-checksum", "1"]] });
    assert.deepEqual(events.at(-1), { type: "end" });
  }
});

Deno.test("a client reads interim responses, then the final one", () => {
  const events = read(
    concatBytes(encodeH3Headers([[":status", "103"], ["link", "</a>"]]), encodeH3Headers(OK)),
    "client",
  );
  assert.deepEqual(events.map((e) => e.type), ["informational", "headers", "end"]);
});

Deno.test("frame order errors end the connection with H3_FRAME_UNEXPECTED", () => {
  fails(() => read(encodeH3Data(new Uint8Array(1))), H3ErrorCode.H3_FRAME_UNEXPECTED, false);
  fails(
    () =>
      read(concatBytes(encodeH3Headers(GET), encodeH3Headers([["x", "1"]]), encodeH3Data(new Uint8Array(1)))),
    H3ErrorCode.H3_FRAME_UNEXPECTED,
    false,
  );
  fails(
    () => read(concatBytes(encodeH3Headers(GET), encodeVarintFrame(H3FrameType.SETTINGS, new Uint8Array()))),
    H3ErrorCode.H3_FRAME_UNEXPECTED,
    false,
  );
  fails(
    () => read(concatBytes(encodeH3Headers(GET), encodeVarintFrame(0x06n, new Uint8Array(8)))),
    H3ErrorCode.H3_FRAME_UNEXPECTED,
    false,
  );
  fails(
    () => read(encodeVarintFrame(H3FrameType.PUSH_PROMISE, new Uint8Array(2)), "client"),
    H3ErrorCode.H3_ID_ERROR,
    false,
  );
});

Deno.test("malformed messages are stream errors with H3_MESSAGE_ERROR (RFC 9114 §4.1.2)", () => {
  const malformed: Uint8Array[] = [
    encodeH3Headers([...GET, [":ghost-backend", "b1"]]),
    encodeH3Headers([...GET, ["Upper", "1"]]),
    encodeH3Headers([...GET, ["connection", "close"]]),
    encodeH3Headers(GET.slice(1)),
    encodeH3Headers([...POST.slice(0, -1), ["content-length", "x"]]),
    concatBytes(encodeH3Headers(POST), encodeH3Data(new Uint8Array(6))),
    concatBytes(encodeH3Headers(POST), encodeH3Data(new Uint8Array(4))),
    concatBytes(encodeH3Headers(POST), encodeH3Data(new Uint8Array(4)), encodeH3Headers([["x", "1"]])),
    concatBytes(encodeH3Headers(GET), encodeH3Headers([[":path", "/"]])),
  ];
  for (const wire of malformed) fails(() => read(wire), H3ErrorCode.H3_MESSAGE_ERROR, true);
  fails(() => read(encodeH3Headers([[":status", "101"]]), "client"), H3ErrorCode.H3_MESSAGE_ERROR, true);
});

Deno.test("bodyless responses: HEAD, 204 and 304 carry no DATA whatever their Content-Length", () => {
  const head = new H3MessageReader({ role: "client", headRequest: true });
  assert.equal(head.push(encodeH3Headers([[":status", "200"], ["content-length", "10"]])).length, 1);
  assert.deepEqual(head.finish(), [{ type: "end" }]);
  fails(
    () => read(concatBytes(encodeH3Headers([[":status", "204"]]), encodeH3Data(new Uint8Array(1))), "client"),
    H3ErrorCode.H3_MESSAGE_ERROR,
    true,
  );
});

Deno.test("a stream that ends early: before the headers, or inside a frame", () => {
  fails(() => read(new Uint8Array()), H3ErrorCode.H3_REQUEST_INCOMPLETE, true);
  fails(() => read(encodeH3Headers(GET).subarray(0, 3)), H3ErrorCode.H3_FRAME_ERROR, false);
  const r = new H3MessageReader({ role: "server" });
  r.push(concatBytes(encodeH3Headers(GET)));
  r.finish();
  assert.ok(r.done);
  fails(() => r.push(new Uint8Array(1)), H3ErrorCode.H3_FRAME_UNEXPECTED, false);
});

Deno.test("field sections are bounded before decoding; a QPACK failure is a connection error", () => {
  const r = new H3MessageReader({ role: "server", maxFieldSectionSize: 100 });
  fails(
    () => r.push(encodeH3Headers([...GET, ["x-big", "y".repeat(200)]])),
    H3ErrorCode.H3_EXCESSIVE_LOAD,
    false,
  );
  // A dynamic-table reference with capacity 0 (RFC 9204 §2.2.1).
  fails(() => read(encodeVarintFrame(H3FrameType.HEADERS, Uint8Array.of(0x02, 0x00, 0x80))), 0x200, false);
});

Deno.test("DATA and unknown frames of any size stream through without being assembled", () => {
  const r = new H3MessageReader({ role: "server" });
  r.push(encodeH3Headers([[":method", "PUT"], ...GET.slice(1)]));
  // A DATA frame header announcing 1 GiB: accepted, and its body arrives as it comes.
  assert.deepEqual(r.push(concatBytes(Uint8Array.of(0x00), encodeVarint((1 << 30) - 1))), []);
  const chunk = new Uint8Array(64 * 1024);
  const events = r.push(chunk);
  assert.equal(events.length, 1);
  assert.equal(events[0]?.type === "data" && events[0].data.length, chunk.length);
});

Deno.test("H3MessageReader never throws anything but H3Error (property)", () => {
  const frame = fc.oneof(
    fc.constant(encodeH3Headers(GET)),
    fc.constant(encodeH3Headers(POST)),
    fc.constant(encodeH3Headers([["x-t", "1"]])),
    fc.uint8Array({ maxLength: 8 }).map((b) => encodeH3Data(b)),
    fc.tuple(fc.bigInt({ min: 0n, max: 0x3fn }), fc.uint8Array({ maxLength: 8 })).map(([t, b]) =>
      encodeVarintFrame(t, b)
    ),
    fc.uint8Array({ maxLength: 12 }),
  );
  fc.assert(
    fc.property(
      fc.array(frame, { maxLength: 6 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      (frames, step, client) => {
        try {
          read(concatBytes(...frames), client ? "client" : "server", step);
        } catch (error) {
          assert.ok(error instanceof H3Error, String(error));
        }
      },
    ),
  );
});
