import assert from "node:assert/strict";
import { KeystoreError, WalletServiceError } from "./errors.ts";
import { encryptEthKeystoreV3 } from "./eth_keystore_v3.ts";
import { parsePublicKey } from "../crypto/mod.ts";
import { secp256k1Keypair } from "../crypto/mod.ts";
import { ed25519Keypair } from "../crypto/mod.ts";
import { Secret } from "../crypto/mod.ts";
import { signingPayload, verifyPayload } from "../crypto/mod.ts";
import { MemoryWalletStore, type WalletStore } from "./wallet_store.ts";
import { type ChainClient, transactionBodyChainId, WalletService } from "./wallet_service.ts";

const KDF = { n: 1024, r: 8, p: 1 };
const enc = new TextEncoder();
const PASS = "correct horse battery staple";

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function rejects(p: Promise<unknown>, status: string, reason?: string): Promise<WalletServiceError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof WalletServiceError, `expected WalletServiceError, got ${error}`);
    assert.equal(error.status, status, error.message);
    if (reason !== undefined) assert.equal(error.reason, reason);
    return error;
  }
  assert.fail(`expected ${status}`);
}

async function freshService(opts: { idleTimeoutMs?: number; chain?: ChainClient } = {}) {
  const store = new MemoryWalletStore();
  const c = clock();
  const svc = new WalletService({ store, kdf: KDF, now: c.now, ...opts });
  await svc.createWallet({ passphrase: PASS });
  return { store, svc, clock: c };
}

/** A transaction body as chain/ encodes it: field 1 = chain id, then anything. */
function txBody(chainId: string, rest: number[] = [0x10, 0x01]): Uint8Array {
  const id = enc.encode(chainId);
  return new Uint8Array([0x0a, id.length, ...id, ...rest]);
}

Deno.test("WalletService.createAccount() stores mnemonic and account; listAccounts() reads without unlock", async () => {
  const { store, svc } = await freshService();
  const res = await svc.createAccount({ label: "main", wordCount: 12 });
  assert.equal(res.mnemonic.split(" ").length, 12);
  assert.equal(res.derivationPath, "m/44'/1'/0'/0'/0'");
  assert.equal(res.account.keyType, "KEY_TYPE_ED25519");
  assert.match(res.account.address, /^ghost1/);
  // A second service over the same store (locked) lists the same account from the header.
  const other = new WalletService({ store, kdf: KDF });
  const list = await other.listAccounts({});
  assert.equal(list.unlocked, false);
  assert.equal(list.mnemonics, 1);
  assert.deepEqual(list.accounts.map((a) => a.address), [res.account.address]);
});

Deno.test("WalletService.importAccount() from the same mnemonic gives the same account, secp256k1 at the Ethereum path", async () => {
  const a = await freshService();
  const created = await a.svc.createAccount({ keyType: "KEY_TYPE_SECP256K1" });
  assert.equal(created.derivationPath, "m/44'/60'/0'/0/0");
  assert.match(created.account.ethereumAddress, /^0x[0-9a-fA-F]{40}$/);
  const b = await freshService();
  const imported = await b.svc.importAccount({
    mnemonic: { mnemonic: created.mnemonic, keyType: "KEY_TYPE_SECP256K1" },
  });
  assert.equal(imported.account.address, created.account.address);
  // Another path of the same mnemonic: a second account, the mnemonic is kept once.
  await b.svc.importAccount({
    mnemonic: {
      mnemonic: created.mnemonic,
      keyType: "KEY_TYPE_SECP256K1",
      derivationPath: "m/44'/60'/0'/0/1",
    },
  });
  const list = await b.svc.listAccounts({});
  assert.equal(list.accounts.length, 2);
  assert.equal(list.mnemonics, 1);
  // The same account again is ALREADY_EXISTS and writes nothing.
  const writes = b.store.writes;
  await rejects(
    b.svc.importAccount({ mnemonic: { mnemonic: created.mnemonic, keyType: 2 } }),
    "ALREADY_EXISTS",
  );
  assert.equal(b.store.writes, writes);
  assert.equal((await b.svc.listAccounts({})).accounts.length, 2);
});

Deno.test("WalletService.importAccount() rejects bad input with INVALID_ARGUMENT and never echoes it", async () => {
  const { svc } = await freshService();
  const e = await rejects(
    svc.importAccount({ mnemonic: { mnemonic: "abandon zebra secretword" } }),
    "INVALID_ARGUMENT",
  );
  assert.ok(!e.message.includes("secretword"));
  await rejects(
    svc.importAccount({ rawKey: { keyType: "ed25519", privateKey: new Uint8Array(31) } }),
    "INVALID_ARGUMENT",
  );
  await rejects(
    svc.importAccount({ rawKey: { privateKey: new Uint8Array(32).fill(1) } }),
    "INVALID_ARGUMENT",
  );
  await rejects(svc.importAccount({}), "INVALID_ARGUMENT");
  await rejects(
    svc.importAccount({
      rawKey: { keyType: "ed25519", privateKey: new Uint8Array(32) },
      keystoreV3: { json: "{}" },
    }),
    "INVALID_ARGUMENT",
  );
  await rejects(svc.createAccount({ keyType: "ed25519", derivationPath: "m/44'/1'/0" }), "INVALID_ARGUMENT");
  await rejects(svc.createAccount({ wordCount: 13 }), "INVALID_ARGUMENT");
  await rejects(svc.listAccounts({ wallet: "../etc" }), "INVALID_ARGUMENT");
});

Deno.test("WalletService imports keystore v3 and reports a wrong v3 password as UNAUTHENTICATED", async () => {
  const { svc } = await freshService();
  const kp = secp256k1Keypair();
  const json = JSON.stringify(await encryptEthKeystoreV3(kp.secretKey, "v3pw", { kdf: "pbkdf2", c: 1000 }));
  await rejects(
    svc.importAccount({ keystoreV3: { json, password: "nope" } }),
    "UNAUTHENTICATED",
    "WRONG_PASSPHRASE",
  );
  await rejects(
    svc.importAccount({ keystoreV3: { json: "{", password: "v3pw" } }),
    "INVALID_ARGUMENT",
    "MALFORMED",
  );
  const { account } = await svc.importAccount({ keystoreV3: { json, password: "v3pw" }, label: "eth" });
  assert.deepEqual(account.publicKey, kp.publicKey);
  // And back out under another password.
  const out = await svc.exportKeystoreV3({
    account: "eth",
    password: Secret.fromText("x"),
    options: { kdf: "pbkdf2", c: 1000 },
  });
  assert.equal(`0x${out.json.address}`.toLowerCase(), account.ethereumAddress.toLowerCase());
});

Deno.test("WalletService.signTransaction() signs the exact body in the TRANSACTION domain and checks the chain id", async () => {
  const { svc } = await freshService();
  const { account } = await svc.createAccount({});
  const body = txBody("ghostchain-devnet");
  const res = await svc.signTransaction({ chainId: "ghostchain-devnet", body });
  const signer = parsePublicKey("ed25519", res.signer.publicKey);
  assert.equal(res.address, account.address);
  assert.ok(await verifyPayload("TRANSACTION", body, signer, res.signature));
  assert.ok(!(await verifyPayload("WALLET_MESSAGE", body, signer, res.signature)));
  // The payload is exactly signingPayload("TRANSACTION", body), as chain/ verifies it.
  assert.equal(
    signingPayload("TRANSACTION", body).length,
    1 + "ghostchain/v1/transaction".length + 4 + body.length,
  );
  await rejects(svc.signTransaction({ chainId: "other-chain", body }), "INVALID_ARGUMENT");
  await rejects(
    svc.signTransaction({ chainId: "ghostchain-devnet", body: new Uint8Array([0x10, 1]) }),
    "INVALID_ARGUMENT",
  );
  await rejects(svc.signTransaction({ body }), "INVALID_ARGUMENT");
  await rejects(
    svc.signTransaction({ chainId: "c", body: new Uint8Array((1 << 20) + 1) }),
    "RESOURCE_EXHAUSTED",
  );
  assert.equal(transactionBodyChainId(txBody("x")), "x");
  assert.equal(transactionBodyChainId(new Uint8Array([0x0a, 9, 1])), undefined);
});

Deno.test("WalletService.signMessage() and verifyMessage() round trip in WALLET_MESSAGE", async () => {
  const { svc } = await freshService();
  await svc.createAccount({ label: "a" });
  const signed = await svc.signMessage({ account: "a", message: enc.encode("hello") });
  const ok = await svc.verifyMessage({ signedMessage: signed.signedMessage });
  assert.deepEqual(ok, { valid: true, reason: "", address: signed.address, message: enc.encode("hello") });
  const bad = Uint8Array.from(signed.signedMessage);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  assert.equal((await svc.verifyMessage({ signedMessage: bad })).reason, "BAD_SIGNATURE");
  assert.equal((await svc.verifyMessage({ signedMessage: new Uint8Array([1, 2]) })).reason, "MALFORMED");
  await rejects(svc.signMessage({ account: "nobody", message: enc.encode("x") }), "NOT_FOUND");
});

Deno.test("WalletService sessions: locked wallets are FAILED_PRECONDITION, wrong passphrase UNAUTHENTICATED, idle auto-lock", async () => {
  const { store, svc, clock: c } = await freshService({ idleTimeoutMs: 60_000 });
  await svc.createAccount({});
  const before = await store.read("default");
  await svc.lock({});
  await rejects(svc.signMessage({ message: enc.encode("x") }), "FAILED_PRECONDITION", "LOCKED");
  await rejects(svc.unlock({ passphrase: "wrong" }), "UNAUTHENTICATED", "WRONG_PASSPHRASE");
  assert.deepEqual(await store.read("default"), before, "a wrong passphrase changes nothing");
  await svc.unlock({ passphrase: PASS, idleTimeoutSeconds: 30 });
  c.advance(29_000);
  await svc.signMessage({ message: enc.encode("x") }); // touches the session
  c.advance(29_000);
  assert.deepEqual(svc.unlockedWallets(), ["default"]);
  c.advance(1_000);
  assert.deepEqual(svc.unlockedWallets(), []);
  await rejects(svc.signMessage({ message: enc.encode("x") }), "FAILED_PRECONDITION");
  await rejects(svc.unlock({ wallet: "missing", passphrase: PASS }), "NOT_FOUND");
  await rejects(svc.createWallet({ passphrase: PASS }), "ALREADY_EXISTS");
  await rejects(svc.signMessage({ wallet: "missing", message: enc.encode("x") }), "NOT_FOUND");
});

Deno.test("WalletService asks the passphrase provider once per session and maps a wrong one to UNAUTHENTICATED", async () => {
  const store = new MemoryWalletStore();
  const asked: string[] = [];
  let answer = PASS;
  const svc = new WalletService({
    store,
    kdf: KDF,
    passphrase: (r) => {
      asked.push(r.purpose);
      return Promise.resolve(Secret.fromText(answer));
    },
  });
  await svc.createAccount({}); // creates the wallet through the provider
  await svc.signMessage({ message: enc.encode("x") });
  assert.deepEqual(asked, ["create"]);
  svc.lockAll();
  answer = "wrong";
  await rejects(svc.signMessage({ message: enc.encode("x") }), "UNAUTHENTICATED");
  assert.deepEqual(asked, ["create", "unlock"]);
});

Deno.test("WalletService.getBalance() is UNAVAILABLE without a chain client and asks it otherwise", async () => {
  const { svc } = await freshService();
  const { account } = await svc.createAccount({});
  const e = await rejects(svc.getBalance({ address: account.address }), "UNAVAILABLE");
  assert.match(e.message, /no chain client/);
  await rejects(svc.getBalance({ address: "ghost1nope" }), "INVALID_ARGUMENT");
  const chain: ChainClient = {
    getBalance: () => Promise.resolve({ balance: 10n ** 20n, nonce: 3n }),
    submitTransaction: () => Promise.resolve(new Uint8Array(32)),
  };
  const withChain = await freshService({ chain });
  assert.deepEqual(await withChain.svc.getBalance({ address: account.address }), {
    address: account.address,
    balance: "100000000000000000000",
    nonce: "3",
  });
});

Deno.test("WalletService multisig: create, sign by two wallets, combine, verify", async () => {
  const wallets = await Promise.all([freshService(), freshService(), freshService()]);
  const [w0, w1, w2] = wallets as [typeof wallets[0], typeof wallets[0], typeof wallets[0]];
  const accounts = await Promise.all(
    wallets.map((w, i) => w.svc.createAccount({ keyType: i === 1 ? "secp256k1" : "ed25519" })),
  );
  const members = accounts.map((a) => ({ keyType: a.account.keyType, publicKey: a.account.publicKey }));
  const created = await w0.svc.createMultisig({
    threshold: 2,
    members,
    message: enc.encode("pay 5"),
  });
  const one = await w0.svc.signMultisig({ bundleJson: created.bundleJson });
  assert.equal(
    (await w0.svc.verifyMultisig({ bundleJson: one.bundleJson })).reason,
    "BELOW_THRESHOLD",
  );
  await rejects(
    w0.svc.signMultisig({ bundleJson: one.bundleJson }),
    "ALREADY_EXISTS",
    "DUPLICATE_SIGNER",
  );
  const other = await w2.svc.signMultisig({ bundleJson: created.bundleJson });
  const combined = await w1.svc.combineMultisig({ bundleJsons: [one.bundleJson, other.bundleJson] });
  assert.equal(combined.signatures, 2);
  const v = await w1.svc.verifyMultisig({ bundleJson: combined.bundleJson });
  assert.equal(v.valid, true);
  assert.equal(v.address, created.address);
  assert.equal(v.signers.length, 2);
  // A wallet with no member account cannot sign.
  const outsider = await freshService();
  await outsider.svc.createAccount({});
  await rejects(
    outsider.svc.signMultisig({ bundleJson: created.bundleJson }),
    "FAILED_PRECONDITION",
    "NOT_A_MEMBER",
  );
  await rejects(w0.svc.createMultisig({ threshold: 4, members }), "INVALID_ARGUMENT", "BAD_ACCOUNT");
  await rejects(w0.svc.combineMultisig({ bundleJsons: ["{}"] }), "INVALID_ARGUMENT");
  const foreign = await w0.svc.createMultisig({
    threshold: 1,
    members: [{ keyType: "ed25519", publicKey: ed25519Keypair().publicKey }],
  });
  await rejects(
    w0.svc.combineMultisig({ bundleJsons: [one.bundleJson, foreign.bundleJson] }),
    "INVALID_ARGUMENT",
    "ACCOUNT_MISMATCH",
  );
});

Deno.test("WalletService keeps the keystore file unchanged when a write fails", async () => {
  const { store, svc } = await freshService();
  await svc.createAccount({});
  const before = await store.read("default");
  const failing: WalletStore = {
    read: (w) => store.read(w),
    create: (w, d) => store.create(w, d),
    list: () => store.list(),
    write: () => Promise.reject(new Error("disk full")),
  };
  const svc2 = new WalletService({
    store: failing,
    kdf: KDF,
    passphrase: () => Promise.resolve(Secret.fromText(PASS)),
  });
  const e = await rejects(svc2.createAccount({}), "INTERNAL");
  assert.equal(e.message, "Internal wallet error");
  assert.deepEqual(await store.read("default"), before);
  // The failed account is not left in memory either.
  assert.equal((await svc2.listAccounts({})).accounts.length, 1);
  assert.ok(!(e.cause instanceof KeystoreError));
});
