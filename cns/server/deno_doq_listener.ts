/**
 * Deno adapter: DNS over QUIC (RFC 9250) on the transport's {@linkcode QuicServer} with ALPN `doq`.
 *
 * Per stream: read until the client's FIN (bounded in bytes and time), decode the one query (doq_codec.ts),
 * answer through the {@linkcode QueryHandler}, write the length-prefixed response, FIN. Protocol errors close
 * the whole connection with the DoQ code (RFC 9250 §4.3 allows it; Deno cannot reset one stream with a code).
 * Limits: total connections (QuicServer), connections per client address (closed with DOQ_EXCESSIVE_LOAD),
 * concurrent streams per connection (QUIC stream credit) and a stream-open rate budget.
 *
 * @module
 */

import {
  type CloseCodeMap,
  type ProtocolHandler,
  QuicServer,
  type ServerLimits,
} from "../../transport/mod.ts";
import type { CnsMetrics } from "../resolver/cns_metrics.ts";
import { ConnectionLimiter } from "../resolver/connection_limiter.ts";
import {
  decodeDoqQuery,
  DOQ_ALPN,
  DoqError,
  DoqErrorCode,
  MAX_DOQ_STREAM_BYTES,
} from "../proto/doq_codec.ts";
import type { MetricsRegistry } from "../../core/mod.ts";
import type { QueryHandler } from "../resolver/query_handler.ts";

/** Our transport close codes mapped onto the DoQ registry (RFC 9250 §8.4). */
export const DOQ_CLOSE_CODES: CloseCodeMap = {
  NO_ERROR: DoqErrorCode.NO_ERROR,
  INTERNAL_ERROR: DoqErrorCode.INTERNAL_ERROR,
  PROTOCOL_ERROR: DoqErrorCode.PROTOCOL_ERROR,
  CANCELLED: DoqErrorCode.REQUEST_CANCELLED,
  EXCESSIVE_LOAD: DoqErrorCode.EXCESSIVE_LOAD,
  MESSAGE_TOO_LARGE: DoqErrorCode.PROTOCOL_ERROR,
  STREAM_LIMIT: DoqErrorCode.EXCESSIVE_LOAD,
  STALLED: DoqErrorCode.UNSPECIFIED_ERROR,
  TIMEOUT: DoqErrorCode.NO_ERROR,
  SHUTDOWN: DoqErrorCode.NO_ERROR,
};

/** Options of {@linkcode DoqListener}. */
export interface DoqListenerOptions {
  readonly hostname: string;
  readonly port: number;
  /** Certificate chain and key, PEM. */
  readonly cert: string;
  readonly key: string;
  /** Connections in total. Default 1,000. */
  readonly maxConnections?: number;
  /** Connections per client address. Default 20. */
  readonly maxConnectionsPerClient?: number;
  /** Concurrent streams (queries) per connection. Default 100. */
  readonly maxStreams?: number;
  /** Streams (queries) a connection may open per second, with the same burst; more closes it. Default 20,000. */
  readonly streamsPerSecond?: number;
  /** QUIC idle timeout, ms. Default 30,000 (RFC 9250 §5.5 leaves it to the server). */
  readonly idleTimeoutMs?: number;
  /** Time a client has to send a whole query and FIN, ms. Default 5,000. */
  readonly queryTimeoutMs?: number;
  /** Time `close()` waits for connections. Default 2,000. */
  readonly drainTimeoutMs?: number;
  readonly metrics?: CnsMetrics;
  /** Registry for the QUIC transport metrics. */
  readonly registry?: MetricsRegistry;
  /** Told about connection errors. */
  readonly onError?: (error: Error, remote: string) => void;
}

/** The `doq` protocol handler for a {@linkcode QuicServer}. */
export function doqProtocolHandler(
  handler: QueryHandler,
  options: Pick<
    DoqListenerOptions,
    "maxConnections" | "maxConnectionsPerClient" | "queryTimeoutMs" | "metrics"
  >,
): ProtocolHandler {
  const limiter = new ConnectionLimiter({
    maxTotal: options.maxConnections ?? 1000,
    maxPerClient: options.maxConnectionsPerClient ?? 20,
  });
  const metrics = options.metrics;
  return {
    closeCodes: DOQ_CLOSE_CODES,
    limits: { maxMessageBytes: 65_535 },
    handle: async (conn) => {
      const client = conn.remoteAddr.hostname;
      if (!limiter.tryAcquire(client)) {
        metrics?.connectionsRefused.inc(1, { transport: "doq" });
        conn.close(DoqErrorCode.EXCESSIVE_LOAD, "too many connections from this address");
        return;
      }
      metrics?.connections.inc(1, { transport: "doq" });
      try {
        await conn.forEachBidi(async (stream) => {
          const bytes = await conn.readAll(stream.readable, {
            maxBytes: MAX_DOQ_STREAM_BYTES,
            timeoutMs: options.queryTimeoutMs ?? 5000,
          });
          const query = decodeDoqQuery(bytes);
          const response = await handler.handle(query, { address: client, transport: "doq" });
          if (response === null) {
            throw new DoqError(DoqErrorCode.PROTOCOL_ERROR, "Cannot answer DoQ stream: not a DNS query");
          }
          const writer = conn.writer(stream.writable, {
            prefix: 2,
            maxMessageBytes: 65_535,
            name: "DoQ message",
          });
          await writer.write(response);
          // RFC 9250 §4.2: the server sends FIN after the response.
          await writer.close();
        });
      } finally {
        limiter.release(client);
        metrics?.connections.dec(1, { transport: "doq" });
      }
    },
  };
}

/** A DoQ listener: a QuicServer with the `doq` handler. */
export class DoqListener {
  /** The QUIC server. */
  readonly server: QuicServer;

  /** Binds and starts serving. */
  constructor(handler: QueryHandler, options: DoqListenerOptions) {
    const limits: Partial<ServerLimits> = {
      maxConnections: options.maxConnections ?? 1000,
      maxConcurrentBidiStreams: options.maxStreams ?? 100,
      // One query per stream (RFC 9250): the stream-open budget is the per-connection query rate limit.
      streamsPerSecond: options.streamsPerSecond ?? 20_000,
      streamBurst: options.streamsPerSecond ?? 20_000,
      maxConcurrentUniStreams: 0,
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      drainTimeoutMs: options.drainTimeoutMs ?? 2000,
      maxMessageBytes: 65_535,
    };
    this.server = new QuicServer({
      hostname: options.hostname,
      port: options.port,
      cert: options.cert,
      key: options.key,
      handlers: { [DOQ_ALPN]: doqProtocolHandler(handler, options) },
      limits,
      ...(options.registry ? { metrics: options.registry } : {}),
      onError: (error, where) => options.onError?.(error, where.remote),
    });
  }

  /** The bound UDP address. */
  get addr(): Deno.NetAddr {
    return this.server.addr;
  }

  /** Drains and closes. */
  close(): Promise<void> {
    return this.server.close();
  }
}
