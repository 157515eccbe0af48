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
import {
  applyTransaction,
  encodeReceipt,
  inclusionProblem,
  storageCost,
  withinStorageBudget,
} from "./execute.ts";
import type { BlockContext, Receipt } from "./receipt.ts";
import { StateOverlay, type StateReader } from "./state.ts";
import type { VerifiedTransaction } from "./transaction.ts";

/** Bytes a block takes besides its transactions (header and commit), counted against `maxBlockBytes`. */
export const BLOCK_OVERHEAD_BYTES = 200;
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
}

/** Picks and executes the next block's transactions from `selector`, in its order, within every block limit. */
export function selectTransactions(
  state: StateReader,
  selector: MempoolSelector,
  ctx: BlockContext,
): BlockSelection {
  const { params } = ctx;
  const overlay = new StateOverlay(state);
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
    const cost = storageCost(
      overlay.changes(),
      included.length + 1,
      bytes + tx.bytes.length + TX_FRAMING_BYTES,
      receiptBytes + receiptLen,
    );
    if (!withinStorageBudget(cost)) {
      overlay.revertCheckpoint();
      break;
    }
    overlay.commitCheckpoint();
    included.push(tx);
    receipts.push(receipt);
    bytes += tx.bytes.length + TX_FRAMING_BYTES;
    receiptBytes += receiptLen;
  }
  return { overlay, included, receipts, drop };
}
