// The HTTP/2 connection core without sockets: a client and a server wired back to back, and raw frames thrown at a
// server to check each rule of RFC 9113 and each flood defence.
import assert from "node:assert/strict";
import fc from "fast-check";
import { Http2Connection, type Http2Event, type Http2Limits } from "./connection.ts";
import {
  CLIENT_PREFACE,
  encodeFrame,
  encodeGoaway,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  ErrorCode,
  Flag,
  FrameDecoder,
  FrameType,
  SettingId,
} from "./frame.ts";
import { type HeaderField, HpackEncoder } from "./hpack.ts";

const REQUEST: HeaderField[] = [[":method", "POST"], [":scheme", "http"], [":path", "/a.B/C"], [
  ":authority",
  "x",
], [
  "content-type",
  "application/grpc",
]];

/** Moves bytes both ways until neither side has output; returns the events of each. */
function pump(a: Http2Connection, b: Http2Connection, now = 0): { a: Http2Event[]; b: Http2Event[] } {
  const ea: Http2Event[] = [];
  const eb: Http2Event[] = [];
  for (let i = 0; i < 100; i++) {
    const fromA = a.takeOutput();
    const fromB = b.takeOutput();
    if (fromA.length === 0 && fromB.length === 0) break;
    if (fromA.length > 0) b.receive(fromA, now);
    if (fromB.length > 0) a.receive(fromB, now);
  }
  for (let e = a.poll(); e !== undefined; e = a.poll()) ea.push(e);
  for (let e = b.poll(); e !== undefined; e = b.poll()) eb.push(e);
  return { a: ea, b: eb };
}

function pair(server: Partial<Http2Limits> = {}, client: Partial<Http2Limits> = {}) {
  const c = new Http2Connection({ role: "client", limits: client });
  const s = new Http2Connection({ role: "server", limits: server });
  const first = pump(c, s);
  assert.ok(first.a.some((e) => e.type === "ready") && first.b.some((e) => e.type === "ready"));
  return { c, s };
}

/** A server that has read a client preface and SETTINGS from raw bytes. */
function rawServer(
  limits: Partial<Http2Limits> = {},
): {
  s: Http2Connection;
  send: (b: Uint8Array, now?: number) => Http2Event[];
  frames: () => { type: number; streamId: number; payload: Uint8Array; flags: number }[];
} {
  const s = new Http2Connection({ role: "server", limits });
  const dec = new FrameDecoder(1 << 24);
  s.receive(CLIENT_PREFACE, 0);
  s.receive(encodeSettings([]), 0);
  s.takeOutput();
  while (s.poll() !== undefined) { /* drain */ }
  return {
    s,
    send: (b, now = 0) => {
      s.receive(b, now);
      const out: Http2Event[] = [];
      for (let e = s.poll(); e !== undefined; e = s.poll()) out.push(e);
      return out;
    },
    frames: () => dec.push(s.takeOutput()),
  };
}

function goawayCode(frames: { type: number; payload: Uint8Array }[]): number | undefined {
  const g = frames.find((f) => f.type === FrameType.GOAWAY);
  return g === undefined ? undefined : new DataView(g.payload.buffer, g.payload.byteOffset).getUint32(4);
}

function rstCodes(frames: { type: number; streamId: number; payload: Uint8Array }[]): [number, number][] {
  return frames.filter((f) => f.type === FrameType.RST_STREAM).map((f) => [
    f.streamId,
    new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0),
  ]);
}

Deno.test("a request and a response with data and trailers cross a client-server pair in order", () => {
  const { c, s } = pair();
  const id = c.request(REQUEST, false);
  assert.equal(c.sendData(id, new TextEncoder().encode("hello"), true), 5);
  const r1 = pump(c, s);
  assert.deepEqual(r1.b.map((e) => e.type), ["headers", "data"]);
  const head = r1.b[0];
  assert.ok(head?.type === "headers" && head.initial && head.streamId === 1);
  assert.deepEqual(head.headers, REQUEST);
  const data = r1.b[1];
  assert.ok(data?.type === "data" && data.endStream && new TextDecoder().decode(data.data) === "hello");
  s.sendHeaders(id, [[":status", "200"], ["content-type", "application/grpc"]], false);
  s.sendData(id, new Uint8Array([1, 2, 3]), false);
  s.sendHeaders(id, [["grpc-status", "0"]], true);
  const r2 = pump(c, s);
  assert.deepEqual(r2.a.map((e) => e.type), ["headers", "data", "headers"]);
  const trailers = r2.a[2];
  assert.ok(trailers?.type === "headers" && !trailers.initial && trailers.endStream);
  assert.equal(c.activeStreams, 0);
  assert.equal(s.activeStreams, 0);
});

Deno.test("flow control: a sender stops at the receiver's window and resumes only when the reader consumed", () => {
  const { c, s } = pair({ streamWindow: 16_384, connectionWindow: 1 << 20 });
  const id = c.request(REQUEST, false);
  pump(c, s);
  const big = new Uint8Array(100_000);
  let sent = c.sendData(id, big, true);
  assert.equal(sent, 16_384, "stream window");
  let got = 0;
  for (let round = 0; round < 50 && got < big.length; round++) {
    const ev = pump(c, s);
    for (const e of ev.b) {
      if (e.type === "data") {
        got += e.data.length;
        s.consumed(id, e.data.length); // the application read it
      }
    }
    pump(c, s);
    sent += c.sendData(id, big.subarray(sent), true);
  }
  assert.equal(got, big.length);
});

Deno.test("DATA beyond the advertised window is a FLOW_CONTROL_ERROR", () => {
  const { send, frames } = rawServer({ streamWindow: 100, connectionWindow: 65_535 });
  const h = new HpackEncoder().encode(REQUEST);
  send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, h));
  send(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(200)));
  const f = frames();
  assert.ok(
    goawayCode(f) === ErrorCode.FLOW_CONTROL_ERROR ||
      rstCodes(f).some(([, c]) => c === ErrorCode.FLOW_CONTROL_ERROR),
  );
});

Deno.test("a wrong preface and a first frame other than SETTINGS are PROTOCOL_ERRORs", () => {
  const s = new Http2Connection({ role: "server" });
  s.receive(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  assert.equal(goawayCode(new FrameDecoder(1 << 24).push(s.takeOutput())), ErrorCode.PROTOCOL_ERROR);
  assert.ok(s.closed);
  const t = new Http2Connection({ role: "server" });
  t.receive(CLIENT_PREFACE, 0);
  t.receive(encodePing(new Uint8Array(8)), 0);
  assert.equal(goawayCode(new FrameDecoder(1 << 24).push(t.takeOutput())), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("rapid reset (CVE-2023-44487): opening and resetting streams in a loop ends in ENHANCE_YOUR_CALM", () => {
  const { send, frames, s } = rawServer({ resetsPerSecond: 50 });
  const enc = new HpackEncoder();
  let events = 0;
  for (let i = 0; i < 1000 && !s.closed; i++) {
    const id = 2 * i + 1;
    events += send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, id, enc.encode(REQUEST)), 10).length;
    send(encodeRstStream(id, ErrorCode.CANCEL), 10);
  }
  assert.ok(s.closed);
  assert.equal(goawayCode(frames()), ErrorCode.ENHANCE_YOUR_CALM);
  assert.ok(events <= 110, `${events} streams reached the application`);
});

Deno.test("CONTINUATION flood: a header block that never ends is cut off", () => {
  const { send, frames, s } = rawServer({ maxContinuations: 32 });
  send(encodeFrame(FrameType.HEADERS, 0, 1, new HpackEncoder().encode(REQUEST.slice(0, 1))));
  for (let i = 0; i < 100 && !s.closed; i++) {
    send(encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array([0x40, 1, 0x61, 1, 0x62])));
  }
  assert.equal(goawayCode(frames()), ErrorCode.ENHANCE_YOUR_CALM);
});

Deno.test("HPACK bomb: a small block that decodes past SETTINGS_MAX_HEADER_LIST_SIZE ends the connection", () => {
  const { send, frames } = rawServer({ maxHeaderListSize: 16_384 });
  const enc = new HpackEncoder();
  const block = enc.encode([
    ...REQUEST,
    ...Array.from({ length: 100 }, () => ["x-bomb", "b".repeat(1000)] as HeaderField),
  ]);
  assert.ok(block.length < 3000);
  send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block));
  assert.equal(goawayCode(frames()), ErrorCode.ENHANCE_YOUR_CALM);
});

Deno.test("SETTINGS, PING and empty DATA floods end in ENHANCE_YOUR_CALM", () => {
  for (const flood of ["settings", "ping", "empty"] as const) {
    const { send, frames, s } = rawServer({ controlFramesPerSecond: 20, emptyFramesPerSecond: 20 });
    if (flood === "empty") {
      send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, new HpackEncoder().encode(REQUEST)));
    }
    for (let i = 0; i < 500 && !s.closed; i++) {
      send(
        flood === "settings"
          ? encodeSettings([[SettingId.MAX_CONCURRENT_STREAMS, 10]])
          : flood === "ping"
          ? encodePing(new Uint8Array(8))
          : encodeFrame(FrameType.DATA, 0, 1),
        5,
      );
    }
    assert.equal(goawayCode(frames()), ErrorCode.ENHANCE_YOUR_CALM, flood);
  }
});

Deno.test("streams beyond SETTINGS_MAX_CONCURRENT_STREAMS are refused with REFUSED_STREAM", () => {
  const { send, frames } = rawServer({ maxConcurrentStreams: 2 });
  const enc = new HpackEncoder();
  const ev = [1, 3, 5].flatMap((id) =>
    send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, id, enc.encode(REQUEST)))
  );
  assert.equal(ev.filter((e) => e.type === "headers").length, 2);
  assert.deepEqual(rstCodes(frames()), [[5, ErrorCode.REFUSED_STREAM]]);
});

Deno.test("malformed requests are reset with PROTOCOL_ERROR and never reach the application (RFC 9113 §8.2)", () => {
  const cases: HeaderField[][] = [
    [...REQUEST, ["Content-Length", "1"]],
    [...REQUEST, ["connection", "keep-alive"]],
    [...REQUEST, ["te", "gzip"]],
    [["x-a", "1"], ...REQUEST],
    [[":method", "POST"], [":path", "/x"]],
    [...REQUEST, [":method", "GET"]],
    [...REQUEST.slice(0, 4), [":foo", "bar"]],
  ];
  const { send, frames } = rawServer();
  const enc = new HpackEncoder();
  cases.forEach((fields, i) => {
    const ev = send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 2 * i + 1, enc.encode(fields)));
    assert.deepEqual(ev, [], JSON.stringify(fields));
  });
  assert.deepEqual(rstCodes(frames()).map(([, c]) => c), cases.map(() => ErrorCode.PROTOCOL_ERROR));
});

Deno.test("a request body that disagrees with its Content-Length is reset, not delivered (RFC 9113 §8.1.1)", () => {
  const { send, frames } = rawServer();
  const enc = new HpackEncoder();
  const head = (id: number, length: string, end = false) =>
    send(encodeFrame(
      FrameType.HEADERS,
      Flag.END_HEADERS | (end ? Flag.END_STREAM : 0),
      id,
      enc.encode([
        ...REQUEST,
        ["content-length", length],
      ]),
    ));
  const data = (id: number, n: number, end: boolean) =>
    send(encodeFrame(FrameType.DATA, end ? Flag.END_STREAM : 0, id, new Uint8Array(n)));
  const kinds = (events: Http2Event[]) => events.map((e) => e.type === "reset" ? `reset:${e.code}` : e.type);
  const reset = `reset:${ErrorCode.PROTOCOL_ERROR}`;
  // Exactly the declared length: delivered.
  assert.deepEqual(kinds(head(1, "3")), ["headers"]);
  const ok = data(1, 3, true);
  assert.deepEqual(ok.map((e) => e.type === "data" ? [e.data.length, e.endStream] : e.type), [[3, true]]);
  // Too much: reset before the extra byte reaches the application.
  head(3, "2");
  assert.deepEqual(kinds(data(3, 3, false)), [reset]);
  // Too little at END_STREAM.
  head(5, "4");
  assert.deepEqual(kinds(data(5, 1, false)), ["data"]);
  assert.deepEqual(kinds(data(5, 1, true)), [reset]);
  // END_STREAM on the headers with a length > 0, a length that is not a number, two values that disagree: the
  // request never reaches the application.
  assert.deepEqual(head(7, "4", true), []);
  assert.deepEqual(head(9, "1x"), []);
  assert.deepEqual(head(11, "1, 2"), []);
  assert.deepEqual(rstCodes(frames()), [3, 5, 7, 9, 11].map((id) => [id, ErrorCode.PROTOCOL_ERROR]));
});

Deno.test("trailers that do not end the stream, and even client stream ids, are errors", () => {
  const { send, frames } = rawServer();
  const enc = new HpackEncoder();
  send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, enc.encode(REQUEST)));
  send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, enc.encode([["x-trailer", "1"]])));
  assert.deepEqual(rstCodes(frames()), [[1, ErrorCode.PROTOCOL_ERROR]]);
  send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 4, enc.encode(REQUEST)));
  assert.equal(goawayCode(frames()), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("GOAWAY: the server finishes open streams, refuses new ones, and the client learns which it may retry", () => {
  const { c, s } = pair();
  const a = c.request(REQUEST, true);
  pump(c, s);
  s.goaway();
  const b = c.request(REQUEST, true);
  const ev = pump(c, s);
  assert.ok(ev.a.some((e) => e.type === "goaway"));
  assert.ok(ev.a.some((e) => e.type === "reset" && e.streamId === b && e.code === ErrorCode.REFUSED_STREAM));
  s.sendHeaders(a, [[":status", "200"]], true);
  const done = pump(c, s);
  assert.ok(done.a.some((e) => e.type === "headers" && e.streamId === a && e.endStream));
  assert.ok(s.closed);
});

Deno.test("WINDOW_UPDATE overflow and a zero increment are flow-control and protocol errors", () => {
  const { send, frames } = rawServer();
  send(encodeWindowUpdate(0, 0x7fffffff));
  assert.equal(goawayCode(frames()), ErrorCode.FLOW_CONTROL_ERROR);
  const r = rawServer();
  r.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, new Uint8Array(4)));
  assert.equal(goawayCode(r.frames()), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("the server core takes any bytes after the preface without throwing (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const { s } = rawServer();
      for (const chunk of chunks) s.receive(chunk, 0);
      for (let e = s.poll(); e !== undefined; e = s.poll()) assert.ok(e.type !== undefined);
      s.takeOutput();
    }),
    { numRuns: 500 },
  );
  // Valid frame headers with random types, flags, streams and payloads.
  const frame = fc.record({
    type: fc.integer({ min: 0, max: 12 }),
    flags: fc.integer({ min: 0, max: 255 }),
    stream: fc.integer({ min: 0, max: 9 }),
    payload: fc.uint8Array({ maxLength: 40 }),
  });
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 30 }), (frames) => {
      const { s } = rawServer();
      for (const f of frames) s.receive(encodeFrame(f.type, f.flags, f.stream, f.payload), 0);
      while (s.poll() !== undefined) { /* drain */ }
    }),
    { numRuns: 1000 },
  );
  assert.ok(encodeGoaway(0, 0).length === 17);
});
