import assert from "node:assert/strict";
import fc from "fast-check";
import { AddressError } from "./errors.ts";
import { ethereumAddress, parseEthereumAddress, toChecksumAddress } from "./ethereum_address.ts";
import { secp256k1PublicKey } from "./secp256k1.ts";
import { hex } from "./_test_vectors.ts";

// EIP-55 "Test Cases" (github.com/ethereum/EIPs EIPS/eip-55.md): all caps, all lower, normal.
const EIP55 = [
  "0x52908400098527886E0F7030069857D2E4169EE7",
  "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
  "0xde709f2102306220921060314715629080e2fb77",
  "0x27b1fdb04752bbc536007a920d24acb045561c26",
  "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
  "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
  "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
  "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
];

Deno.test("toChecksumAddress() reproduces the EIP-55 test cases", () => {
  for (const a of EIP55) {
    assert.equal(toChecksumAddress(parseEthereumAddress(a)), a);
    assert.deepEqual(parseEthereumAddress(a.toLowerCase()), parseEthereumAddress(a));
  }
});

Deno.test("ethereumAddress() of the Web3 Secret Storage test key is 0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b", () => {
  const pub = secp256k1PublicKey(hex("7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"));
  assert.equal(ethereumAddress(pub), "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b");
});

Deno.test("parseEthereumAddress() rejects a wrong checksum and malformed input with AddressError", () => {
  const bad = (EIP55[4] ?? "").replace("a", "A");
  assert.throws(
    () => parseEthereumAddress(bad),
    (e) => e instanceof AddressError && e.code === "BAD_CHECKSUM",
  );
  assert.throws(
    () => parseEthereumAddress("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    (e) => e instanceof AddressError && e.code === "MISSING_SEPARATOR",
  );
  assert.throws(
    () => parseEthereumAddress("0x1234"),
    (e) => e instanceof AddressError && e.code === "BAD_LENGTH",
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), (s) => {
      try {
        parseEthereumAddress(s);
        return true;
      } catch (e) {
        return e instanceof AddressError;
      }
    }),
    { numRuns: 500 },
  );
});
