/**
 * Signed messages with domain separation (zsig).
 *
 * Every signature covers a framed payload, never the raw message:
 * ```
 * payload = u8 len(tag) || tag (ASCII) || u32be len(message) || message
 * tag     = "ghostchain/v1/" + domain tag ["|" + context]
 * ```
 * Ed25519 signs `payload`; secp256k1 signs `SHA-256(payload)`. Both length prefixes make the framing
 * injective: no (domain, context, message) triple shares a payload with another, so a signature made for one
 * domain never verifies in another. Multisig partial signatures add the account address as context.
 *
 * Wire form of a signed message ({@linkcode encodeSignedMessage}):
 * ```
 * "GSM" | version u8 = 1 | domain code u8 | key type u8 (1 ed25519, 2 secp256k1) | public key (32 | 33)
 *       | u32be message length | message | signature (64 Ed25519 | 65 secp256k1 r||s||v)
 * ```
 *
 * @module
 */

import { concatBytes, u32be, utf8 } from "../core/mod.ts";
import { ed25519Sign, ed25519Verify } from "./ed25519.ts";
import { SignatureError } from "./errors.ts";
import { sha256 } from "./hashes.ts";
import {
  KEY_TYPE_BYTE,
  type KeyType,
  parsePublicKey,
  type PublicKey,
  publicKeyOf,
  type SigningKey,
} from "./public_key.ts";
import { secp256k1Sign, secp256k1Verify } from "./secp256k1.ts";

/** The registered signing domains. A signature is valid in exactly one of them. */
export const SigningDomain = {
  /** Free-form messages a user signs in a wallet ("sign in with...", attestations). */
  WALLET_MESSAGE: "WALLET_MESSAGE",
  /** Chain transactions. */
  TRANSACTION: "TRANSACTION",
  /** Bridge peer authentication: a server-issued challenge bound to one QUIC connection. */
  BRIDGE_CHALLENGE: "BRIDGE_CHALLENGE",
  /** Wraith proxy access tokens. */
  PROXY_TOKEN: "PROXY_TOKEN",
} as const;

/** A registered domain name. */
export type SigningDomainName = keyof typeof SigningDomain;

/** Tag and wire code of each domain. The tags are consensus-relevant: changing one invalidates signatures. */
const DOMAINS: Readonly<Record<SigningDomainName, { readonly tag: string; readonly code: number }>> = {
  WALLET_MESSAGE: { tag: "ghostchain/v1/wallet-message", code: 1 },
  TRANSACTION: { tag: "ghostchain/v1/transaction", code: 2 },
  BRIDGE_CHALLENGE: { tag: "ghostchain/v1/bridge-challenge", code: 3 },
  PROXY_TOKEN: { tag: "ghostchain/v1/proxy-token", code: 4 },
};

const DOMAIN_BY_CODE: ReadonlyMap<number, SigningDomainName> = new Map(
  (Object.keys(DOMAINS) as SigningDomainName[]).map((d) => [DOMAINS[d].code, d]),
);

/** Largest message {@linkcode decodeSignedMessage} accepts by default (1 MiB). */
export const DEFAULT_MAX_SIGNED_MESSAGE = 1 << 20;

/** Whether `v` is a registered domain name. */
export function isSigningDomain(v: unknown): v is SigningDomainName {
  return typeof v === "string" && Object.hasOwn(DOMAINS, v);
}

function domainOf(domain: SigningDomainName): { readonly tag: string; readonly code: number } {
  if (!isSigningDomain(domain)) {
    throw new SignatureError("UNKNOWN_DOMAIN", "Cannot sign: unknown signing domain");
  }
  return DOMAINS[domain];
}

/**
 * The framed bytes a signature covers (see the module doc). `context` narrows the domain further (multisig
 * uses `multisig:<address>`); it must be printable ASCII.
 */
export function signingPayload(domain: SigningDomainName, message: Uint8Array, context?: string): Uint8Array {
  let tag = domainOf(domain).tag;
  if (context !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(context)) {
      throw new TypeError("Cannot frame message: context must be printable ASCII");
    }
    tag += `|${context}`;
  }
  const tagBytes = utf8.encode(tag);
  if (tagBytes.length > 255) throw new RangeError("Cannot frame message: domain tag longer than 255 bytes");
  if (message.length > 0xffff_ffff) throw new RangeError("Cannot frame message: longer than 2^32 - 1 bytes");
  return concatBytes(new Uint8Array([tagBytes.length]), tagBytes, u32be(message.length), message);
}

/** Signs `message` in `domain` (and optional context) with `key`; returns the bare signature. */
export function signPayload(
  domain: SigningDomainName,
  message: Uint8Array,
  key: SigningKey,
  context?: string,
): Uint8Array {
  const payload = signingPayload(domain, message, context);
  return key.type === "ed25519"
    ? ed25519Sign(key.secretKey, payload)
    : secp256k1Sign(key.secretKey, sha256(payload));
}

/** Verifies a bare signature of `message` in `domain` (and optional context) by `signer`. Never throws. */
export async function verifyPayload(
  domain: SigningDomainName,
  message: Uint8Array,
  signer: PublicKey,
  signature: Uint8Array,
  context?: string,
): Promise<boolean> {
  let payload: Uint8Array;
  try {
    payload = signingPayload(domain, message, context);
  } catch {
    return false;
  }
  return signer.type === "ed25519"
    ? await ed25519Verify(signer.bytes, payload, signature)
    : secp256k1Verify(signer.bytes, sha256(payload), signature);
}

/** A signed message whose signature has not been checked (fresh from the wire). */
export interface UnverifiedSignedMessage {
  /** The domain the sender claims. */
  readonly domain: SigningDomainName;
  /** The claimed signer. */
  readonly signer: PublicKey;
  /** The message bytes. */
  readonly message: Uint8Array;
  /** The signature bytes. */
  readonly signature: Uint8Array;
}

/** A signed message whose signature verified in the domain the verifier expected. */
export interface VerifiedSignedMessage extends UnverifiedSignedMessage {
  /** Marks the verified type; only {@linkcode verifySignedMessage} and {@linkcode signMessage} make one. */
  readonly verified: true;
}

/**
 * Signs `message` in `domain`.
 *
 * @example
 * ```ts
 * const { secretKey } = ed25519Keypair();
 * const signed = signMessage("WALLET_MESSAGE", new TextEncoder().encode("hello"), { type: "ed25519", secretKey });
 * await verifySignedMessage(signed, "WALLET_MESSAGE"); // ok
 * await verifySignedMessage(signed, "TRANSACTION"); // throws SignatureError WRONG_DOMAIN
 * ```
 */
export function signMessage(
  domain: SigningDomainName,
  message: Uint8Array,
  key: SigningKey,
): VerifiedSignedMessage {
  const signature = signPayload(domain, message, key);
  return { domain, signer: publicKeyOf(key), message: Uint8Array.from(message), signature, verified: true };
}

/**
 * Checks that `signed` was signed in `expectedDomain` by its signer. Throws `SignatureError` with
 * `WRONG_DOMAIN` when the claimed domain differs, `BAD_SIGNATURE` when the signature does not verify.
 */
export async function verifySignedMessage(
  signed: UnverifiedSignedMessage,
  expectedDomain: SigningDomainName,
): Promise<VerifiedSignedMessage> {
  domainOf(expectedDomain);
  if (signed.domain !== expectedDomain) {
    throw new SignatureError(
      "WRONG_DOMAIN",
      `Cannot accept signed message: domain ${signed.domain}, expected ${expectedDomain}`,
    );
  }
  if (!(await verifyPayload(expectedDomain, signed.message, signed.signer, signed.signature))) {
    throw new SignatureError("BAD_SIGNATURE", "Cannot accept signed message: signature does not verify");
  }
  return { ...signed, verified: true };
}

const MAGIC = [0x47, 0x53, 0x4d]; // "GSM"
const VERSION = 1;
const KEY_BY_BYTE: ReadonlyMap<number, KeyType> = new Map([
  [KEY_TYPE_BYTE.ed25519, "ed25519"],
  [KEY_TYPE_BYTE.secp256k1, "secp256k1"],
]);
const KEY_LEN: Readonly<Record<KeyType, number>> = { ed25519: 32, secp256k1: 33 };
const SIG_LEN: Readonly<Record<KeyType, number>> = { ed25519: 64, secp256k1: 65 };

/** Encodes a signed message in the wire form (see the module doc). */
export function encodeSignedMessage(signed: UnverifiedSignedMessage): Uint8Array {
  const header = new Uint8Array([
    ...MAGIC,
    VERSION,
    domainOf(signed.domain).code,
    KEY_TYPE_BYTE[signed.signer.type],
  ]);
  return concatBytes(
    header,
    signed.signer.bytes,
    u32be(signed.message.length),
    signed.message,
    signed.signature,
  );
}

/** Limits of {@linkcode decodeSignedMessage}. */
export interface SignedMessageLimits {
  /** Largest message accepted. Default {@linkcode DEFAULT_MAX_SIGNED_MESSAGE}. */
  readonly maxMessageLength?: number;
}

function malformed(reason: string): SignatureError {
  return new SignatureError("MALFORMED", `Cannot decode signed message: ${reason}`);
}

/**
 * Decodes a signed message starting at `offset`; returns it (unverified) and the offset after it. Every
 * failure is a `SignatureError("MALFORMED")`. Checks the length limit before allocating.
 */
export function decodeSignedMessage(
  bytes: Uint8Array,
  offset = 0,
  limits: SignedMessageLimits = {},
): [UnverifiedSignedMessage, number] {
  const max = limits.maxMessageLength ?? DEFAULT_MAX_SIGNED_MESSAGE;
  let p = offset;
  const need = (n: number, what: string) => {
    if (p + n > bytes.length) throw malformed(`truncated ${what}`);
  };
  need(6, "header");
  if (bytes[p] !== MAGIC[0] || bytes[p + 1] !== MAGIC[1] || bytes[p + 2] !== MAGIC[2]) {
    throw malformed("bad magic");
  }
  if (bytes[p + 3] !== VERSION) throw malformed(`version ${bytes[p + 3]}, expected 1`);
  const domain = DOMAIN_BY_CODE.get(bytes[p + 4] ?? 0);
  if (domain === undefined) throw malformed(`unknown domain code ${bytes[p + 4]}`);
  const type = KEY_BY_BYTE.get(bytes[p + 5] ?? 0);
  if (type === undefined) throw malformed(`unknown key type ${bytes[p + 5]}`);
  p += 6;
  need(KEY_LEN[type], "public key");
  let signer: PublicKey;
  try {
    signer = parsePublicKey(type, bytes.subarray(p, p + KEY_LEN[type]));
  } catch {
    throw malformed("invalid public key");
  }
  p += KEY_LEN[type];
  need(4, "message length");
  const len = new DataView(bytes.buffer, bytes.byteOffset + p, 4).getUint32(0, false);
  if (len > max) throw malformed(`message length ${len} exceeds ${max}`);
  p += 4;
  need(len, "message");
  const message = bytes.slice(p, p + len);
  p += len;
  need(SIG_LEN[type], "signature");
  const signature = bytes.slice(p, p + SIG_LEN[type]);
  p += SIG_LEN[type];
  return [{ domain, signer, message, signature }, p];
}
