/**
 * BlockchainService (ghostchain.proto) as a transport-independent core: byte-level handlers the bridge can
 * register for gRPC, and that the `ghostchain-sync/1` QUIC protocol (sync.ts) carries today.
 *
 * - {@linkcode ChainService.handle}`(method, requestBytes)` answers unary methods with response bytes or
 *   throws a {@linkcode ChainError} (gRPC status + reason + message);
 * - {@linkcode ChainService.stream}`("StreamBlocks", requestBytes, signal)` yields response bytes: stored
 *   blocks from `from_height`, then each new block as it commits, until `signal` aborts.
 *
 * Requests are decoded strictly and bounded (64 KiB per request, 16 KiB per field).
 *
 * @module
 */

import { parseAddress } from "../crypto/mod.ts";
import { decodeBlock, encodeHeader } from "./block.ts";
import { ChainError, toChainError } from "./errors.ts";
import { MAX_TX_BYTES } from "./transaction.ts";
import { encodeRecords } from "./names.ts";
import type { ChainNode } from "./node.ts";
import { PbReader, PbWriter, toHex } from "./_pb.ts";
import { encodeStateProof } from "./sparse_merkle_tree.ts";
import { accountKey, decodeAccount, decodeNameEntry, nameKey, readValidators } from "./state.ts";
import { addressFromPayload } from "../crypto/mod.ts";
import { parseName } from "./names.ts";
import { blake3 } from "../crypto/mod.ts";
import { type Context, contextOf, endSpan, inSpan, type LogLevel, startSpan, withSpan } from "../core/mod.ts";

/** Where the service logs (a worker's leveled log function). */
export type ChainLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Most admitted transactions whose trace is kept until their block commits (oldest dropped first). */
const MAX_TRACED_TXS = 4096;

/** The methods, as in ghostchain.proto. */
export const CHAIN_METHODS = [
  "SubmitTransaction",
  "SubmitTransactions",
  "GetTransaction",
  "GetBlock",
  "StreamBlocks",
  "GetAccount",
  "ResolveName",
  "ListNames",
  "GetStatus",
] as const;

/** gRPC path prefix of the service. */
export const CHAIN_SERVICE_NAME = "ghostchain.v1.BlockchainService";

/** Largest request accepted (SubmitTransactions: up to {@linkcode MAX_SUBMIT_BATCH} transactions). */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Most transactions in one SubmitTransactions request. */
export const MAX_SUBMIT_BATCH = 1000;

function notFound(what: string): ChainError {
  return new ChainError("NOT_FOUND", "NOT_FOUND", `${what} not found`);
}

function fields(bytes: Uint8Array, what: string, fn: (r: PbReader) => void): void {
  if (bytes.length > MAX_REQUEST_BYTES) {
    throw new ChainError(
      "INVALID_ARGUMENT",
      "TOO_LARGE",
      `Cannot decode ${what}: ${bytes.length} bytes exceeds ${MAX_REQUEST_BYTES}`,
    );
  }
  const r = new PbReader(bytes, what);
  while (r.next()) fn(r);
}

function address(text: string): Uint8Array {
  try {
    return parseAddress(text).payload;
  } catch (e) {
    throw new ChainError(
      "INVALID_ARGUMENT",
      "MALFORMED",
      `Invalid address ${JSON.stringify(text.slice(0, 100))}: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** A validator's last vote at the current height, for status. */
export interface VoteView {
  readonly type: number;
  readonly round: number;
  readonly blockHash: Uint8Array;
}

/** What consensus reports for `GetStatus` (absent on a follower). */
export interface ConsensusView {
  readonly height: number;
  readonly round: number;
  readonly step: string;
  readonly lockedRound: number;
  /** Last votes by validator key (hex). */
  readonly lastVotes: ReadonlyMap<string, VoteView>;
  readonly peers: readonly {
    readonly addr: string;
    readonly connected: boolean;
    readonly height: number;
    readonly nodeKey: Uint8Array;
  }[];
  readonly evidenceCount: number;
}

/** The service core over one node. */
export class ChainService {
  readonly #node: ChainNode;
  /** Consensus status source, set by the adapter on a validator. */
  consensus: (() => ConsensusView) | undefined;

  readonly #log: ChainLog | undefined;
  /** Trace context and admission time (epoch ms) of transactions admitted inside a traced call. */
  readonly #traced = new Map<string, { ctx: Context; at: number }>();

  /** Serves `node`; `log` (optional) gets a debug record per traced admission and commit. */
  constructor(node: ChainNode, opts: { readonly log?: ChainLog } = {}) {
    this.#node = node;
    this.#log = opts.log;
    node.subscribe((b) => {
      if (this.#traced.size === 0) return;
      for (const tx of b.transactions) this.#committed(toHex(blake3(tx)), b.header.height);
    });
  }

  /** Admits one transaction in a `chain.admit` span; a traced one gets a `chain.commit` span when it commits. */
  #submit(tx: Uint8Array): Promise<Uint8Array> {
    return inSpan("chain", "chain.admit", {}, async (span) => {
      const hash = await this.#node.submit(tx);
      if (span !== undefined) {
        const hex = toHex(hash);
        span.setAttribute("ghost.tx_hash", hex);
        this.#log?.("debug", "transaction admitted", { tx: hex });
        if (this.#traced.size >= MAX_TRACED_TXS) {
          const oldest = this.#traced.keys().next().value;
          if (oldest !== undefined) this.#traced.delete(oldest);
        }
        this.#traced.set(hex, { ctx: contextOf(span), at: Date.now() });
      }
      return hash;
    });
  }

  /** The commit of a traced transaction: a span from its admission to now, in the admission's trace. */
  #committed(hex: string, height: number): void {
    const t = this.#traced.get(hex);
    if (t === undefined) return;
    this.#traced.delete(hex);
    const span = startSpan("chain", "chain.commit", {
      parent: t.ctx,
      startTime: t.at,
      attributes: { "ghost.tx_hash": hex, "ghost.block_height": height },
    });
    withSpan(span, () => this.#log?.("debug", "transaction committed", { tx: hex, height }));
    endSpan(span);
  }

  /** Answers a unary method (see the module doc). */
  async handle(method: string, request: Uint8Array): Promise<Uint8Array> {
    const node = this.#node;
    switch (method) {
      case "SubmitTransaction": {
        let tx: Uint8Array | undefined;
        fields(
          request,
          "SubmitTransactionRequest",
          (r) => (r.field === 1 ? tx = r.bytes(MAX_REQUEST_BYTES) : r.unknown()),
        );
        if (tx === undefined) throw new ChainError("INVALID_ARGUMENT", "MALFORMED", "Missing transaction");
        const hash = await this.#submit(tx.slice());
        return new PbWriter().bytes(1, hash).finish().slice();
      }
      case "SubmitTransactions": {
        // Every transaction is submitted at once, so the node verifies their signatures as one batch; each
        // gets its own result, in request order.
        const txs: Uint8Array[] = [];
        fields(request, "SubmitTransactionsRequest", (r) => {
          if (r.field !== 1) return r.unknown();
          if (txs.length >= MAX_SUBMIT_BATCH) {
            throw new ChainError(
              "INVALID_ARGUMENT",
              "TOO_LARGE",
              `Cannot accept SubmitTransactions: more than ${MAX_SUBMIT_BATCH} transactions`,
            );
          }
          txs.push(r.bytes(MAX_TX_BYTES + 1024, true).slice());
        });
        const settled = await Promise.allSettled(txs.map((tx) => this.#submit(tx)));
        const w = new PbWriter();
        for (const s of settled) {
          const one = new PbWriter();
          if (s.status === "fulfilled") one.bytes(1, s.value);
          else {
            const e = toChainError(s.reason);
            one.uint32(2, e.code).string(3, e.reason).string(4, e.message.slice(0, 512));
          }
          w.message(1, one.finish());
        }
        return w.finish().slice();
      }
      case "GetTransaction": {
        let hash: Uint8Array | undefined;
        fields(request, "GetTransactionRequest", (r) => (r.field === 1 ? hash = r.fixed(32) : r.unknown()));
        if (hash === undefined) throw new ChainError("INVALID_ARGUMENT", "MALFORMED", "Missing tx_hash");
        const loc = await node.getTx(hash);
        if (loc === undefined) {
          const pending = node.mempool.get(hash);
          if (pending === undefined) throw notFound("Transaction");
          return new PbWriter().bytes(1, pending.bytes).bool(6, true).finish().slice();
        }
        const blockBytes = await node.getBlock(loc.height);
        if (blockBytes === undefined) {
          throw new ChainError("DATA_LOSS", "STORAGE", `Block ${loc.height} missing`);
        }
        const block = decodeBlock(blockBytes);
        // The stored receipt is already the canonical Receipt encoding (with gas, return data and events).
        return new PbWriter().bytes(1, block.transactions[loc.index] ?? new Uint8Array(0))
          .uint64(2, BigInt(loc.height)).uint32(3, loc.index).message(4, loc.receipt).bytes(5, block.hash)
          .finish().slice();
      }
      case "GetBlock": {
        let height: number | undefined, hash: Uint8Array | undefined, latest = false;
        fields(request, "GetBlockRequest", (r) => {
          if (r.field === 1) height = r.safeInt();
          else if (r.field === 2) hash = r.fixed(32);
          else if (r.field === 3) latest = r.bool();
          else r.unknown();
        });
        // proto3 oneof: height 0 is written as an explicit zero, which our strict reader refuses; an empty
        // request therefore means height 0 (genesis), and `latest` asks for the head.
        let h = latest ? node.height : height ?? 0;
        if (hash !== undefined) {
          const found = await node.heightOf(hash);
          if (found === undefined) throw notFound("Block");
          h = found;
        }
        const bytes = await node.getBlock(h);
        if (bytes === undefined) throw notFound(`Block ${h}`);
        return encodeBlockResponse(bytes);
      }
      case "GetAccount": {
        let addr = "";
        fields(request, "GetAccountRequest", (r) => (r.field === 1 ? addr = r.string(128) : r.unknown()));
        const payload = address(addr);
        const key = accountKey(payload);
        const value = node.state.get(key);
        const acct = value === undefined ? { balance: 0n, nonce: 0n } : decodeAccount(value);
        return new PbWriter().string(1, addressFromPayload(payload)).uint64(2, acct.balance).uint64(
          3,
          acct.nonce,
        )
          .uint64(4, BigInt(node.height)).bytes(5, node.state.root()).bytes(6, value ?? new Uint8Array(0))
          .message(7, encodeStateProof(node.state.prove(key))).finish().slice();
      }
      case "ResolveName": {
        let name = "";
        fields(request, "ResolveNameRequest", (r) => (r.field === 1 ? name = r.string(256) : r.unknown()));
        parseName(name);
        const key = nameKey(name);
        const value = node.state.get(key);
        const w = new PbWriter();
        if (value !== undefined) {
          const e = decodeNameEntry(value);
          w.bool(1, true).string(2, addressFromPayload(e.owner)).uint64(3, e.expiry).message(
            4,
            encodeRecords(e.records),
          )
            .bytes(5, e.znsContract).bytes(6, value);
        }
        return w.message(7, encodeStateProof(node.state.prove(key))).bytes(8, node.state.root())
          .uint64(9, BigInt(node.height)).bytes(10, encodeHeader(node.head.header)).finish().slice();
      }
      case "ListNames": {
        let owner = "", limit = 0, startAfter = "";
        fields(request, "ListNamesRequest", (r) => {
          if (r.field === 1) owner = r.string(128);
          else if (r.field === 2) limit = r.uint32();
          else if (r.field === 3) startAfter = r.string(256);
          else r.unknown();
        });
        const max = Math.min(limit === 0 ? 100 : limit, 1000);
        // An empty owner lists every name (resolvers such as cns build their index from it).
        const all = (owner === "" ? node.state.allNames() : node.state.namesOf(address(owner))).filter((n) =>
          n > startAfter
        );
        const page = all.slice(0, max);
        const w = new PbWriter();
        for (const n of page) w.string(1, n, true);
        if (all.length > max) w.string(2, page[page.length - 1] ?? "");
        return w.finish().slice();
      }
      case "GetStatus": {
        fields(request, "GetStatusRequest", (r) => r.unknown());
        const w = new PbWriter().string(1, node.chainId).uint64(2, BigInt(node.height))
          .bytes(3, node.head.hash).bytes(4, node.state.root()).bytes(5, node.genesisHash)
          .uint64(6, BigInt(node.mempool.size)).uint64(7, BigInt(node.head.header.timeMs))
          .bytes(8, node.validatorPublicKey ?? new Uint8Array(0));
        const c = this.consensus?.();
        if (c !== undefined) w.uint32(9, c.round).string(10, c.step);
        for (const v of readValidators(node.state)) {
          const vote = c?.lastVotes.get(toHex(v.publicKey));
          const m = new PbWriter().bytes(1, v.publicKey).uint64(2, v.power);
          if (vote !== undefined) m.uint32(3, vote.type).uint32(4, vote.round).bytes(5, vote.blockHash);
          w.message(11, m.finish());
        }
        for (const p of c?.peers ?? []) {
          w.message(
            12,
            new PbWriter().string(1, p.addr).bool(2, p.connected).uint64(3, BigInt(p.height)).bytes(
              4,
              p.nodeKey,
            )
              .finish(),
          );
        }
        if (c !== undefined) {
          w.uint64(13, BigInt(c.evidenceCount)).uint32(14, c.lockedRound + 1).uint64(15, BigInt(c.height));
        }
        return w.finish().slice();
      }
      case "StreamBlocks":
        throw new ChainError(
          "INVALID_ARGUMENT",
          "UNKNOWN_METHOD",
          "StreamBlocks is server-streaming: use stream()",
        );
      default:
        throw new ChainError(
          "UNIMPLEMENTED",
          "UNKNOWN_METHOD",
          `Unknown method ${JSON.stringify(method.slice(0, 64))}`,
        );
    }
  }

  /** Server-streaming `StreamBlocks`: stored blocks from `from_height`, then live ones. */
  async *stream(method: string, request: Uint8Array, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (method !== "StreamBlocks") {
      throw new ChainError(
        "UNIMPLEMENTED",
        "UNKNOWN_METHOD",
        `${JSON.stringify(method.slice(0, 64))} is not a streaming method`,
      );
    }
    let next = 0;
    fields(request, "StreamBlocksRequest", (r) => (r.field === 1 ? next = r.safeInt() : r.unknown()));
    const node = this.#node;
    let wake: (() => void) | undefined;
    const unsubscribe = node.subscribe(() => wake?.());
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    try {
      while (signal?.aborted !== true) {
        if (next <= node.height) {
          const bytes = await node.getBlock(next);
          if (bytes === undefined) throw new ChainError("DATA_LOSS", "STORAGE", `Block ${next} missing`);
          yield encodeBlockResponse(bytes);
          next++;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (next <= node.height || signal?.aborted === true) resolve();
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function encodeBlockResponse(bytes: Uint8Array): Uint8Array {
  const b = decodeBlock(bytes);
  return new PbWriter().bytes(1, bytes).bytes(2, b.hash).uint64(3, BigInt(b.header.height)).finish().slice();
}

/** Decoded `GetBlockResponse` / `StreamBlocksResponse`. */
export function decodeBlockResponse(
  bytes: Uint8Array,
): { block: Uint8Array; hash: Uint8Array; height: number } {
  let block = new Uint8Array(0), hash = new Uint8Array(0), height = 0;
  const r = new PbReader(bytes, "block response");
  while (r.next()) {
    if (r.field === 1) block = r.bytes(8 << 20).slice();
    else if (r.field === 2) hash = r.fixed(32).slice();
    else if (r.field === 3) height = r.safeInt();
    else r.unknown();
  }
  return { block, hash, height };
}

/** Decoded `GetStatusResponse`. */
export interface ChainStatus {
  readonly chainId: string;
  readonly height: number;
  readonly headHash: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly genesisHash: Uint8Array;
  readonly mempoolSize: number;
  readonly headTimeMs: number;
  readonly validator: Uint8Array;
  /** Consensus round and step (a validator's view; 0 and "" on a follower). */
  readonly round: number;
  readonly step: string;
  readonly lockedRound: number;
  readonly validators: readonly StatusValidator[];
  readonly peers: readonly StatusPeer[];
  readonly evidenceCount: number;
  /** The height consensus works on (or just decided, step "commit"); 0 on a follower. */
  readonly consensusHeight: number;
}

/** A validator in `GetStatusResponse`, with its last vote at the current height as this node saw it. */
export interface StatusValidator {
  readonly publicKey: Uint8Array;
  readonly power: bigint;
  /** 0: none seen yet; 1 prevote; 2 precommit. */
  readonly voteType: number;
  readonly voteRound: number;
  /** Empty: nil. */
  readonly voteHash: Uint8Array;
}

/** A consensus peer in `GetStatusResponse`. */
export interface StatusPeer {
  readonly addr: string;
  readonly connected: boolean;
  readonly height: number;
  readonly nodeKey: Uint8Array;
}

/** Decodes a `GetStatusResponse`. */
export function decodeStatus(bytes: Uint8Array): ChainStatus {
  const s = {
    chainId: "",
    height: 0,
    headHash: new Uint8Array(0),
    stateRoot: new Uint8Array(0),
    genesisHash: new Uint8Array(0),
    mempoolSize: 0,
    headTimeMs: 0,
    validator: new Uint8Array(0),
    round: 0,
    step: "",
    lockedRound: -1,
    validators: [] as StatusValidator[],
    peers: [] as StatusPeer[],
    evidenceCount: 0,
    consensusHeight: 0,
  };
  const r = new PbReader(bytes, "status");
  while (r.next()) {
    if (r.field === 1) s.chainId = r.string(64);
    else if (r.field === 2) s.height = r.safeInt();
    else if (r.field === 3) s.headHash = r.fixed(32).slice();
    else if (r.field === 4) s.stateRoot = r.fixed(32).slice();
    else if (r.field === 5) s.genesisHash = r.fixed(32).slice();
    else if (r.field === 6) s.mempoolSize = r.safeInt();
    else if (r.field === 7) s.headTimeMs = r.safeInt();
    else if (r.field === 8) s.validator = r.fixed(32).slice();
    else if (r.field === 9) s.round = r.uint32();
    else if (r.field === 10) s.step = r.string(16);
    else if (r.field === 11) {
      if (s.validators.length >= 1024) {
        throw new ChainError("INVALID_ARGUMENT", "MALFORMED", "too many validators");
      }
      const m = new PbReader(r.message(256, true), "status validator");
      const v = {
        publicKey: new Uint8Array(0),
        power: 0n,
        voteType: 0,
        voteRound: 0,
        voteHash: new Uint8Array(0),
      };
      while (m.next()) {
        if (m.field === 1) v.publicKey = m.fixed(32).slice();
        else if (m.field === 2) v.power = m.uint64();
        else if (m.field === 3) v.voteType = m.uint32();
        else if (m.field === 4) v.voteRound = m.uint32();
        else if (m.field === 5) v.voteHash = m.fixed(32).slice();
        else m.unknown();
      }
      s.validators.push(v);
    } else if (r.field === 12) {
      if (s.peers.length >= 1024) throw new ChainError("INVALID_ARGUMENT", "MALFORMED", "too many peers");
      const m = new PbReader(r.message(512, true), "status peer");
      const p = { addr: "", connected: false, height: 0, nodeKey: new Uint8Array(0) };
      while (m.next()) {
        if (m.field === 1) p.addr = m.string(300);
        else if (m.field === 2) p.connected = m.bool();
        else if (m.field === 3) p.height = m.safeInt();
        else if (m.field === 4) p.nodeKey = m.fixed(32).slice();
        else m.unknown();
      }
      s.peers.push(p);
    } else if (r.field === 13) s.evidenceCount = r.safeInt();
    else if (r.field === 14) s.lockedRound = r.uint32() - 1;
    else if (r.field === 15) s.consensusHeight = r.safeInt();
    else r.unknown();
  }
  return s;
}

/** Byte-level entry point for the bridge: `handleChainCall(service, method, requestBytes)`. */
export function handleChainCall(
  service: ChainService,
  method: string,
  request: Uint8Array,
): Promise<Uint8Array> {
  return service.handle(method, request);
}
