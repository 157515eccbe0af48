import assert from "node:assert/strict";
import fc from "fast-check";
import { CryptoError } from "./errors.ts";
import { sha256 } from "./hashes.ts";
import {
  decodeSecp256k1Signature,
  normalizeSecp256k1PublicKey,
  secp256k1Keypair,
  secp256k1PublicKey,
  secp256k1Recover,
  secp256k1Sign,
  secp256k1Verify,
} from "./secp256k1.ts";
import { hex, loadVectors, toHexString } from "./_test_vectors.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function be32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function beBig(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

interface Wycheproof {
  readonly numberOfTests: number;
  readonly testGroups: readonly {
    readonly publicKey: string;
    readonly tests: readonly {
      readonly tcId: number;
      readonly comment: string;
      readonly flags: readonly string[];
      readonly msg: string;
      readonly sig: string;
      readonly result: "valid" | "invalid" | "acceptable";
    }[];
  }[];
}

Deno.test("secp256k1Verify() follows Wycheproof ecdsa_secp256k1_sha256_p1363 with the low-S rule", () => {
  // tests/vectors/wycheproof_ecdsa_secp256k1_sha256_p1363.json (C2SP/wycheproof). Wycheproof accepts
  // high-S signatures; we do not, so a "valid" high-S vector must fail and its low-S twin must pass.
  const w = loadVectors<Wycheproof>("wycheproof_ecdsa_secp256k1_sha256_p1363.json");
  let count = 0;
  let highS = 0;
  for (const group of w.testGroups) {
    const pub = hex(group.publicKey);
    for (const t of group.tests) {
      count++;
      const hash = sha256(hex(t.msg));
      const sig = hex(t.sig);
      const got = secp256k1Verify(pub, hash, sig);
      const label = `tcId ${t.tcId} ${t.comment}`;
      if (t.result === "invalid") {
        assert.equal(got, false, label);
        continue;
      }
      const s = beBig(sig.subarray(32, 64));
      if (sig.length === 64 && s > N / 2n) {
        highS++;
        assert.equal(got, false, `${label}: high-S must be rejected`);
        assert.throws(
          () => decodeSecp256k1Signature(sig),
          (e) => e instanceof CryptoError && e.code === "HIGH_S",
        );
        const low = Uint8Array.from(sig);
        low.set(be32(N - s), 32);
        assert.equal(secp256k1Verify(pub, hash, low), true, `${label}: low-S twin`);
      } else {
        assert.equal(got, true, label);
      }
    }
  }
  assert.equal(count, w.numberOfTests);
  assert.ok(highS > 0);
});

Deno.test("decodeSecp256k1Signature() names r=0, s=0, r>=n, s>=n, high-S and a bad recovery id", () => {
  const one = be32(1n);
  const code = (sig: Uint8Array) => {
    try {
      decodeSecp256k1Signature(sig);
      return "ok";
    } catch (e) {
      assert.ok(e instanceof CryptoError);
      return e.code;
    }
  };
  const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
  assert.equal(code(cat(be32(0n), one)), "BAD_SIGNATURE");
  assert.equal(code(cat(one, be32(0n))), "BAD_SIGNATURE");
  assert.equal(code(cat(be32(N), one)), "BAD_SIGNATURE");
  assert.equal(code(cat(one, be32(N))), "BAD_SIGNATURE");
  assert.equal(code(cat(one, be32(N / 2n + 1n))), "HIGH_S");
  assert.equal(code(cat(one, one)), "ok");
  assert.equal(code(cat(one, one, new Uint8Array([2]))), "BAD_RECOVERY_ID");
  assert.equal(code(cat(one, one, new Uint8Array([27]))), "BAD_RECOVERY_ID");
  assert.equal(code(new Uint8Array(63)), "BAD_LENGTH");
});

Deno.test("secp256k1Sign() is deterministic (RFC 6979), low-S and recoverable", () => {
  const { publicKey, secretKey } = secp256k1Keypair();
  for (let i = 0; i < 40; i++) {
    const hash = sha256(new Uint8Array([i]));
    const a = secp256k1Sign(secretKey, hash);
    const b = secp256k1Sign(secretKey, hash);
    assert.deepEqual(a, b);
    assert.equal(a.length, 65);
    assert.ok(beBig(a.subarray(32, 64)) <= N / 2n, "low-S");
    assert.equal(secp256k1Verify(publicKey, hash, a), true);
    assert.equal(secp256k1Verify(publicKey, hash, a.subarray(0, 64)), true);
    assert.deepEqual(secp256k1Recover(hash, a), publicKey);
    // The wrong recovery id recovers another key (or none): the 65-byte form must not verify.
    const flipped = Uint8Array.from(a);
    flipped[64] = (flipped[64] ?? 0) ^ 1;
    assert.equal(secp256k1Verify(publicKey, hash, flipped), false);
    try {
      assert.notDeepEqual(secp256k1Recover(hash, flipped), publicKey);
    } catch (e) {
      assert.ok(e instanceof CryptoError);
    }
  }
});

Deno.test("secp256k1Sign() matches a known RFC 6979 answer for secret key 1", () => {
  // Secret key 1 (public key = the generator G) over SHA-256("Satoshi Nakamoto"): the widely published
  // deterministic-signature check used by bitcoinjs, noble and libsecp256k1 test suites.
  const sk = be32(1n);
  assert.equal(
    toHexString(secp256k1PublicKey(sk)),
    "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  );
  const sig = secp256k1Sign(sk, sha256(new TextEncoder().encode("Satoshi Nakamoto")));
  assert.equal(
    toHexString(sig.subarray(0, 64)),
    "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8" +
      "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5",
  );
  assert.equal(sig[64], 1);
});

Deno.test("secp256k1Verify() rejects a public key that is not on the curve", () => {
  const { publicKey, secretKey } = secp256k1Keypair();
  const hash = sha256(new Uint8Array([9]));
  const sig = secp256k1Sign(secretKey, hash);
  const uncompressed = secp256k1PublicKey(secretKey, false);
  const offCurve = Uint8Array.from(uncompressed);
  offCurve[64] = (offCurve[64] ?? 0) ^ 1; // y changed: y^2 != x^3 + 7
  assert.equal(secp256k1Verify(offCurve, hash, sig), false);
  assert.throws(
    () => normalizeSecp256k1PublicKey(offCurve),
    (e) => e instanceof CryptoError && e.code === "BAD_PUBLIC_KEY",
  );
  assert.equal(secp256k1Verify(uncompressed, hash, sig), true);
  assert.deepEqual(normalizeSecp256k1PublicKey(uncompressed), publicKey);
});

Deno.test("decodeSecp256k1Signature() only ever throws CryptoError on random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), (bytes) => {
      try {
        decodeSecp256k1Signature(bytes);
      } catch (e) {
        return e instanceof CryptoError;
      }
      return true;
    }),
    { numRuns: 500 },
  );
});
