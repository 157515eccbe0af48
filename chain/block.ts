/**
 * Blocks: header, transactions and commit, their canonical codec, hashing and commit signatures.
 *
 * ```
 * BlockHeader { chain_id=1, height=2, parent_hash=3, time_ms=4, proposer=5, tx_root=6, receipts_root=7,
 *               state_root=8, round=9, evidence_root=10 (only when the block carries evidence) }
 * Block       { header=1 (BlockHeader), transactions=2 (repeated SignedTransaction bytes), commit=3 (Commit),
 *               evidence=4 (repeated Evidence bytes, at most 16) }
 * Commit      { round=1, block_hash=2, signatures=3 (repeated CommitSig { validator=1, signature=2 }) }
 * VoteSign    { chain_id=1, height=2, round=3, block_hash=4, type=5 }   (what a validator signs)
 * ```
 * Consensus-relevant choices:
 * - `blockHash = BLAKE3(BlockHeader bytes)`; the header commits to the transactions (`tx_root`, Merkle root
 *   of the transaction hashes, merkle.ts), their outcomes (`receipts_root`, Merkle root of the receipt
 *   encodings) and the post-state (`state_root`, the sparse Merkle root after executing the block).
 * - The commit is not part of the hash (it signs the hash): its signatures are precommits (consensus.ts) for
 *   the block's hash in the commit's round, signed as `VoteSign` bytes under the wallet's TRANSACTION domain
 *   with context `consensus-vote` (its own tag `ghostchain/v1/transaction|consensus-vote`, so a vote never
 *   verifies as a transaction nor the reverse). A commit needs more than 2/3 of the voting power.
 * - `round` is the round the block was built in (its proposer is that round's); the commit's round is the one
 *   it was decided in, the same or later.
 * - `time_ms` is informational (expiry and commit-reveal windows use heights, so execution never reads a
 *   clock); it must increase strictly from parent to child.
 *
 * A block from the wire is an {@linkcode UnverifiedBlock} until `verifyBlock` (execute.ts) has checked it.
 *
 * @module
 */

import { blake3, ed25519Sign, type Secret, signingPayload } from "../crypto/mod.ts";
import { malformed, PbReader, PbWriter } from "./_pb.ts";
import { MAX_CHAIN_ID_LENGTH, MAX_TX_BYTES } from "./transaction.ts";

/** Largest encoded block any decoder accepts (the consensus limit is `ChainParams.maxBlockBytes`). */
export const MAX_BLOCK_BYTES_HARD = 4 << 20;
/** The signing context of votes (see the module doc). */
export const VOTE_CONTEXT = "consensus-vote";

/** A block header. */
export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  readonly parentHash: Uint8Array;
  readonly timeMs: number;
  /** Proposer's Ed25519 public key (empty for genesis). */
  readonly proposer: Uint8Array;
  readonly txRoot: Uint8Array;
  readonly receiptsRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly round: number;
  /** Merkle root of the block's evidence; absent (not encoded) when the block carries none. */
  readonly evidenceRoot?: Uint8Array;
}

/** One validator's signature in a commit. */
export interface CommitSig {
  readonly validator: Uint8Array;
  readonly signature: Uint8Array;
}

/** The signatures that finalise a block. */
export interface Commit {
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly signatures: readonly CommitSig[];
}

/** A block whose contents have not been verified (from a peer or the store). */
export interface UnverifiedBlock {
  readonly header: BlockHeader;
  /** Encoded `SignedTransaction`s. */
  readonly transactions: readonly Uint8Array[];
  readonly commit: Commit;
  /** Encoded `Evidence` (consensus_codec.ts): equivocations recorded by this block. */
  readonly evidence: readonly Uint8Array[];
  /** `BLAKE3(header bytes)`. */
  readonly hash: Uint8Array;
  /** The whole block encoding. */
  readonly bytes: Uint8Array;
}

/** A block that passed `verifyBlock` (or was produced locally). */
export interface VerifiedBlock extends UnverifiedBlock {
  readonly verified: true;
}

/** Encodes a header. */
export function encodeHeader(h: BlockHeader): Uint8Array {
  return new PbWriter().string(1, h.chainId).uint64(2, BigInt(h.height)).bytes(3, h.parentHash)
    .uint64(4, BigInt(h.timeMs)).bytes(5, h.proposer).bytes(6, h.txRoot).bytes(7, h.receiptsRoot)
    .bytes(8, h.stateRoot).uint32(9, h.round).bytes(10, h.evidenceRoot ?? new Uint8Array(0)).finish().slice();
}

/** Decodes a header. */
export function decodeHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length > 1024) throw malformed("block header", `${bytes.length} bytes exceeds 1024`);
  const r = new PbReader(bytes, "block header");
  let chainId = "", height = 0, timeMs = 0, round = 0;
  let parentHash = new Uint8Array(32), proposer = new Uint8Array(0);
  let txRoot = new Uint8Array(32), receiptsRoot = new Uint8Array(32), stateRoot = new Uint8Array(32);
  let evidenceRoot: Uint8Array | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1:
        chainId = r.string(MAX_CHAIN_ID_LENGTH);
        break;
      case 2:
        height = r.safeInt();
        break;
      case 3:
        parentHash = r.fixed(32).slice();
        break;
      case 4:
        timeMs = r.safeInt();
        break;
      case 5:
        proposer = r.fixed(32).slice();
        break;
      case 6:
        txRoot = r.fixed(32).slice();
        break;
      case 7:
        receiptsRoot = r.fixed(32).slice();
        break;
      case 8:
        stateRoot = r.fixed(32).slice();
        break;
      case 9:
        round = r.uint32();
        break;
      case 10:
        evidenceRoot = r.fixed(32).slice();
        break;
      default:
        r.unknown();
    }
  }
  const h = { chainId, height, parentHash, timeMs, proposer, txRoot, receiptsRoot, stateRoot, round };
  return evidenceRoot === undefined ? h : { ...h, evidenceRoot };
}

/** Encodes a commit. */
export function encodeCommit(c: Commit): Uint8Array {
  const w = new PbWriter().uint32(1, c.round).bytes(2, c.blockHash);
  for (const s of c.signatures) {
    w.message(3, new PbWriter().bytes(1, s.validator).bytes(2, s.signature).finish());
  }
  return w.finish().slice();
}

/** Decodes a commit (at most 1024 signatures). */
export function decodeCommit(bytes: Uint8Array): Commit {
  const r = new PbReader(bytes, "commit");
  let round = 0, blockHash = new Uint8Array(0);
  const signatures: CommitSig[] = [];
  while (r.next()) {
    if (r.field === 1) round = r.uint32();
    else if (r.field === 2) blockHash = r.fixed(32).slice();
    else if (r.field === 3) {
      if (signatures.length >= 1024) throw malformed("commit", "more than 1024 signatures");
      const m = new PbReader(r.message(128, true), "commit signature");
      let validator = new Uint8Array(0), signature = new Uint8Array(0);
      while (m.next()) {
        if (m.field === 1) validator = m.fixed(32).slice();
        else if (m.field === 2) signature = m.fixed(64).slice();
        else m.unknown();
      }
      signatures.push({ validator, signature });
    } else r.unknown();
  }
  return { round, blockHash, signatures };
}

/** Encodes a block. */
/** Most pieces of evidence in one block. */
export const MAX_BLOCK_EVIDENCE = 16;

export function encodeBlock(
  header: BlockHeader,
  transactions: readonly Uint8Array[],
  commit: Commit,
  evidence: readonly Uint8Array[] = [],
): Uint8Array {
  const w = new PbWriter().message(1, encodeHeader(header));
  for (const t of transactions) w.bytes(2, t, true);
  w.message(3, encodeCommit(commit));
  for (const e of evidence) w.bytes(4, e, true);
  return w.finish().slice();
}

/** Decodes a block (bounded by `maxBytes`, default {@linkcode MAX_BLOCK_BYTES_HARD}). Unverified. */
export function decodeBlock(bytes: Uint8Array, maxBytes = MAX_BLOCK_BYTES_HARD): UnverifiedBlock {
  if (bytes.length > maxBytes) throw malformed("block", `${bytes.length} bytes exceeds ${maxBytes}`);
  const r = new PbReader(bytes, "block");
  let headerBytes: Uint8Array | undefined;
  let commit: Commit = { round: 0, blockHash: new Uint8Array(0), signatures: [] };
  let seenCommit = false;
  const transactions: Uint8Array[] = [];
  const evidence: Uint8Array[] = [];
  while (r.next()) {
    if (r.field === 1) headerBytes = r.message(1024);
    else if (r.field === 2) transactions.push(r.bytes(MAX_TX_BYTES, true).slice());
    else if (r.field === 3) {
      commit = decodeCommit(r.message(1024 * 100));
      seenCommit = true;
    } else if (r.field === 4) {
      if (evidence.length >= MAX_BLOCK_EVIDENCE) {
        throw malformed("block", `more than ${MAX_BLOCK_EVIDENCE} evidence`);
      }
      evidence.push(r.bytes(1024, true).slice());
    } else r.unknown();
  }
  if (headerBytes === undefined || !seenCommit) throw malformed("block", "missing header or commit");
  const header = decodeHeader(headerBytes);
  return { header, transactions, commit, evidence, hash: blake3(headerBytes), bytes: bytes.slice() };
}

/** The block hash of a header. */
export function blockHash(header: BlockHeader): Uint8Array {
  return blake3(encodeHeader(header));
}

/**
 * The payload a vote signature covers: `VoteSign {chain_id=1, height=2, round=3, block_hash=4, type=5}` (type 1
 * prevote, 2 precommit; an empty hash is nil) in the TRANSACTION domain with the `consensus-vote` context.
 */
export function votePayload(
  chainId: string,
  height: number,
  round: number,
  hash: Uint8Array,
  type: 1 | 2 = 2,
): Uint8Array {
  const body = new PbWriter().string(1, chainId).uint64(2, BigInt(height)).uint32(3, round).bytes(4, hash)
    .uint32(5, type).finish();
  return signingPayload("TRANSACTION", body, VOTE_CONTEXT);
}

/** Signs a precommit for `header` (its round) with a validator key: a commit signature. */
export function signVote(header: BlockHeader, hash: Uint8Array, secretKey: Secret | Uint8Array): Uint8Array {
  return ed25519Sign(secretKey, votePayload(header.chainId, header.height, header.round, hash));
}
