/**
 * The Deno adapter of consensus: runs {@linkcode ConsensusHost} for a validator with files, timers and QUIC.
 *
 * - **Disk** (the validator's data dir): `consensus.wal`, the write-ahead log of the current height (records
 *   `u32 length | CRC-32 of the payload | payload`; a torn tail record is dropped on open), rewritten atomically
 *   when a height starts; `priv_validator_state.json`, the double-sign guard's last signed height / round / step,
 *   replaced atomically. Every step writes and syncs the WAL, then the guard's state, and only then sends
 *   anything (consensus_host.ts).
 * - **Network** (`ghostchain-consensus/1` on the node's QUIC listener): the node dials every peer and keeps one
 *   bidirectional stream to each, carrying length-prefixed `Gossip` messages: its status every `gossipMs` with its
 *   own current votes and proposal (so a peer that missed them, or restarted, gets them again), every new
 *   proposal and vote, and the transactions clients submitted to it. A peer that reports an older height gets
 *   the committed blocks it lacks (with their commits) on the same stream, at most {@linkcode HELP_BLOCKS} per
 *   status. Proposals and votes are checked (signer in the validator set, signature) before the engine sees them.
 * - **Heights**: after a decision is committed the next height starts at once while transactions wait in the
 *   mempool; otherwise `blockIntervalMs` later, as soon as a transaction arrives or a peer proposes, or when
 *   `emptyBlockIntervalMs` has passed since the last block (empty blocks keep a live network visibly moving; none
 *   when `produceEmptyBlocks` is off).
 *
 * @module
 */
import { type Ed25519BatchItem, ed25519PublicKey, ed25519Sign } from "../crypto/mod.ts";
import { type MetricsRegistry, writeFileAtomic } from "../core/mod.ts";
import type { ConnectionHandler, QuicConnection } from "../transport/mod.ts";
import { decodeBlock, encodeBlock, MAX_BLOCK_EVIDENCE } from "./block.ts";
import {
  type ConsensusInput,
  type ConsensusMessage,
  type ConsensusOutput,
  type ConsensusTimeouts,
  type Decision,
  type Step,
  Tendermint,
  type Vote,
} from "./consensus.ts";
import {
  decodeGossip,
  decodeWalInput,
  encodeEvidence,
  encodeGossip,
  encodeWalInput,
  type Evidence,
  type GossipMessage,
  MAX_GOSSIP_BYTES,
  MAX_GOSSIP_TXS,
  proposalSignBytes,
  voteSignBytes,
} from "./consensus_codec.ts";
import { ConsensusHost, type HostStep, messageHeight } from "./consensus_host.ts";
import type { ChainNode } from "./node.ts";
import {
  decodeSignState,
  EMPTY_SIGN_STATE,
  encodeSignState,
  type LastSignState,
  PrivValidator,
} from "./privval.ts";
import { type SignatureVerifier } from "./transaction.ts";
import { evidenceKey, readValidators } from "./state.ts";
import type { CheckedEvidence } from "./block_producer.ts";
import { evidenceProblem } from "./block_verifier.ts";
import { bytesEqual, concat, toHex } from "./_pb.ts";

/** The ALPN of consensus gossip. */
export const CHAIN_CONSENSUS_ALPN = "ghostchain-consensus/1";
/** Committed blocks sent to a lagging peer per status message. */
export const HELP_BLOCKS = 64;
/** Least time between two helps on one stream. */
export const HELP_INTERVAL_MS = 150;

/** Answers on the stream a message came from. */
interface Replier {
  send(m: GossipMessage): void;
  busy(): boolean;
  lastHelp: number;
}

/** For messages read on our own outgoing streams: nothing is answered there. */
const NO_REPLY: Replier = { send: () => {}, busy: () => true, lastHelp: 0 };

/** Messages queued per peer before the oldest are dropped (consensus messages are sent again anyway). */
const MAX_PEER_QUEUE = 8192;
const WAL_HEADER = 0, WAL_INPUT = 1;

/** What a peer last said. */
export interface PeerView {
  readonly addr: string;
  readonly connected: boolean;
  readonly height: number;
  readonly round: number;
  readonly nodeKey: Uint8Array;
}

/** A snapshot for `chain status`. */
export interface ConsensusInfo {
  readonly height: number;
  readonly round: number;
  readonly step: Step | "commit";
  readonly lockedRound: number;
  readonly lastVotes: ReadonlyMap<string, Vote>;
  readonly peers: readonly PeerView[];
  readonly evidence: readonly Evidence[];
  readonly signRefusals: number;
}

/** Options of {@linkcode ConsensusDriver.open}. */
export interface ConsensusDriverOptions {
  readonly node: ChainNode;
  /** The validator's 32-byte Ed25519 seed. */
  readonly key: Uint8Array;
  readonly dataDir: string;
  readonly verify: SignatureVerifier;
  readonly timeouts: ConsensusTimeouts;
  readonly blockIntervalMs: number;
  readonly emptyBlockIntervalMs: number;
  readonly produceEmptyBlocks: boolean;
  /** How often status and own messages are sent again. Default 200 ms. */
  readonly gossipMs?: number;
  readonly peers: readonly string[];
  /** Opens a connection to a peer (ALPN {@linkcode CHAIN_CONSENSUS_ALPN}). */
  readonly connect: (peer: string) => Promise<QuicConnection>;
  readonly metrics: MetricsRegistry;
  readonly log: (
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
  readonly now?: () => number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib): detects a torn or corrupt WAL record; not a security check. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The write-ahead log file (see the module doc). */
export class ConsensusWal {
  readonly #path: string;
  #file: Deno.FsFile | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  static #record(type: number, payload: Uint8Array): Uint8Array {
    const body = concat(new Uint8Array([type]), payload);
    const head = new Uint8Array(8);
    const view = new DataView(head.buffer);
    view.setUint32(0, body.length);
    view.setUint32(4, crc32(body));
    return concat(head, body);
  }

  /** Reads the log: its height and inputs (a torn or corrupt tail is dropped). Height 0 when there is none. */
  async read(): Promise<{ height: number; inputs: ConsensusInput[] }> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { height: 0, inputs: [] };
      throw e;
    }
    let height = 0;
    const inputs: ConsensusInput[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let pos = 0; pos + 8 <= bytes.length;) {
      const len = view.getUint32(pos);
      if (len === 0 || len > MAX_GOSSIP_BYTES + 16 || pos + 8 + len > bytes.length) break;
      const body = bytes.subarray(pos + 8, pos + 8 + len);
      if (crc32(body) !== view.getUint32(pos + 4)) break;
      pos += 8 + len;
      if (body[0] === WAL_HEADER && body.length === 9) {
        height = Number(new DataView(body.buffer, body.byteOffset + 1, 8).getBigUint64(0));
      } else if (body[0] === WAL_INPUT) {
        try {
          inputs.push(decodeWalInput(body.subarray(1)));
        } catch {
          break;
        }
      } else break;
    }
    return { height, inputs };
  }

  /** Replaces the log with one for `height` holding `inputs` (atomic), and opens it for appending. */
  async reset(height: number, inputs: readonly ConsensusInput[]): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    const h = new Uint8Array(8);
    new DataView(h.buffer).setBigUint64(0, BigInt(height));
    const parts = [
      ConsensusWal.#record(WAL_HEADER, h),
      ...inputs.map((i) => ConsensusWal.#record(WAL_INPUT, encodeWalInput(i))),
    ];
    await writeFileAtomic(this.#path, concat(...parts), { mode: 0o600 });
    this.#file = await Deno.open(this.#path, { append: true });
  }

  /** Appends inputs and syncs them to disk. */
  async append(inputs: readonly ConsensusInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const file = this.#file;
    if (file === undefined) throw new Error("consensus WAL is not open");
    const data = concat(...inputs.map((i) => ConsensusWal.#record(WAL_INPUT, encodeWalInput(i))));
    for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
    await file.syncData();
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

interface Peer {
  readonly addr: string;
  queue: Uint8Array[];
  wake: (() => void) | undefined;
  connected: boolean;
  height: number;
  round: number;
  nodeKey: Uint8Array;
}

/** Runs consensus for one validator (see the module doc). */
export class ConsensusDriver {
  readonly #o: ConsensusDriverOptions;
  readonly #node: ChainNode;
  readonly #host: ConsensusHost;
  readonly #wal: ConsensusWal;
  readonly #statePath: string;
  readonly #pub: Uint8Array;
  readonly #peers: Peer[];
  /** Inbound peers (by connection), for status display. */
  readonly #inbound = new Map<
    QuicConnection,
    { height: number; round: number; nodeKey: Uint8Array; addr: string }
  >();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #stop = new AbortController();
  readonly #tasks: Promise<void>[] = [];
  readonly #evidence: Evidence[] = [];
  readonly #now: () => number;
  #queue: Promise<void> = Promise.resolve();
  #waitingNext = false;
  #lastCommitAt = 0;
  #txBatch: Uint8Array[] = [];
  #txFlush: ReturnType<typeof setTimeout> | undefined;
  readonly #m: ReturnType<typeof consensusMetrics>;

  private constructor(o: ConsensusDriverOptions, state: LastSignState) {
    this.#o = o;
    this.#node = o.node;
    this.#now = o.now ?? Date.now;
    this.#pub = ed25519PublicKey(o.key);
    const privval = new PrivValidator(o.node.chainId, this.#pub, (p) => ed25519Sign(o.key, p), state);
    const engine = new Tendermint({
      signer: privval,
      hashBlock: (b) => decodeBlock(b).hash,
      timeouts: o.timeouts,
    });
    this.#host = new ConsensusHost(engine, privval);
    this.#wal = new ConsensusWal(`${o.dataDir}/consensus.wal`);
    this.#statePath = `${o.dataDir}/priv_validator_state.json`;
    this.#peers = o.peers.map((addr) => ({
      addr,
      queue: [],
      wake: undefined,
      connected: false,
      height: 0,
      round: 0,
      nodeKey: new Uint8Array(0),
    }));
    this.#m = consensusMetrics(o.metrics);
  }

  /** Loads the guard's state and the WAL, starts the next height (replaying the WAL if it is for it). */
  static async open(o: ConsensusDriverOptions): Promise<ConsensusDriver> {
    const path = `${o.dataDir}/priv_validator_state.json`;
    let state: LastSignState | undefined;
    try {
      state = decodeSignState(await Deno.readTextFile(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(
          `Cannot start validator: ${path} is unreadable (${e instanceof Error ? e.message : e}); ` +
            "refusing to sign without knowing what was signed",
        );
      }
    }
    const d = new ConsensusDriver(o, state ?? EMPTY_SIGN_STATE);
    await d.#startHeight(true);
    d.#node.onAdmitted((tx) => d.#gossipTx(tx));
    d.#node.subscribe((b) => {
      // A block committed by sync (not by this engine): move on to the height after it.
      if (b.header.height >= d.#host.engine.height && d.#host.engine.decision === undefined) {
        d.#enqueue(() => d.#startHeight(false));
      }
    });
    for (const p of d.#peers) d.#tasks.push(d.#dial(p));
    const tick = () => {
      if (d.#stop.signal.aborted) return;
      d.#gossipTick();
      d.#timer(tick, o.gossipMs ?? 200);
    };
    d.#timer(tick, o.gossipMs ?? 200);
    return d;
  }

  /** A snapshot for status. */
  info(): ConsensusInfo {
    const e = this.#host.engine;
    const lastVotes = new Map<string, Vote>();
    for (const v of e.validators) {
      const vote = e.lastVote(v.publicKey);
      if (vote !== undefined) lastVotes.set(toHex(v.publicKey), vote);
    }
    const peers: PeerView[] = this.#peers.map((p) => ({
      addr: p.addr,
      connected: p.connected,
      height: p.height,
      round: p.round,
      nodeKey: p.nodeKey,
    }));
    return {
      height: e.height,
      round: e.round,
      // Decided and waiting for the next height to start: "commit" (CometBFT's name for that step).
      step: e.decision !== undefined ? "commit" : e.currentStep,
      lockedRound: e.lockedRound,
      lastVotes,
      peers,
      evidence: this.#evidence,
      signRefusals: this.#host.privval?.refused ?? 0,
    };
  }

  /** The inbound side of `ghostchain-consensus/1`. */
  handler(): ConnectionHandler {
    return (conn) =>
      conn.forEachBidi(async (stream) => {
        const { reader, writer } = conn.messages(stream, {
          prefix: 4,
          name: "consensus gossip",
          maxMessageBytes: MAX_GOSSIP_BYTES,
        });
        const view = {
          height: 0,
          round: 0,
          nodeKey: new Uint8Array(0),
          addr: `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`,
        };
        this.#inbound.set(conn, view);
        let replying = Promise.resolve();
        let queued = 0;
        const reply: Replier = {
          send: (m: GossipMessage) => {
            queued++;
            replying = replying.then(() => writer.write(encodeGossip(m))).catch(() => {}).finally(() =>
              queued--
            );
          },
          // Help waits until what was sent before is written (a peer that does not read gets nothing more).
          busy: () => queued > 0,
          lastHelp: -Infinity,
        };
        try {
          for await (const bytes of reader) {
            let m: GossipMessage;
            try {
              m = decodeGossip(bytes);
            } catch (e) {
              this.#m.bad.inc();
              this.#o.log("debug", "bad gossip message", {
                error: e instanceof Error ? e.message : String(e),
              });
              continue;
            }
            if (m.kind === "status") Object.assign(view, m.status);
            await this.#onGossip(m, reply);
          }
        } finally {
          this.#inbound.delete(conn);
          await replying;
          await writer.close().catch(() => {});
        }
      });
  }

  /** Stops timers and connections; waits for the step in progress (its writes finish). */
  async close(): Promise<void> {
    this.#stop.abort();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#txFlush !== undefined) clearTimeout(this.#txFlush);
    for (const p of this.#peers) p.wake?.();
    await Promise.allSettled(this.#tasks);
    await this.#queue;
    this.#wal.close();
  }

  #timer(fn: () => void, ms: number): void {
    if (this.#stop.signal.aborted) return;
    const id = setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, ms);
    this.#timers.add(id);
  }

  /** Runs `fn` after every earlier step (one step at a time; its writes finish before the next starts). */
  #enqueue(fn: () => Promise<void>): void {
    this.#queue = this.#queue.then(fn).catch((e) => {
      this.#o.log("error", "consensus step failed", { error: e instanceof Error ? e.message : String(e) });
    });
  }

  #input(i: ConsensusInput): void {
    this.#enqueue(async () => {
      if (this.#stop.signal.aborted) return;
      await this.#apply(this.#host.step(i));
    });
  }

  /** WAL, then the guard's state, then the outputs (the crash-safe order). */
  async #apply(s: HostStep | Omit<HostStep, "wal">, reset?: number): Promise<void> {
    if (reset !== undefined) await this.#wal.reset(reset, "wal" in s ? s.wal : []);
    else if ("wal" in s) await this.#wal.append(s.wal);
    if (s.signState !== undefined) {
      await writeFileAtomic(this.#statePath, encodeSignState(s.signState), { mode: 0o600 });
    }
    for (const o of s.outputs) await this.#act(o);
  }

  async #startHeight(replay: boolean): Promise<void> {
    this.#waitingNext = false;
    this.#nextProposed = false;
    const height = this.#node.height + 1;
    if (this.#host.engine.height === height && this.#host.engine.decision === undefined && !replay) return;
    const validators = readValidators(this.#node.state);
    const old = replay ? await this.#wal.read() : { height: 0, inputs: [] };
    const s = this.#host.start(height, validators);
    if (old.height === height && old.inputs.length > 0) {
      // Keep the log: the replayed inputs stay in it, the start's own messages follow.
      await this.#wal.reset(height, [...old.inputs, ...s.wal]);
      const r = this.#host.replay(old.inputs);
      this.#o.log("info", "consensus resumed from its WAL", {
        height,
        inputs: old.inputs.length,
        round: this.#host.engine.round,
      });
      await this.#apply({ signState: r.signState ?? s.signState, outputs: [...s.outputs, ...r.outputs] });
    } else {
      await this.#apply(s, height);
    }
    this.#m.height.set(height);
  }

  async #act(o: ConsensusOutput): Promise<void> {
    switch (o.kind) {
      case "broadcast":
        if (o.message.kind === "vote") this.#m.votes.inc();
        else this.#m.proposals.inc();
        this.#send(o.message);
        break;
      case "schedule":
        this.#m.round.set(o.round);
        this.#timer(
          () => this.#input({ kind: "timeout", height: o.height, round: o.round, step: o.step }),
          o.ms,
        );
        break;
      case "build":
        this.#node.buildProposal(o.round, this.#pendingEvidence(o.height)).then(
          (block) => this.#input({ kind: "built", height: o.height, round: o.round, block }),
          (e) =>
            this.#o.log("error", "cannot build a proposal", {
              error: e instanceof Error ? e.message : String(e),
            }),
        );
        break;
      case "validate":
        this.#node.validateProposal(o.block).then((valid) => {
          if (!valid) this.#m.invalid.inc();
          this.#input({ kind: "validated", height: o.height, blockHash: o.blockHash, valid });
        });
        break;
      case "decide":
        await this.#commit(o.decision);
        break;
      case "evidence":
        this.#recordEvidence({ first: o.first, second: o.second });
        break;
    }
  }

  /** Evidence this node holds that is not on chain yet and a block at `height` may record. */
  #pendingEvidence(height: number): CheckedEvidence[] {
    const validators = readValidators(this.#node.state);
    return this.#evidence
      .filter((e) =>
        this.#node.state.get(evidenceKey(e.first.validator, e.first.height, e.first.round, e.first.type)) ===
          undefined && evidenceProblem(e, height, validators) === undefined
      )
      .slice(0, MAX_BLOCK_EVIDENCE)
      .map((evidence) => ({ evidence, bytes: encodeEvidence(evidence) }));
  }

  #recordEvidence(e: Evidence): void {
    const k = `${toHex(e.first.validator)}/${e.first.height}/${e.first.round}/${e.first.type}`;
    if (
      this.#evidence.some((x) =>
        `${toHex(x.first.validator)}/${x.first.height}/${x.first.round}/${x.first.type}` === k
      )
    ) return;
    if (this.#evidence.length >= 1000) this.#evidence.shift();
    this.#evidence.push(e);
    this.#m.evidence.inc();
    this.#o.log("warn", "equivocation evidence", {
      validator: toHex(e.first.validator),
      height: e.first.height,
      round: e.first.round,
      type: e.first.type === 1 ? "prevote" : "precommit",
    });
    this.#send({ kind: "evidence", evidence: e });
  }

  async #commit(d: Decision): Promise<void> {
    const b = decodeBlock(d.block);
    const commit = {
      round: d.round,
      blockHash: d.blockHash,
      signatures: d.precommits.map((v) => ({ validator: v.validator, signature: v.signature })),
    };
    const bytes = encodeBlock(b.header, b.transactions, commit);
    if (this.#node.height < d.height) await this.#node.commitDecided(bytes);
    const now = this.#now();
    this.#m.blockTime.observe(Math.max(0, now - this.#lastCommitAt) / 1000);
    this.#m.decidedRound.set(d.round);
    this.#lastCommitAt = now;
    this.#o.log("debug", "committed", { height: d.height, round: d.round, txs: b.transactions.length });
    this.#scheduleNext();
  }

  /** The next height starts after the block interval, and then as soon as there is a reason to (module doc). */
  #scheduleNext(): void {
    this.#waitingNext = true;
    const check = () => {
      if (!this.#waitingNext || this.#stop.signal.aborted) return;
      const idle = this.#now() - this.#lastCommitAt;
      const due = this.#node.mempool.size > 0 || this.#nextProposed ||
        (this.#o.produceEmptyBlocks && idle >= this.#o.emptyBlockIntervalMs);
      if (due) this.#enqueue(() => this.#startHeight(false));
      else this.#timer(check, 20);
    };
    // A backlog goes on at once (the block interval is for blocks that have to wait for transactions).
    this.#timer(check, this.#node.mempool.size > 0 ? 0 : this.#o.blockIntervalMs);
  }

  #nextProposed = false;

  /** Queues a gossip message to every peer. */
  #send(m: GossipMessage): void {
    const bytes = encodeGossip(m);
    for (const p of this.#peers) {
      if (p.queue.length >= MAX_PEER_QUEUE) p.queue.shift();
      p.queue.push(bytes);
      p.wake?.();
    }
  }

  #status(): GossipMessage {
    const e = this.#host.engine;
    return {
      kind: "status",
      status: {
        chainId: this.#node.chainId,
        height: e.decision !== undefined ? e.height + 1 : e.height,
        round: e.round,
        genesisHash: this.#node.genesisHash,
        nodeKey: this.#pub,
      },
    };
  }

  #gossipTick(): void {
    this.#send(this.#status());
    for (const m of this.#host.engine.gossip()) this.#send(m);
  }

  #gossipTx(tx: Uint8Array): void {
    this.#txBatch.push(tx);
    if (this.#txBatch.length >= MAX_GOSSIP_TXS / 4) this.#flushTxs();
    else if (this.#txFlush === undefined) this.#txFlush = setTimeout(() => this.#flushTxs(), 5);
  }

  #flushTxs(): void {
    if (this.#txFlush !== undefined) clearTimeout(this.#txFlush);
    this.#txFlush = undefined;
    const txs = this.#txBatch;
    this.#txBatch = [];
    if (txs.length > 0) this.#send({ kind: "txs", txs });
  }

  /** Keeps a connection and a stream to `p`, writing its queue; reads what the peer sends back. */
  async #dial(p: Peer): Promise<void> {
    let backoff = 100;
    while (!this.#stop.signal.aborted) {
      let conn: QuicConnection | undefined;
      const onAbort = () => conn?.close();
      this.#stop.signal.addEventListener("abort", onAbort);
      try {
        conn = await this.#o.connect(p.addr);
        const stream = await conn.openBidi();
        const { reader, writer } = conn.messages(stream, {
          prefix: 4,
          name: "consensus gossip",
          maxMessageBytes: MAX_GOSSIP_BYTES,
        });
        p.connected = true;
        backoff = 100;
        // Everything queued while disconnected is stale except what gossip sends again: start fresh.
        p.queue = [encodeGossip(this.#status()), ...this.#host.engine.gossip().map(encodeGossip)];
        const c = conn;
        const readLoop = (async () => {
          for await (const bytes of reader) {
            let m: GossipMessage;
            try {
              m = decodeGossip(bytes);
            } catch {
              this.#m.bad.inc();
              continue;
            }
            if (m.kind === "status") {
              p.height = m.status.height;
              p.round = m.status.round;
              p.nodeKey = m.status.nodeKey;
            }
            await this.#onGossip(m, NO_REPLY);
          }
        })().catch(() => {}).finally(() => c.close());
        while (!this.#stop.signal.aborted && !conn.isClosed) {
          const next = p.queue.shift();
          if (next === undefined) {
            await new Promise<void>((resolve) => {
              p.wake = resolve;
              c.signal.addEventListener("abort", () => resolve(), { once: true });
            });
            p.wake = undefined;
            continue;
          }
          await writer.write(next);
        }
        await readLoop;
      } catch (e) {
        if (!this.#stop.signal.aborted) {
          this.#o.log("debug", "consensus peer unreachable", {
            peer: p.addr,
            error: e instanceof Error ? e.message : String(e),
          });
        }
      } finally {
        p.connected = false;
        this.#stop.signal.removeEventListener("abort", onAbort);
        conn?.close();
      }
      if (this.#stop.signal.aborted) break;
      await new Promise((r) => this.#timer(() => r(undefined), backoff));
      backoff = Math.min(backoff * 2, 2_000);
    }
  }

  /** Handles one message from a peer; `reply` answers on the same stream. */
  async #onGossip(m: GossipMessage, reply: Replier): Promise<void> {
    switch (m.kind) {
      case "status":
        if (!bytesEqual(m.status.genesisHash, this.#node.genesisHash)) return;
        await this.#help(m.status.height, reply);
        // Answer with our own status (unless blocks are still going out), so the dialer knows our height.
        if (reply !== NO_REPLY && !reply.busy()) reply.send(this.#status());
        return;
      case "txs":
        for (const tx of m.txs) this.#node.submit(tx, "peer").catch(() => {});
        return;
      case "decided": {
        let height: number;
        try {
          height = decodeBlock(m.block).header.height;
        } catch {
          return;
        }
        if (height !== this.#node.height + 1) return;
        try {
          await this.#node.commitDecided(m.block);
          this.#m.caughtUp.inc();
        } catch (e) {
          this.#o.log("warn", "refused a decided block from a peer", {
            height,
            error: e instanceof Error ? e.message : String(e),
          });
        }
        return;
      }
      case "evidence":
        if (await this.#verified([m.evidence.first, m.evidence.second].map((v) => this.#voteItem(v)))) {
          const a = m.evidence.first, b = m.evidence.second;
          if (
            bytesEqual(a.validator, b.validator) && a.height === b.height && a.round === b.round &&
            a.type === b.type && !bytesEqual(a.blockHash, b.blockHash)
          ) this.#recordEvidence(m.evidence);
        }
        return;
      case "proposal":
      case "vote": {
        const h = messageHeight(m);
        if (h <= this.#node.height) return await this.#help(h, reply);
        if (h > this.#node.height + 2) return;
        if (!this.#isValidator(m)) return;
        const items = m.kind === "vote" ? [this.#voteItem(m.vote)] : [
          {
            publicKey: m.proposal.proposer,
            message: proposalSignBytes(this.#node.chainId, m.proposal),
            signature: m.proposal.signature,
          },
          ...m.proposal.polVotes.map((v) => this.#voteItem(v)),
        ];
        if (!(await this.#verified(items))) {
          this.#m.bad.inc();
          return;
        }
        if (m.kind === "proposal" && h === this.#host.engine.height + 1 && this.#waitingNext) {
          this.#nextProposed = true;
        }
        this.#input({ kind: "message", message: m });
        return;
      }
    }
  }

  #isValidator(m: ConsensusMessage): boolean {
    const key = m.kind === "vote" ? m.vote.validator : m.proposal.proposer;
    return readValidators(this.#node.state).some((v) => bytesEqual(v.publicKey, key));
  }

  #voteItem(v: Vote): Ed25519BatchItem {
    return { publicKey: v.validator, message: voteSignBytes(this.#node.chainId, v), signature: v.signature };
  }

  async #verified(items: readonly Ed25519BatchItem[]): Promise<boolean> {
    try {
      return (await this.#o.verify(items)).every((x) => x);
    } catch {
      return false;
    }
  }

  /**
   * A peer works on `height`: send it the committed blocks it lacks. Bounded: at most {@linkcode HELP_BLOCKS}
   * blocks, once per {@linkcode HELP_INTERVAL_MS} per stream, and only when the last help was written (old votes
   * or statuses cannot make this node read and send blocks faster than the peer takes them).
   */
  async #help(height: number, reply: Replier): Promise<void> {
    if (reply === NO_REPLY || height < 1 || height > this.#node.height) return;
    const now = this.#now();
    if (reply.busy() || now - reply.lastHelp < HELP_INTERVAL_MS) return;
    reply.lastHelp = now;
    const last = Math.min(this.#node.height, height + HELP_BLOCKS - 1);
    for (let h = height; h <= last; h++) {
      const block = await this.#node.getBlock(h);
      if (block === undefined) return;
      reply.send({ kind: "decided", block });
    }
  }
}

// deno-lint-ignore explicit-function-return-type
function consensusMetrics(m: MetricsRegistry) {
  return {
    height: m.gauge("ghost_chain_consensus_height", "Height consensus is working on"),
    round: m.gauge("ghost_chain_consensus_round", "Round of the current height"),
    decidedRound: m.gauge("ghost_chain_consensus_decided_round", "Round the last block was decided in"),
    votes: m.counter("ghost_chain_consensus_votes_signed_total", "Votes this validator signed"),
    proposals: m.counter("ghost_chain_consensus_proposals_signed_total", "Proposals this validator signed"),
    invalid: m.counter("ghost_chain_consensus_invalid_proposals_total", "Proposals that failed validation"),
    bad: m.counter(
      "ghost_chain_consensus_bad_messages_total",
      "Gossip messages that did not decode or verify",
    ),
    evidence: m.counter("ghost_chain_consensus_evidence_total", "Equivocations seen"),
    caughtUp: m.counter("ghost_chain_consensus_blocks_from_peers_total", "Decided blocks taken from peers"),
    blockTime: m.histogram("ghost_chain_block_interval_seconds", "Time between committed blocks", {
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
    }),
  };
}
