import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decryptEthKeystoreV3,
  deriveEthKeystoreKey,
  encryptEthKeystoreV3,
  parseEthKeystoreV3,
} from "./eth_keystore_v3.ts";
import { KeystoreError } from "./errors.ts";
import { secp256k1Keypair } from "../crypto/mod.ts";
import { hex, loadVectors, toHexString } from "../crypto/_test_vectors.ts";

interface V3Vectors {
  readonly address: string;
  readonly pbkdf2DerivedKey: string;
  readonly cases: readonly {
    readonly name: string;
    readonly password: string;
    readonly priv: string;
    readonly keystore: unknown;
  }[];
}

const V = loadVectors<V3Vectors>("web3_secret_storage_v3.json");

Deno.test("decryptEthKeystoreV3() opens the Web3 Secret Storage scrypt and PBKDF2 test vectors", async () => {
  // tests/vectors/web3_secret_storage_v3.json: go-ethereum's copy of the Definition's wiki vectors.
  for (const c of V.cases) {
    const key = await decryptEthKeystoreV3(c.keystore, c.password);
    // Keys shorter than 32 bytes (old tools) come back left-padded.
    assert.equal(toHexString(key.expose()), c.priv.padStart(64, "0"), c.name);
    key.wipe();
  }
});

Deno.test("deriveEthKeystoreKey() gives the specification's PBKDF2 intermediate derived key", async () => {
  const c = V.cases.find((x) => x.name === "wikipage_test_vector_pbkdf2");
  assert.ok(c !== undefined);
  const parsed = parseEthKeystoreV3(c.keystore);
  assert.equal(toHexString(await deriveEthKeystoreKey(parsed.kdf, c.password)), V.pbkdf2DerivedKey);
});

Deno.test("decryptEthKeystoreV3() reports a wrong password as WRONG_PASSPHRASE", async () => {
  const c = V.cases.find((x) => x.name === "wikipage_test_vector_pbkdf2");
  await assert.rejects(
    () => decryptEthKeystoreV3(c?.keystore, "testpasswore"),
    (e) => e instanceof KeystoreError && e.code === "WRONG_PASSPHRASE",
  );
});

Deno.test("encryptEthKeystoreV3() round-trips with scrypt and PBKDF2 and writes the address", async () => {
  const { secretKey } = secp256k1Keypair();
  for (const opts of [{ kdf: "scrypt", n: 1024 } as const, { kdf: "pbkdf2", c: 1000 } as const]) {
    const json = await encryptEthKeystoreV3(secretKey, "pw", opts);
    assert.equal(json.version, 3);
    assert.match(json.address, /^[0-9a-f]{40}$/);
    const back = await decryptEthKeystoreV3(JSON.stringify(json), "pw");
    assert.ok(back.equals(secretKey));
    // An address that does not match the key is caught after decryption.
    const forged = { ...json, address: "00".repeat(20) };
    await assert.rejects(
      () => decryptEthKeystoreV3(forged, "pw"),
      (e) => e instanceof KeystoreError && e.code === "TAMPERED",
    );
  }
  // The secret key of the published vectors gives the published address.
  const fromVector = await encryptEthKeystoreV3(
    hex("7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"),
    "x",
    { kdf: "pbkdf2", c: 1 },
  );
  assert.equal(fromVector.address, V.address);
});

Deno.test("parseEthKeystoreV3() bounds KDF parameters and only ever throws KeystoreError", () => {
  const base = V.cases[0]?.keystore as {
    crypto: Record<string, unknown> & { kdfparams: Record<string, unknown> };
  };
  const withParams = (p: Record<string, unknown>) => ({
    ...base,
    crypto: { ...base.crypto, kdfparams: { ...base.crypto.kdfparams, ...p } },
  });
  for (const p of [{ n: 1 << 24 }, { n: 3 }, { r: 0 }, { p: 1000 }, { dklen: 16 }]) {
    assert.throws(
      () => parseEthKeystoreV3(withParams(p)),
      (e) => e instanceof KeystoreError && e.code === "UNSUPPORTED",
      JSON.stringify(p),
    );
  }
  const ok = (v: unknown) => {
    try {
      parseEthKeystoreV3(v);
      return true;
    } catch (e) {
      return e instanceof KeystoreError;
    }
  };
  fc.assert(fc.property(fc.jsonValue(), ok), { numRuns: 300 });
  fc.assert(fc.property(fc.string(), ok), { numRuns: 300 });
  fc.assert(
    fc.property(
      fc.constantFrom("n", "r", "p", "salt", "dklen", "c", "prf"),
      fc.jsonValue(),
      (k, v) => ok(withParams({ [k]: v })),
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("cipher", "cipherparams", "ciphertext", "kdf", "mac"),
      fc.jsonValue(),
      (k, v) => ok({ ...base, crypto: { ...base.crypto, [k]: v } }),
    ),
    { numRuns: 300 },
  );
});
