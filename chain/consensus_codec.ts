/**
 * The wire and signing encodings of consensus (`ghostchain-consensus/1`), canonical protobuf through `_pb.ts`.
 *
 * ```
 * VoteSign     { chain_id=1, height=2, round=3, block_hash=4, type=5 }              (what a vote signs)
 * ProposalSign { chain_id=1, height=2, round=3, pol_round_plus_one=4, block_hash=5 } (what a proposal signs)
 * Vote         { type=1, height=2, round=3, block_hash=4, validator=5, signature=6 }
 * Proposal     { height=1, round=2, pol_round_plus_one=3, block_hash=4, block=5, proposer=6, signature=7,
 *                pol_votes=8 (repeated Vote: the proof-of-lock prevotes when pol_round_plus_one > 0) }
 * Evidence     { first=1 (Vote), second=2 (Vote) }                                   (two votes, one H/R/type)
 * Gossip       { oneof: proposal=1, vote=2, txs=3 (TxBatch {tx=1 repeated}), decided=4 (a committed block),
 *                status=5 (PeerStatus {chain_id=1, height=2, round=3, genesis_hash=4, node_key=5}), evidence=6 }
 * ```
 * Votes sign under the wallet's TRANSACTION domain with context `consensus-vote`, proposals with
 * `consensus-proposal`: a vote never verifies as a proposal, a transaction or the reverse. A block's commit
 * signatures are precommits (`type` 2) for its hash.
 *
 * @module
 */
import { MAX_BLOCK_BYTES_HARD, votePayload } from "./block.ts";
import { signingPayload } from "../crypto/mod.ts";
import {
  type ConsensusInput,
  type ConsensusMessage,
  PRECOMMIT,
  PREVOTE,
  type Proposal,
  type Step,
  type Vote,
  type VoteType,
} from "./consensus.ts";
import { malformed, PbReader, PbWriter } from "./_pb.ts";
import { MAX_CHAIN_ID_LENGTH, MAX_TX_BYTES } from "./transaction.ts";

/** The signing context of proposals. */
export const PROPOSAL_CONTEXT = "consensus-proposal";
/** Most proof-of-lock votes in a proposal (the most validators a commit may hold). */
export const MAX_POL_VOTES = 1024;
/** Most transactions in one gossip batch. */
export const MAX_GOSSIP_TXS = 4096;
/** Largest gossip message (a block plus framing). */
export const MAX_GOSSIP_BYTES = MAX_BLOCK_BYTES_HARD + 1024;

/** The bytes a vote's signature covers. */
export function voteSignBytes(
  chainId: string,
  v: {
    readonly type: VoteType;
    readonly height: number;
    readonly round: number;
    readonly blockHash: Uint8Array;
  },
): Uint8Array {
  return votePayload(chainId, v.height, v.round, v.blockHash, v.type);
}

/** The bytes a proposal's signature covers. */
export function proposalSignBytes(
  chainId: string,
  p: {
    readonly height: number;
    readonly round: number;
    readonly polRound: number;
    readonly blockHash: Uint8Array;
  },
): Uint8Array {
  const body = new PbWriter().string(1, chainId).uint64(2, BigInt(p.height)).uint32(3, p.round)
    .uint32(4, p.polRound + 1).bytes(5, p.blockHash).finish();
  return signingPayload("TRANSACTION", body, PROPOSAL_CONTEXT);
}

/** Encodes a vote. */
export function encodeVoteMessage(v: Vote): Uint8Array {
  return new PbWriter().uint32(1, v.type).uint64(2, BigInt(v.height)).uint32(3, v.round).bytes(4, v.blockHash)
    .bytes(5, v.validator).bytes(6, v.signature).finish().slice();
}

/** Decodes a vote (shape only; the signature is checked by the caller). */
export function decodeVoteMessage(bytes: Uint8Array): Vote {
  const r = new PbReader(bytes, "vote");
  let type = 0, height = 0, round = 0;
  let blockHash = new Uint8Array(0), validator = new Uint8Array(0), signature = new Uint8Array(0);
  while (r.next()) {
    if (r.field === 1) type = r.uint32();
    else if (r.field === 2) height = r.safeInt();
    else if (r.field === 3) round = r.uint32();
    else if (r.field === 4) blockHash = r.fixed(32).slice();
    else if (r.field === 5) validator = r.fixed(32).slice();
    else if (r.field === 6) signature = r.fixed(64).slice();
    else r.unknown();
  }
  if (type !== PREVOTE && type !== PRECOMMIT) throw malformed("vote", `type ${type}`);
  if (validator.length !== 32 || signature.length !== 64) {
    throw malformed("vote", "missing validator or signature");
  }
  return { type, height, round, blockHash, validator, signature };
}

/** Encodes a proposal. */
export function encodeProposalMessage(p: Proposal): Uint8Array {
  const w = new PbWriter().uint64(1, BigInt(p.height)).uint32(2, p.round).uint32(3, p.polRound + 1)
    .bytes(4, p.blockHash).bytes(5, p.block).bytes(6, p.proposer).bytes(7, p.signature);
  for (const v of p.polVotes) w.message(8, encodeVoteMessage(v));
  return w.finish().slice();
}

/** Decodes a proposal. */
export function decodeProposalMessage(bytes: Uint8Array): Proposal {
  const r = new PbReader(bytes, "proposal");
  let height = 0, round = 0, polPlusOne = 0;
  let blockHash = new Uint8Array(0), block = new Uint8Array(0);
  let proposer = new Uint8Array(0), signature = new Uint8Array(0);
  const polVotes: Vote[] = [];
  while (r.next()) {
    if (r.field === 1) height = r.safeInt();
    else if (r.field === 2) round = r.uint32();
    else if (r.field === 3) polPlusOne = r.uint32();
    else if (r.field === 4) blockHash = r.fixed(32).slice();
    else if (r.field === 5) block = r.bytes(MAX_BLOCK_BYTES_HARD).slice();
    else if (r.field === 6) proposer = r.fixed(32).slice();
    else if (r.field === 7) signature = r.fixed(64).slice();
    else if (r.field === 8) {
      if (polVotes.length >= MAX_POL_VOTES) {
        throw malformed("proposal", `more than ${MAX_POL_VOTES} POL votes`);
      }
      polVotes.push(decodeVoteMessage(r.message(256, true)));
    } else r.unknown();
  }
  if (blockHash.length !== 32 || block.length === 0 || proposer.length !== 32 || signature.length !== 64) {
    throw malformed("proposal", "missing block, hash, proposer or signature");
  }
  if (polPlusOne === 0 && polVotes.length > 0) throw malformed("proposal", "POL votes without a POL round");
  return { height, round, polRound: polPlusOne - 1, blockHash, block, proposer, signature, polVotes };
}

/** Two conflicting signed votes of one validator. */
export interface Evidence {
  readonly first: Vote;
  readonly second: Vote;
}

/** Encodes evidence. */
export function encodeEvidence(e: Evidence): Uint8Array {
  return new PbWriter().message(1, encodeVoteMessage(e.first)).message(2, encodeVoteMessage(e.second))
    .finish()
    .slice();
}

/** Decodes evidence (shape only). */
export function decodeEvidence(bytes: Uint8Array): Evidence {
  const r = new PbReader(bytes, "evidence");
  let first: Vote | undefined, second: Vote | undefined;
  while (r.next()) {
    if (r.field === 1) first = decodeVoteMessage(r.message(256));
    else if (r.field === 2) second = decodeVoteMessage(r.message(256));
    else r.unknown();
  }
  if (first === undefined || second === undefined) throw malformed("evidence", "needs two votes");
  return { first, second };
}

/** A peer's view (sent on connect and periodically). */
export interface PeerStatus {
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly genesisHash: Uint8Array;
  /** The sender's validator or node key, as it claims (for display; consensus trusts signatures only). */
  readonly nodeKey: Uint8Array;
}

/** Everything gossiped between nodes. */
export type GossipMessage =
  | ConsensusMessage
  | { readonly kind: "txs"; readonly txs: readonly Uint8Array[] }
  | { readonly kind: "decided"; readonly block: Uint8Array }
  | { readonly kind: "status"; readonly status: PeerStatus }
  | { readonly kind: "evidence"; readonly evidence: Evidence };

/** Encodes a gossip message. */
export function encodeGossip(m: GossipMessage): Uint8Array {
  const w = new PbWriter();
  switch (m.kind) {
    case "proposal":
      return w.message(1, encodeProposalMessage(m.proposal)).finish().slice();
    case "vote":
      return w.message(2, encodeVoteMessage(m.vote)).finish().slice();
    case "txs": {
      const b = new PbWriter();
      for (const t of m.txs) b.bytes(1, t, true);
      return w.message(3, b.finish()).finish().slice();
    }
    case "decided":
      return w.message(4, m.block).finish().slice();
    case "status": {
      const s = m.status;
      const b = new PbWriter().string(1, s.chainId).uint64(2, BigInt(s.height)).uint32(3, s.round)
        .bytes(4, s.genesisHash).bytes(5, s.nodeKey);
      return w.message(5, b.finish()).finish().slice();
    }
    case "evidence":
      return w.message(6, encodeEvidence(m.evidence)).finish().slice();
  }
}

/** Decodes a gossip message (bounded; one member exactly). */
export function decodeGossip(bytes: Uint8Array): GossipMessage {
  if (bytes.length > MAX_GOSSIP_BYTES) throw malformed("gossip", `${bytes.length} bytes`);
  const r = new PbReader(bytes, "gossip");
  let out: GossipMessage | undefined;
  while (r.next()) {
    if (out !== undefined) throw malformed("gossip", "more than one member");
    switch (r.field) {
      case 1:
        out = { kind: "proposal", proposal: decodeProposalMessage(r.message(MAX_GOSSIP_BYTES)) };
        break;
      case 2:
        out = { kind: "vote", vote: decodeVoteMessage(r.message(256)) };
        break;
      case 3: {
        const b = new PbReader(r.message(MAX_GOSSIP_BYTES), "tx batch");
        const txs: Uint8Array[] = [];
        while (b.next()) {
          if (b.field !== 1) b.unknown();
          if (txs.length >= MAX_GOSSIP_TXS) throw malformed("tx batch", `more than ${MAX_GOSSIP_TXS}`);
          txs.push(b.bytes(MAX_TX_BYTES, true).slice());
        }
        out = { kind: "txs", txs };
        break;
      }
      case 4:
        out = { kind: "decided", block: r.message(MAX_BLOCK_BYTES_HARD).slice() };
        break;
      case 5: {
        const b = new PbReader(r.message(512), "status");
        let chainId = "", height = 0, round = 0, genesisHash = new Uint8Array(0), nodeKey = new Uint8Array(0);
        while (b.next()) {
          if (b.field === 1) chainId = b.string(MAX_CHAIN_ID_LENGTH);
          else if (b.field === 2) height = b.safeInt();
          else if (b.field === 3) round = b.uint32();
          else if (b.field === 4) genesisHash = b.fixed(32).slice();
          else if (b.field === 5) nodeKey = b.fixed(32).slice();
          else b.unknown();
        }
        out = { kind: "status", status: { chainId, height, round, genesisHash, nodeKey } };
        break;
      }
      case 6:
        out = { kind: "evidence", evidence: decodeEvidence(r.message(1024)) };
        break;
      default:
        r.unknown();
    }
  }
  if (out === undefined) throw malformed("gossip", "empty");
  return out;
}

/**
 * Encodes a consensus input for the write-ahead log:
 * `WalInput { oneof message=1 (Gossip), timeout=2 {height=1, round=2, step=3}, built=3 {height=1, round=2,
 * block=3}, validated=4 {height=1, block_hash=2, valid=3} }` (step: 1 propose, 2 prevote, 3 precommit).
 */
export function encodeWalInput(i: ConsensusInput): Uint8Array {
  const w = new PbWriter();
  switch (i.kind) {
    case "message":
      return w.message(1, encodeGossip(i.message)).finish().slice();
    case "timeout":
      return w.message(
        2,
        new PbWriter().uint64(1, BigInt(i.height)).uint32(2, i.round).uint32(3, STEPS.indexOf(i.step) + 1)
          .finish(),
      ).finish().slice();
    case "built":
      return w.message(
        3,
        new PbWriter().uint64(1, BigInt(i.height)).uint32(2, i.round).bytes(3, i.block).finish(),
      ).finish().slice();
    case "validated":
      return w.message(
        4,
        new PbWriter().uint64(1, BigInt(i.height)).bytes(2, i.blockHash).bool(3, i.valid).finish(),
      ).finish().slice();
  }
}

const STEPS: readonly Step[] = ["propose", "prevote", "precommit"];

/** Decodes a WAL input. */
export function decodeWalInput(bytes: Uint8Array): ConsensusInput {
  const r = new PbReader(bytes, "wal input");
  if (!r.next()) throw malformed("wal input", "empty");
  const body = r.message(MAX_GOSSIP_BYTES);
  const field = r.field;
  if (r.next()) throw malformed("wal input", "more than one member");
  if (field === 1) {
    const m = decodeGossip(body);
    if (m.kind !== "proposal" && m.kind !== "vote") throw malformed("wal input", `a ${m.kind} message`);
    return { kind: "message", message: m };
  }
  const b = new PbReader(body, "wal input");
  let height = 0, round = 0, step = 0, valid = false;
  let bytesField = new Uint8Array(0);
  while (b.next()) {
    if (b.field === 1) height = b.safeInt();
    else if (field !== 4 && b.field === 2) round = b.uint32();
    else if (field === 4 && b.field === 2) bytesField = b.fixed(32).slice();
    else if (field === 2 && b.field === 3) step = b.uint32();
    else if (field === 3 && b.field === 3) bytesField = b.bytes(MAX_BLOCK_BYTES_HARD).slice();
    else if (field === 4 && b.field === 3) valid = b.bool();
    else b.unknown();
  }
  if (field === 2) {
    const s = STEPS[step - 1];
    if (s === undefined) throw malformed("wal input", `step ${step}`);
    return { kind: "timeout", height, round, step: s };
  }
  if (field === 3) return { kind: "built", height, round, block: bytesField };
  if (field === 4) return { kind: "validated", height, blockHash: bytesField, valid };
  throw malformed("wal input", `field ${field}`);
}
