import assert from "node:assert/strict";
import fc from "fast-check";
import { ed25519Keypair } from "../crypto/mod.ts";
import { MultisigError } from "./errors.ts";
import { createMultisigAccount, signMultisig, verifyMultisig } from "./multisig.ts";
import {
  addBundleSignature,
  createSigningBundle,
  encodeSigningBundle,
  mergeSigningBundles,
  parseSigningBundle,
  verifySigningBundle,
} from "./multisig_bundle.ts";
import { parsePublicKey, publicKeyOf, type SigningKey } from "../crypto/mod.ts";
import { secp256k1Keypair } from "../crypto/mod.ts";
import { verifyPayload } from "../crypto/mod.ts";

const members: SigningKey[] = [
  { type: "ed25519", secretKey: ed25519Keypair().secretKey },
  { type: "secp256k1", secretKey: secp256k1Keypair().secretKey },
  { type: "ed25519", secretKey: ed25519Keypair().secretKey },
];
const outsider: SigningKey = { type: "ed25519", secretKey: ed25519Keypair().secretKey };
const pubs = members.map(publicKeyOf);
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no item ${i}`);
  return x;
}
const account = createMultisigAccount(pubs, 2);
const msg = new TextEncoder().encode("transfer 10 GHOST");

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.ok(e instanceof MultisigError, String(e));
    return e.code;
  }
}

Deno.test("createMultisigAccount() gives the same address for any member order and differs by threshold", () => {
  assert.equal(createMultisigAccount([...pubs].reverse(), 2).address, account.address);
  assert.equal(createMultisigAccount([at(pubs, 1), at(pubs, 2), at(pubs, 0)], 2).address, account.address);
  assert.notEqual(createMultisigAccount(pubs, 3).address, account.address);
  assert.match(account.address, /^ghost1/);
  for (const [m, t] of [[pubs, 0], [pubs, 4], [[], 1], [[at(pubs, 0), at(pubs, 0)], 1]] as const) {
    assert.throws(
      () => createMultisigAccount(m, t),
      (e) => e instanceof MultisigError && e.code === "BAD_ACCOUNT",
    );
  }
});

Deno.test("verifyMultisig() accepts M of N and rejects duplicates, non-members, bad signatures and too few", async () => {
  const s0 = signMultisig(account, "TRANSACTION", msg, at(members, 0));
  const s1 = signMultisig(account, "TRANSACTION", msg, at(members, 1));
  const s2 = signMultisig(account, "TRANSACTION", msg, at(members, 2));
  assert.equal((await verifyMultisig(account, "TRANSACTION", msg, [s0, s1])).signers.length, 2);
  assert.equal((await verifyMultisig(account, "TRANSACTION", msg, [s2, s1, s0])).signers.length, 3);
  assert.equal(await codeOf(verifyMultisig(account, "TRANSACTION", msg, [s0, s0])), "DUPLICATE_SIGNER");
  assert.equal(await codeOf(verifyMultisig(account, "TRANSACTION", msg, [s0])), "BELOW_THRESHOLD");
  assert.equal(await codeOf(verifyMultisig(account, "TRANSACTION", msg, [])), "BELOW_THRESHOLD");
  const foreign = { signer: publicKeyOf(outsider), signature: s0.signature };
  assert.equal(await codeOf(verifyMultisig(account, "TRANSACTION", msg, [s0, foreign])), "NOT_A_MEMBER");
  const forged = {
    signer: s1.signer,
    signature: s0.signature.length === s1.signature.length ? s0.signature : s1.signature.map((b) => b ^ 1),
  };
  assert.equal(await codeOf(verifyMultisig(account, "TRANSACTION", msg, [s0, forged])), "BAD_SIGNATURE");
  assert.throws(
    () => signMultisig(account, "TRANSACTION", msg, outsider),
    (e) => e instanceof MultisigError && e.code === "NOT_A_MEMBER",
  );
});

Deno.test("partial signatures are bound to account and domain: no replay elsewhere", async () => {
  const s0 = signMultisig(account, "TRANSACTION", msg, at(members, 0));
  const s1 = signMultisig(account, "TRANSACTION", msg, at(members, 1));
  assert.equal(await codeOf(verifyMultisig(account, "WALLET_MESSAGE", msg, [s0, s1])), "BAD_SIGNATURE");
  const other = createMultisigAccount([...pubs, publicKeyOf(outsider)], 2);
  assert.equal(await codeOf(verifyMultisig(other, "TRANSACTION", msg, [s0, s1])), "BAD_SIGNATURE");
  // Nor as a plain single-key signature of the same message.
  assert.equal(await verifyPayload("TRANSACTION", msg, s0.signer, s0.signature), false);
});

Deno.test("signing bundles collect signatures offline, merge, and round-trip through JSON", async () => {
  const empty = createSigningBundle(account, "TRANSACTION", msg);
  const a = addBundleSignature(parseSigningBundle(encodeSigningBundle(empty)), at(members, 0));
  const b = addBundleSignature(parseSigningBundle(encodeSigningBundle(empty)), at(members, 2));
  assert.equal(await codeOf(verifySigningBundle(a)), "BELOW_THRESHOLD");
  const merged = mergeSigningBundles(
    parseSigningBundle(encodeSigningBundle(a)),
    parseSigningBundle(encodeSigningBundle(b)),
  );
  assert.equal(merged.signatures.length, 2);
  const text = encodeSigningBundle(merged);
  assert.equal(encodeSigningBundle(parseSigningBundle(text)), text);
  assert.equal((await verifySigningBundle(parseSigningBundle(text))).signers.length, 2);
  assert.throws(
    () => addBundleSignature(a, at(members, 0)),
    (e) => e instanceof MultisigError && e.code === "DUPLICATE_SIGNER",
  );
  assert.throws(
    () => addBundleSignature(a, outsider),
    (e) => e instanceof MultisigError && e.code === "NOT_A_MEMBER",
  );
  assert.throws(
    () => mergeSigningBundles(a, createSigningBundle(account, "TRANSACTION", new Uint8Array([1]))),
    (e) => e instanceof MultisigError && e.code === "ACCOUNT_MISMATCH",
  );
  // A bundle whose address does not match its members is refused.
  const json = JSON.parse(text);
  json.account.threshold = 3;
  assert.throws(
    () => parseSigningBundle(JSON.stringify(json)),
    (e) => e instanceof MultisigError && e.code === "ACCOUNT_MISMATCH",
  );
  // Duplicates written into a file are kept by parsing and named by verification.
  const dup = JSON.parse(text);
  dup.signatures.push(dup.signatures[0]);
  assert.equal(
    await codeOf(verifySigningBundle(parseSigningBundle(JSON.stringify(dup)))),
    "DUPLICATE_SIGNER",
  );
});

Deno.test("parseSigningBundle() only ever throws MultisigError on random input", () => {
  const text = encodeSigningBundle(
    addBundleSignature(createSigningBundle(account, "TRANSACTION", msg), at(members, 1)),
  );
  const json = JSON.parse(text);
  const ok = (v: unknown) => {
    try {
      parseSigningBundle(typeof v === "string" ? v : JSON.stringify(v));
      return true;
    } catch (e) {
      return e instanceof MultisigError;
    }
  };
  fc.assert(fc.property(fc.string({ maxLength: 300 }), ok), { numRuns: 500 });
  fc.assert(fc.property(fc.jsonValue(), ok), { numRuns: 300 });
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(json)), fc.jsonValue(), (k, v) => ok({ ...json, [k]: v })),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("threshold", "members", "address"),
      fc.jsonValue(),
      (k, v) => ok({ ...json, account: { ...json.account, [k]: v } }),
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom("type", "publicKey", "signature"),
      fc.jsonValue(),
      (k, v) => ok({ ...json, signatures: [{ ...json.signatures[0], [k]: v }] }),
    ),
    { numRuns: 300 },
  );
  assert.equal(ok(text), true);
  void parsePublicKey;
});
