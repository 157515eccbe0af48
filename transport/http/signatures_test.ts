import assert from "node:assert/strict";
import fc from "fast-check";
import { ed25519Sign } from "../../crypto/mod.ts";
import {
  contentDigest,
  digestMatches,
  HttpSignatureError,
  NonceCache,
  parseByteDictionary,
  parseSignatureInput,
  serializeSignatureParams,
  signatureBase,
  signRequest,
  verifyRequestSignature,
} from "./signatures.ts";

const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

Deno.test("RFC 9421 Appendix B.2.6 (ed25519): signature base and signature byte for byte", () => {
  // test-key-ed25519 from RFC 9421 Appendix B.1.4 (PKCS#8: the last 32 bytes are the seed).
  const seed = unb64("MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF").slice(-32);
  const input = parseSignatureInput(
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  );
  const p = input.get("sig-b26");
  assert.ok(p);
  const fields: Record<string, string> = {
    date: "Tue, 20 Apr 2021 02:07:55 GMT",
    "content-type": "application/json",
    "content-length": "18",
  };
  const base = signatureBase({
    method: "POST",
    targetUri: "https://example.com/foo?param=Value&Pet=dog",
    field: (n) => fields[n] ?? null,
  }, p);
  assert.equal(
    base,
    [
      '"date": Tue, 20 Apr 2021 02:07:55 GMT',
      '"@method": POST',
      '"@path": /foo',
      '"@authority": example.com',
      '"content-type": application/json',
      '"content-length": 18',
      '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
    ].join("\n"),
  );
  assert.equal(
    b64(ed25519Sign(seed, new TextEncoder().encode(base))),
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==",
  );
  const sig = parseByteDictionary(
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
  );
  assert.equal(sig.get("sig-b26")?.length, 64);
  assert.equal(
    serializeSignatureParams(p),
    '("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  );
});

Deno.test("RFC 9530 Content-Digest: the spec's example, and mismatches refused", async () => {
  // RFC 9530 §2: {"hello": "world"} (with a trailing newline).
  const body = new TextEncoder().encode('{"hello": "world"}\n');
  assert.equal(await contentDigest(body), "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:");
  assert.equal(await digestMatches("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:", body), true);
  assert.equal(await digestMatches("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDA=:", body), false);
  assert.equal(await digestMatches("md5=:AAAA:", body), false, "no known algorithm");
});

const SEED = new Uint8Array(32).map((_, i) => i + 1);

async function signed(
  method: string,
  url: string,
  body: Uint8Array | null,
  extra: { created?: number; nonce?: string; seed?: Uint8Array } = {},
) {
  const fields = new Map(
    await signRequest({
      method,
      url,
      body,
      seed: extra.seed ?? SEED,
      created: extra.created ?? 1_800_000_000,
      nonce: extra.nonce ?? "nonce-0001",
    }),
  );
  return { method, targetUri: new URL(url).href, field: (n: string) => fields.get(n) ?? null, fields };
}

Deno.test("signRequest and verifyRequestSignature: a wallet key signs, wraith verifies, tampering and replays fail", async () => {
  const nonces = new NonceCache();
  const opts = { windowS: 300, nonces, now: 1_800_000_010, body: null };
  const m = await signed("GET", "https://app.ghost/x?y=1", null);
  const who = await verifyRequestSignature(m, opts);
  assert.match(who.address, /^ghost1/);
  assert.equal(who.address, m.fields.get("signature-input")?.match(/keyid="([^"]+)"/)?.[1]);
  await assert.rejects(verifyRequestSignature(m, opts), /nonce already used/);
  const tampered = await signed("GET", "https://app.ghost/x?y=1", null, { nonce: "nonce-0002" });
  await assert.rejects(
    verifyRequestSignature({ ...tampered, targetUri: "https://app.ghost/x?y=2" }, opts),
    /does not verify/,
  );
  await assert.rejects(verifyRequestSignature({ ...tampered, method: "DELETE" }, opts), /does not verify/);
  const old = await signed("GET", "https://app.ghost/", null, {
    created: 1_799_999_000,
    nonce: "nonce-0003",
  });
  await assert.rejects(verifyRequestSignature(old, opts), /outside the 300 s window/);
  // Somebody else's key under this keyid.
  const other = await signed("GET", "https://app.ghost/", null, {
    nonce: "nonce-0004",
    seed: new Uint8Array(32).fill(9),
  });
  const swapped = {
    ...other,
    field: (n: string) => (n === "ghost-public-key" ? m.fields.get(n) ?? null : other.field(n)),
  };
  await assert.rejects(verifyRequestSignature(swapped, opts), /is not the key of|does not verify/);
  // Bodies: the digest is covered and checked.
  const body = new TextEncoder().encode("transfer 5");
  const post = await signed("POST", "https://app.ghost/pay", body, { nonce: "nonce-0005" });
  assert.ok((await verifyRequestSignature(post, { ...opts, body })).address.startsWith("ghost1"));
  const post2 = await signed("POST", "https://app.ghost/pay", body, { nonce: "nonce-0006" });
  await assert.rejects(
    verifyRequestSignature(post2, { ...opts, body: new TextEncoder().encode("transfer 500") }),
    /content-digest does not match/,
  );
  await assert.rejects(
    verifyRequestSignature({ ...m, field: (n: string) => (n === "signature" ? null : m.field(n)) }, opts),
    /no Signature-Input and Signature/,
  );
});

Deno.test("the structured-field readers give only HttpSignatureError on any input (property)", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      for (const parse of [parseSignatureInput, parseByteDictionary]) {
        try {
          parse(text);
        } catch (error) {
          assert.ok(error instanceof HttpSignatureError, String(error));
        }
      }
    }),
    { numRuns: 3000 },
  );
});
