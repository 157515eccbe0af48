import assert from "node:assert/strict";
import fc from "fast-check";
import { EnsNameError, namehash, normalizeEnsName } from "./ens_name.ts";
import {
  AbiDecodeError,
  bytesToHex,
  decodeAddress,
  decodeBytes,
  decodeString,
  encodeCall,
  hexToBytes,
} from "./eth_abi.ts";

Deno.test("namehash() matches the ENSIP-1 vectors", () => {
  assert.equal(bytesToHex(namehash("")), "0x" + "00".repeat(32));
  assert.equal(
    bytesToHex(namehash("eth")),
    "0x93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae",
  );
  assert.equal(
    bytesToHex(namehash("foo.eth")),
    "0xde9b09fd7c5f901e23a3f19fecc54828e9c848539801e86591bd9801b019f84f",
  );
});

Deno.test("normalizeEnsName() applies ENSIP-15 and refuses what it disallows", () => {
  assert.equal(normalizeEnsName("Alice.ETH"), "alice.eth");
  assert.equal(normalizeEnsName("ⓐlice.eth"), "alice.eth");
  assert.throws(() => normalizeEnsName("a_b.eth"), EnsNameError); // "_" only leads a label
  assert.throws(() => normalizeEnsName("a..eth"), EnsNameError);
});

Deno.test("encodeCall() lays out a selector, a bytes32 and a string per the ABI", () => {
  const node = new Uint8Array(32).fill(1);
  const data = encodeCall("text(bytes32,string)", node, "url");
  // selector(4) + node(32) + offset(32) + length(32) + "url" padded to 32
  assert.equal(data.length, 4 + 32 * 4);
  assert.equal(bytesToHex(data.subarray(0, 4)), "0x59d1d43c");
  assert.equal(data[4 + 32 + 31], 64);
  assert.equal(data[4 + 64 + 31], 3);
  assert.equal(new TextDecoder().decode(data.subarray(4 + 96, 4 + 99)), "url");
});

Deno.test("ABI decoders check every offset and length against the data and the bound", () => {
  const w = (n: number) => {
    const b = new Uint8Array(32);
    new DataView(b.buffer).setUint32(28, n);
    return b;
  };
  const ok = new Uint8Array([...w(32), ...w(3), 0x61, 0x62, 0x63, ...new Uint8Array(29)]);
  assert.equal(decodeString(ok, 10), "abc");
  assert.throws(() => decodeBytes(ok, 2), AbiDecodeError);
  assert.throws(() => decodeBytes(new Uint8Array([...w(32), ...w(1000)]), 2000), AbiDecodeError);
  assert.throws(() => decodeBytes(new Uint8Array([...w(4096)]), 10), AbiDecodeError);
  const bigOffset = new Uint8Array(64).fill(0xff);
  assert.throws(() => decodeBytes(bigOffset, 10), AbiDecodeError);
  assert.throws(() => decodeAddress(new Uint8Array(32).fill(0xff)), AbiDecodeError);
  assert.throws(() => hexToBytes("0x123", 10), AbiDecodeError);
  assert.throws(() => hexToBytes(42, 10), AbiDecodeError);
  assert.throws(() => hexToBytes("0x" + "00".repeat(11), 10), AbiDecodeError);
});

Deno.test("ABI decoders: random bytes only ever give AbiDecodeError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (
        const f of [() => decodeBytes(bytes, 64), () => decodeString(bytes, 64), () => decodeAddress(bytes)]
      ) {
        try {
          f();
        } catch (e) {
          if (!(e instanceof AbiDecodeError)) throw e;
        }
      }
    }),
    { numRuns: 500 },
  );
});
