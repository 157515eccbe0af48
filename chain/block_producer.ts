/**
 * Block production's deterministic core: which mempool transactions go into the next block, executed on an
 * overlay of the state. Pure and synchronous; the node signs, commits and announces what this picks.
 *
 * Consensus-relevant: a producer may pick any includable transactions, but the block it builds must respect the
 * limits a verifier re-checks (`maxBlockTxs`, `maxBlockBytes`, the one-atomic-write storage budget), so this
 * stops before each of them.
 *
 * @module
 */
import type { MempoolSelector } from "./mempool.ts";
import { MAX_BLOCK_EVIDENCE } from "./block.ts";
import type { Evidence } from "./consensus_codec.ts";
import {
  applyEvidence,
  applyTransaction,
  encodeReceipt,
  endBlock,
  inclusionProblem,
  storageCostOf,
  withinStorageBudget,
} from "./execute.ts";
import type { BlockContext, Receipt } from "./receipt.ts";
import { StateOverlay, type StateReader } from "./state.ts";
import type { VerifiedTransaction } from "./transaction.ts";

/** Bytes a block takes besides its transactions (header and commit), counted against `maxBlockBytes`. */
export const BLOCK_OVERHEAD_BYTES = 200;
/** Bytes kept free for the end of a block's writes (a validator set of at most 100). */
export const END_BLOCK_BYTES = 8192;
/** Bytes of framing per transaction inside an encoded block. */
export const TX_FRAMING_BYTES = 4;

/** What {@linkcode selectTransactions} picked. */
export interface BlockSelection {
  /** The state after the picked transactions, not yet applied to the node's state. */
  readonly overlay: StateOverlay;
  readonly included: readonly VerifiedTransaction[];
  /** One receipt per included transaction, in order. */
  readonly receipts: readonly Receipt[];
  /** Transactions that can never be included on this state (to drop from the mempool). */
  readonly drop: readonly VerifiedTransaction[];
  /** The evidence the block records (in order). */
  readonly evidence: readonly CheckedEvidence[];
}

/** Evidence whose two votes were checked (signatures included), with its encoding. */
export interface CheckedEvidence {
  readonly evidence: Evidence;
  readonly bytes: Uint8Array;
}

/** Picks and executes the next block's transactions from `selector`, in its order, within every block limit. */
export function selectTransactions(
  state: StateReader,
  selector: MempoolSelector,
  ctx: BlockContext,
  evidence: readonly CheckedEvidence[] = [],
): BlockSelection {
  const { params } = ctx;
  const overlay = new StateOverlay(state);
  // Evidence first (what is already on chain is left out), then transactions, then the end of the block.
  const recorded: CheckedEvidence[] = [];
  for (const e of evidence.slice(0, MAX_BLOCK_EVIDENCE)) {
    overlay.checkpoint();
    try {
      applyEvidence(overlay, e.evidence, e.bytes, ctx);
      overlay.commitCheckpoint();
      recorded.push(e);
    } catch {
      overlay.revertCheckpoint();
    }
  }
  const included: VerifiedTransaction[] = [];
  const receipts: Receipt[] = [];
  const drop: VerifiedTransaction[] = [];
  let bytes = BLOCK_OVERHEAD_BYTES;
  let receiptBytes = 0;
  for (let tx = selector.next(); tx !== undefined; tx = selector.next()) {
    if (included.length >= params.maxBlockTxs) break;
    if (bytes + tx.bytes.length + TX_FRAMING_BYTES > params.maxBlockBytes) break;
    const problem = inclusionProblem(overlay, tx, ctx.chainId, params);
    if (problem !== undefined) {
      // A later transaction of the same sender depends on this one's nonce: skip the sender for this block.
      drop.push(tx);
      selector.skipSender();
      continue;
    }
    overlay.checkpoint();
    const receipt = applyTransaction(overlay, tx, ctx);
    const receiptLen = encodeReceipt(receipt).length;
    const cost = storageCostOf(
      overlay.writeCount,
      overlay.writeBytes,
      included.length + 1,
      bytes + tx.bytes.length + TX_FRAMING_BYTES,
      receiptBytes + receiptLen,
    );
    // Room for the end of the block (a new validator set, the spent update queue).
    if (!withinStorageBudget({ mutations: cost.mutations + 2, bytes: cost.bytes + END_BLOCK_BYTES })) {
      overlay.revertCheckpoint();
      break;
    }
    overlay.commitCheckpoint();
    included.push(tx);
    receipts.push(receipt);
    bytes += tx.bytes.length + TX_FRAMING_BYTES;
    receiptBytes += receiptLen;
  }
  endBlock(overlay, ctx);
  return { overlay, included, receipts, drop, evidence: recorded };
}
