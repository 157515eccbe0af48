import assert from "node:assert/strict";
import fc from "fast-check";
import { bech32, bech32m } from "@scure/base";
import {
  ADDRESS_HRP,
  addressFromPayload,
  addressFromPublicKey,
  addressPayload,
  parseAddress,
} from "./address.ts";
import { ed25519Keypair } from "./ed25519.ts";
import { AddressError } from "./errors.ts";
import { blake3 } from "./hashes.ts";
import { parsePublicKey } from "./public_key.ts";
import { secp256k1Keypair } from "./secp256k1.ts";

function code(input: unknown): string {
  try {
    parseAddress(input);
    return "ok";
  } catch (e) {
    assert.ok(e instanceof AddressError, String(e));
    return e.code;
  }
}

Deno.test("addressFromPublicKey() is bech32m('ghost', BLAKE3(type byte || key)[0..20]) and parses back", () => {
  const ed = parsePublicKey("ed25519", ed25519Keypair().publicKey);
  const a = addressFromPublicKey(ed);
  assert.match(a, /^ghost1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{38}$/);
  assert.equal(a.length, 44);
  assert.deepEqual(parseAddress(a).payload, blake3(Uint8Array.from([0x01, ...ed.bytes])).slice(0, 20));
  assert.equal(parseAddress(a.toUpperCase()).address, a);
  const k = parsePublicKey("secp256k1", secp256k1Keypair().publicKey);
  assert.deepEqual(parseAddress(addressFromPublicKey(k)).payload, addressPayload(0x02, k.bytes));
  // The type byte separates key spaces: the same 32 bytes as another type give another address.
  assert.notDeepEqual(addressPayload(0x01, ed.bytes), addressPayload(0x03, ed.bytes));
});

Deno.test("parseAddress() reports prefix, checksum, case, character, length and padding errors by code", () => {
  const a = addressFromPayload(new Uint8Array(20).fill(7));
  assert.equal(code(a), "ok");
  assert.equal(code(42), "NOT_A_STRING");
  assert.equal(code("ghost1"), "BAD_LENGTH");
  assert.equal(code(a.slice(0, 10) + a.slice(10).toUpperCase()), "MIXED_CASE");
  assert.equal(code("ghast" + a.slice(5)), "WRONG_PREFIX");
  assert.equal(code(a.replace("ghost1", "ghostx")), "MISSING_SEPARATOR");
  assert.equal(code(a.slice(0, -1) + (a.endsWith("q") ? "p" : "q")), "BAD_CHECKSUM");
  assert.equal(code(a.slice(0, -1) + "b"), "BAD_CHARACTER");
  assert.equal(code(a + " "), "BAD_CHARACTER");
  // Same payload with a BIP-173 (bech32, not bech32m) checksum.
  assert.equal(code(bech32.encode(ADDRESS_HRP, bech32.toWords(new Uint8Array(20).fill(7)))), "BECH32_NOT_M");
  // A 21-byte payload is a valid bech32m string but not an address.
  assert.equal(code(bech32m.encode(ADDRESS_HRP, bech32m.toWords(new Uint8Array(21)))), "BAD_LENGTH");
  assert.throws(
    () => addressFromPayload(new Uint8Array(21)),
    (e) => e instanceof AddressError && e.code === "BAD_LENGTH",
  );
});

Deno.test("parseAddress() catches every single-character substitution (bech32m guarantee)", () => {
  const a = addressFromPayload(crypto.getRandomValues(new Uint8Array(20)));
  const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  for (let i = 6; i < a.length; i++) {
    for (const c of charset) {
      if (c === a[i]) continue;
      const mutated = a.slice(0, i) + c + a.slice(i + 1);
      assert.notEqual(code(mutated), "ok", mutated);
    }
  }
});

Deno.test("parseAddress() only ever throws AddressError on random input", () => {
  const ok = (v: unknown) => {
    try {
      parseAddress(v);
      return true;
    } catch (e) {
      return e instanceof AddressError;
    }
  };
  fc.assert(fc.property(fc.string({ maxLength: 100 }), ok), { numRuns: 1000 });
  fc.assert(
    fc.property(
      fc.string({
        unit: fc.constantFrom(..."qpzry9x8gf2tvdw0s3jn54khce6mua7l"),
        minLength: 38,
        maxLength: 40,
      }),
      (s) => ok(`ghost1${s}`),
    ),
    { numRuns: 1000 },
  );
  fc.assert(fc.property(fc.anything(), ok), { numRuns: 200 });
});
