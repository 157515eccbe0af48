/**
 * QUIC client side: {@linkcode connectQuic} opens one connection with a connect timeout and the transport's
 * limits; {@linkcode QuicClientPool} keeps one connection per (host, port, server name, ALPN), reuses it, and
 * reconnects after it closes or fails.
 *
 * @module
 */

import { hostPort } from "./_ip.ts";
import { raceTimeout, TIMED_OUT } from "./_deadline.ts";
import { type ConnectionLimits, QuicConnection } from "./connection.ts";
import { CloseCode, TransportError } from "./errors.ts";
import type { MetricsRegistry } from "../core/mod.ts";
import { type TransportMetrics, transportMetrics } from "./transport_metrics.ts";

/** Where to connect. */
export interface ConnectTarget {
  /** Host name or IP literal. */
  readonly hostname: string;
  /** UDP port. */
  readonly port: number;
  /** Name to verify the certificate against (SNI). Defaults to `hostname`. */
  readonly serverName?: string;
  /** The ALPN protocol to ask for. */
  readonly alpn: string;
}

/** Client options. */
export interface ClientOptions {
  /**
   * Endpoint (UDP socket) to connect from, e.g. the server's own so one socket serves both roles. The caller
   * keeps ownership. Without it, Deno binds a fresh ephemeral socket per connection.
   */
  readonly endpoint?: Deno.QuicEndpoint;
  /** Extra trusted CA certificates, PEM (e.g. the dev CA). */
  readonly caCerts?: readonly string[];
  /** Milliseconds a connect (handshake included) may take. Default 5,000. */
  readonly connectTimeoutMs?: number;
  /** QUIC max idle timeout in milliseconds. Default 30,000. */
  readonly idleTimeoutMs?: number;
  /** Keep-alive interval in milliseconds; 0 disables. Default 10,000. */
  readonly keepAliveIntervalMs?: number;
  /** Bidirectional streams the server may open to us at once. Default 100. */
  readonly maxConcurrentBidiStreams?: number;
  /** Unidirectional streams the server may open to us at once. Default 100. */
  readonly maxConcurrentUniStreams?: number;
  /** Message and stream limits applied to the server's input. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Registry for the transport metrics. */
  readonly metrics?: MetricsRegistry;
}

/**
 * Opens one QUIC connection.
 *
 * @throws {TransportError} `TIMEOUT` after `connectTimeoutMs`, `CONNECT_FAILED` when the handshake fails
 *   (`retryable` is false for TLS and ALPN failures, which a retry will not fix)
 */
export async function connectQuic(
  target: ConnectTarget,
  options: ClientOptions = {},
): Promise<QuicConnection> {
  const metrics = transportMetrics(options.metrics);
  return await connectWith(target, options, metrics);
}

async function connectWith(
  target: ConnectTarget,
  options: ClientOptions,
  metrics: TransportMetrics,
): Promise<QuicConnection> {
  const where = `${hostPort(target.hostname, target.port)} (${target.alpn})`;
  const timeoutMs = options.connectTimeoutMs ?? 5000;
  const keepAlive = options.keepAliveIntervalMs ?? 10_000;
  const started = performance.now();
  let connecting: Promise<Deno.QuicConn>;
  try {
    connecting = Deno.connectQuic<false>({
      hostname: target.hostname,
      port: target.port,
      serverName: target.serverName ?? target.hostname,
      alpnProtocols: [target.alpn],
      ...(options.caCerts ? { caCerts: [...options.caCerts] } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxIdleTimeout: options.idleTimeoutMs ?? 30_000,
      ...(keepAlive > 0 ? { keepAliveInterval: keepAlive } : {}),
      maxConcurrentBidirectionalStreams: options.maxConcurrentBidiStreams ?? 100,
      maxConcurrentUnidirectionalStreams: options.maxConcurrentUniStreams ?? 100,
    });
  } catch (error) {
    throw connectError(where, error, metrics);
  }
  let raw: Deno.QuicConn | typeof TIMED_OUT;
  try {
    raw = await raceTimeout(connecting, timeoutMs);
  } catch (error) {
    throw connectError(where, error, metrics);
  }
  if (raw === TIMED_OUT) {
    metrics.connectionsFailed.inc(1, { role: "client", reason: "timeout" });
    connecting.then((c) => c.close({ closeCode: CloseCode.TIMEOUT, reason: "connect timeout" }), () => {});
    throw new TransportError(
      CloseCode.TIMEOUT,
      `Cannot connect to ${where}: no handshake within ${timeoutMs} ms`,
      {
        source: "upstream",
      },
    );
  }
  metrics.handshakeSeconds.observe((performance.now() - started) / 1000, { role: "client" });
  metrics.connectionsOpened.inc(1, { alpn: target.alpn });
  return new QuicConnection(raw, {
    role: "client",
    metrics,
    ...(options.limits ? { limits: options.limits } : {}),
  });
}

function connectError(where: string, error: unknown, metrics: TransportMetrics): TransportError {
  const message = error instanceof Error ? error.message : String(error);
  // TLS and ALPN failures are configuration problems: retrying the same request will not help.
  const permanent = /handshake failed|certificate|protocol|invalid|NotCapable|PermissionDenied/i.test(
    `${message} ${error instanceof Error ? error.name : ""}`,
  );
  metrics.connectionsFailed.inc(1, { role: "client", reason: permanent ? "handshake" : "connect" });
  return new TransportError(CloseCode.CONNECT_FAILED, `Cannot connect to ${where}: ${message}`, {
    cause: error,
    source: "upstream",
    retryable: !permanent,
  });
}

/**
 * A pool of client connections, one per (host, port, server name, ALPN). `get()` returns the open connection
 * for a target or opens one; concurrent callers share a pending connect; a closed or failed connection is
 * replaced on the next `get()`.
 *
 * @example
 * ```ts
 * const pool = new QuicClientPool({ caCerts: [pki.caPem] });
 * const conn = await pool.get({ hostname: "127.0.0.1", port: 4433, serverName: "localhost", alpn: PING_ALPN });
 * await ping(conn, new Uint8Array(8));
 * await pool.close();
 * ```
 */
export class QuicClientPool {
  readonly #options: ClientOptions;
  readonly #metrics: TransportMetrics;
  readonly #entries = new Map<string, Promise<QuicConnection>>();
  readonly #open = new Set<QuicConnection>();
  #closed = false;

  /** Creates an empty pool. */
  constructor(options: ClientOptions = {}) {
    this.#options = options;
    this.#metrics = transportMetrics(options.metrics);
  }

  /** Transport metrics of this pool. */
  get metrics(): TransportMetrics {
    return this.#metrics;
  }

  /** Number of targets with an open or pending connection. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The pooled connection for `target`, opening one when there is none or the last one closed.
   *
   * @throws {TransportError} as {@linkcode connectQuic}, or `CLOSED` after {@linkcode QuicClientPool.close}
   */
  async get(target: ConnectTarget): Promise<QuicConnection> {
    if (this.#closed) {
      throw new TransportError(CloseCode.CLOSED, "Cannot get connection: pool is closed", {
        retryable: false,
      });
    }
    const key = poolKey(target);
    const pending = this.#entries.get(key);
    if (pending) {
      const conn = await pending.catch(() => undefined);
      if (conn && !conn.isClosed) return conn;
      // Replace a failed or closed entry unless another caller already did.
      if (this.#entries.get(key) === pending) this.#entries.delete(key);
      return this.get(target);
    }
    const connecting = connectWith(target, this.#options, this.#metrics);
    this.#entries.set(key, connecting);
    let conn: QuicConnection;
    try {
      conn = await connecting;
    } catch (error) {
      if (this.#entries.get(key) === connecting) this.#entries.delete(key);
      throw error;
    }
    if (this.#closed) {
      conn.close(CloseCode.NO_ERROR);
      throw new TransportError(CloseCode.CLOSED, "Cannot get connection: pool is closed", {
        retryable: false,
      });
    }
    this.#open.add(conn);
    conn.closed.then(() => {
      this.#open.delete(conn);
      if (this.#entries.get(key) === connecting) this.#entries.delete(key);
    });
    return conn;
  }

  /** Closes every pooled connection with `NO_ERROR` and waits for them; later `get()` calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = [...this.#entries.values()];
    this.#entries.clear();
    const conns = (await Promise.allSettled(pending))
      .flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const all = new Set([...conns, ...this.#open]);
    for (const c of all) c.close(CloseCode.NO_ERROR, "pool closed");
    await Promise.all([...all].map((c) => c.closed));
  }
}

function poolKey(t: ConnectTarget): string {
  return JSON.stringify([
    t.alpn,
    t.hostname.toLowerCase(),
    t.port,
    (t.serverName ?? t.hostname).toLowerCase(),
  ]);
}
