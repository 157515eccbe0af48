import assert from "node:assert/strict";
import fc from "fast-check";
import { CallEvent, CallMachine } from "./call_machine.ts";
import { GrpcStatus, StreamErrorCode } from "./errors.ts";
import { encodeFrame, FrameType } from "./frame_codec.ts";
import type { CallHead } from "./frame_payloads.ts";

const HEAD: CallHead = { path: "/t.Echo/Say", timeoutMs: 0, idempotent: false, instance: "", metadata: [] };

/** Moves queued bytes from `a` to `b`. */
function flush(from: CallMachine, to: CallMachine, now = 0): void {
  const bytes = from.pollTransmit();
  if (bytes) to.handleBytes(bytes, now);
}

function events(m: CallMachine): CallEvent[] {
  const out: CallEvent[] = [];
  for (let e = m.pollEvent(); e; e = m.pollEvent()) out.push(e);
  return out;
}

Deno.test("CallMachine: a unary call with metadata and trailers", () => {
  const c = new CallMachine("client");
  const s = new CallMachine("server");
  c.sendHead({ ...HEAD, metadata: [["x-a", new TextEncoder().encode("1")]] }, 0);
  c.sendMessage(Uint8Array.of(1, 2, 3));
  c.halfClose();
  flush(c, s);
  const got = events(s);
  assert.deepEqual(got.map((e) => e.type), ["head", "message", "half_close"]);
  s.sendResponseHead([["x-r", new TextEncoder().encode("2")]]);
  s.sendMessage(Uint8Array.of(9));
  s.sendStatus({
    code: 0,
    message: "",
    metadata: [["x-t", new TextEncoder().encode("3")]],
    notProcessed: false,
  });
  assert.equal(s.done, true);
  flush(s, c);
  const cg = events(c);
  assert.deepEqual(cg.map((e) => e.type), ["response_head", "message", "status"]);
  assert.equal(c.done, true);
  assert.equal(c.responseStarted, true);
});

Deno.test("CallMachine: a 4 MiB message crosses as 65 frames and reassembles", () => {
  const c = new CallMachine("client");
  const s = new CallMachine("server");
  const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
  c.sendHead(HEAD, 0);
  c.sendMessage(big);
  const bytes = c.pollTransmit() ?? new Uint8Array(0);
  // Feed in odd-sized chunks.
  for (let off = 0; off < bytes.length; off += 7777) s.handleBytes(bytes.subarray(off, off + 7777), 0);
  const got = events(s);
  const msg = got.find((e) => e.type === "message");
  assert.ok(msg && msg.type === "message");
  assert.equal(msg.data.length, big.length);
  assert.deepEqual(msg.data.subarray(4_000_000, 4_000_010), big.subarray(4_000_000, 4_000_010));
});

Deno.test("CallMachine: a message over the limit resets the stream with MESSAGE_TOO_LARGE", () => {
  const c = new CallMachine("client");
  const s = new CallMachine("server", { maxMessageBytes: 100 });
  c.sendHead(HEAD, 0);
  c.sendMessage(new Uint8Array(101));
  flush(c, s);
  const got = events(s);
  const last = got.at(-1);
  assert.ok(last?.type === "cancelled" && last.code === GrpcStatus.RESOURCE_EXHAUSTED);
  flush(s, c);
  const cg = events(c);
  assert.ok(cg[0]?.type === "error" && cg[0].error.streamError === StreamErrorCode.MESSAGE_TOO_LARGE);
});

Deno.test("CallMachine: the client deadline cancels with DEADLINE_EXCEEDED on both ends", () => {
  const c = new CallMachine("client");
  const s = new CallMachine("server");
  c.sendHead({ ...HEAD, timeoutMs: 50 }, 1000);
  flush(c, s, 1000);
  events(s);
  assert.equal(c.pollTimeout(), 1050);
  c.handleTimeout(1049);
  assert.equal(c.done, false);
  c.handleTimeout(1050);
  const cg = events(c);
  assert.ok(cg[0]?.type === "status" && cg[0].status.code === GrpcStatus.DEADLINE_EXCEEDED);
  flush(c, s, 1050);
  const sg = events(s);
  assert.ok(sg[0]?.type === "cancelled" && sg[0].code === GrpcStatus.DEADLINE_EXCEEDED);
});

Deno.test("CallMachine: the server deadline ends the call with a DEADLINE_EXCEEDED status", () => {
  const c = new CallMachine("client");
  const s = new CallMachine("server");
  c.sendHead({ ...HEAD, timeoutMs: 10 }, 0);
  flush(c, s, 5); // server clock differs: its deadline is 15
  events(s);
  assert.equal(s.pollTimeout(), 15);
  s.handleTimeout(15);
  assert.ok(events(s)[0]?.type === "cancelled");
  flush(s, c, 6);
  const cg = events(c);
  assert.ok(cg[0]?.type === "status" && cg[0].status.code === GrpcStatus.DEADLINE_EXCEEDED);
});

Deno.test("CallMachine: CANCEL reaches the server as cancelled", () => {
  const c = new CallMachine("client");
  const s = new CallMachine("server");
  c.sendHead(HEAD, 0);
  c.cancel();
  flush(c, s);
  assert.deepEqual(events(s).map((e) => e.type), ["head", "cancelled"]);
  assert.equal(s.sendStatus({ code: 0, message: "", metadata: [], notProcessed: false }), false);
});

Deno.test("CallMachine: a frame out of order answers UNEXPECTED_FRAME", () => {
  const s = new CallMachine("server");
  s.handleBytes(encodeFrame(FrameType.HALF_CLOSE), 0);
  const e = events(s)[0];
  assert.ok(e?.type === "cancelled");
  const c = new CallMachine("client");
  c.sendHead(HEAD, 0);
  c.handleBytes(s.pollTransmit() ?? new Uint8Array(0), 0);
  const ce = events(c)[0];
  assert.ok(ce?.type === "error" && ce.error.streamError === StreamErrorCode.UNEXPECTED_FRAME);
});

Deno.test("CallMachine: FIN before STATUS is a retryable UNAVAILABLE when nothing came back", () => {
  const c = new CallMachine("client");
  c.sendHead(HEAD, 0);
  c.handleEnd(0);
  const e = events(c)[0];
  assert.ok(e?.type === "error" && e.error.code === GrpcStatus.UNAVAILABLE && e.error.retryable);
});

Deno.test("CallMachine: random peer bytes never throw, on either side (property)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("client", "server") as fc.Arbitrary<"client" | "server">,
      fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 5 }),
      (role, chunks) => {
        const m = new CallMachine(role);
        if (role === "client") m.sendHead(HEAD, 0);
        for (const c of chunks) m.handleBytes(Uint8Array.of(1, ...c), 0);
        m.handleEnd(0);
        events(m);
        m.pollTransmit();
      },
    ),
    { numRuns: 2000 },
  );
});
