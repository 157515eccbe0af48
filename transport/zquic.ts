/**
 * The seed's ZQUIC FFI surface (`zquic_init`, `zquic_destroy`, `zquic_create_connection`,
 * `zquic_close_connection`, `zquic_send_data`, `zquic_receive_data`, `zquic_create_stream`,
 * `zquic_close_stream`) as TypeScript functions over {@linkcode QuicServer}, {@linkcode QuicClientPool} and
 * {@linkcode QuicConnection}. A TypeScript program cannot export a C ABI; other languages reach these operations
 * through the bridge's gRPC instead.
 *
 * Data calls move raw bytes without framing, like the C API. Connection-level `sendData`/`receiveData` use the
 * connection's default stream: the first bidirectional stream we open (sender) or accept (receiver).
 *
 * @module
 */

import type { ConnectionLimits, QuicConnection } from "./connection.ts";
import { CloseCode, TransportError } from "./errors.ts";
import type { MetricsRegistry } from "../core/mod.ts";
import { connectQuic } from "./pool.ts";
import { type ConnectionHandler, QuicServer, type ServerLimits } from "./server.ts";

/** `ZQuicConfig`: what `zquic_init` needs. */
export interface ZquicConfig {
  /** Address to bind. Default `"127.0.0.1"`. */
  readonly hostname?: string;
  /** Port to bind; 0 (default) picks one. */
  readonly port?: number;
  /** Server certificate PEM; with `key` and `handlers`, the context also serves. */
  readonly cert?: string;
  /** Server key PEM. */
  readonly key?: string;
  /** ALPN handlers for the server role. */
  readonly handlers?: Readonly<Record<string, ConnectionHandler>>;
  /** ALPN used by `createConnection`. Default `"ghostbridge/1"`. */
  readonly alpn?: string;
  /** Trusted CA certificates for the client role. */
  readonly caCerts?: readonly string[];
  /** Server limits. */
  readonly limits?: Partial<ServerLimits>;
  /** Client connection limits. */
  readonly clientLimits?: Partial<ConnectionLimits>;
  /** Connect timeout. Default 5,000 ms. */
  readonly connectTimeoutMs?: number;
  /** Metrics registry. */
  readonly metrics?: MetricsRegistry;
}

/** `ZQuicContext`: one UDP endpoint used for both roles, the optional server, and the open connections. */
export interface ZquicContext {
  /** The shared endpoint. */
  readonly endpoint: Deno.QuicEndpoint;
  /** The server, when configured. */
  readonly server: QuicServer | undefined;
  /** Connections made by `createConnection` and not yet closed. */
  readonly connections: Set<QuicConnection>;
  /** The configuration. */
  readonly config: ZquicConfig;
}

/** Stream type as in `zquic_create_stream(conn, stream_type)`. */
export const StreamType = { BIDIRECTIONAL: 0, UNIDIRECTIONAL: 1 } as const;

/** A stream handle: `Stream*`. */
export interface ZquicStream {
  /** QUIC stream id. */
  readonly id: bigint;
  /** 0 bidirectional, 1 unidirectional. */
  readonly type: 0 | 1;
  /** Writer half (absent on an accepted unidirectional stream). */
  readonly writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  /** Reader half (absent on an opened unidirectional stream). */
  readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Bytes read but not yet returned because they exceeded `maxLen`. */
  leftover: Uint8Array | undefined;
}

const defaultStreams = new WeakMap<QuicConnection, Promise<ZquicStream>>();

/** `zquic_init`: binds the endpoint and, with cert, key and handlers, starts serving on it. */
export function init(config: ZquicConfig = {}): ZquicContext {
  const endpoint = new Deno.QuicEndpoint({
    hostname: config.hostname ?? "127.0.0.1",
    port: config.port ?? 0,
  });
  let server: QuicServer | undefined;
  if (config.cert !== undefined && config.key !== undefined && config.handlers) {
    try {
      server = new QuicServer({
        endpoint,
        cert: config.cert,
        key: config.key,
        handlers: config.handlers,
        ...(config.limits ? { limits: config.limits } : {}),
        ...(config.metrics ? { metrics: config.metrics } : {}),
      });
    } catch (error) {
      endpoint.close();
      throw error;
    }
  }
  return { endpoint, server, connections: new Set(), config };
}

/** `zquic_destroy`: drains the server, closes every connection and the endpoint. */
export async function destroy(ctx: ZquicContext): Promise<void> {
  await ctx.server?.close();
  for (const c of ctx.connections) c.close(CloseCode.NO_ERROR);
  await Promise.all([...ctx.connections].map((c) => c.closed));
  ctx.endpoint.close();
}

/**
 * `zquic_create_connection(ctx, addr)`: connects from the context's endpoint to `"host:port"` (IPv6 as
 * `"[::1]:port"`).
 *
 * @throws {TypeError} for a malformed address; {@linkcode TransportError} when the connect fails
 */
export async function createConnection(
  ctx: ZquicContext,
  addr: string,
  options: { readonly serverName?: string; readonly alpn?: string } = {},
): Promise<QuicConnection> {
  const { hostname, port } = parseAddr(addr);
  const conn = await connectQuic(
    {
      hostname,
      port,
      serverName: options.serverName ??
        (hostname.includes(":") || /^[\d.]+$/.test(hostname) ? "localhost" : hostname),
      alpn: options.alpn ?? ctx.config.alpn ?? "ghostbridge/1",
    },
    {
      endpoint: ctx.endpoint,
      ...(ctx.config.caCerts ? { caCerts: ctx.config.caCerts } : {}),
      ...(ctx.config.clientLimits ? { limits: ctx.config.clientLimits } : {}),
      ...(ctx.config.connectTimeoutMs ? { connectTimeoutMs: ctx.config.connectTimeoutMs } : {}),
      ...(ctx.config.metrics ? { metrics: ctx.config.metrics } : {}),
    },
  );
  ctx.connections.add(conn);
  conn.closed.then(() => ctx.connections.delete(conn));
  return conn;
}

/** `zquic_close_connection`: closes with `NO_ERROR` (or `code`) and waits until closed. */
export async function closeConnection(
  conn: QuicConnection,
  code: number = CloseCode.NO_ERROR,
): Promise<void> {
  conn.close(code);
  await conn.closed;
}

/** `zquic_create_stream(conn, stream_type)`: opens a stream, waiting for stream credit. */
export async function createStream(
  conn: QuicConnection,
  type: 0 | 1 = StreamType.BIDIRECTIONAL,
): Promise<ZquicStream> {
  if (type === StreamType.UNIDIRECTIONAL) {
    const s = await conn.openUni();
    return { id: s.id, type, writer: s.getWriter(), reader: undefined, leftover: undefined };
  }
  const s = await conn.openBidi();
  return {
    id: s.writable.id,
    type,
    writer: s.writable.getWriter(),
    reader: s.readable.getReader(),
    leftover: undefined,
  };
}

/** `zquic_close_stream`: finishes our side (FIN) and stops reading the peer's. */
export async function closeStream(stream: ZquicStream): Promise<void> {
  await stream.writer?.close().catch(() => {});
  await stream.reader?.cancel().catch(() => {});
}

/**
 * `zquic_send_data`: writes all of `data`, waiting for flow control; returns the byte count (the C API's
 * `isize`). On a connection, uses its default stream.
 *
 * @throws {TransportError} `CLOSED` when the stream or connection is gone
 */
export async function sendData(target: QuicConnection | ZquicStream, data: Uint8Array): Promise<number> {
  const stream = isStream(target) ? target : await defaultStream(target, "open");
  if (!stream.writer) throw new TypeError("Cannot send data: stream is receive-only");
  try {
    await stream.writer.ready;
    await stream.writer.write(data);
  } catch (error) {
    throw new TransportError(CloseCode.CLOSED, "Cannot send data: stream closed", { cause: error });
  }
  return data.length;
}

/**
 * `zquic_receive_data`: up to `maxLen` bytes as they arrive; an empty array at the end of the stream. On a
 * connection, uses its default stream (accepting the peer's first stream when we did not open one).
 *
 * @throws {TransportError} `CLOSED` when the stream or connection failed
 */
export async function receiveData(target: QuicConnection | ZquicStream, maxLen: number): Promise<Uint8Array> {
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(`Cannot receive data: maxLen ${maxLen} < 1`);
  }
  const stream = isStream(target) ? target : await defaultStream(target, "accept");
  if (!stream.reader) throw new TypeError("Cannot receive data: stream is send-only");
  let chunk = stream.leftover;
  stream.leftover = undefined;
  if (!chunk) {
    try {
      const r = await stream.reader.read();
      if (r.done) return new Uint8Array(0);
      chunk = r.value;
    } catch (error) {
      throw new TransportError(CloseCode.CLOSED, "Cannot receive data: stream failed", { cause: error });
    }
  }
  if (chunk.length > maxLen) {
    stream.leftover = chunk.subarray(maxLen);
    return chunk.subarray(0, maxLen);
  }
  return chunk;
}

function isStream(x: QuicConnection | ZquicStream): x is ZquicStream {
  return "leftover" in x;
}

function defaultStream(conn: QuicConnection, how: "open" | "accept"): Promise<ZquicStream> {
  let s = defaultStreams.get(conn);
  if (!s) {
    s = how === "open" ? createStream(conn, StreamType.BIDIRECTIONAL) : conn.acceptBidi().then((b) => {
      if (!b) throw new TransportError(CloseCode.CLOSED, "Cannot receive data: connection closed");
      return {
        id: b.readable.id,
        type: StreamType.BIDIRECTIONAL,
        writer: b.writable.getWriter(),
        reader: b.readable.getReader(),
        leftover: undefined,
      };
    });
    defaultStreams.set(conn, s);
  }
  return s;
}

function parseAddr(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  const hostname = m?.[1] ?? m?.[2];
  if (!m || hostname === undefined || !(port >= 1 && port <= 65535)) {
    throw new TypeError(`Cannot parse address "${addr}": expected host:port or [v6]:port`);
  }
  return { hostname, port };
}
