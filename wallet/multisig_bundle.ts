/**
 * Signing bundles: the JSON document that carries a multisig message from signer to signer offline.
 *
 * ```json
 * {
 *   "format": "ghostchain-multisig-bundle",
 *   "version": 1,
 *   "domain": "TRANSACTION",
 *   "account": {
 *     "threshold": 2,
 *     "members": [{ "type": "ed25519", "publicKey": "<hex>" }, ...],
 *     "address": "ghost1..."
 *   },
 *   "message": "<base64>",
 *   "signatures": [{ "type": "ed25519", "publicKey": "<hex>", "signature": "<hex>" }, ...]
 * }
 * ```
 * Parsing checks structure, limits, key validity and that `address` matches the members and threshold; it
 * does not check signatures, duplicates or membership, which {@linkcode verifySigningBundle} reports with
 * distinct codes.
 *
 * @module
 */

import { fromHex, isRecord, toBase64, toHex, tryFromBase64, tryFromHex } from "../core/mod.ts";
import { MultisigError } from "./errors.ts";
import {
  createMultisigAccount,
  isMultisigMember,
  type MultisigAccount,
  type PartialSignature,
  signMultisig,
  type VerifiedMultisig,
  verifyMultisig,
} from "./multisig.ts";
import {
  isKeyType,
  parsePublicKey,
  type PublicKey,
  publicKeyEquals,
  publicKeyOf,
  type SigningKey,
} from "../crypto/mod.ts";
import { isSigningDomain, type SigningDomainName } from "../crypto/mod.ts";
import { equalBytes } from "../core/mod.ts";

/** The `format` field of every bundle. */
export const SIGNING_BUNDLE_FORMAT = "ghostchain-multisig-bundle";
/** The bundle version this code writes and reads. */
export const SIGNING_BUNDLE_VERSION = 1;
/** Default limits: 1 MiB of message, 4 MiB of JSON. */
export const DEFAULT_BUNDLE_LIMITS: Required<SigningBundleLimits> = {
  maxMessageBytes: 1 << 20,
  maxTextLength: 4 << 20,
};

/** Limits of {@linkcode parseSigningBundle}. */
export interface SigningBundleLimits {
  /** Largest decoded message. */
  readonly maxMessageBytes?: number;
  /** Largest JSON text. */
  readonly maxTextLength?: number;
}

/** A multisig message with the signatures collected so far (unverified). */
export interface SigningBundle {
  /** The signing domain. */
  readonly domain: SigningDomainName;
  /** The account. */
  readonly account: MultisigAccount;
  /** The message. */
  readonly message: Uint8Array;
  /** Partial signatures in the order they were added. */
  readonly signatures: readonly PartialSignature[];
}

/** A new bundle with no signatures. */
export function createSigningBundle(
  account: MultisigAccount,
  domain: SigningDomainName,
  message: Uint8Array,
): SigningBundle {
  return { domain, account, message: Uint8Array.from(message), signatures: [] };
}

/**
 * A copy of `bundle` with `key`'s partial signature added. Throws `NOT_A_MEMBER` for a foreign key and
 * `DUPLICATE_SIGNER` when that member already signed.
 */
export function addBundleSignature(bundle: SigningBundle, key: SigningKey): SigningBundle {
  const signer = publicKeyOf(key);
  if (!isMultisigMember(bundle.account, signer)) {
    throw new MultisigError("NOT_A_MEMBER", "Cannot sign bundle: the key is not a member of the account");
  }
  if (bundle.signatures.some((s) => publicKeyEquals(s.signer, signer))) {
    throw new MultisigError("DUPLICATE_SIGNER", "Cannot sign bundle: this member already signed");
  }
  const partial = signMultisig(bundle.account, bundle.domain, bundle.message, key);
  return { ...bundle, signatures: [...bundle.signatures, partial] };
}

/**
 * Merges the signatures of two bundles for the same account, domain and message (else `ACCOUNT_MISMATCH`).
 * Identical signatures are kept once; anything else is kept, for verification to judge.
 */
export function mergeSigningBundles(a: SigningBundle, b: SigningBundle): SigningBundle {
  if (a.account.address !== b.account.address || a.domain !== b.domain || !equalBytes(a.message, b.message)) {
    throw new MultisigError("ACCOUNT_MISMATCH", "Cannot merge bundles: account, domain or message differ");
  }
  const out = [...a.signatures];
  for (const s of b.signatures) {
    if (!out.some((t) => publicKeyEquals(t.signer, s.signer) && equalBytes(t.signature, s.signature))) {
      out.push(s);
    }
  }
  return { ...a, signatures: out };
}

/** Verifies a bundle's signatures (see {@linkcode verifyMultisig} for the error codes). */
export function verifySigningBundle(bundle: SigningBundle): Promise<VerifiedMultisig> {
  return verifyMultisig(bundle.account, bundle.domain, bundle.message, bundle.signatures);
}

/** The bundle as pretty-printed JSON text. */
export function encodeSigningBundle(bundle: SigningBundle): string {
  const key = (k: PublicKey) => ({ type: k.type, publicKey: toHex(k.bytes) });
  return JSON.stringify(
    {
      format: SIGNING_BUNDLE_FORMAT,
      version: SIGNING_BUNDLE_VERSION,
      domain: bundle.domain,
      account: {
        threshold: bundle.account.threshold,
        members: bundle.account.members.map(key),
        address: bundle.account.address,
      },
      message: toBase64(bundle.message),
      signatures: bundle.signatures.map((s) => ({ ...key(s.signer), signature: toHex(s.signature) })),
    },
    null,
    2,
  ) + "\n";
}

function bad(reason: string, cause?: unknown): MultisigError {
  return new MultisigError(
    "MALFORMED_BUNDLE",
    `Cannot parse signing bundle: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

function parseKey(v: unknown, where: string): PublicKey {
  if (!isRecord(v) || !isKeyType(v.type) || typeof v.publicKey !== "string") {
    throw bad(`${where} is not a typed key`);
  }
  const bytes = v.publicKey.length <= 130 ? tryFromHex(v.publicKey) : undefined;
  if (bytes === undefined) throw bad(`${where} publicKey is not hex`);
  try {
    return parsePublicKey(v.type, bytes);
  } catch (cause) {
    throw bad(`${where} publicKey is not a valid ${v.type} key`, cause);
  }
}

/**
 * Parses bundle JSON text. Throws `MultisigError("MALFORMED_BUNDLE")` for anything structurally wrong and
 * `ACCOUNT_MISMATCH` when the stated address does not match members and threshold.
 */
export function parseSigningBundle(text: unknown, limits: SigningBundleLimits = {}): SigningBundle {
  const lim = { ...DEFAULT_BUNDLE_LIMITS, ...limits };
  if (typeof text !== "string") throw bad("not a string");
  if (text.length > lim.maxTextLength) throw bad(`${text.length} characters exceed ${lim.maxTextLength}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw bad("not JSON", cause);
  }
  if (!isRecord(raw)) throw bad("not an object");
  if (raw.format !== SIGNING_BUNDLE_FORMAT) throw bad(`format is not "${SIGNING_BUNDLE_FORMAT}"`);
  if (raw.version !== SIGNING_BUNDLE_VERSION) throw bad(`version is not ${SIGNING_BUNDLE_VERSION}`);
  if (!isSigningDomain(raw.domain)) throw bad("domain is not a registered signing domain");
  const acc = raw.account;
  if (!isRecord(acc) || !Array.isArray(acc.members) || typeof acc.address !== "string") {
    throw bad("account is malformed");
  }
  if (acc.members.length === 0 || acc.members.length > 16) throw bad("account has 0 or more than 16 members");
  if (typeof acc.threshold !== "number") throw bad("threshold is not a number");
  const members = acc.members.map((m, i) => parseKey(m, `member ${i + 1}`));
  let account: MultisigAccount;
  try {
    account = createMultisigAccount(members, acc.threshold);
  } catch (cause) {
    throw bad("account is invalid", cause);
  }
  if (account.address !== acc.address) {
    throw new MultisigError(
      "ACCOUNT_MISMATCH",
      "Cannot parse signing bundle: address does not match members and threshold",
    );
  }
  if (typeof raw.message !== "string" || raw.message.length > Math.ceil(lim.maxMessageBytes / 3) * 4) {
    throw bad("message is not a string within the limit");
  }
  const message = tryFromBase64(raw.message);
  if (message === undefined) throw bad("message is not canonical base64");
  if (!Array.isArray(raw.signatures) || raw.signatures.length > 64) {
    throw bad("signatures is not a list of at most 64");
  }
  const signatures = raw.signatures.map((s, i): PartialSignature => {
    const signer = parseKey(s, `signature ${i + 1}`);
    const sigHex = isRecord(s) ? s.signature : undefined;
    if (typeof sigHex !== "string" || sigHex.length > 130) throw bad(`signature ${i + 1} is not hex`);
    const expected = signer.type === "ed25519" ? 64 : 65;
    let signature: Uint8Array;
    try {
      signature = fromHex(sigHex);
    } catch (cause) {
      throw bad(`signature ${i + 1} is not hex`, cause);
    }
    if (signature.length !== expected) {
      throw bad(`signature ${i + 1} has ${signature.length} bytes, expected ${expected}`);
    }
    return { signer, signature };
  });
  return { domain: raw.domain, account, message, signatures };
}
