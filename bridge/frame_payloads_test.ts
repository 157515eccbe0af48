import assert from "node:assert/strict";
import fc from "fast-check";
import { BridgeError } from "./errors.ts";
import {
  decodeAuth,
  decodeCallHead,
  decodeCancel,
  decodeDiscovery,
  decodeHealth,
  decodeMessageStart,
  decodeRegister,
  decodeResponseHead,
  decodeStatus,
  decodeStreamError,
  encodeAuth,
  encodeCallHead,
  encodeCancel,
  encodeDiscovery,
  encodeHealth,
  encodeMessageStart,
  encodeRegister,
  encodeResponseHead,
  encodeStatus,
  encodeStreamError,
  HealthStatus,
} from "./frame_payloads.ts";

const te = new TextEncoder();

function roundTrip<T>(value: T, enc: (v: T) => Uint8Array, dec: (b: Uint8Array) => T): void {
  const bytes = enc(value);
  const decoded = dec(bytes);
  assert.deepEqual(decoded, value);
  assert.deepEqual(enc(decoded), bytes);
}

Deno.test("GRPC_REQUEST payload round-trips with metadata and binary values", () => {
  roundTrip(
    {
      path: "/ghost.wallet.v1.WalletService/GetBalance",
      timeoutMs: 1500,
      idempotent: true,
      instance: "wallet-1",
      metadata: [["x-trace", te.encode("abc")], ["x-blob-bin", Uint8Array.of(0, 255, 10)]] as const,
    },
    encodeCallHead,
    decodeCallHead,
  );
});

Deno.test("decodeCallHead() rejects a path that is not /Service/Method", () => {
  const bytes = encodeCallHead({
    path: "/nope",
    timeoutMs: 0,
    idempotent: false,
    instance: "",
    metadata: [],
  });
  assert.throws(() => decodeCallHead(bytes), BridgeError);
});

Deno.test("decodeCallHead() rejects a non-ASCII value of a text metadata key", () => {
  const bytes = encodeCallHead({
    path: "/a.B/C",
    timeoutMs: 0,
    idempotent: false,
    instance: "",
    metadata: [["k", Uint8Array.of(1)]],
  });
  assert.throws(() => decodeCallHead(bytes), BridgeError);
});

Deno.test("the other call payloads round-trip", () => {
  roundTrip({ metadata: [["a", te.encode("b")]] as const }, encodeResponseHead, decodeResponseHead);
  roundTrip({ length: 10, chunk: Uint8Array.of(1, 2, 3) }, encodeMessageStart, (b) => {
    const m = decodeMessageStart(b);
    return { length: m.length, chunk: m.chunk.slice() };
  });
  roundTrip(
    { code: 5, message: "not found: ü", metadata: [["t", te.encode("1")]] as const, notProcessed: true },
    encodeStatus,
    decodeStatus,
  );
  roundTrip(4, encodeCancel, decodeCancel);
  roundTrip({ code: 3, message: "too big" }, encodeStreamError, decodeStreamError);
});

Deno.test("control payloads round-trip", () => {
  const instance = { service: "s.S", version: "1.0", endpoint: "http://127.0.0.1:5000", instanceId: "i1" };
  roundTrip({ op: "register" as const, instance }, encodeRegister, decodeRegister);
  roundTrip({ op: "deregister" as const, instance }, encodeRegister, decodeRegister);
  roundTrip({ op: "query" as const, service: "s.S" }, encodeDiscovery, decodeDiscovery);
  roundTrip(
    { op: "answer" as const, instances: [{ ...instance, health: HealthStatus.SERVING }] },
    encodeDiscovery,
    decodeDiscovery,
  );
  roundTrip({ op: "query" as const, service: "" }, encodeHealth, decodeHealth);
  roundTrip(
    { op: "answer" as const, service: "x", status: HealthStatus.NOT_SERVING },
    encodeHealth,
    decodeHealth,
  );
  const k = new Uint8Array(32).fill(7);
  roundTrip({ step: "hello" as const, publicKey: k, nonce: k }, encodeAuth, decodeAuth);
  roundTrip(
    {
      step: "challenge" as const,
      publicKey: k,
      nonce: k,
      observedHost: "::1",
      observedPort: 4433,
      signature: new Uint8Array(64),
    },
    encodeAuth,
    decodeAuth,
  );
  roundTrip(
    { step: "proof" as const, host: "127.0.0.1", port: 1, signature: new Uint8Array(64).fill(1) },
    encodeAuth,
    decodeAuth,
  );
});

Deno.test("payload decoders: random bytes only ever produce BridgeError (property)", () => {
  const decoders = [
    decodeCallHead,
    decodeResponseHead,
    decodeMessageStart,
    decodeStatus,
    decodeCancel,
    decodeStreamError,
    decodeRegister,
    decodeDiscovery,
    decodeHealth,
    decodeAuth,
  ];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(decoders.length - 1), (bytes, i) => {
      try {
        decoders[i]?.(bytes);
      } catch (e) {
        if (!(e instanceof BridgeError)) throw e;
      }
    }),
    { numRuns: 5000 },
  );
});
