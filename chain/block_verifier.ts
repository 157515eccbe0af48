/**
 * Block verification's rules, apart from the node that runs them: the header, size and commit checks that need no
 * signature work ({@linkcode checkBlock}), and re-execution of verified transactions on an overlay
 * ({@linkcode executeBlock}). Pure and synchronous; the node verifies signatures (batched, in workers), applies
 * the overlay, compares the state root and commits.
 *
 * Every rule here is consensus-relevant: a block one node accepts, every honest node must accept.
 *
 * @module
 */
import type { Ed25519BatchItem } from "../crypto/mod.ts";
import { type UnverifiedBlock, type VerifiedBlock, votePayload } from "./block.ts";
import { ChainError } from "./errors.ts";
import {
  applyEvidence,
  applyTransaction,
  encodeReceipt,
  endBlock,
  storageCost,
  withinStorageBudget,
} from "./execute.ts";
import type { CheckedEvidence } from "./block_producer.ts";
import { decodeEvidence, type Evidence } from "./consensus_codec.ts";
import { blake3 } from "../crypto/mod.ts";
import { merkleRoot } from "./merkle.ts";
import { isQuorum, proposerOf } from "./proposer.ts";
import type { BlockContext } from "./receipt.ts";
import { bytesEqual, toHex } from "./_pb.ts";
import { type ChainParams, StateOverlay, type StateReader, type Validator } from "./state.ts";
import {
  decodeSignedTransaction,
  type UnverifiedTransaction,
  type VerifiedTransaction,
} from "./transaction.ts";

/** A block that breaks a rule: INVALID_ARGUMENT, reason BAD_BLOCK, blamed on the peer that sent it. */
export function badBlock(message: string, cause?: unknown): ChainError {
  return new ChainError("INVALID_ARGUMENT", "BAD_BLOCK", `Invalid block: ${message}`, {
    source: "upstream",
    cause,
  });
}

/** What a block is checked against: the node's head, its clock and the state's validators and params. */
export interface BlockExpectations {
  readonly chainId: string;
  readonly head: VerifiedBlock;
  readonly validators: readonly Validator[];
  readonly params: ChainParams;
  /** The local wall clock (ms). */
  readonly now: number;
  /** How far ahead of `now` a block's time may be. */
  readonly maxClockSkewMs: number;
  /** False for a proposal, whose commit does not exist yet (default true). */
  readonly requireCommit?: boolean;
}

/** A block that passed {@linkcode checkBlock}: its decoded transactions and the commit signatures to verify. */
export interface CheckedBlock {
  readonly transactions: readonly UnverifiedTransaction[];
  readonly commitSignatures: readonly Ed25519BatchItem[];
  /** The block's evidence, decoded; its votes' signatures are in `evidenceSignatures`. */
  readonly evidence: readonly CheckedEvidence[];
  readonly evidenceSignatures: readonly Ed25519BatchItem[];
}

/** How many heights back evidence may reach. */
export const EVIDENCE_MAX_AGE = 100_000;

/**
 * Checks one piece of evidence's shape against a block at `height` (signatures aside): two votes of one validator
 * of `validators` for one height / round / type with different blocks, not from the future nor too old.
 */
export function evidenceProblem(
  e: Evidence,
  height: number,
  validators: readonly Validator[],
): string | undefined {
  const a = e.first, b = e.second;
  if (!bytesEqual(a.validator, b.validator)) return "votes of two validators";
  if (a.height !== b.height || a.round !== b.round || a.type !== b.type) return "votes for different steps";
  if (bytesEqual(a.blockHash, b.blockHash)) return "the same vote twice";
  if (a.height < 1 || a.height > height || a.height + EVIDENCE_MAX_AGE < height) return `height ${a.height}`;
  if (!validators.some((v) => bytesEqual(v.publicKey, a.validator))) return "not a validator";
  return undefined;
}

/**
 * Checks everything about `b` that needs no signature verification or execution: chain, height, parent, time,
 * proposer, size limits, the commit's shape and signers, and that every transaction decodes. Throws BAD_BLOCK.
 */
export function checkBlock(b: UnverifiedBlock, x: BlockExpectations): CheckedBlock {
  const h = b.header;
  const height = x.head.header.height + 1;
  if (h.chainId !== x.chainId) throw badBlock(`chain id ${h.chainId}, expected ${x.chainId}`);
  if (h.height !== height) throw badBlock(`height ${h.height}, expected ${height}`);
  if (!bytesEqual(h.parentHash, x.head.hash)) throw badBlock("wrong parent hash");
  if (h.timeMs <= x.head.header.timeMs) throw badBlock("time does not increase");
  // Not a re-execution rule (it depends on the local clock): refuse blocks from the far future.
  if (h.timeMs > x.now + x.maxClockSkewMs) throw badBlock(`time ${h.timeMs} is too far in the future`);
  const expected = proposerOf(x.validators, h.height, h.round);
  if (!bytesEqual(h.proposer, expected.publicKey)) throw badBlock("wrong proposer");
  if (b.bytes.length > x.params.maxBlockBytes) {
    throw badBlock(`${b.bytes.length} bytes exceeds ${x.params.maxBlockBytes}`);
  }
  if (b.transactions.length > x.params.maxBlockTxs) {
    throw badBlock(`${b.transactions.length} transactions exceed ${x.params.maxBlockTxs}`);
  }
  const transactions: UnverifiedTransaction[] = [];
  for (const t of b.transactions) {
    try {
      transactions.push(decodeSignedTransaction(t));
    } catch (e) {
      throw badBlock(`transaction ${transactions.length}: ${e instanceof Error ? e.message : e}`, e);
    }
  }
  if (!bytesEqual(h.txRoot, merkleRoot(transactions.map((t) => t.hash)))) {
    throw badBlock("transactions root mismatch");
  }
  const evidence: CheckedEvidence[] = [];
  const evidenceSignatures: Ed25519BatchItem[] = [];
  for (const bytes of b.evidence) {
    let e: Evidence;
    try {
      e = decodeEvidence(bytes);
    } catch (err) {
      throw badBlock(`evidence ${evidence.length}: ${err instanceof Error ? err.message : err}`, err);
    }
    const problem = evidenceProblem(e, h.height, x.validators);
    if (problem !== undefined) throw badBlock(`evidence ${evidence.length}: ${problem}`);
    evidence.push({ evidence: e, bytes });
    for (const v of [e.first, e.second]) {
      evidenceSignatures.push({
        publicKey: v.validator,
        message: votePayload(h.chainId, v.height, v.round, v.blockHash, v.type),
        signature: v.signature,
      });
    }
  }
  const root = b.evidence.length === 0 ? undefined : merkleRoot(b.evidence.map((e) => blake3(e)));
  if (
    (root === undefined) !== (h.evidenceRoot === undefined) ||
    (root && h.evidenceRoot && !bytesEqual(root, h.evidenceRoot))
  ) {
    throw badBlock("evidence root mismatch");
  }
  // A proposal (no commit yet) skips the commit; the block is committed only with one.
  const commitSignatures = x.requireCommit === false ? [] : checkCommit(b, x.validators);
  return { transactions, commitSignatures, evidence, evidenceSignatures };
}

/**
 * Checks a block's commit: precommits of distinct validators of the set for this block at `commit.round >=
 * header.round`, holding more than 2/3 of the power. Returns the signatures to verify. Throws BAD_BLOCK.
 */
export function checkCommit(b: UnverifiedBlock, validators: readonly Validator[]): Ed25519BatchItem[] {
  const h = b.header;
  if (!bytesEqual(b.commit.blockHash, b.hash) || b.commit.round < h.round) {
    throw badBlock("commit is for another block");
  }
  const power = new Map(validators.map((v) => [toHex(v.publicKey), v.power]));
  const seen = new Set<string>();
  let signed = 0n;
  for (const s of b.commit.signatures) {
    const k = toHex(s.validator);
    if (seen.has(k)) throw badBlock("duplicate commit signature");
    seen.add(k);
    const w = power.get(k);
    if (w === undefined) throw badBlock("commit signed by a non-validator");
    signed += w;
  }
  const total = validators.reduce((a, v) => a + v.power, 0n);
  if (!isQuorum(signed, total)) throw badBlock("commit has 2/3 of the voting power or less");
  const payload = votePayload(h.chainId, h.height, b.commit.round, b.hash);
  return b.commit.signatures.map((s) => ({
    publicKey: s.validator,
    message: payload,
    signature: s.signature,
  }));
}

/** What re-executing a block produced. */
export interface ExecutedBlock {
  readonly overlay: StateOverlay;
  /** Encoded receipts, in transaction order. */
  readonly receipts: readonly Uint8Array[];
}

/**
 * Re-executes a checked block's signature-verified transactions on an overlay of `state`, and checks the receipts
 * root and the storage budget. Throws BAD_BLOCK; the caller applies the overlay and compares the state root.
 */
export function executeBlock(
  state: StateReader,
  b: UnverifiedBlock,
  transactions: readonly VerifiedTransaction[],
  ctx: BlockContext,
  evidence: readonly CheckedEvidence[] = [],
): ExecutedBlock {
  const overlay = new StateOverlay(state);
  for (const [i, e] of evidence.entries()) {
    try {
      applyEvidence(overlay, e.evidence, e.bytes, ctx);
    } catch (err) {
      throw badBlock(`evidence ${i}: ${err instanceof Error ? err.message : err}`, err);
    }
  }
  const receipts: Uint8Array[] = [];
  for (let i = 0; i < transactions.length; i++) {
    const v = transactions[i];
    if (v === undefined) throw badBlock(`transaction ${i}: missing`);
    try {
      receipts.push(encodeReceipt(applyTransaction(overlay, v, ctx)));
    } catch (e) {
      throw badBlock(`transaction ${i} not includable: ${e instanceof Error ? e.message : e}`, e);
    }
  }
  endBlock(overlay, ctx);
  if (!bytesEqual(b.header.receiptsRoot, merkleRoot(receipts))) throw badBlock("receipts root mismatch");
  const receiptBytes = receipts.reduce((n, r) => n + r.length, 0);
  if (
    !withinStorageBudget(storageCost(overlay.changes(), transactions.length, b.bytes.length, receiptBytes))
  ) {
    throw badBlock("exceeds the storage budget");
  }
  return { overlay, receipts };
}
