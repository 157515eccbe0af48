import assert from "node:assert/strict";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { encodeLengthPrefixed, TransportError } from "../../transport/mod.ts";
import { query } from "../_test_util.ts";
import { decodeDoqQuery, DoqError, DoqErrorCode } from "./doq_codec.ts";
import { encodeMessage } from "./message_codec.ts";

const isProtocolError = (e: unknown): boolean =>
  e instanceof DoqError && e.code === DoqErrorCode.PROTOCOL_ERROR;

Deno.test("decodeDoqQuery() returns the message of a well-formed stream", () => {
  const q = query("a.test", "A", { id: 0 });
  assert.deepEqual(decodeDoqQuery(encodeLengthPrefixed(q, 2)), q);
});

Deno.test("decodeDoqQuery() rejects a non-zero Message ID (RFC 9250 §4.2.1)", () => {
  assert.throws(
    () => decodeDoqQuery(encodeLengthPrefixed(query("a.test", "A", { id: 1 }), 2)),
    isProtocolError,
  );
});

Deno.test("decodeDoqQuery() rejects bytes after the query, a short prefix and a cut message", () => {
  const framed = encodeLengthPrefixed(query("a.test", "A", { id: 0 }), 2);
  assert.throws(() => decodeDoqQuery(Uint8Array.from([...framed, 0])), isProtocolError);
  assert.throws(() => decodeDoqQuery(Uint8Array.of(0)), isProtocolError);
  assert.throws(() => decodeDoqQuery(framed.subarray(0, framed.length - 1)), isProtocolError);
  assert.throws(() => decodeDoqQuery(encodeLengthPrefixed(Uint8Array.of(0, 0, 0), 2)), isProtocolError);
});

Deno.test("decodeDoqQuery() rejects edns-tcp-keepalive (RFC 9250 §5.5.2)", () => {
  const q = encodeMessage({
    id: 0,
    type: "query",
    questions: [{ name: "a.test", type: "A", class: "IN" }],
    additionals: [{
      name: ".",
      type: "OPT",
      udpPayloadSize: 1232,
      flags: 0,
      options: [{ code: 11, data: Buffer.alloc(0) }],
    }],
  });
  assert.throws(() => decodeDoqQuery(encodeLengthPrefixed(q, 2)), isProtocolError);
});

Deno.test("decodeDoqQuery() throws only DoqError on random streams (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeDoqQuery(bytes);
      } catch (e) {
        if (!(e instanceof DoqError) || !(e instanceof TransportError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});
