/**
 * BlockchainService on GhostBridge: the in-process handlers a chain node registers with its bridge node, and
 * {@linkcode BlockchainClient}, the typed caller other services (wallet, cns) and the CLI use through a bridge.
 *
 * A {@linkcode ChainError} crosses the bridge as its gRPC status and message plus the trailer
 * `ghost-chain-reason` (its stable reason, e.g. `BAD_NONCE`), so a caller rebuilds the same error.
 *
 * @module
 */
import {
  BridgeError,
  type Caller,
  type CallOptions,
  GrpcStatus,
  type Metadata,
  type MethodHandler,
  serverStream,
  serverStreamCall,
  type ServiceHandlers,
  unary,
  unaryCall,
} from "../bridge/mod.ts";
import { PbReader, PbWriter } from "./_pb.ts";
import { ChainError, type ChainErrorReason, grpcStatusName, toChainError } from "./errors.ts";
import { decodeRecords, EMPTY_RECORDS, MAX_RECORDS_BYTES, type NameRecords } from "./names.ts";
import { decodeReceipt, MAX_RECEIPT_BYTES, type Receipt } from "./execute.ts";
import {
  CHAIN_METHODS,
  CHAIN_SERVICE_NAME,
  type ChainService,
  type ChainStatus,
  decodeStatus,
} from "./blockchain_service.ts";

/** Trailer carrying a ChainError's reason. */
export const CHAIN_REASON_TRAILER = "ghost-chain-reason";

const enc = new TextEncoder();
const dec = new TextDecoder();

function toBridgeError(error: unknown): BridgeError {
  if (error instanceof BridgeError) return error;
  const e = toChainError(error);
  return new BridgeError(e.code as BridgeError["code"], e.message, {
    reason: e.reason,
    source: e.source,
    retryable: e.retryable,
    trailers: [[CHAIN_REASON_TRAILER, enc.encode(e.reason)]],
  });
}

/** Rebuilds a ChainError from a bridge error (reason from the trailer, UNAVAILABLE for transport failures). */
export function chainErrorFromBridge(error: unknown): ChainError {
  if (error instanceof ChainError) return error;
  if (!(error instanceof BridgeError)) return toChainError(error);
  const trailer = error.trailers.find(([k]) => k === CHAIN_REASON_TRAILER)?.[1];
  const reason = trailer !== undefined && /^[A-Z_]{1,40}$/.test(dec.decode(trailer))
    ? dec.decode(trailer) as ChainErrorReason
    : error.code === GrpcStatus.UNAVAILABLE || error.code === GrpcStatus.DEADLINE_EXCEEDED
    ? "UNAVAILABLE"
    : "UNKNOWN_METHOD";
  return new ChainError(grpcStatusName(error.code), reason, error.message, {
    cause: error,
    source: "upstream",
    retryable: error.retryable || error.code === GrpcStatus.UNAVAILABLE,
  });
}

/**
 * The handlers of `ghostchain.v1.BlockchainService` over a {@linkcode ChainService}: every unary method, and
 * StreamBlocks as server streaming (ended when the caller cancels or its deadline passes).
 */
export function chainServiceHandlers(service: ChainService): ServiceHandlers {
  const out: Record<string, MethodHandler> = {};
  for (const method of CHAIN_METHODS) {
    out[method] = method === "StreamBlocks"
      ? serverStream(async function* (request, ctx) {
        try {
          yield* service.stream(method, request, ctx.signal);
        } catch (error) {
          if (ctx.signal.aborted) return;
          throw toBridgeError(error);
        }
      })
      : unary(async (request) => {
        try {
          return await service.handle(method, request);
        } catch (error) {
          throw toBridgeError(error);
        }
      });
  }
  return out;
}

function isResolver(c: Caller): c is Caller & { resolve(service: string): Promise<unknown> } {
  return typeof (c as { resolve?: unknown }).resolve === "function";
}

/** Options of {@linkcode BlockchainClient}. */
export interface BlockchainClientOptions {
  /** Deadline of each unary call. Default 10 s. */
  readonly timeoutMs?: number;
  /** Request metadata sent with every call. */
  readonly metadata?: Metadata;
}

/** An account as the chain reports it. */
export interface ChainAccount {
  readonly address: string;
  readonly balance: bigint;
  readonly nonce: bigint;
  readonly height: number;
}

/** Where a transaction is, with its receipt once it is in a block. */
export interface ChainTxStatus {
  /** In the mempool, not yet in a block. */
  readonly pending: boolean;
  readonly height: number;
  /** Receipt status: 0 = success. */
  readonly status: number;
  readonly reason: string;
  readonly feePaid: bigint;
  /** The whole receipt (gas, return data, events, created contract) once included. */
  readonly receipt?: Receipt;
}

/**
 * A typed BlockchainService client over anything that opens bridge calls: a service's mesh node, or the
 * central bridge's gRPC ingress reached through an `Http2Target`. Errors are {@linkcode ChainError}s.
 */
export class BlockchainClient {
  readonly #caller: Caller;
  readonly #opts: CallOptions;

  /** Calls through `caller`. */
  constructor(caller: Caller, opts: BlockchainClientOptions = {}) {
    this.#caller = caller;
    this.#opts = {
      timeoutMs: opts.timeoutMs ?? 10_000,
      ...(opts.metadata ? { metadata: opts.metadata } : {}),
    };
  }

  /** A unary call by method name; throws ChainError. */
  async call(method: string, request: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    await this.#discover();
    try {
      const r = await unaryCall(this.#caller, CHAIN_SERVICE_NAME, method, request, {
        ...this.#opts,
        ...(signal ? { signal } : {}),
      });
      return r.message;
    } catch (error) {
      throw chainErrorFromBridge(error);
    }
  }

  /**
   * A bridge node that just started may not have discovered the chain on its peers yet: `resolve` runs a
   * discovery round when it knows no instance (and returns at once when it does).
   */
  async #discover(): Promise<void> {
    const c = this.#caller;
    if (isResolver(c)) await c.resolve(CHAIN_SERVICE_NAME);
  }

  /** StreamBlocks from `fromHeight`, then live: yields encoded StreamBlocksResponse messages. */
  async *streamBlocks(fromHeight: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    await this.#discover();
    const req = fromHeight > 0
      ? new PbWriter().uint64(1, BigInt(fromHeight)).finish().slice()
      : new Uint8Array(0);
    try {
      yield* serverStreamCall(this.#caller, CHAIN_SERVICE_NAME, "StreamBlocks", req, {
        ...(this.#opts.metadata ? { metadata: this.#opts.metadata } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw chainErrorFromBridge(error);
    }
  }

  /** GetStatus. */
  async status(signal?: AbortSignal): Promise<ChainStatus> {
    return decodeStatus(await this.call("GetStatus", new Uint8Array(0), signal));
  }

  /** GetAccount of a `ghost1...` address (balance and nonce 0 when the account does not exist). */
  async account(address: string, signal?: AbortSignal): Promise<ChainAccount> {
    const bytes = await this.call("GetAccount", new PbWriter().string(1, address).finish().slice(), signal);
    let balance = 0n, nonce = 0n, height = 0, addr = address;
    const r = new PbReader(bytes, "GetAccountResponse");
    while (r.next()) {
      if (r.field === 1) addr = r.string(128);
      else if (r.field === 2) balance = r.uint64();
      else if (r.field === 3) nonce = r.uint64();
      else if (r.field === 4) height = r.safeInt();
      else r.skip();
    }
    return { address: addr, balance, nonce, height };
  }

  /** SubmitTransaction of an encoded SignedTransaction; resolves to its hash. */
  async submit(signedTransaction: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const bytes = await this.call(
      "SubmitTransaction",
      new PbWriter().bytes(1, signedTransaction).finish().slice(),
      signal,
    );
    let hash: Uint8Array | undefined;
    const r = new PbReader(bytes, "SubmitTransactionResponse");
    while (r.next()) {
      if (r.field === 1) hash = r.bytes(64).slice();
      else r.skip();
    }
    if (hash === undefined) {
      throw new ChainError("INTERNAL", "MALFORMED", "SubmitTransaction answered no hash");
    }
    return hash;
  }

  /** GetTransaction: where the transaction is, or `undefined` when the chain does not know it. */
  async transaction(hash: Uint8Array, signal?: AbortSignal): Promise<ChainTxStatus | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.call("GetTransaction", new PbWriter().bytes(1, hash).finish().slice(), signal);
    } catch (error) {
      if (error instanceof ChainError && error.status === "NOT_FOUND") return undefined;
      throw error;
    }
    let pending = false, height = 0;
    let receipt: Receipt | undefined;
    const r = new PbReader(bytes, "GetTransactionResponse");
    while (r.next()) {
      if (r.field === 2) height = r.safeInt();
      else if (r.field === 6) pending = r.bool();
      else if (r.field === 4) receipt = decodeReceipt(r.message(MAX_RECEIPT_BYTES));
      else r.skip();
    }
    return {
      pending,
      height,
      status: receipt?.status ?? 0,
      reason: receipt?.reason ?? "",
      feePaid: receipt?.feePaid ?? 0n,
      ...(receipt ? { receipt } : {}),
    };
  }

  /**
   * Polls GetTransaction until the transaction is in a block (or `timeoutMs` passes: DEADLINE_EXCEEDED).
   * Blocks come every block interval, so polling at a fraction of it costs little.
   */
  async waitForInclusion(
    hash: Uint8Array,
    opts: { readonly timeoutMs?: number; readonly pollMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<ChainTxStatus> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const st = await this.transaction(hash, opts.signal);
      if (st !== undefined && !st.pending) return st;
      if (Date.now() >= deadline) {
        throw new ChainError(
          "DEADLINE_EXCEEDED",
          "UNAVAILABLE",
          `Transaction not included within ${opts.timeoutMs ?? 30_000} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
      opts.signal?.throwIfAborted();
    }
  }

  /** ResolveName: the encoded ResolveNameResponse (records, state proof, header). */
  resolveName(name: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.call("ResolveName", new PbWriter().string(1, name).finish().slice(), signal);
  }

  /** ListNames: one page of names (of `owner`, or every name when `owner` is empty) and the next cursor. */
  async listNames(
    owner: string,
    opts: { readonly startAfter?: string; readonly limit?: number; readonly signal?: AbortSignal } = {},
  ): Promise<{ names: string[]; next: string }> {
    const w = new PbWriter().string(1, owner).uint32(2, opts.limit ?? 1000).string(3, opts.startAfter ?? "");
    const bytes = await this.call("ListNames", w.finish().slice(), opts.signal);
    const names: string[] = [];
    let next = "";
    const r = new PbReader(bytes, "ListNamesResponse");
    while (r.next()) {
      if (r.field === 1) names.push(r.string(256, true));
      else if (r.field === 2) next = r.string(256);
      else r.skip();
    }
    return { names, next };
  }
}

/** A decoded ResolveNameResponse without its proof (see chain/README.md for verifying the proof). */
export interface ResolvedName {
  readonly found: boolean;
  readonly owner: string;
  /** Last height at which the name resolves. */
  readonly expiry: bigint;
  readonly records: NameRecords;
  /** .zns names: the 20-byte contract address (empty otherwise). */
  readonly znsContract: Uint8Array;
  /** The chain height the answer was read at. */
  readonly height: number;
}

/** Decodes a ResolveNameResponse (bounded; unknown fields skipped). */
export function decodeResolvedName(bytes: Uint8Array): ResolvedName {
  let found = false,
    owner = "",
    expiry = 0n,
    records = EMPTY_RECORDS,
    znsContract = new Uint8Array(0),
    height = 0;
  const r = new PbReader(bytes, "ResolveNameResponse");
  while (r.next()) {
    if (r.field === 1) found = r.bool();
    else if (r.field === 2) owner = r.string(128);
    else if (r.field === 3) expiry = r.uint64();
    else if (r.field === 4) records = decodeRecords(r.message(MAX_RECORDS_BYTES));
    else if (r.field === 5) znsContract = r.bytes(20).slice();
    else if (r.field === 9) height = r.safeInt();
    else r.skip();
  }
  return { found, owner, expiry, records, znsContract, height };
}
