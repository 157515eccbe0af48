/**
 * Deno KV adapter of {@linkcode ChainStore}: the embedded default.
 *
 * Layout: `["s", key]` state value; `["b", height, chunk]` block bytes in 60,000-byte chunks (KV values are
 * at most 64 KiB); `["h", hash]` height; `["t", hash]` `[height, index, receipt]`; `["head"]`
 * `[height, hash]`. Each block is ONE `kv.atomic()` with a check on the head's versionstamp, so a crash
 * leaves either the whole block or none of it, and a second writer cannot interleave. The block's storage
 * cost is bounded by consensus (execute.ts `storageCost`) to fit KV's atomic limits.
 *
 * @module
 */

import { BLOCK_CHUNK_BYTES } from "./execute.ts";
import type { BlockWrite, ChainStore, StoredHead, TxLocation } from "./chain_store.ts";
import { ChainError } from "./errors.ts";

/** A ChainStore over a Deno KV database. */
export class DenoKvChainStore implements ChainStore {
  readonly #kv: Deno.Kv;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Opens (or creates) the database at `path`. */
  static async open(path: string): Promise<DenoKvChainStore> {
    return new DenoKvChainStore(await Deno.openKv(path));
  }

  /** See {@linkcode ChainStore.head}. */
  async head(): Promise<StoredHead | null> {
    const e = await this.#kv.get<[number, Uint8Array]>(["head"]);
    return e.value === null ? null : { height: e.value[0], hash: e.value[1] };
  }

  /** See {@linkcode ChainStore.stateEntries}. */
  async *stateEntries(): AsyncIterable<[string, Uint8Array]> {
    for await (const e of this.#kv.list<Uint8Array>({ prefix: ["s"] }, { batchSize: 1000 })) {
      const k = e.key[1];
      if (typeof k === "string" && e.value instanceof Uint8Array) yield [k, e.value];
    }
  }

  /** See {@linkcode ChainStore.commitBlock}. */
  async commitBlock(w: BlockWrite, expectedHeight: number | null): Promise<void> {
    const head = await this.#kv.get<[number, Uint8Array]>(["head"]);
    if ((head.value?.[0] ?? null) !== expectedHeight) {
      throw new ChainError(
        "ABORTED",
        "STORAGE",
        `Cannot commit block: head is ${head.value?.[0]}, expected ${expectedHeight}`,
      );
    }
    const h = w.block.header.height;
    const op = this.#kv.atomic().check(head);
    for (const [k, v] of w.changes) v === null ? op.delete(["s", k]) : op.set(["s", k], v);
    const bytes = w.block.bytes;
    for (let i = 0, c = 0; i < Math.max(bytes.length, 1); i += BLOCK_CHUNK_BYTES, c++) {
      op.set(["b", h, c], bytes.subarray(i, i + BLOCK_CHUNK_BYTES));
    }
    op.set(["h", w.block.hash], h);
    w.txHashes.forEach((t, index) => op.set(["t", t], [h, index, w.receipts[index] ?? new Uint8Array(0)]));
    op.set(["head"], [h, w.block.hash]);
    const res = await op.commit();
    if (!res.ok) {
      throw new ChainError("ABORTED", "STORAGE", "Cannot commit block: the head changed during the commit");
    }
  }

  /** See {@linkcode ChainStore.getBlock}. */
  async getBlock(height: number): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = [];
    for await (const e of this.#kv.list<Uint8Array>({ prefix: ["b", height] })) parts.push(e.value);
    if (parts.length === 0) return undefined;
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** See {@linkcode ChainStore.heightOf}. */
  async heightOf(hash: Uint8Array): Promise<number | undefined> {
    return (await this.#kv.get<number>(["h", hash])).value ?? undefined;
  }

  /** See {@linkcode ChainStore.getTx}. */
  async getTx(hash: Uint8Array): Promise<TxLocation | undefined> {
    const v = (await this.#kv.get<[number, number, Uint8Array]>(["t", hash])).value;
    return v === null ? undefined : { height: v[0], index: v[1], receipt: v[2] };
  }

  /** Closes the database. */
  close(): void {
    this.#kv.close();
  }
}
