/**
 * A mirror of the chain's name registry for services that answer from it (cns's `.ghost`/`.zns` zones, wraith's
 * `.ghost` sites): a snapshot of every name at the head, then the names each new block touches, refreshed through
 * a {@linkcode ChainNameFeed} (over a {@linkcode BlockchainClient} through the bridge, or injected in tests), with
 * reconnects and backoff. Reads are synchronous and never wait for the chain.
 *
 * @module
 */
import { decodeBlockResponse } from "./blockchain_service.ts";
import { type BlockchainClient, decodeResolvedName } from "./bridge_service.ts";
import type { NameRecords } from "./names.ts";
import { decodeBlock } from "./block.ts";
import { decodeSignedTransaction } from "./transaction.ts";

/** One name as the chain holds it. */
export interface ChainName {
  readonly records: NameRecords;
  /** The owner's address (`ghost1...`), when the feed reports it. */
  readonly owner?: string;
  /** .zns: the 20-byte contract address; empty otherwise. */
  readonly znsContract: Uint8Array;
  /** Last height at which the name resolves. */
  readonly expiry: bigint;
}

/** What the index needs from the chain (injected; the worker wires it to the bridge). */
export interface ChainNameFeed {
  /** The chain's head height. */
  headHeight(signal: AbortSignal): Promise<number>;
  /** One page of every registered name, after `startAfter`; `next` is "" at the end. */
  listNames(startAfter: string, signal: AbortSignal): Promise<{ names: string[]; next: string }>;
  /** A name's current entry, or `undefined` when it does not exist. */
  resolveName(name: string, signal: AbortSignal): Promise<ChainName | undefined>;
  /** Blocks from `fromHeight`, then live: each block's height and the names its transactions touch. */
  streamBlocks(fromHeight: number, signal: AbortSignal): AsyncIterable<{ height: number; names: string[] }>;
}

/** Options of {@linkcode ChainNameIndex}. */
export interface ChainNameIndexOptions {
  /** Delay before the first reconnect; doubles up to `maxBackoffMs`. Default 250. */
  readonly backoffMs?: number;
  /** Default 10,000. */
  readonly maxBackoffMs?: number;
  /** Reports follow problems (lost stream, failed resolve) for logs. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** The in-memory registry mirror (see the module doc). */
export class ChainNameIndex {
  readonly #feed: ChainNameFeed;
  readonly #opts: ChainNameIndexOptions;
  readonly #names = new Map<string, ChainName>();
  readonly #abort = new AbortController();
  #height = 0;
  #version = 0;
  #ready = false;
  #running: Promise<void> | undefined;
  readonly #readyWaiters: Array<() => void> = [];

  /** Builds over `feed`; call {@linkcode ChainNameIndex.start}. */
  constructor(feed: ChainNameFeed, opts: ChainNameIndexOptions = {}) {
    this.#feed = feed;
    this.#opts = opts;
  }

  /** Whether the index has caught up with the chain at least once. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Changes whenever anything an answer could depend on changes (a name, the height, a reload): a cache of
   * answers built from this index is valid while it stays the same.
   */
  get version(): number {
    return this.#version;
  }

  /** The last block height applied. */
  get height(): number {
    return this.#height;
  }

  /** Names held (live or expired but not yet removed). */
  get size(): number {
    return this.#names.size;
  }

  /** A live name (not past its expiry at the current height). */
  get(name: string): ChainName | undefined {
    const e = this.#names.get(name);
    return e !== undefined && BigInt(this.#height) <= e.expiry ? e : undefined;
  }

  /** The live names (not past their expiry at the current height). */
  names(): string[] {
    const h = BigInt(this.#height);
    return [...this.#names].filter(([, e]) => h <= e.expiry).map(([n]) => n);
  }

  /** Starts following (idempotent). */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Resolves once the index is ready (or rejects after `timeoutMs`). */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Chain name index not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops following. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => {});
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let delay = this.#opts.backoffMs ?? 250;
    const maxDelay = this.#opts.maxBackoffMs ?? 10_000;
    let snapshotTaken = false;
    while (!signal.aborted) {
      try {
        if (!snapshotTaken) {
          await this.#snapshot(signal);
          snapshotTaken = true;
        }
        for await (const block of this.#feed.streamBlocks(this.#height + 1, signal)) {
          await this.#refresh(block.names, signal);
          this.#height = Math.max(this.#height, block.height);
          this.#version++;
          delay = this.#opts.backoffMs ?? 250;
        }
        if (signal.aborted) return;
        this.#opts.onEvent?.("chain stream ended", { height: this.#height });
      } catch (error) {
        if (signal.aborted) return;
        this.#opts.onEvent?.("chain feed failed", {
          height: this.#height,
          error: error instanceof Error ? error.message : String(error),
          retryInMs: delay,
        });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      delay = Math.min(maxDelay, delay * 2);
    }
  }

  /** Every name at the head, then ready. */
  async #snapshot(signal: AbortSignal): Promise<void> {
    const head = await this.#feed.headHeight(signal);
    const all: string[] = [];
    let after = "";
    for (;;) {
      const page = await this.#feed.listNames(after, signal);
      all.push(...page.names);
      if (page.next === "" || page.names.length === 0) break;
      after = page.next;
    }
    this.#names.clear();
    this.#version++;
    await this.#refresh(all, signal);
    this.#height = head;
    this.#version++;
    this.#ready = true;
    for (const w of this.#readyWaiters.splice(0)) w();
    this.#opts.onEvent?.("chain names loaded", { height: head, names: this.#names.size });
  }

  async #refresh(names: readonly string[], signal: AbortSignal): Promise<void> {
    for (const name of new Set(names)) {
      const entry = await this.#feed.resolveName(name, signal);
      if (entry === undefined) this.#names.delete(name);
      else this.#names.set(name, entry);
      this.#version++;
    }
  }
}

const NAME_BODIES = new Set(["name_register", "name_update", "name_transfer", "name_renew"]);

/** Names a block's transactions touch (bounded by the block's own limits). */
export function namesTouchedByBlock(blockBytes: Uint8Array): string[] {
  const names: string[] = [];
  for (const txBytes of decodeBlock(blockBytes).transactions) {
    const body = decodeSignedTransaction(txBytes).tx.body;
    if (NAME_BODIES.has(body.kind) && "name" in body) names.push(body.name);
  }
  return names;
}

/** A {@linkcode ChainNameFeed} over chain/'s BlockchainClient (through a bridge). */
export function chainFeedFromClient(client: BlockchainClient): ChainNameFeed {
  return {
    headHeight: async (signal) => (await client.status(signal)).height,
    listNames: (startAfter, signal) => client.listNames("", { startAfter, limit: 1000, signal }),
    resolveName: async (name, signal) => {
      const r = decodeResolvedName(await client.resolveName(name, signal));
      return r.found
        ? { records: r.records, owner: r.owner, znsContract: r.znsContract, expiry: r.expiry }
        : undefined;
    },
    streamBlocks: async function* (fromHeight, signal) {
      for await (const bytes of client.streamBlocks(fromHeight, signal)) {
        const resp = decodeBlockResponse(bytes);
        yield { height: resp.height, names: namesTouchedByBlock(resp.block) };
      }
    },
  };
}
