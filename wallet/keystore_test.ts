import assert from "node:assert/strict";
import fc from "fast-check";
import { KeystoreError } from "./errors.ts";
import { Keystore } from "./keystore.ts";
import { parseKeystoreFile } from "./keystore_file.ts";
import { generateMnemonic } from "./mnemonic.ts";
import { ed25519Keypair } from "../crypto/mod.ts";
import { secp256k1Keypair } from "../crypto/mod.ts";

// Cheap scrypt for tests; production uses DEFAULT_KEYSTORE_KDF (2^17).
const FAST = { kdf: { n: 1024, r: 8, p: 1 } } as const;
const MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

async function sample(): Promise<{ ks: Keystore; file: Uint8Array }> {
  const ks = await Keystore.create("hunter2 but longer", FAST);
  ks.addMnemonic(MNEMONIC, { label: "main", bip39Passphrase: "TREZOR" });
  ks.addMnemonic(generateMnemonic(12), { label: "second" });
  ks.importKey("ed25519", ed25519Keypair().secretKey, { label: "node key" });
  ks.importKey("secp256k1", secp256k1Keypair().secretKey, { label: "eth" });
  return { ks, file: ks.seal() };
}

function codeOf(e: unknown): string {
  assert.ok(e instanceof KeystoreError, String(e));
  return e.code;
}

Deno.test("Keystore seals several mnemonics and keys and unlocks them unchanged", async () => {
  const { ks, file } = await sample();
  const again = await Keystore.unlock(file, "hunter2 but longer");
  assert.equal(again.id, ks.id);
  assert.deepEqual(again.entries(), ks.entries());
  assert.equal(again.entries().length, 4);
  const [m] = again.entries();
  assert.ok(m !== undefined);
  const seed = await again.seed(m.id);
  // BIP-39 vector "abandon ... about" + "TREZOR" (trezor/python-mnemonic vectors.json).
  assert.equal(
    Array.from(seed.expose(), (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16),
    "c55257c360c07c72",
  );
  const key = again.signingKey(again.entries()[3]?.id ?? "");
  assert.equal(key.type, "secp256k1");
  assert.ok(ks.signingKey(ks.entries()[3]?.id ?? "").secretKey.equals(key.secretKey));
  // A fresh nonce every seal: two seals of the same content differ but both unlock.
  const file2 = again.seal();
  assert.notDeepEqual(file2, file);
  assert.equal((await Keystore.unlock(file2, "hunter2 but longer")).entries().length, 4);
});

Deno.test("Keystore.unlock() reports a wrong passphrase as WRONG_PASSPHRASE", async () => {
  const { file } = await sample();
  await assert.rejects(
    () => Keystore.unlock(file, "hunter3 but longer"),
    (e) => codeOf(e) === "WRONG_PASSPHRASE",
  );
});

Deno.test("Keystore.unlock() detects an edited header or ciphertext as TAMPERED, never half-loading", async () => {
  const { file } = await sample();
  const json = JSON.parse(new TextDecoder().decode(file));
  const relabeled = {
    ...json,
    entries: json.entries.map((e: Record<string, unknown>, i: number) =>
      i === 0 ? { ...e, label: "evil" } : e
    ),
  };
  await assert.rejects(
    () => Keystore.unlock(JSON.stringify(relabeled), "hunter2 but longer"),
    (e) => codeOf(e) === "TAMPERED",
  );
  const swapped = { ...json, entries: [json.entries[1], json.entries[0], json.entries[2], json.entries[3]] };
  await assert.rejects(
    () => Keystore.unlock(JSON.stringify(swapped), "hunter2 but longer"),
    (e) => codeOf(e) === "TAMPERED",
  );
  const ct = atob(json.ciphertext);
  const flipped = { ...json, ciphertext: btoa(String.fromCharCode(ct.charCodeAt(0) ^ 1) + ct.slice(1)) };
  await assert.rejects(
    () => Keystore.unlock(JSON.stringify(flipped), "hunter2 but longer"),
    (e) => codeOf(e) === "TAMPERED",
  );
  // Reformatting the JSON does not matter: the associated data is canonical.
  assert.equal((await Keystore.unlock(JSON.stringify(json), "hunter2 but longer")).entries().length, 4);
});

Deno.test("Keystore.unlock() rejects every truncation of a file as MALFORMED", async () => {
  const { file } = await sample();
  for (let cut = 0; cut < file.length - 2; cut += Math.max(1, Math.floor(file.length / 97))) {
    await assert.rejects(
      () => Keystore.unlock(file.subarray(0, cut), "hunter2 but longer"),
      (e) => codeOf(e) === "MALFORMED",
    );
  }
});

Deno.test("Keystore refuses out-of-bounds KDF parameters and unknown versions as UNSUPPORTED", async () => {
  const { file } = await sample();
  const json = JSON.parse(new TextDecoder().decode(file));
  for (const kdf of [{ n: 1 << 30 }, { n: 1000 }, { r: 0 }, { p: 99 }, { name: "argon2id" }]) {
    const edited = JSON.stringify({ ...json, kdf: { ...json.kdf, ...kdf } });
    assert.throws(() => parseKeystoreFile(edited), (e) => codeOf(e) === "UNSUPPORTED", JSON.stringify(kdf));
  }
  assert.throws(
    () => parseKeystoreFile(JSON.stringify({ ...json, version: 2 })),
    (e) => codeOf(e) === "UNSUPPORTED",
  );
});

Deno.test("Keystore rejects duplicates, unknown ids and use after lock", async () => {
  const { ks } = await sample();
  assert.throws(
    () => ks.addMnemonic(MNEMONIC, { bip39Passphrase: "TREZOR" }),
    (e) => codeOf(e) === "DUPLICATE_ENTRY",
  );
  ks.addMnemonic(MNEMONIC); // same words, other passphrase: another wallet
  assert.throws(() => ks.mnemonic("00000000-0000-4000-8000-000000000000"), (e) => codeOf(e) === "NOT_FOUND");
  const id = ks.entries()[0]?.id ?? "";
  ks.remove(id);
  assert.throws(() => ks.mnemonic(id), (e) => codeOf(e) === "NOT_FOUND");
  ks.lock();
  assert.throws(() => ks.entries(), (e) => codeOf(e) === "LOCKED");
  assert.throws(() => ks.seal(), (e) => codeOf(e) === "LOCKED");
});

Deno.test("Keystore.changePassphrase() re-keys: the old passphrase stops working", async () => {
  const { ks } = await sample();
  await ks.changePassphrase("new passphrase", FAST);
  const file = ks.seal();
  await assert.rejects(
    () => Keystore.unlock(file, "hunter2 but longer"),
    (e) => codeOf(e) === "WRONG_PASSPHRASE",
  );
  assert.equal((await Keystore.unlock(file, "new passphrase")).entries().length, 4);
});

Deno.test("Keystore never shows secrets in toString, JSON, inspect or error messages", async () => {
  const { ks, file } = await sample();
  const text = new TextDecoder().decode(file);
  assert.ok(!text.includes("abandon"), "file has no plaintext mnemonic");
  const m = ks.mnemonic(ks.entries()[0]?.id ?? "");
  for (
    const s of [
      String(ks),
      JSON.stringify(ks),
      Deno.inspect(ks),
      String(m.mnemonic),
      JSON.stringify(m),
      Deno.inspect(m),
    ]
  ) {
    assert.ok(!s.includes("abandon"), s);
  }
  try {
    await Keystore.unlock(file, "zebra-9931");
    assert.fail("unlocked with a wrong passphrase");
  } catch (e) {
    assert.ok(
      e instanceof KeystoreError && !e.message.includes("zebra-9931") && !e.message.includes("abandon"),
    );
  }
});

Deno.test("parseKeystoreFile() only ever throws KeystoreError on random input", async () => {
  const { file } = await sample();
  const json = JSON.parse(new TextDecoder().decode(file));
  const ok = (input: Uint8Array | string) => {
    try {
      parseKeystoreFile(input);
      return true;
    } catch (e) {
      return e instanceof KeystoreError;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), ok), { numRuns: 300 });
  fc.assert(fc.property(fc.json(), ok), { numRuns: 300 });
  // Structured mutations: replace one top-level or kdf field with arbitrary JSON.
  const keys = Object.keys(json);
  fc.assert(
    fc.property(fc.constantFrom(...keys), fc.jsonValue(), (k, v) => ok(JSON.stringify({ ...json, [k]: v }))),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("n", "r", "p", "salt", "name"),
      fc.jsonValue(),
      (k, v) => ok(JSON.stringify({ ...json, kdf: { ...json.kdf, [k]: v } })),
    ),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("id", "kind", "label", "createdAt", "publicKey"),
      fc.jsonValue(),
      (k, v) => ok(JSON.stringify({ ...json, entries: [{ ...json.entries[2], [k]: v }] })),
    ),
    { numRuns: 200 },
  );
});
