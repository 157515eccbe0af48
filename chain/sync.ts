/**
 * `ghostchain-sync/1`: the BlockchainService carried over QUIC (transport/), used by followers to catch up
 * and follow, and by the CLI until the bridge lands.
 *
 * Wire: one call per client-initiated bidirectional stream; messages carry a 4-byte big-endian length
 * prefix (transport/ `MessageReader`/`MessageWriter`). The client sends one `RpcRequest {method, request}`
 * and finishes its side; the server answers with one `RpcResponse {status, reason, message, response}`
 * (unary) or one per block (`StreamBlocks`, until either side closes), then finishes. A non-zero `status`
 * is a gRPC status code and ends the stream. Messages are at most 2 MiB.
 *
 * {@linkcode followChain} is the follower: GetStatus (the peer's genesis hash must equal ours), then
 * StreamBlocks from our height + 1, applying (verifying and committing) each block; on any transport error
 * it reconnects with backoff; a block that fails verification is logged and the connection dropped.
 *
 * @module
 */

import type { ConnectionHandler, QuicConnection } from "../transport/mod.ts";
import { ChainError, grpcStatusName, toChainError } from "./errors.ts";
import type { ChainNode } from "./node.ts";
import { bytesEqual, PbReader, PbWriter, toHex } from "./_pb.ts";
import {
  type ChainService,
  type ChainStatus,
  decodeBlockResponse,
  decodeStatus,
} from "./blockchain_service.ts";

/** The ALPN of the sync protocol. */
export const CHAIN_SYNC_ALPN = "ghostchain-sync/1";
/** Largest sync message. */
export const MAX_SYNC_MESSAGE_BYTES = 2 << 20;

/** Encodes an `RpcRequest`. */
export function encodeRpcRequest(method: string, request: Uint8Array): Uint8Array {
  return new PbWriter().string(1, method).bytes(2, request).finish().slice();
}

/** Decodes an `RpcRequest`. */
export function decodeRpcRequest(bytes: Uint8Array): { method: string; request: Uint8Array } {
  let method = "", request: Uint8Array = new Uint8Array(0);
  const r = new PbReader(bytes, "RpcRequest");
  while (r.next()) {
    if (r.field === 1) method = r.string(64);
    else if (r.field === 2) request = r.bytes(MAX_SYNC_MESSAGE_BYTES);
    else r.unknown();
  }
  return { method, request };
}

/** Encodes an `RpcResponse`: a success with bytes, or an error. */
export function encodeRpcResponse(result: Uint8Array | ChainError): Uint8Array {
  const w = new PbWriter();
  if (result instanceof ChainError) {
    return w.uint32(1, result.code).string(2, result.reason).string(3, result.message.slice(0, 1000)).finish()
      .slice();
  }
  return w.bytes(4, result).finish().slice();
}

/** Decodes an `RpcResponse`; throws the carried ChainError when status is not OK. */
export function decodeRpcResponse(bytes: Uint8Array): Uint8Array {
  let status = 0, reason = "", message = "";
  let response: Uint8Array = new Uint8Array(0);
  const r = new PbReader(bytes, "RpcResponse");
  while (r.next()) {
    if (r.field === 1) status = r.uint32();
    else if (r.field === 2) reason = r.string(64);
    else if (r.field === 3) message = r.string(4096);
    else if (r.field === 4) response = r.bytes(MAX_SYNC_MESSAGE_BYTES);
    else r.unknown();
  }
  if (status !== 0) {
    throw new ChainError(grpcStatusName(status), (reason || "UNAVAILABLE") as ChainError["reason"], message, {
      source: "upstream",
    });
  }
  return response;
}

/** The server side: a transport/ connection handler answering calls with `service`. */
export function chainSyncHandler(service: ChainService): ConnectionHandler {
  return (conn) =>
    conn.forEachBidi(async (stream) => {
      const { reader, writer } = conn.messages(stream, {
        prefix: 4,
        name: "ghostchain-sync message",
        maxMessageBytes: MAX_SYNC_MESSAGE_BYTES,
      });
      const first = await reader.read();
      if (first === null) return await writer.close();
      let call: { method: string; request: Uint8Array };
      try {
        call = decodeRpcRequest(first);
      } catch (e) {
        await writer.write(encodeRpcResponse(toChainError(e)));
        return await writer.close();
      }
      if (call.method === "StreamBlocks") {
        try {
          for await (const resp of service.stream(call.method, call.request, conn.signal)) {
            await writer.write(encodeRpcResponse(resp));
          }
        } catch (e) {
          if (conn.isClosed) return;
          await writer.write(encodeRpcResponse(toChainError(e))).catch(() => {});
        }
        return await writer.close().catch(() => {});
      }
      let out: Uint8Array;
      try {
        out = encodeRpcResponse(await service.handle(call.method, call.request));
      } catch (e) {
        out = encodeRpcResponse(toChainError(e));
      }
      await writer.write(out);
      await writer.close();
    });
}

/** The client side over one connection (ALPN {@linkcode CHAIN_SYNC_ALPN}). */
export class ChainSyncClient {
  readonly #conn: QuicConnection;

  /** Uses `conn`; the caller owns it. */
  constructor(conn: QuicConnection) {
    this.#conn = conn;
  }

  /** A unary call. Throws ChainError for a non-OK status. */
  async call(method: string, request: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const stream = await this.#conn.openBidi();
    const { reader, writer } = this.#conn.messages(stream, {
      prefix: 4,
      name: "ghostchain-sync message",
      maxMessageBytes: MAX_SYNC_MESSAGE_BYTES,
    });
    await writer.write(encodeRpcRequest(method, request));
    await writer.close();
    const resp = await reader.read();
    if (resp === null) {
      throw new ChainError(
        "UNAVAILABLE",
        "UNAVAILABLE",
        `${method}: the peer closed the stream without an answer`,
      );
    }
    return decodeRpcResponse(resp);
  }

  /** A server-streaming call. */
  async *stream(method: string, request: Uint8Array): AsyncGenerator<Uint8Array> {
    const stream = await this.#conn.openBidi();
    const { reader, writer } = this.#conn.messages(stream, {
      prefix: 4,
      name: "ghostchain-sync message",
      maxMessageBytes: MAX_SYNC_MESSAGE_BYTES,
    });
    await writer.write(encodeRpcRequest(method, request));
    await writer.close();
    try {
      for await (const m of reader) yield decodeRpcResponse(m);
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  /** GetStatus. */
  async status(): Promise<ChainStatus> {
    return decodeStatus(await this.call("GetStatus"));
  }
}

/** Options of {@linkcode followChain}. */
export interface FollowOptions {
  /** Opens a connection to the peer (ALPN {@linkcode CHAIN_SYNC_ALPN}). */
  readonly connect: () => Promise<QuicConnection>;
  readonly signal: AbortSignal;
  /** Sleeps (injected so tests need no real time). */
  readonly sleep: (ms: number) => Promise<void>;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
  /** Called after each applied block. */
  readonly onBlock?: (height: number) => void;
}

/** Follows a peer until `signal` aborts (see the module doc). */
export async function followChain(node: ChainNode, opts: FollowOptions): Promise<void> {
  let backoff = 100;
  const log = opts.log ?? (() => {});
  while (!opts.signal.aborted) {
    let conn: QuicConnection | undefined;
    const onAbort = () => conn?.close();
    opts.signal.addEventListener("abort", onAbort);
    try {
      conn = await opts.connect();
      const client = new ChainSyncClient(conn);
      const status = await client.status();
      if (!bytesEqual(status.genesisHash, node.genesisHash)) {
        throw new ChainError(
          "FAILED_PRECONDITION",
          "GENESIS",
          `Peer is on another chain (genesis ${toHex(status.genesisHash).slice(0, 16)})`,
        );
      }
      log("syncing", { from: node.height + 1, peerHeight: status.height });
      const req = new PbWriter().uint64(1, BigInt(node.height + 1)).finish().slice();
      for await (const resp of client.stream("StreamBlocks", req)) {
        const { block } = decodeBlockResponse(resp);
        const b = await node.applyBlock(block);
        opts.onBlock?.(b.header.height);
        backoff = 100;
      }
    } catch (e) {
      if (opts.signal.aborted) break;
      const err = toChainError(e);
      log("sync interrupted", { reason: err.reason, error: err.message });
      if (err.reason === "GENESIS") throw err;
    } finally {
      opts.signal.removeEventListener("abort", onAbort);
      conn?.close();
    }
    if (opts.signal.aborted) break;
    await opts.sleep(backoff);
    backoff = Math.min(backoff * 2, 5_000);
  }
}
