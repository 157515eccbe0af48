import assert from "node:assert/strict";
import fc from "fast-check";
import { ed25519Keypair } from "./ed25519.ts";
import { SignatureError } from "./errors.ts";
import type { SigningKey } from "./public_key.ts";
import { secp256k1Keypair } from "./secp256k1.ts";
import {
  decodeSignedMessage,
  encodeSignedMessage,
  SigningDomain,
  type SigningDomainName,
  signingPayload,
  signMessage,
  verifyPayload,
  verifySignedMessage,
} from "./signed_message.ts";

const DOMAINS = Object.keys(SigningDomain) as SigningDomainName[];
const KEYS: SigningKey[] = [
  { type: "ed25519", secretKey: ed25519Keypair().secretKey },
  { type: "secp256k1", secretKey: secp256k1Keypair().secretKey },
];

Deno.test("signMessage() signatures verify in their own domain only: every cross-domain replay fails", async () => {
  const msg = new TextEncoder().encode("challenge 8f3a");
  for (const key of KEYS) {
    for (const d of DOMAINS) {
      const signed = signMessage(d, msg, key);
      assert.equal((await verifySignedMessage(signed, d)).verified, true);
      for (const other of DOMAINS.filter((x) => x !== d)) {
        // The honest envelope is refused for the wrong expected domain...
        await assert.rejects(
          () => verifySignedMessage(signed, other),
          (e) => e instanceof SignatureError && e.code === "WRONG_DOMAIN",
        );
        // ...and relabeling the envelope does not help: the signature covers the domain tag.
        await assert.rejects(
          () => verifySignedMessage({ ...signed, domain: other }, other),
          (e) => e instanceof SignatureError && e.code === "BAD_SIGNATURE",
        );
        assert.equal(await verifyPayload(other, msg, signed.signer, signed.signature), false);
      }
    }
  }
});

Deno.test("signingPayload() prefixes a length-tagged domain and a length-prefixed message", () => {
  const p = signingPayload("TRANSACTION", new Uint8Array([0xaa, 0xbb]));
  const tag = "ghostchain/v1/transaction";
  assert.equal(p[0], tag.length);
  assert.equal(new TextDecoder().decode(p.subarray(1, 1 + tag.length)), tag);
  assert.deepEqual([...p.subarray(1 + tag.length)], [0, 0, 0, 2, 0xaa, 0xbb]);
  // Context changes the tag; the raw message alone is never what gets signed.
  assert.notDeepEqual(
    signingPayload("TRANSACTION", new Uint8Array(), "multisig:x"),
    signingPayload("TRANSACTION", new Uint8Array()),
  );
});

Deno.test("a tampered message or signer fails with BAD_SIGNATURE", async () => {
  for (const key of KEYS) {
    const signed = signMessage("PROXY_TOKEN", new TextEncoder().encode("token"), key);
    await assert.rejects(
      () => verifySignedMessage({ ...signed, message: new TextEncoder().encode("tokem") }, "PROXY_TOKEN"),
      (e) => e instanceof SignatureError && e.code === "BAD_SIGNATURE",
    );
  }
});

Deno.test("encodeSignedMessage() round-trips through decodeSignedMessage() at an offset", async () => {
  for (const key of KEYS) {
    const signed = signMessage("BRIDGE_CHALLENGE", crypto.getRandomValues(new Uint8Array(77)), key);
    const enc = encodeSignedMessage(signed);
    const framed = new Uint8Array([9, 9, ...enc, 7]);
    const [decoded, next] = decodeSignedMessage(framed, 2);
    assert.equal(next, 2 + enc.length);
    assert.deepEqual(encodeSignedMessage(decoded), enc);
    assert.equal((await verifySignedMessage(decoded, "BRIDGE_CHALLENGE")).verified, true);
    for (let cut = 0; cut < enc.length; cut++) {
      assert.throws(
        () => decodeSignedMessage(enc.subarray(0, cut)),
        (e) => e instanceof SignatureError && e.code === "MALFORMED",
      );
    }
  }
  const big = encodeSignedMessage(signMessage("WALLET_MESSAGE", new Uint8Array(100), KEYS[0] as SigningKey));
  assert.throws(
    () => decodeSignedMessage(big, 0, { maxMessageLength: 99 }),
    (e) => e instanceof SignatureError && e.code === "MALFORMED",
  );
});

Deno.test("decodeSignedMessage() only ever throws SignatureError on random bytes", () => {
  const valid = encodeSignedMessage(
    signMessage("WALLET_MESSAGE", new Uint8Array([1, 2, 3]), KEYS[0] as SigningKey),
  );
  const ok = (b: Uint8Array) => {
    try {
      decodeSignedMessage(b);
      return true;
    } catch (e) {
      return e instanceof SignatureError;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), ok), { numRuns: 1000 });
  fc.assert(
    fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
      const m = Uint8Array.from(valid);
      m[i] = v;
      return ok(m);
    }),
    { numRuns: 1000 },
  );
  // A valid header followed by random bytes.
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 150 }),
      (tail) => ok(new Uint8Array([...valid.subarray(0, 6), ...tail])),
    ),
    { numRuns: 500 },
  );
});
