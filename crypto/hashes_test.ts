import assert from "node:assert/strict";
import fc from "fast-check";
import { blake3, blake3Ready, keccak256, sha256, sha256Async } from "./hashes.ts";
import { loadVectors, toHexString } from "./_test_vectors.ts";

const enc = new TextEncoder();

interface Blake3Vectors {
  readonly cases: readonly { readonly input_len: number; readonly hash: string }[];
}

Deno.test("blake3() matches the official BLAKE3 test_vectors.json hash mode (default and extended output)", async () => {
  // The default output goes through the WebAssembly build once it is ready: check that one.
  assert.equal(await blake3Ready(), true);
  // tests/vectors/blake3_hash.json: BLAKE3-team/BLAKE3 test_vectors/test_vectors.json, key-less "hash".
  const { cases } = loadVectors<Blake3Vectors>("blake3_hash.json");
  assert.ok(cases.length >= 30);
  for (const c of cases) {
    const input = Uint8Array.from({ length: c.input_len }, (_, i) => i % 251);
    assert.equal(toHexString(blake3(input)), c.hash.slice(0, 64), `len ${c.input_len}`);
    assert.equal(toHexString(blake3(input, { dkLen: c.hash.length / 2 })), c.hash, `xof len ${c.input_len}`);
  }
});

// FIPS 180-2 Appendix B / NIST CSRC "SHA256.pdf" example messages.
const NIST_SHA256: readonly [string, string][] = [
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
];

Deno.test("sha256() and sha256Async() give the NIST example digests", async () => {
  for (const [msg, digest] of NIST_SHA256) {
    assert.equal(toHexString(sha256(enc.encode(msg))), digest, msg);
    assert.equal(toHexString(await sha256Async(enc.encode(msg))), digest, msg);
  }
  // FIPS 180-2 B.3: one million repetitions of "a".
  const million = new Uint8Array(1_000_000).fill(0x61);
  const want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  assert.equal(toHexString(sha256(million)), want);
  assert.equal(toHexString(await sha256Async(million)), want);
});

Deno.test("sha256() (noble) and sha256Async() (WebCrypto) agree on random inputs of many lengths", async () => {
  for (const len of [1, 31, 55, 56, 63, 64, 65, 119, 120, 1000, 4096, 65536, 200_001]) {
    const input = Uint8Array.from({ length: len }, (_, i) => (i * 131 + len) & 0xff);
    assert.deepEqual(sha256(input), await sha256Async(input), `len ${len}`);
  }
});

// Keccak-256 known answers used across Ethereum clients (go-ethereum, alloy, ethers test suites).
const KECCAK: readonly [string, string][] = [
  ["", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"],
  ["abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"],
  [
    "The quick brown fox jumps over the lazy dog",
    "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
  ],
];

Deno.test("keccak256() gives the Ethereum Keccak-256 known answers, not SHA3-256", () => {
  for (const [msg, digest] of KECCAK) assert.equal(toHexString(keccak256(enc.encode(msg))), digest, msg);
  // SHA3-256("") is a7ffc6f8...; Keccak's different padding must not produce it.
  assert.notEqual(toHexString(keccak256(new Uint8Array())).slice(0, 8), "a7ffc6f8");
});

Deno.test("blake3(): the WebAssembly fast path and @noble/hashes agree on random inputs", async () => {
  assert.equal(await blake3Ready(), true, "the WebAssembly BLAKE3 did not load");
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), (input) => {
      // dkLen 32 asked explicitly takes the fast path; a 33-byte output goes through @noble/hashes.
      assert.deepEqual(blake3(input, { dkLen: 33 }).subarray(0, 32), blake3(input));
    }),
    { numRuns: 300 },
  );
});
