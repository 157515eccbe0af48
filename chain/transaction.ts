/**
 * Transactions: the signed body, its canonical codec, signing and verification.
 *
 * Wire (ghostchain.proto): `SignedTransaction { bytes body = 1; bytes signature = 2; }` where `body` is the
 * canonical encoding of `Transaction`. The signature covers exactly the body bytes, framed by the wallet's
 * `TRANSACTION` signing domain (`signingPayload("TRANSACTION", body)`), so a transaction signature can never
 * be replayed as a wallet message, bridge challenge or proxy token, nor the reverse. The chain id inside the
 * body keeps a signature from being replayed on another chain; the nonce, on the same chain.
 *
 * Identity (consensus-relevant): `txHash = BLAKE3(SignedTransaction bytes)`. Ed25519 signatures under the
 * wallet's verification rule (canonical R and A, S < L) are not malleable, so one body has one valid
 * encoding and one hash in practice; the per-sender nonce makes a second copy fail anyway.
 *
 * A decoded transaction is an {@linkcode UnverifiedTransaction}; only {@linkcode verifyTransactions} (or
 * {@linkcode signTransaction}) produces a {@linkcode VerifiedTransaction}, which is what the mempool and
 * block execution take.
 *
 * @module
 */

import {
  addressPayload,
  blake3,
  type Ed25519BatchItem,
  ed25519PublicKey,
  ed25519Sign,
  KEY_TYPE_BYTE,
  type Secret,
  signingPayload,
} from "../crypto/mod.ts";
import { ChainError } from "./errors.ts";
import { decodeRecords, EMPTY_RECORDS, encodeRecords, type NameRecords } from "./names.ts";
import { malformed, PbReader, PbWriter } from "./_pb.ts";

/** Largest encoded signed transaction accepted anywhere (mempool, blocks, RPC). */
export const MAX_TX_BYTES = 8192;
/** Longest chain id. */
export const MAX_CHAIN_ID_LENGTH = 64;
/** Account address length (the wallet's address payload). */
export const ADDRESS_LENGTH = 20;

/** Transfer `amount` to the account `to` (20-byte address payload). */
export interface TransferBody {
  readonly kind: "transfer";
  readonly to: Uint8Array;
  readonly amount: bigint;
}
/** First step of a registration: publish `nameCommitment(name, owner, secret)`. */
export interface NameCommitBody {
  readonly kind: "name_commit";
  readonly commitment: Uint8Array;
}
/** Second step: reveal and register for `durationBlocks`. */
export interface NameRegisterBody {
  readonly kind: "name_register";
  readonly name: string;
  readonly secret: Uint8Array;
  readonly durationBlocks: bigint;
  readonly records: NameRecords;
  /** .zns names only: the contract address (20 bytes). */
  readonly znsContract: Uint8Array;
}
/** Replace the records (.ghost) or contract (.zns) of a name; owner only. */
export interface NameUpdateBody {
  readonly kind: "name_update";
  readonly name: string;
  readonly records: NameRecords;
  readonly znsContract: Uint8Array;
}
/** Give a name to another account; owner only. */
export interface NameTransferBody {
  readonly kind: "name_transfer";
  readonly name: string;
  readonly newOwner: Uint8Array;
}
/** Extend a name's expiry; anyone may pay. */
export interface NameRenewBody {
  readonly kind: "name_renew";
  readonly name: string;
  readonly durationBlocks: bigint;
}
/** Deploy a WebAssembly contract (vm/); its address derives from the sender and nonce (chain/contracts.ts). */
export interface ContractDeployBody {
  readonly kind: "contract_deploy";
  /** The original (uninstrumented) wasm bytes. */
  readonly code: Uint8Array;
  readonly gasLimit: bigint;
}
/** Call an exported method of a deployed contract with input `data`, moving `value` to it first. */
export interface ContractCallBody {
  readonly kind: "contract_call";
  readonly contract: Uint8Array;
  readonly data: Uint8Array;
  readonly method: string;
  readonly gasLimit: bigint;
  readonly value: bigint;
}

/** One transaction body. */
/**
 * Changes a validator's power from the height after next (power 0 removes it); only the chain's
 * `params.validatorAdmin` may send it.
 */
export interface ValidatorUpdateBody {
  readonly kind: "validator_update";
  readonly publicKey: Uint8Array;
  readonly power: bigint;
}

export type TxBody =
  | ValidatorUpdateBody
  | TransferBody
  | NameCommitBody
  | NameRegisterBody
  | NameUpdateBody
  | NameTransferBody
  | NameRenewBody
  | ContractDeployBody
  | ContractCallBody;

/** The signed part of a transaction. */
export interface Transaction {
  readonly chainId: string;
  readonly nonce: bigint;
  readonly fee: bigint;
  /** The sender's Ed25519 public key (32 bytes); the account is its address payload. */
  readonly sender: Uint8Array;
  readonly body: TxBody;
}

/** A decoded transaction whose signature has not been checked. */
export interface UnverifiedTransaction {
  readonly tx: Transaction;
  /** The exact body bytes that were signed. */
  readonly bodyBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** The whole `SignedTransaction` encoding. */
  readonly bytes: Uint8Array;
  /** `BLAKE3(bytes)`. */
  readonly hash: Uint8Array;
}

/** A transaction whose signature verified under the TRANSACTION domain. */
export interface VerifiedTransaction extends UnverifiedTransaction {
  readonly verified: true;
  /** The sender's account address (20 bytes). */
  readonly from: Uint8Array;
}

/** Body field numbers (ghostchain.proto `Transaction.body` oneof). */
const BODY_FIELD: Readonly<Record<TxBody["kind"], number>> = {
  transfer: 10,
  name_commit: 11,
  name_register: 12,
  name_update: 13,
  name_transfer: 14,
  name_renew: 15,
  contract_deploy: 16,
  contract_call: 17,
  validator_update: 18,
};

/** The account address of an Ed25519 public key (`BLAKE3(0x01 || key)[0..20]`, as wallet/address.ts). */
export function accountOf(publicKey: Uint8Array): Uint8Array {
  return addressPayload(KEY_TYPE_BYTE.ed25519, publicKey);
}

function encodeBody(b: TxBody): Uint8Array {
  const w = new PbWriter();
  switch (b.kind) {
    case "transfer":
      return w.bytes(1, b.to).uint64(2, b.amount).finish();
    case "name_commit":
      return w.bytes(1, b.commitment).finish();
    case "name_register":
      return w.string(1, b.name).bytes(2, b.secret).uint64(3, b.durationBlocks)
        .bytes(4, encodeRecords(b.records)).bytes(5, b.znsContract).finish();
    case "name_update":
      return w.string(1, b.name).bytes(2, encodeRecords(b.records)).bytes(3, b.znsContract).finish();
    case "name_transfer":
      return w.string(1, b.name).bytes(2, b.newOwner).finish();
    case "name_renew":
      return w.string(1, b.name).uint64(2, b.durationBlocks).finish();
    case "contract_deploy":
      return w.bytes(1, b.code).uint64(2, b.gasLimit).finish();
    case "contract_call":
      return w.bytes(1, b.contract).bytes(2, b.data).string(3, b.method).uint64(4, b.gasLimit)
        .uint64(5, b.value).finish();
    case "validator_update":
      return w.bytes(1, b.publicKey).uint64(2, b.power).finish();
  }
}

/** Canonical encoding of the signed body. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  return new PbWriter().string(1, tx.chainId).uint64(2, tx.nonce).uint64(3, tx.fee).bytes(4, tx.sender)
    .message(BODY_FIELD[tx.body.kind], encodeBody(tx.body)).finish().slice();
}

function decodeBody(field: number, bytes: Uint8Array): TxBody {
  const r = new PbReader(bytes, "transaction body");
  switch (field) {
    case 10: {
      let to = new Uint8Array(0), amount = 0n;
      while (r.next()) {
        if (r.field === 1) to = r.fixed(ADDRESS_LENGTH).slice();
        else if (r.field === 2) amount = r.uint64();
        else r.unknown();
      }
      if (to.length !== ADDRESS_LENGTH) throw malformed("transfer", "missing recipient");
      return { kind: "transfer", to, amount };
    }
    case 11: {
      let commitment = new Uint8Array(0);
      while (r.next()) {
        if (r.field === 1) commitment = r.fixed(32).slice();
        else r.unknown();
      }
      if (commitment.length !== 32) throw malformed("name commit", "missing commitment");
      return { kind: "name_commit", commitment };
    }
    case 12: {
      let name = "", secret = new Uint8Array(0), durationBlocks = 0n, records = EMPTY_RECORDS;
      let znsContract = new Uint8Array(0);
      while (r.next()) {
        if (r.field === 1) name = r.string(80);
        else if (r.field === 2) secret = r.fixed(32).slice();
        else if (r.field === 3) durationBlocks = r.uint64();
        else if (r.field === 4) records = decodeRecords(r.bytes(4096));
        else if (r.field === 5) znsContract = r.fixed(ADDRESS_LENGTH).slice();
        else r.unknown();
      }
      return { kind: "name_register", name, secret, durationBlocks, records, znsContract };
    }
    case 13: {
      let name = "", records = EMPTY_RECORDS, znsContract = new Uint8Array(0);
      while (r.next()) {
        if (r.field === 1) name = r.string(80);
        else if (r.field === 2) records = decodeRecords(r.bytes(4096));
        else if (r.field === 3) znsContract = r.fixed(ADDRESS_LENGTH).slice();
        else r.unknown();
      }
      return { kind: "name_update", name, records, znsContract };
    }
    case 14: {
      let name = "", newOwner = new Uint8Array(0);
      while (r.next()) {
        if (r.field === 1) name = r.string(80);
        else if (r.field === 2) newOwner = r.fixed(ADDRESS_LENGTH).slice();
        else r.unknown();
      }
      if (newOwner.length !== ADDRESS_LENGTH) throw malformed("name transfer", "missing new owner");
      return { kind: "name_transfer", name, newOwner };
    }
    case 15: {
      let name = "", durationBlocks = 0n;
      while (r.next()) {
        if (r.field === 1) name = r.string(80);
        else if (r.field === 2) durationBlocks = r.uint64();
        else r.unknown();
      }
      return { kind: "name_renew", name, durationBlocks };
    }
    case 16: {
      let code = new Uint8Array(0), gasLimit = 0n;
      while (r.next()) {
        if (r.field === 1) code = r.bytes(MAX_TX_BYTES).slice();
        else if (r.field === 2) gasLimit = r.uint64();
        else r.unknown();
      }
      return { kind: "contract_deploy", code, gasLimit };
    }
    case 18: {
      let publicKey = new Uint8Array(0), power = 0n;
      while (r.next()) {
        if (r.field === 1) publicKey = r.fixed(32).slice();
        else if (r.field === 2) power = r.uint64();
        else r.unknown();
      }
      if (publicKey.length !== 32) throw malformed("validator update", "missing public key");
      return { kind: "validator_update", publicKey, power };
    }
    default: {
      let contract = new Uint8Array(0), data = new Uint8Array(0), method = "", gasLimit = 0n, value = 0n;
      while (r.next()) {
        if (r.field === 1) contract = r.fixed(ADDRESS_LENGTH).slice();
        else if (r.field === 2) data = r.bytes(MAX_TX_BYTES).slice();
        else if (r.field === 3) method = r.string(64);
        else if (r.field === 4) gasLimit = r.uint64();
        else if (r.field === 5) value = r.uint64();
        else r.unknown();
      }
      return { kind: "contract_call", contract, data, method, gasLimit, value };
    }
  }
}

/** Decodes a canonical `Transaction` body. */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  if (bytes.length > MAX_TX_BYTES) {
    throw malformed("transaction", `${bytes.length} bytes exceeds ${MAX_TX_BYTES}`);
  }
  const r = new PbReader(bytes, "transaction");
  let chainId = "", nonce = 0n, fee = 0n, sender = new Uint8Array(0);
  let body: TxBody | undefined;
  while (r.next()) {
    const f = r.field;
    if (f === 1) chainId = r.string(MAX_CHAIN_ID_LENGTH);
    else if (f === 2) nonce = r.uint64();
    else if (f === 3) fee = r.uint64();
    else if (f === 4) sender = r.fixed(32).slice();
    else if (f >= 10 && f <= 18) {
      // Oneof: a second member (any field 10..18) is refused.
      if (body !== undefined) throw malformed("transaction", "more than one body");
      body = decodeBody(f, r.message(MAX_TX_BYTES));
    } else r.unknown();
  }
  if (chainId === "") throw malformed("transaction", "missing chain id");
  if (sender.length !== 32) throw malformed("transaction", "missing sender");
  if (body === undefined) throw malformed("transaction", "missing body");
  return { chainId, nonce, fee, sender, body };
}

/** Encodes `SignedTransaction { body, signature }`. */
export function encodeSignedTransaction(bodyBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  return new PbWriter().bytes(1, bodyBytes).bytes(2, signature).finish().slice();
}

/** Decodes a `SignedTransaction` into an unverified transaction (bounded by {@linkcode MAX_TX_BYTES}). */
export function decodeSignedTransaction(bytes: Uint8Array): UnverifiedTransaction {
  if (bytes.length > MAX_TX_BYTES) {
    throw new ChainError(
      "INVALID_ARGUMENT",
      "TOO_LARGE",
      `Cannot accept transaction: ${bytes.length} bytes exceeds ${MAX_TX_BYTES}`,
    );
  }
  const r = new PbReader(bytes, "signed transaction");
  let bodyBytes: Uint8Array | undefined, signature: Uint8Array | undefined;
  while (r.next()) {
    if (r.field === 1) bodyBytes = r.bytes(MAX_TX_BYTES);
    else if (r.field === 2) signature = r.fixed(64);
    else r.unknown();
  }
  if (bodyBytes === undefined || signature === undefined) {
    throw malformed("signed transaction", "missing body or signature");
  }
  const own = bytes.slice();
  const tx = decodeTransaction(bodyBytes);
  return { tx, bodyBytes: bodyBytes.slice(), signature: signature.slice(), bytes: own, hash: blake3(own) };
}

/** Signs `tx` with an Ed25519 secret key (whose public key must be `tx.sender`). */
export function signTransaction(tx: Transaction, secretKey: Secret | Uint8Array): VerifiedTransaction {
  const pub = ed25519PublicKey(secretKey);
  if (pub.length !== tx.sender.length || pub.some((b, i) => b !== tx.sender[i])) {
    throw new TypeError("Cannot sign transaction: the key is not the sender's");
  }
  const bodyBytes = encodeTransaction(tx);
  const signature = ed25519Sign(secretKey, signingPayload("TRANSACTION", bodyBytes));
  const bytes = encodeSignedTransaction(bodyBytes, signature);
  return { tx, bodyBytes, signature, bytes, hash: blake3(bytes), verified: true, from: accountOf(tx.sender) };
}

/** The item the Ed25519 verifier checks for a transaction. */
export function transactionVerifyItem(u: UnverifiedTransaction): Ed25519BatchItem {
  return {
    publicKey: u.tx.sender,
    message: signingPayload("TRANSACTION", u.bodyBytes),
    signature: u.signature,
  };
}

/** Verifies signatures: `verify` is e.g. `(items) => batchVerifier.verify(items)`. */
export type SignatureVerifier = (items: readonly Ed25519BatchItem[]) => Promise<boolean[]>;

/**
 * Verifies many transactions' signatures with one call to `verify`; returns per item the verified
 * transaction or a ChainError (INVALID_ARGUMENT BAD_SIGNATURE).
 */
export async function verifyTransactions(
  txs: readonly UnverifiedTransaction[],
  verify: SignatureVerifier,
): Promise<Array<VerifiedTransaction | ChainError>> {
  const verdicts = await verify(txs.map(transactionVerifyItem));
  return txs.map((u, i) =>
    verdicts[i] === true
      ? { ...u, verified: true as const, from: accountOf(u.tx.sender) }
      : new ChainError("INVALID_ARGUMENT", "BAD_SIGNATURE", "Cannot accept transaction: invalid signature")
  );
}
