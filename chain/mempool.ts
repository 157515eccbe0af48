/**
 * The mempool: verified transactions waiting for a block. Sans-IO; the node runs the stateless checks
 * (size, decoding, chain id, signature) before {@linkcode Mempool.add} runs the stateful ones (nonce,
 * balance, fee) against the committed state.
 *
 * Policy:
 * - bounded by count and bytes; when full, a new transaction evicts the lowest-fee transaction that is the
 *   last of its sender's queue (evicting from the middle would strand the later nonces), if it pays more;
 * - per sender, nonces from the account nonce up to `maxNonceGap` ahead are held; only a contiguous run is
 *   offered to the producer;
 * - the same sender and nonce again replaces the pending transaction only with a fee at least 10% higher;
 * - a duplicate (same hash) or a replay (nonce below the account nonce) is refused with a clear reason;
 * - {@linkcode Mempool.selector} yields by fee (highest first), then by nonce within each sender.
 *
 * @module
 */

import { contractInclusionProblem, contractSpend } from "./contracts.ts";
import { ChainError } from "./errors.ts";
import type { ChainParams, StateReader } from "./state.ts";
import { readAccount } from "./state.ts";
import { toHex } from "./_pb.ts";
import type { VerifiedTransaction } from "./transaction.ts";

/** Mempool limits. */
export interface MempoolLimits {
  readonly maxCount: number;
  readonly maxBytes: number;
  /** How far ahead of the account nonce a transaction may be held. */
  readonly maxNonceGap: number;
}

/** Defaults of {@linkcode MempoolLimits}. */
export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = {
  maxCount: 50_000,
  maxBytes: 64 << 20,
  maxNonceGap: 64,
};

interface SenderQueue {
  readonly key: string;
  /** Sorted by nonce. */
  readonly txs: VerifiedTransaction[];
}

function spend(tx: VerifiedTransaction): bigint {
  const b = tx.tx.body;
  return tx.tx.fee +
    (b.kind === "transfer"
      ? b.amount
      : b.kind === "contract_deploy" || b.kind === "contract_call"
      ? contractSpend(b)
      : 0n);
}

/** A selection cursor for the producer. */
export interface MempoolSelector {
  /** The next candidate, or undefined. */
  next(): VerifiedTransaction | undefined;
  /** Stop offering the sender of the last candidate (it was not includable). */
  skipSender(): void;
}

/** The mempool (see the module doc). */
export class Mempool {
  readonly #limits: MempoolLimits;
  readonly #byHash = new Map<string, VerifiedTransaction>();
  readonly #senders = new Map<string, SenderQueue>();
  #bytes = 0;

  /** An empty pool. */
  constructor(limits: Partial<MempoolLimits> = {}) {
    this.#limits = { ...DEFAULT_MEMPOOL_LIMITS, ...limits };
  }

  /** Transactions held. */
  get size(): number {
    return this.#byHash.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a transaction with this hash is held. */
  has(hash: Uint8Array): boolean {
    return this.#byHash.has(toHex(hash));
  }

  /** A held transaction. */
  get(hash: Uint8Array): VerifiedTransaction | undefined {
    return this.#byHash.get(toHex(hash));
  }

  /** Stateful admission (see the module doc). Throws ChainError with the reason. */
  add(tx: VerifiedTransaction, state: StateReader, params: ChainParams): void {
    const hash = toHex(tx.hash);
    if (this.#byHash.has(hash)) {
      throw new ChainError(
        "ALREADY_EXISTS",
        "DUPLICATE",
        "Cannot accept transaction: already in the mempool",
      );
    }
    if (tx.tx.fee < params.minFee) {
      throw new ChainError(
        "INVALID_ARGUMENT",
        "FEE_TOO_LOW",
        `Cannot accept transaction: fee ${tx.tx.fee} is below the minimum ${params.minFee}`,
      );
    }
    const acct = readAccount(state, tx.from);
    const nonce = tx.tx.nonce;
    if (nonce < acct.nonce) {
      throw new ChainError(
        "FAILED_PRECONDITION",
        "BAD_NONCE",
        `Cannot accept transaction: nonce ${nonce} already used (account nonce ${acct.nonce})`,
      );
    }
    if (nonce > acct.nonce + BigInt(this.#limits.maxNonceGap)) {
      throw new ChainError(
        "FAILED_PRECONDITION",
        "NONCE_TOO_HIGH",
        `Cannot accept transaction: nonce ${nonce} is more than ${this.#limits.maxNonceGap} ahead of ${acct.nonce}`,
      );
    }
    const key = toHex(tx.from);
    const queue = this.#senders.get(key);
    let replaced: VerifiedTransaction | undefined;
    let pending = 0n;
    for (const p of queue?.txs ?? []) {
      if (p.tx.nonce < acct.nonce) continue; // committed, not yet pruned
      if (p.tx.nonce === nonce) replaced = p;
      else pending += spend(p);
    }
    if (replaced !== undefined && tx.tx.fee * 10n < replaced.tx.fee * 11n) {
      throw new ChainError(
        "ALREADY_EXISTS",
        "NONCE_PENDING",
        `Cannot accept transaction: nonce ${nonce} is already pending (replace with a fee >= 110%)`,
      );
    }
    const body = tx.tx.body;
    if (body.kind === "contract_deploy" || body.kind === "contract_call") {
      // Limits only here (the balance check below covers the gas reserve and value).
      const problem = contractInclusionProblem(body, 1n << 64n);
      if (problem !== undefined) {
        throw new ChainError("INVALID_ARGUMENT", "BAD_AMOUNT", `Cannot accept transaction: ${problem}`);
      }
    }
    if (acct.balance < pending + spend(tx)) {
      throw new ChainError(
        "FAILED_PRECONDITION",
        "INSUFFICIENT_FUNDS",
        `Cannot accept transaction: balance ${acct.balance} < ${pending + spend(tx)} (pending included)`,
      );
    }
    const size = tx.bytes.length;
    while (this.#byHash.size + 1 > this.#limits.maxCount || this.#bytes + size > this.#limits.maxBytes) {
      const victim = this.#lowestTail(key);
      if (victim === undefined || victim.tx.fee >= tx.tx.fee) {
        throw new ChainError(
          "RESOURCE_EXHAUSTED",
          "MEMPOOL_FULL",
          "Cannot accept transaction: mempool full and the fee does not beat the lowest",
        );
      }
      this.#remove(victim);
    }
    if (replaced !== undefined) this.#remove(replaced);
    this.#insert(key, tx);
  }

  #lowestTail(exceptSender: string): VerifiedTransaction | undefined {
    let best: VerifiedTransaction | undefined;
    for (const q of this.#senders.values()) {
      if (q.key === exceptSender) continue;
      const tail = q.txs[q.txs.length - 1];
      if (tail !== undefined && (best === undefined || tail.tx.fee < best.tx.fee)) best = tail;
    }
    return best;
  }

  #insert(key: string, tx: VerifiedTransaction): void {
    let q = this.#senders.get(key);
    if (q === undefined) this.#senders.set(key, q = { key, txs: [] });
    let i = q.txs.length;
    while (i > 0 && (q.txs[i - 1] as VerifiedTransaction).tx.nonce > tx.tx.nonce) i--;
    q.txs.splice(i, 0, tx);
    this.#byHash.set(toHex(tx.hash), tx);
    this.#bytes += tx.bytes.length;
  }

  #remove(tx: VerifiedTransaction): void {
    const h = toHex(tx.hash);
    if (!this.#byHash.delete(h)) return;
    this.#bytes -= tx.bytes.length;
    const key = toHex(tx.from);
    const q = this.#senders.get(key);
    if (q === undefined) return;
    const i = q.txs.indexOf(tx);
    if (i >= 0) q.txs.splice(i, 1);
    if (q.txs.length === 0) this.#senders.delete(key);
  }

  /** Removes transactions by hash (e.g. those committed in a block). */
  removeHashes(hashes: readonly Uint8Array[]): void {
    for (const h of hashes) {
      const tx = this.#byHash.get(toHex(h));
      if (tx !== undefined) this.#remove(tx);
    }
  }

  /** Drops a sender's transactions whose nonce is below its committed account nonce. */
  pruneSender(address: Uint8Array, state: StateReader): void {
    const q = this.#senders.get(toHex(address));
    if (q === undefined) return;
    const nonce = readAccount(state, address).nonce;
    for (const tx of [...q.txs]) if (tx.tx.nonce < nonce) this.#remove(tx);
  }

  /** Removes one transaction (not includable). */
  drop(tx: VerifiedTransaction): void {
    this.#remove(tx);
  }

  /**
   * A cursor over candidates: highest fee first among each sender's next nonce, starting at the account
   * nonce in `state`; a sender stops at the first gap.
   */
  selector(state: StateReader): MempoolSelector {
    interface Cursor {
      readonly q: SenderQueue;
      i: number;
      expect: bigint;
    }
    const heap: Cursor[] = [];
    const fee = (c: Cursor): bigint => (c.q.txs[c.i] as VerifiedTransaction).tx.fee;
    const less = (a: Cursor, b: Cursor): boolean => fee(a) > fee(b);
    const push = (c: Cursor): void => {
      heap.push(c);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(heap[i] as Cursor, heap[p] as Cursor)) break;
        [heap[i], heap[p]] = [heap[p] as Cursor, heap[i] as Cursor];
        i = p;
      }
    };
    const pop = (): Cursor | undefined => {
      const top = heap[0];
      const last = heap.pop();
      if (top === undefined || last === undefined) return undefined;
      if (heap.length > 0) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l] as Cursor, heap[m] as Cursor)) m = l;
          if (r < heap.length && less(heap[r] as Cursor, heap[m] as Cursor)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m] as Cursor, heap[i] as Cursor];
          i = m;
        }
      }
      return top;
    };
    const advance = (c: Cursor): void => {
      while (c.i < c.q.txs.length && (c.q.txs[c.i] as VerifiedTransaction).tx.nonce < c.expect) c.i++;
      const t = c.q.txs[c.i];
      if (t !== undefined && t.tx.nonce === c.expect) push(c);
    };
    for (const q of this.#senders.values()) {
      const first = q.txs[0];
      if (first === undefined) continue;
      advance({ q, i: 0, expect: readAccount(state, first.from).nonce });
    }
    let last: Cursor | undefined;
    return {
      next: () => {
        if (last !== undefined) {
          last.i++;
          last.expect++;
          advance(last);
        }
        last = pop();
        return last === undefined ? undefined : last.q.txs[last.i];
      },
      skipSender: () => {
        last = undefined;
      },
    };
  }
}
