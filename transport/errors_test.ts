import assert from "node:assert/strict";
import {
  CloseCode,
  closeCodeName,
  MAX_REASON_BYTES,
  toTransportError,
  TransportError,
  truncateReason,
} from "./errors.ts";

Deno.test("CloseCode keeps DoQ's values for the first five codes (RFC 9250 §8.4)", () => {
  assert.equal(CloseCode.NO_ERROR, 0x0);
  assert.equal(CloseCode.INTERNAL_ERROR, 0x1);
  assert.equal(CloseCode.PROTOCOL_ERROR, 0x2);
  assert.equal(CloseCode.CANCELLED, 0x3);
  assert.equal(CloseCode.EXCESSIVE_LOAD, 0x4);
  assert.equal(new Set(Object.values(CloseCode)).size, Object.keys(CloseCode).length, "values are unique");
});

Deno.test("closeCodeName() names registered codes and prints others in hex", () => {
  assert.equal(closeCodeName(0x11), "STREAM_LIMIT");
  assert.equal(closeCodeName(0x10c), "0x10c");
});

Deno.test("TransportError carries code, reason, source, retryable and cause", () => {
  const cause = new Error("inner");
  const e = new TransportError(
    CloseCode.MESSAGE_TOO_LARGE,
    "Cannot read message: length 70000 exceeds 65535",
    {
      source: "downstream",
      cause,
    },
  );
  assert.ok(e instanceof Error);
  assert.equal(e.name, "TransportError");
  assert.equal(e.code, 0x10);
  assert.equal(e.codeName, "MESSAGE_TOO_LARGE");
  assert.equal(e.reason, e.message);
  assert.equal(e.source, "downstream");
  assert.equal(e.retryable, false);
  assert.equal(e.cause, cause);
  assert.equal(new TransportError(CloseCode.SHUTDOWN, "Server shutting down").retryable, true);
  assert.equal(new TransportError(CloseCode.SHUTDOWN, "x", { retryable: false }).retryable, false);
});

Deno.test("truncateReason() keeps reasons within MAX_REASON_BYTES on a character boundary", () => {
  const long = "é".repeat(100); // 200 bytes
  const cut = truncateReason(long);
  assert.ok(new TextEncoder().encode(cut).length <= MAX_REASON_BYTES);
  assert.equal(cut, "é".repeat(60));
  assert.equal(truncateReason("short"), "short");
});

Deno.test("toTransportError() keeps TransportErrors and wraps anything else", () => {
  const t = new TransportError(CloseCode.TIMEOUT, "x");
  assert.equal(toTransportError(t), t);
  const wrapped = toTransportError(new TypeError("bad"));
  assert.equal(wrapped.code, CloseCode.INTERNAL_ERROR);
  assert.equal(wrapped.message, "bad");
  assert.equal(toTransportError("text", CloseCode.PROTOCOL_ERROR, "upstream").source, "upstream");
});
