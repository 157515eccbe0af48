/**
 * M-of-N multisig accounts (zsig) with partial signatures collected offline.
 *
 * ## Account descriptor and address (consensus-relevant)
 * Members are sorted by `type byte || key bytes` (bytewise), so the order in which keys are given does not
 * matter. The descriptor is
 * ```
 * u8 threshold || u8 N || for each sorted member: type byte || key bytes (32 Ed25519, 33 secp256k1)
 * ```
 * and the address is `bech32m("ghost", BLAKE3(0x03 || descriptor)[0..20])` (see `address.ts`).
 *
 * ## Partial signatures
 * Each member signs the message in a registered domain with the context `multisig:<account address>` (see
 * `signed_message.ts`), so a partial signature is bound to one account and can never be replayed as a
 * single-key signature, in another domain, or for another account.
 *
 * @module
 */

import { concatBytes } from "../core/mod.ts";
import { type Address, addressFromPayload, addressPayload } from "../crypto/mod.ts";
import { MultisigError } from "./errors.ts";
import {
  comparePublicKeys,
  encodePublicKey,
  KEY_TYPE_BYTE,
  type PublicKey,
  publicKeyEquals,
  publicKeyOf,
  type SigningKey,
} from "../crypto/mod.ts";
import { type SigningDomainName, signPayload, verifyPayload } from "../crypto/mod.ts";

/** Most members an account may have. */
export const MAX_MULTISIG_MEMBERS = 16;

/** An M-of-N account. Build one with {@linkcode createMultisigAccount}. */
export interface MultisigAccount {
  /** M: signatures required. */
  readonly threshold: number;
  /** The N member keys, sorted. */
  readonly members: readonly PublicKey[];
  /** The account address. */
  readonly address: Address;
}

/** One member's signature. */
export interface PartialSignature {
  /** The signing member. */
  readonly signer: PublicKey;
  /** Its signature (64 bytes Ed25519, 65 bytes secp256k1). */
  readonly signature: Uint8Array;
}

/** A signature set that met the threshold. */
export interface VerifiedMultisig {
  /** The account. */
  readonly account: MultisigAccount;
  /** The domain. */
  readonly domain: SigningDomainName;
  /** The signed message. */
  readonly message: Uint8Array;
  /** The members whose signatures verified, in account order. */
  readonly signers: readonly PublicKey[];
}

/** The descriptor bytes hashed into the address (see the module doc). */
export function multisigDescriptor(threshold: number, sortedMembers: readonly PublicKey[]): Uint8Array {
  return concatBytes(
    new Uint8Array([threshold, sortedMembers.length]),
    ...sortedMembers.map(encodePublicKey),
  );
}

/**
 * An M-of-N account from member keys (any order) and a threshold. Throws `MultisigError("BAD_ACCOUNT")` for
 * an empty or oversized member list, duplicate members, or a threshold outside 1..N.
 *
 * @example
 * ```ts
 * const account = createMultisigAccount([alice, bob, carol], 2);
 * account.address; // "ghost1..."
 * ```
 */
export function createMultisigAccount(members: readonly PublicKey[], threshold: number): MultisigAccount {
  if (members.length === 0 || members.length > MAX_MULTISIG_MEMBERS) {
    throw new MultisigError(
      "BAD_ACCOUNT",
      `Cannot create multisig account: ${members.length} members, expected 1..16`,
    );
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > members.length) {
    throw new MultisigError(
      "BAD_ACCOUNT",
      `Cannot create multisig account: threshold ${threshold} is not in 1..${members.length}`,
    );
  }
  const sorted = [...members].sort(comparePublicKeys);
  for (let i = 1; i < sorted.length; i++) {
    if (comparePublicKeys(sorted[i - 1] as PublicKey, sorted[i] as PublicKey) === 0) {
      throw new MultisigError("BAD_ACCOUNT", "Cannot create multisig account: a member key appears twice");
    }
  }
  const payload = addressPayload(KEY_TYPE_BYTE.multisig, multisigDescriptor(threshold, sorted));
  return { threshold, members: sorted, address: addressFromPayload(payload) };
}

/** The signing context that binds partial signatures to `account`. */
export function multisigContext(account: MultisigAccount): string {
  return `multisig:${account.address}`;
}

/** Whether `key` is a member of `account`. */
export function isMultisigMember(account: MultisigAccount, key: PublicKey): boolean {
  return account.members.some((m) => publicKeyEquals(m, key));
}

/**
 * One member's partial signature of `message` in `domain`. Throws `MultisigError("NOT_A_MEMBER")` when the
 * key is not a member.
 */
export function signMultisig(
  account: MultisigAccount,
  domain: SigningDomainName,
  message: Uint8Array,
  key: SigningKey,
): PartialSignature {
  const signer = publicKeyOf(key);
  if (!isMultisigMember(account, signer)) {
    throw new MultisigError("NOT_A_MEMBER", "Cannot sign for multisig account: the key is not a member");
  }
  return { signer, signature: signPayload(domain, message, key, multisigContext(account)) };
}

/**
 * Verifies a set of partial signatures. Throws a {@linkcode MultisigError}: `NOT_A_MEMBER` for a signer
 * outside the account, `DUPLICATE_SIGNER` for a member that signed twice, `BAD_SIGNATURE` for a signature
 * that does not verify, `BELOW_THRESHOLD` when fewer than M members signed.
 */
export async function verifyMultisig(
  account: MultisigAccount,
  domain: SigningDomainName,
  message: Uint8Array,
  signatures: readonly PartialSignature[],
): Promise<VerifiedMultisig> {
  const seen: PublicKey[] = [];
  for (const [i, partial] of signatures.entries()) {
    if (!isMultisigMember(account, partial.signer)) {
      throw new MultisigError(
        "NOT_A_MEMBER",
        `Cannot accept multisig: signature ${i + 1} is from a key outside the account`,
      );
    }
    if (seen.some((k) => publicKeyEquals(k, partial.signer))) {
      throw new MultisigError(
        "DUPLICATE_SIGNER",
        `Cannot accept multisig: signature ${i + 1} repeats a signer`,
      );
    }
    seen.push(partial.signer);
  }
  for (const [i, partial] of signatures.entries()) {
    if (
      !(await verifyPayload(domain, message, partial.signer, partial.signature, multisigContext(account)))
    ) {
      throw new MultisigError("BAD_SIGNATURE", `Cannot accept multisig: signature ${i + 1} does not verify`);
    }
  }
  if (seen.length < account.threshold) {
    throw new MultisigError(
      "BELOW_THRESHOLD",
      `Cannot accept multisig: ${seen.length} of ${account.threshold} required signatures`,
    );
  }
  const signers = account.members.filter((m) => seen.some((k) => publicKeyEquals(k, m)));
  return { account, domain, message: Uint8Array.from(message), signers };
}
