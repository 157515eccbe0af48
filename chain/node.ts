/**
 * {@linkcode ChainNode}: one GhostChain node (the seed's ghostd core). It owns the committed state, the
 * mempool and the store, and does the three things a node does:
 * - **admit** transactions (`submit`): decode and bound them, verify signatures in micro-batches through the
 *   injected verifier (the wallet's Ed25519BatchVerifier in production), then the mempool's stateful checks;
 * - **produce** blocks when it is the proposer (`produceBlock`): proof of authority, round-robin over the
 *   genesis validator set;
 * - **verify and apply** blocks from peers (`applyBlock`): every rule re-checked, every transaction
 *   re-executed, roots compared, nothing trusted.
 * Every block (produced or applied) is committed through `ChainStore.commitBlock` in one atomic write, and
 * listeners hear of it only after that write resolved.
 *
 * Time and scheduling are injected (`now`, `schedule`); execution itself never reads them.
 *
 * @module
 */

import { type Secret } from "../crypto/mod.ts";
import {
  blockHash,
  type BlockHeader,
  type Commit,
  decodeBlock,
  encodeBlock,
  signVote,
  type UnverifiedBlock,
  type VerifiedBlock,
} from "./block.ts";
import type { ChainStore, TxLocation } from "./chain_store.ts";
import { ChainError } from "./errors.ts";
import { encodeReceipt, proposerAccount } from "./execute.ts";
import { buildGenesis, type Genesis } from "./genesis.ts";
import { Mempool, type MempoolLimits } from "./mempool.ts";
import { merkleRoot } from "./merkle.ts";
import { bytesEqual, toHex } from "./_pb.ts";
import { type ChainParams, ChainState, readParams, readValidators } from "./state.ts";
import {
  decodeSignedTransaction,
  MAX_TX_BYTES,
  type SignatureVerifier,
  type UnverifiedTransaction,
  type VerifiedTransaction,
  verifyTransactions,
} from "./transaction.ts";
import { blake3, ed25519PublicKey } from "../crypto/mod.ts";
import { type CheckedEvidence, selectTransactions } from "./block_producer.ts";
import { badBlock, checkBlock, checkCommit, type CheckedBlock, executeBlock } from "./block_verifier.ts";
import { proposerFor } from "./proposer.ts";

export { proposerFor };
export { proposerOf } from "./proposer.ts";

/** Options of {@linkcode ChainNode.open}. */
export interface ChainNodeOptions {
  readonly store: ChainStore;
  readonly genesis: Genesis;
  /** Signature verifier, e.g. `(items) => new Ed25519BatchVerifier().verify(items)`. */
  readonly verify: SignatureVerifier;
  /** Wall clock in ms (block timestamps, future-block check). */
  readonly now: () => number;
  /** This node's validator key (32-byte Ed25519 seed); without it the node only follows. */
  readonly validatorKey?: Secret | Uint8Array;
  readonly mempool?: Partial<MempoolLimits>;
  /** Runs `fn` soon (micro-batching of submissions). Default `setTimeout(fn, 0)`. */
  readonly schedule?: (fn: () => void) => void;
  /** Most submissions verified in one batch. Default 1024. */
  readonly maxVerifyBatch?: number;
  /** Blocks whose time is further ahead of `now` are refused. Default 30,000 ms. */
  readonly maxClockSkewMs?: number;
}

/** A proposal executed against the head (built here or validated), ready to commit with its commit. */
interface ExecutedProposal {
  readonly parent: string;
  readonly changes: ReadonlyMap<string, Uint8Array | null>;
  readonly receipts: readonly Uint8Array[];
  readonly txs: readonly VerifiedTransaction[];
}

/** Where a submission came from: a client (gossiped on to peers) or a peer (not gossiped again). */
export type SubmitOrigin = "client" | "peer";

interface PendingSubmit {
  readonly origin: SubmitOrigin;
  readonly tx: UnverifiedTransaction;
  readonly resolve: (hash: Uint8Array) => void;
  readonly reject: (e: unknown) => void;
}

/** A GhostChain node (see the module doc). */
export class ChainNode {
  readonly genesis: Genesis;
  readonly genesisHash: Uint8Array;
  readonly state: ChainState;
  readonly mempool: Mempool;
  readonly #store: ChainStore;
  readonly #verify: SignatureVerifier;
  readonly #now: () => number;
  readonly #key: Uint8Array | Secret | undefined;
  readonly #pub: Uint8Array | undefined;
  readonly #schedule: (fn: () => void) => void;
  readonly #maxBatch: number;
  readonly #skew: number;
  #head: VerifiedBlock;
  #lock: Promise<unknown> = Promise.resolve();
  #pending: PendingSubmit[] = [];
  #flushScheduled = false;
  readonly #listeners = new Set<(b: VerifiedBlock) => void>();
  readonly #admitted = new Set<(tx: Uint8Array, hash: Uint8Array) => void>();
  /** Proposals built or validated at the next height, by hash: committed later without executing again. */
  #executed = new Map<string, ExecutedProposal>();

  private constructor(
    opts: ChainNodeOptions,
    state: ChainState,
    head: VerifiedBlock,
    genesisHash: Uint8Array,
  ) {
    this.genesis = opts.genesis;
    this.genesisHash = genesisHash;
    this.state = state;
    this.mempool = new Mempool(opts.mempool);
    this.#store = opts.store;
    this.#verify = opts.verify;
    this.#now = opts.now;
    this.#key = opts.validatorKey;
    this.#pub = opts.validatorKey === undefined ? undefined : ed25519PublicKey(opts.validatorKey);
    this.#schedule = opts.schedule ?? ((fn) => setTimeout(fn, 0));
    this.#maxBatch = opts.maxVerifyBatch ?? 1024;
    this.#skew = opts.maxClockSkewMs ?? 30_000;
    this.#head = head;
  }

  /**
   * Opens a node: an empty store gets the genesis block committed; a non-empty one must hold the same
   * genesis (else FAILED_PRECONDITION GENESIS), and its state is loaded and checked against the head's root.
   */
  static async open(opts: ChainNodeOptions): Promise<ChainNode> {
    const g = buildGenesis(opts.genesis);
    const head = await opts.store.head();
    if (head === null) {
      await opts.store.commitBlock({ block: g.block, changes: g.changes, txHashes: [], receipts: [] }, null);
      return new ChainNode(opts, g.state, g.block, g.block.hash);
    }
    const stored0 = await opts.store.getBlock(0);
    if (stored0 === undefined || !bytesEqual(decodeBlock(stored0).hash, g.block.hash)) {
      throw new ChainError(
        "FAILED_PRECONDITION",
        "GENESIS",
        "Cannot open chain: the store holds a different genesis",
      );
    }
    const state = new ChainState();
    const all = new Map<string, Uint8Array | null>();
    for await (const [k, v] of opts.store.stateEntries()) all.set(k, v);
    state.apply(all);
    const headBytes = await opts.store.getBlock(head.height);
    if (headBytes === undefined) {
      throw new ChainError("DATA_LOSS", "STORAGE", `Cannot open chain: head block ${head.height} missing`);
    }
    const hb = decodeBlock(headBytes);
    if (!bytesEqual(hb.header.stateRoot, state.root())) {
      throw new ChainError(
        "DATA_LOSS",
        "STORAGE",
        `Cannot open chain: state root does not match head ${head.height}`,
      );
    }
    return new ChainNode(opts, state, { ...hb, verified: true }, g.block.hash);
  }

  /** The chain id. */
  get chainId(): string {
    return this.genesis.chainId;
  }

  /** The last committed block. */
  get head(): VerifiedBlock {
    return this.#head;
  }

  /** Height of the last committed block. */
  get height(): number {
    return this.#head.header.height;
  }

  /** The parameters. */
  get params(): ChainParams {
    return readParams(this.state);
  }

  /** This node's validator public key, if it has one. */
  get validatorPublicKey(): Uint8Array | undefined {
    return this.#pub;
  }

  /** Whether this node proposes the next block. */
  isNextProposer(): boolean {
    return this.#pub !== undefined &&
      bytesEqual(proposerFor(readValidators(this.state), this.height + 1).publicKey, this.#pub);
  }

  /** Resolves once no block production or application is in flight. */
  settle(): Promise<void> {
    return this.#serial(() => Promise.resolve());
  }

  /** Calls `fn` after each committed block; returns an unsubscribe function. */
  subscribe(fn: (b: VerifiedBlock) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Calls `fn` with each transaction a client submitted once it is in the mempool (to gossip it). */
  onAdmitted(fn: (tx: Uint8Array, hash: Uint8Array) => void): () => void {
    this.#admitted.add(fn);
    return () => this.#admitted.delete(fn);
  }

  /** Encoded block at `height`. */
  getBlock(height: number): Promise<Uint8Array | undefined> {
    return this.#store.getBlock(height);
  }

  /** Height of a block hash. */
  heightOf(hash: Uint8Array): Promise<number | undefined> {
    return this.#store.heightOf(hash);
  }

  /** A committed transaction's location. */
  getTx(hash: Uint8Array): Promise<TxLocation | undefined> {
    return this.#store.getTx(hash);
  }

  /**
   * Admits a transaction (bytes of a SignedTransaction); resolves with its hash once it is in the mempool.
   * Stateless checks first (size, decoding, chain id, reserved bodies, signature), then stateful ones.
   */
  submit(bytes: Uint8Array, origin: SubmitOrigin = "client"): Promise<Uint8Array> {
    if (bytes.length > MAX_TX_BYTES) {
      return Promise.reject(
        new ChainError(
          "INVALID_ARGUMENT",
          "TOO_LARGE",
          `Cannot accept transaction: ${bytes.length} bytes exceeds ${MAX_TX_BYTES}`,
        ),
      );
    }
    let tx: UnverifiedTransaction;
    try {
      tx = decodeSignedTransaction(bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    if (tx.tx.chainId !== this.chainId) {
      return Promise.reject(
        new ChainError(
          "INVALID_ARGUMENT",
          "WRONG_CHAIN",
          `Cannot accept transaction: chain id ${tx.tx.chainId}, expected ${this.chainId}`,
        ),
      );
    }
    if (this.mempool.has(tx.hash)) {
      return Promise.reject(
        new ChainError("ALREADY_EXISTS", "DUPLICATE", "Cannot accept transaction: already in the mempool"),
      );
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ origin, tx, resolve, reject });
      if (this.#pending.length >= this.#maxBatch) void this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        this.#schedule(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let results: Array<VerifiedTransaction | ChainError>;
    try {
      results = await verifyTransactions(batch.map((p) => p.tx), this.#verify);
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    const params = this.params;
    batch.forEach((p, i) => {
      const r = results[i];
      if (r === undefined || r instanceof ChainError) return p.reject(r);
      try {
        this.mempool.add(r, this.state, params);
        p.resolve(r.hash);
        if (p.origin === "client") { for (const fn of this.#admitted) fn(r.bytes, r.hash); }
      } catch (e) {
        p.reject(e);
      }
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Applies a change set to the state, returning the undo set. */
  #applyWithUndo(changes: ReadonlyMap<string, Uint8Array | null>): Map<string, Uint8Array | null> {
    const undo = new Map<string, Uint8Array | null>();
    for (const k of changes.keys()) undo.set(k, this.state.get(k) ?? null);
    this.state.apply(changes);
    return undo;
  }

  /**
   * Produces, signs and commits the next block on a node whose key alone holds more than 2/3 of the power (a
   * one-validator chain, tests): null when it is not the round-0 proposer, or when the mempool is empty and
   * `allowEmpty` is false. Networks of validators decide blocks through consensus (deno_consensus.ts).
   */
  async produceBlock(opts: { readonly allowEmpty?: boolean } = {}): Promise<VerifiedBlock | null> {
    const key = this.#key, pub = this.#pub;
    if (key === undefined || pub === undefined || !this.isNextProposer()) return null;
    if (this.mempool.size === 0 && opts.allowEmpty !== true) return null;
    const b = decodeBlock(await this.buildProposal(0));
    if (b.transactions.length === 0 && opts.allowEmpty !== true) return null;
    const commit: Commit = {
      round: 0,
      blockHash: b.hash,
      signatures: [{ validator: pub, signature: signVote(b.header, b.hash, key) }],
    };
    return await this.commitDecided(encodeBlock(b.header, b.transactions, commit, b.evidence));
  }

  /**
   * Builds the block this validator proposes at the next height in `round`: the mempool's best transactions,
   * executed, with every root; its commit is empty until consensus decides it. Resolves with its encoding.
   */
  buildProposal(round: number, evidence: readonly CheckedEvidence[] = []): Promise<Uint8Array> {
    return this.#serial(() => {
      if (this.#key === undefined || this.#pub === undefined) {
        throw new ChainError(
          "FAILED_PRECONDITION",
          "UNAVAILABLE",
          "Cannot propose: this node has no validator key",
        );
      }
      const params = this.params;
      const height = this.height + 1;
      const ctx = {
        chainId: this.chainId,
        height: BigInt(height),
        proposer: proposerAccount(this.#pub),
        params,
      };
      const selection = selectTransactions(this.state, this.mempool.selector(this.state), ctx, evidence);
      const { overlay, included, receipts, drop } = selection;
      for (const tx of drop) this.mempool.drop(tx);
      const evidenceBytes = selection.evidence.map((e) => e.bytes);
      const changes = overlay.changes();
      const undo = this.#applyWithUndo(changes);
      const stateRoot = this.state.root();
      this.state.apply(undo);
      const receiptBytes = receipts.map(encodeReceipt);
      const header: BlockHeader = {
        chainId: this.chainId,
        height,
        parentHash: this.#head.hash,
        timeMs: Math.max(this.#now(), this.#head.header.timeMs + 1),
        proposer: this.#pub,
        txRoot: merkleRoot(included.map((t) => t.hash)),
        receiptsRoot: merkleRoot(receiptBytes),
        stateRoot,
        round,
        ...(evidenceBytes.length > 0
          ? { evidenceRoot: merkleRoot(evidenceBytes.map((e) => blake3(e))) }
          : {}),
      };
      const hash = blockHash(header);
      const txBytes = included.map((t) => t.bytes);
      this.#executed.set(toHex(hash), {
        parent: toHex(this.#head.hash),
        changes,
        receipts: receiptBytes,
        txs: included,
      });
      return Promise.resolve(
        encodeBlock(header, txBytes, { round, blockHash: hash, signatures: [] }, evidenceBytes),
      );
    });
  }

  /**
   * Checks a proposed block (no commit yet) as every validator must before prevoting it: every rule, every
   * transaction re-executed, roots compared. Transactions already in the mempool were verified on admission and
   * are not verified again. Resolves false for an invalid block (never throws for one).
   */
  validateProposal(bytes: Uint8Array): Promise<boolean> {
    return this.#serial(async () => {
      try {
        const b = decodeBlock(bytes);
        if (this.#executed.has(toHex(b.hash))) return true;
        const checked = checkBlock(b, this.#expectations(false));
        await this.#execute(b, checked);
        return true;
      } catch {
        return false;
      }
    });
  }

  #expectations(requireCommit: boolean): Parameters<typeof checkBlock>[1] {
    return {
      chainId: this.chainId,
      head: this.#head,
      validators: readValidators(this.state),
      params: this.params,
      now: this.#now(),
      maxClockSkewMs: this.#skew,
      requireCommit,
    };
  }

  /** Verifies (unless already in the mempool) and executes a checked block's transactions; caches the result. */
  async #execute(b: UnverifiedBlock, checked: CheckedBlock): Promise<ExecutedProposal> {
    const txs = checked.transactions;
    const known: Array<VerifiedTransaction | undefined> = txs.map((t) => this.mempool.get(t.hash));
    const unknown = txs.filter((_, i) => known[i] === undefined);
    const [verified, evidenceOk] = await Promise.all([
      unknown.length === 0 ? [] : verifyTransactions(unknown, this.#verify),
      checked.evidenceSignatures.length === 0 ? [] : this.#verify(checked.evidenceSignatures),
    ]);
    if (evidenceOk.some((ok) => !ok)) throw badBlock("bad evidence signature");
    let j = 0;
    const vtxs: VerifiedTransaction[] = [];
    for (let i = 0; i < txs.length; i++) {
      const v = known[i] ?? verified[j++];
      if (v === undefined || v instanceof ChainError) throw badBlock(`transaction ${i}: bad signature`);
      vtxs.push(v);
    }
    const h = b.header;
    const ctx = {
      chainId: this.chainId,
      height: BigInt(h.height),
      proposer: proposerAccount(h.proposer),
      params: this.params,
    };
    const { overlay, receipts } = executeBlock(this.state, b, vtxs, ctx, checked.evidence);
    const changes = overlay.changes();
    const undo = this.#applyWithUndo(changes);
    const root = this.state.root();
    this.state.apply(undo);
    if (!bytesEqual(root, h.stateRoot)) throw badBlock("state root mismatch");
    const executed = { parent: toHex(this.#head.hash), changes, receipts: [...receipts], txs: vtxs };
    this.#executed.set(toHex(b.hash), executed);
    return executed;
  }

  /**
   * Commits a block consensus decided, with its commit (more than 2/3 of the power in precommits, verified here).
   * A proposal executed earlier is not executed again. Idempotent for the head.
   */
  commitDecided(bytes: Uint8Array): Promise<VerifiedBlock> {
    return this.#serial(async () => {
      const b = decodeBlock(bytes);
      if (b.header.height <= this.height) return await this.#alreadyCommitted(b);
      // A block this node built or validated at this head was checked then (the hash binds its contents): only
      // its commit is new. Anything else gets every check.
      const cached = this.#executed.get(toHex(b.hash));
      const known = cached !== undefined && cached.parent === toHex(this.#head.hash);
      const checked = known ? undefined : checkBlock(b, this.#expectations(true));
      const sigs = checked?.commitSignatures ?? checkCommit(b, readValidators(this.state));
      const ok = await this.#verify(sigs);
      if (ok.some((x) => !x)) throw badBlock("bad commit signature");
      const ex = known && cached !== undefined
        ? cached
        : await this.#execute(b, checked ?? checkBlock(b, this.#expectations(true)));
      const undo = this.#applyWithUndo(ex.changes);
      const block: VerifiedBlock = { ...b, verified: true };
      try {
        await this.#store.commitBlock(
          { block, changes: ex.changes, txHashes: ex.txs.map((t) => t.hash), receipts: [...ex.receipts] },
          b.header.height - 1,
        );
      } catch (e) {
        this.state.apply(undo);
        throw e;
      }
      this.#committed(block, ex.txs);
      return block;
    });
  }

  async #alreadyCommitted(b: UnverifiedBlock): Promise<VerifiedBlock> {
    const stored = await this.#store.getBlock(b.header.height);
    if (stored !== undefined && bytesEqual(decodeBlock(stored).hash, b.hash)) return { ...b, verified: true };
    throw badBlock(`height ${b.header.height} conflicts with the committed block`);
  }

  #committed(block: VerifiedBlock, txs: readonly VerifiedTransaction[]): void {
    this.#executed.clear();
    this.#head = block;
    this.mempool.removeHashes(txs.map((t) => t.hash));
    const senders = new Map<string, Uint8Array>();
    for (const t of txs) senders.set(toHex(t.from), t.from);
    for (const s of senders.values()) this.mempool.pruneSender(s, this.state);
    for (const fn of this.#listeners) {
      try {
        fn(block);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /**
   * Verifies and commits a block from a peer (encoded). Resolves with the verified block; a block at or
   * below the head that matches the stored one resolves with it too (idempotent catch-up). Throws
   * ChainError BAD_BLOCK naming the broken rule.
   */
  applyBlock(bytes: Uint8Array): Promise<VerifiedBlock> {
    return this.#serial(async () => {
      let b: UnverifiedBlock;
      try {
        b = decodeBlock(bytes);
      } catch (e) {
        throw badBlock(e instanceof Error ? e.message : String(e), e);
      }
      const h = b.header;
      if (h.height <= this.height) return await this.#alreadyCommitted(b);
      return await this.#verifyAndExecute(b);
    });
  }

  async #verifyAndExecute(b: UnverifiedBlock): Promise<VerifiedBlock> {
    const h = b.header;
    const params = this.params;
    const checked = checkBlock(b, {
      chainId: this.chainId,
      head: this.#head,
      validators: readValidators(this.state),
      params,
      now: this.#now(),
      maxClockSkewMs: this.#skew,
    });
    const [commitOk, verified, evidenceOk] = await Promise.all([
      this.#verify(checked.commitSignatures),
      verifyTransactions(checked.transactions, this.#verify),
      checked.evidenceSignatures.length === 0 ? [] : this.#verify(checked.evidenceSignatures),
    ]);
    if (commitOk.some((ok) => !ok)) throw badBlock("bad commit signature");
    if (evidenceOk.some((ok) => !ok)) throw badBlock("bad evidence signature");
    const vtxs: VerifiedTransaction[] = [];
    for (let i = 0; i < verified.length; i++) {
      const v = verified[i];
      if (v === undefined || v instanceof ChainError) throw badBlock(`transaction ${i}: bad signature`);
      vtxs.push(v);
    }
    const ctx = {
      chainId: this.chainId,
      height: BigInt(h.height),
      proposer: proposerAccount(h.proposer),
      params,
    };
    const { overlay, receipts } = executeBlock(this.state, b, vtxs, ctx, checked.evidence);
    const changes = overlay.changes();
    const undo = this.#applyWithUndo(changes);
    if (!bytesEqual(this.state.root(), h.stateRoot)) {
      this.state.apply(undo);
      throw badBlock("state root mismatch");
    }
    const block: VerifiedBlock = { ...b, verified: true };
    try {
      await this.#store.commitBlock(
        { block, changes, txHashes: vtxs.map((t) => t.hash), receipts: [...receipts] },
        h.height - 1,
      );
    } catch (e) {
      this.state.apply(undo);
      throw e;
    }
    this.#committed(block, vtxs);
    return block;
  }
}
