// Property tests for what a peer controls outside the frame codec: gRPC metadata and grpc-timeout, grpc-message
// escapes, and the auth transcript's stated addresses.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  formatGrpcTimeout,
  headersToMetadata,
  metadataToHeaders,
  parseGrpcTimeout,
} from "./grpc_metadata.ts";
import {
  authTranscript,
  CLIENT_PROOF_DOMAIN,
  clientAddressMatches,
  normalizeHost,
} from "./auth_transcript.ts";

Deno.test("parseGrpcTimeout() gives a positive deadline or undefined on any text; round-trips formatGrpcTimeout() (property)", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), (text) => {
      const ms = parseGrpcTimeout(text);
      assert.ok(ms === undefined || (Number.isFinite(ms) && ms >= 1), String(ms));
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (ms) => {
    const back = parseGrpcTimeout(formatGrpcTimeout(ms));
    assert.ok(back !== undefined && back >= ms, `${ms} -> ${formatGrpcTimeout(ms)} -> ${back}`);
  }));
});

Deno.test("grpc-message decodes any text and round-trips any message (property)", () => {
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (text) => {
    assert.equal(typeof decodeGrpcMessage(text), "string");
  }));
  fc.assert(fc.property(fc.string({ maxLength: 100, unit: "grapheme" }), (message) => {
    const wire = encodeGrpcMessage(message);
    assert.ok(/^[\x20-\x7e]*$/.test(wire));
    assert.equal(decodeGrpcMessage(wire), message);
  }));
});

Deno.test("headersToMetadata() takes any header set without throwing, and -bin values round-trip (property)", () => {
  const name = fc.stringMatching(/^[a-z0-9_.-]{1,20}$/);
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
  );
  fc.assert(
    fc.property(fc.dictionary(name, value), (headers) => {
      const md = headersToMetadata(headers);
      metadataToHeaders(md);
    }),
    { numRuns: 500 },
  );
});

Deno.test("the auth transcript encodes any stated address or rejects it with a RangeError (property)", () => {
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  fc.assert(
    fc.property(
      fc.string({ maxLength: 300 }),
      fc.string({ maxLength: 300 }),
      fc.integer({ min: 0, max: 65535 }),
      bytes32,
      (serverName, clientHost, port, nonce) => {
        try {
          const t = authTranscript(CLIENT_PROOF_DOMAIN, {
            alpn: "ghostbridge/1",
            serverName,
            serverPort: port,
            clientHost,
            clientPort: port,
            clientNonce: nonce,
            serverNonce: nonce,
            clientKey: nonce,
            serverKey: nonce,
          });
          assert.ok(t.length > 4 * 32);
        } catch (error) {
          assert.ok(error instanceof RangeError || error instanceof TypeError, String(error));
        }
        assert.equal(typeof normalizeHost(clientHost), "string");
        assert.equal(clientAddressMatches({ host: clientHost, port }, { host: clientHost, port }), true);
      },
    ),
    { numRuns: 500 },
  );
});
