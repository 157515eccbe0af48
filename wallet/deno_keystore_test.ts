import assert from "node:assert/strict";
import {
  openKeystoreFile,
  readSigningBundleFile,
  saveKeystoreFile,
  writeFileAtomic,
  writeSigningBundleFile,
} from "./deno_keystore.ts";
import { KeystoreError } from "./errors.ts";
import { Keystore } from "./keystore.ts";
import { createMultisigAccount } from "./multisig.ts";
import { addBundleSignature, createSigningBundle, verifySigningBundle } from "./multisig_bundle.ts";
import { ed25519Keypair } from "../crypto/mod.ts";
import { parsePublicKey } from "../crypto/mod.ts";

const FAST = { kdf: { n: 1024, r: 8, p: 1 } } as const;

Deno.test("saveKeystoreFile() writes atomically at mode 0600 and openKeystoreFile() reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/wallet.keystore`;
    const ks = await Keystore.create("pass phrase", FAST);
    ks.importKey("ed25519", ed25519Keypair().secretKey, { label: "a" });
    await saveKeystoreFile(path, ks);
    if (Deno.build.os !== "windows") assert.equal(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    assert.equal((await openKeystoreFile(path, "pass phrase")).entries().length, 1);
    // Overwrite: still one file, no temp files left behind.
    ks.importKey("ed25519", ed25519Keypair().secretKey, { label: "b" });
    await saveKeystoreFile(path, ks);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["wallet.keystore"]);
    assert.equal((await openKeystoreFile(path, "pass phrase")).entries().length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKeystoreFile() with a wrong passphrase fails clearly and changes nothing on disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.keystore`;
    const ks = await Keystore.create("right", FAST);
    await saveKeystoreFile(path, ks);
    const before = await Deno.readFile(path);
    const statBefore = await Deno.stat(path);
    await assert.rejects(
      () => openKeystoreFile(path, "wrong"),
      (e) => e instanceof KeystoreError && e.code === "WRONG_PASSPHRASE",
    );
    assert.deepEqual(await Deno.readFile(path), before);
    assert.equal((await Deno.stat(path)).mtime?.getTime(), statBefore.mtime?.getTime());
    // A truncated file is detected and never loaded.
    await Deno.writeFile(path, before.subarray(0, before.length - 40));
    await assert.rejects(
      () => openKeystoreFile(path, "right"),
      (e) => e instanceof KeystoreError && e.code === "MALFORMED",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() leaves no temp file when the target directory is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => writeFileAtomic(`${dir}/missing/x`, new Uint8Array([1])));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signing bundles travel through files between offline signers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = [ed25519Keypair(), ed25519Keypair(), ed25519Keypair()];
    const account = createMultisigAccount(keys.map((k) => parsePublicKey("ed25519", k.publicKey)), 2);
    const path = `${dir}/tx.bundle.json`;
    const msg = new TextEncoder().encode("pay 5 GHOST to bob");
    await writeSigningBundleFile(path, createSigningBundle(account, "TRANSACTION", msg));
    for (const k of keys.slice(0, 2)) {
      const b = await readSigningBundleFile(path);
      await writeSigningBundleFile(path, addBundleSignature(b, { type: "ed25519", secretKey: k.secretKey }));
    }
    const done = await verifySigningBundle(await readSigningBundleFile(path));
    assert.equal(done.signers.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
