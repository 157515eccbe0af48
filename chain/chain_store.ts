/**
 * Block storage behind a narrow interface: {@linkcode ChainStore}. `commitBlock` is all-or-nothing: state
 * changes, the block, its hash index, the transaction index and the head pointer land together or not at
 * all. {@linkcode MemoryChainStore} is for tests; `DenoKvChainStore` (deno_kv_store.ts) is the default.
 *
 * @module
 */

import { toHex } from "../core/mod.ts";
import type { VerifiedBlock } from "./block.ts";

/** Where a committed transaction is. */
export interface TxLocation {
  readonly height: number;
  readonly index: number;
  /** Encoded receipt. */
  readonly receipt: Uint8Array;
}

/** Everything one block writes. */
export interface BlockWrite {
  readonly block: VerifiedBlock;
  /** State changes (null = delete), sorted by key. */
  readonly changes: ReadonlyMap<string, Uint8Array | null>;
  /** Transaction hashes, in block order. */
  readonly txHashes: readonly Uint8Array[];
  /** Encoded receipts, in block order. */
  readonly receipts: readonly Uint8Array[];
}

/** The head pointer. */
export interface StoredHead {
  readonly height: number;
  readonly hash: Uint8Array;
}

/** Persistent chain storage. */
export interface ChainStore {
  /** The head, or null for an empty store. */
  head(): Promise<StoredHead | null>;
  /** Every state entry. */
  stateEntries(): AsyncIterable<[string, Uint8Array]>;
  /** Commits one block atomically; fails when the head is no longer `expectedHeight` (another writer). */
  commitBlock(write: BlockWrite, expectedHeight: number | null): Promise<void>;
  /** Encoded block at `height`. */
  getBlock(height: number): Promise<Uint8Array | undefined>;
  /** Height of the block with this hash. */
  heightOf(hash: Uint8Array): Promise<number | undefined>;
  /** Location of a committed transaction. */
  getTx(hash: Uint8Array): Promise<TxLocation | undefined>;
  /** Releases the store. */
  close(): void;
}

const hex = toHex;

/** An in-memory store (tests, benches). */
export class MemoryChainStore implements ChainStore {
  readonly #state = new Map<string, Uint8Array>();
  readonly #blocks = new Map<number, Uint8Array>();
  readonly #hashes = new Map<string, number>();
  readonly #txs = new Map<string, TxLocation>();
  #head: StoredHead | null = null;

  /** See {@linkcode ChainStore.head}. */
  head(): Promise<StoredHead | null> {
    return Promise.resolve(this.#head);
  }

  /** See {@linkcode ChainStore.stateEntries}. */
  async *stateEntries(): AsyncIterable<[string, Uint8Array]> {
    yield* [...this.#state.entries()];
  }

  /** See {@linkcode ChainStore.commitBlock}. */
  commitBlock(w: BlockWrite, expectedHeight: number | null): Promise<void> {
    if ((this.#head?.height ?? null) !== expectedHeight) {
      return Promise.reject(new Error(`Head moved: expected ${expectedHeight}, found ${this.#head?.height}`));
    }
    for (const [k, v] of w.changes) v === null ? this.#state.delete(k) : this.#state.set(k, v);
    const h = w.block.header.height;
    this.#blocks.set(h, w.block.bytes);
    this.#hashes.set(hex(w.block.hash), h);
    w.txHashes.forEach((t, index) =>
      this.#txs.set(hex(t), { height: h, index, receipt: w.receipts[index] ?? new Uint8Array(0) })
    );
    this.#head = { height: h, hash: w.block.hash };
    return Promise.resolve();
  }

  /** See {@linkcode ChainStore.getBlock}. */
  getBlock(height: number): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#blocks.get(height));
  }

  /** See {@linkcode ChainStore.heightOf}. */
  heightOf(hash: Uint8Array): Promise<number | undefined> {
    return Promise.resolve(this.#hashes.get(hex(hash)));
  }

  /** See {@linkcode ChainStore.getTx}. */
  getTx(hash: Uint8Array): Promise<TxLocation | undefined> {
    return Promise.resolve(this.#txs.get(hex(hash)));
  }

  /** No-op. */
  close(): void {}
}
