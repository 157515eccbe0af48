/**
 * A bridge's Ed25519 node identity, over WebCrypto (audited, native). Keys are 32-byte seeds; the key file holds
 * the seed as 64 hex characters and is written with mode 0600.
 *
 * Signatures are domain-separated by the caller (see `auth_transcript.ts`). When `wallet/mod.ts` lands with its
 * BRIDGE_CHALLENGE signing domain, this file is the one place to switch over.
 *
 * @module
 */
import { loadOrCreateSeed, toHex, tryFromHex } from "../core/mod.ts";

export { toHex };
/** Bytes of a hex string; `undefined` when it is not even-length hex. */
export const fromHex: (text: string) => Uint8Array | undefined = tryFromHex;

const PKCS8_ED25519_PREFIX = Uint8Array.of(
  // RFC 8410 §7: PrivateKeyInfo { version 0, AlgorithmIdentifier id-Ed25519, OCTET STRING { OCTET STRING seed } }
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
);

/** An Ed25519 key pair that signs. */
export interface NodeIdentity {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Signs `message` (already domain-separated by the caller). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Builds an identity from a 32-byte seed. */
export async function identityFromSeed(seed: Uint8Array): Promise<NodeIdentity> {
  if (seed.length !== 32) throw new RangeError(`Cannot use Ed25519 seed: length ${seed.length} is not 32`);
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_ED25519_PREFIX);
  pkcs8.set(seed, 16);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  pkcs8.fill(0);
  const publicKey = fromBase64Url(jwk.x ?? "");
  const signer = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "Ed25519", d: jwk.d ?? "", x: jwk.x ?? "" },
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  return {
    publicKey,
    sign: async (message) => new Uint8Array(await crypto.subtle.sign("Ed25519", signer, own(message))),
  };
}

/** A fresh random identity. */
export function generateIdentity(): Promise<NodeIdentity> {
  return identityFromSeed(crypto.getRandomValues(new Uint8Array(32)));
}

/** Verifies an Ed25519 signature; malformed keys or signatures verify as false. */
export async function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", own(publicKey), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, own(signature), own(message));
  } catch {
    return false;
  }
}

/** A copy backed by a plain ArrayBuffer, as WebCrypto's types require. */
function own(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

function fromBase64Url(s: string): Uint8Array {
  const b64 = s.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * Loads the node key from `path` (64 hex characters, a 32-byte seed), creating it with mode 0600 when missing
 * (Deno adapter: needs read/write on the file).
 */
export async function loadOrCreateNodeKey(path: string): Promise<NodeIdentity> {
  return identityFromSeed(await loadOrCreateSeed(path, "node key"));
}
