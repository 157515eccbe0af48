/**
 * `QuicServer`: one `Deno.QuicEndpoint` (one UDP socket) serving several application protocols, dispatched by
 * the ALPN the client negotiated, with connection, handshake, idle, stream, message and drain limits.
 *
 * @module
 */

import { abortPromise, raceTimeout, TIMED_OUT } from "./_deadline.ts";
import { hostPort } from "./_ip.ts";
import {
  type CloseCodeMap,
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  QuicConnection,
} from "./connection.ts";
import { CloseCode, toTransportError, type TransportError } from "./errors.ts";
import type { MetricsRegistry } from "../core/mod.ts";
import { type TransportMetrics, transportMetrics } from "./transport_metrics.ts";

/**
 * Serves one connection of a protocol. The connection stays open until the returned promise settles: resolved,
 * the server closes it with `NO_ERROR` (`SHUTDOWN` while draining); rejected, with the error's code
 * (`INTERNAL_ERROR` for anything but a {@linkcode TransportError}).
 */
export type ConnectionHandler = (conn: QuicConnection) => void | Promise<void>;

/** A handler with per-protocol settings. */
export interface ProtocolHandler {
  /** The connection handler. */
  readonly handle: ConnectionHandler;
  /** Maps our close codes to the protocol's registry (e.g. DoQ, HTTP/3). */
  readonly closeCodes?: CloseCodeMap;
  /** Per-protocol overrides of the connection limits. */
  readonly limits?: Partial<ConnectionLimits>;
}

const SWAPPED: unique symbol = Symbol("listener swapped");

/** Server limits. Every field has a default (see {@linkcode DEFAULT_SERVER_LIMITS}). */
export interface ServerLimits extends ConnectionLimits {
  /** Connections (handshaking or established) served at once; more are refused. */
  readonly maxConnections: number;
  /** Milliseconds a handshake may take. */
  readonly handshakeTimeoutMs: number;
  /** QUIC max idle timeout in milliseconds (the effective one is the minimum of both ends'). */
  readonly idleTimeoutMs: number;
  /** Keep-alive interval in milliseconds; 0 disables (clients usually keep connections alive). */
  readonly keepAliveIntervalMs: number;
  /** Bidirectional streams a peer may have open at once (QUIC stream credit). */
  readonly maxConcurrentBidiStreams: number;
  /** Unidirectional streams a peer may have open at once. */
  readonly maxConcurrentUniStreams: number;
  /** Milliseconds `close()` waits for handlers before closing their connections with `SHUTDOWN`. */
  readonly drainTimeoutMs: number;
}

/** Defaults of {@linkcode ServerLimits}. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  maxConnections: 10_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  keepAliveIntervalMs: 0,
  maxConcurrentBidiStreams: 100,
  maxConcurrentUniStreams: 100,
  drainTimeoutMs: 5_000,
};

/** Options of {@linkcode QuicServer}. */
export interface QuicServerOptions {
  /** Address to bind. Defaults to `"127.0.0.1"`. Ignored with `endpoint`. */
  readonly hostname?: string;
  /** Port to bind; 0 (default) picks one. Ignored with `endpoint`. */
  readonly port?: number;
  /** An existing endpoint to listen on (e.g. shared with a client pool). The server does not close it. */
  readonly endpoint?: Deno.QuicEndpoint;
  /** Certificate chain PEM. */
  readonly cert: string;
  /** Private key PEM. */
  readonly key: string;
  /** ALPN protocol id to handler. The ALPN list is fixed when listening starts. */
  readonly handlers:
    | Readonly<Record<string, ConnectionHandler | ProtocolHandler>>
    | ReadonlyMap<string, ConnectionHandler | ProtocolHandler>;
  /** Limits; missing keys take the defaults. */
  readonly limits?: Partial<ServerLimits>;
  /** Registry for the transport metrics. */
  readonly metrics?: MetricsRegistry;
  /** Told about failed handshakes and handler errors (for logging). */
  readonly onError?: (
    error: TransportError,
    context: { readonly alpn?: string; readonly remote: string },
  ) => void;
}

/** Counts for health reports. */
export interface QuicServerStats {
  /** Established connections. */
  readonly connections: number;
  /** Connections still handshaking. */
  readonly handshaking: number;
  /** Whether `close()` was called. */
  readonly draining: boolean;
}

/**
 * A QUIC server with ALPN dispatch and limits. Listening starts in the constructor.
 *
 * @example
 * ```ts
 * const server = new QuicServer({
 *   cert: pki.certPem,
 *   key: pki.keyPem,
 *   handlers: { [PING_ALPN]: pingHandler() },
 * });
 * console.log(server.addr.port);
 * await server.close();
 * ```
 */
export class QuicServer {
  /** The limits in force. */
  readonly limits: ServerLimits;
  /** The endpoint listened on. */
  readonly endpoint: Deno.QuicEndpoint;
  /** Transport metrics of this server. */
  readonly metrics: TransportMetrics;

  readonly #ownsEndpoint: boolean;
  #listener: Deno.QuicListener;
  /** Settles when {@linkcode QuicServer.setCertificate} replaced the listener (the accept loop moves over). */
  #swapped = Promise.withResolvers<void>();
  readonly #listenOptions: Omit<Deno.QuicListenOptions, "cert" | "key">;
  readonly #handlers: ReadonlyMap<string, ProtocolHandler>;
  readonly #onError: QuicServerOptions["onError"];
  readonly #drain = new AbortController();
  readonly #connections = new Map<QuicConnection, Promise<void>>();
  readonly #handshakes = new Set<Promise<void>>();
  readonly #acceptLoop: Promise<void>;
  #closing: Promise<void> | undefined;

  /** Binds (unless given an endpoint) and starts listening. */
  constructor(options: QuicServerOptions) {
    this.limits = parseLimits(options.limits ?? {});
    const entries = options.handlers instanceof Map
      ? [...options.handlers]
      : Object.entries(options.handlers as Record<string, ConnectionHandler | ProtocolHandler>);
    if (entries.length === 0) throw new TypeError("Cannot start QuicServer: handlers is empty");
    const handlers = new Map<string, ProtocolHandler>();
    for (const [alpn, h] of entries) {
      if (alpn.length === 0 || new TextEncoder().encode(alpn).length > 255) {
        // RFC 7301 §3.1: protocol names are 1..255 bytes.
        throw new TypeError(`Cannot register ALPN "${alpn}": must be 1..255 bytes`);
      }
      handlers.set(alpn, typeof h === "function" ? { handle: h } : h);
    }
    this.#handlers = handlers;
    this.#onError = options.onError;
    this.metrics = transportMetrics(options.metrics);
    this.#ownsEndpoint = options.endpoint === undefined;
    this.endpoint = options.endpoint ??
      new Deno.QuicEndpoint({ hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0 });
    this.#listenOptions = {
      alpnProtocols: [...handlers.keys()],
      maxIdleTimeout: this.limits.idleTimeoutMs,
      ...(this.limits.keepAliveIntervalMs > 0 ? { keepAliveInterval: this.limits.keepAliveIntervalMs } : {}),
      maxConcurrentBidirectionalStreams: this.limits.maxConcurrentBidiStreams,
      maxConcurrentUnidirectionalStreams: this.limits.maxConcurrentUniStreams,
    };
    try {
      this.#listener = this.endpoint.listen({ ...this.#listenOptions, cert: options.cert, key: options.key });
    } catch (error) {
      if (this.#ownsEndpoint) this.endpoint.close();
      throw error;
    }
    listening.set(this.endpoint, this);
    this.#acceptLoop = this.#run();
  }

  /** The bound UDP address. */
  get addr(): Deno.NetAddr {
    return this.endpoint.addr;
  }

  /** The ALPN protocols served. */
  get protocols(): string[] {
    return [...this.#handlers.keys()];
  }

  /** Current counts. */
  get stats(): QuicServerStats {
    return {
      connections: this.#connections.size,
      handshaking: this.#handshakes.size,
      draining: this.#drain.signal.aborted,
    };
  }

  /**
   * Drains and stops: stops accepting, tells handlers through `conn.signal`, waits up to `drainTimeoutMs` for
   * them, closes what is left with `SHUTDOWN`, and closes the endpoint if the server created it. Idempotent.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    this.#drain.abort();
    if (listening.get(this.endpoint) === this) listening.delete(this.endpoint);
    try {
      this.#listener.stop();
    } catch {
      // already stopped
    }
    for (const conn of this.#connections.keys()) conn.drain();
    const handlers = Promise.all(this.#connections.values());
    await raceTimeout(handlers, this.limits.drainTimeoutMs);
    for (const conn of this.#connections.keys()) conn.close(CloseCode.SHUTDOWN, "server shutting down");
    // Handshakes in flight end with the endpoint; connections that complete now are closed at once.
    if (this.#ownsEndpoint) {
      this.endpoint.close({ closeCode: CloseCode.SHUTDOWN, reason: "server shutting down" });
    }
    await raceTimeout(this.#acceptLoop, 1000);
    await raceTimeout(Promise.all([...this.#handshakes, ...this.#connections.values()]), 1000);
  }

  async #run(): Promise<void> {
    // `listener.stop()` alone does not end a pending `incoming()` in Deno 2.9 (closing the endpoint does), so the
    // loop also watches the drain signal: a server on a shared endpoint must stop without closing it.
    const { promise: drained, dispose } = abortPromise(this.#drain.signal);
    try {
      while (true) {
        const next = this.#listener.incoming();
        const swapped = this.#swapped.promise.then((): typeof SWAPPED => SWAPPED);
        const incoming = await Promise.race([next, drained.then(() => undefined), swapped]);
        if (incoming === SWAPPED) {
          // A new certificate: new connections come to the new listener; one already on its way is still taken.
          next.then((late) => this.#admit(late), () => {});
          continue;
        }
        if (incoming === undefined) {
          // The pending `incoming()` cannot be cancelled and may still take a connection meant for a server that
          // listens on this endpoint after us: hand it over, or refuse it.
          next.then((late) => {
            const current = listening.get(this.endpoint);
            if (current && current !== this) current.#admit(late);
            else late.refuse();
          }, () => {});
          return;
        }
        this.#admit(incoming as Deno.QuicIncoming);
      }
    } catch (error) {
      // The listener fails with BadResource when the endpoint is closed underneath it; anything else is reported.
      if (!this.#drain.signal.aborted && !(error instanceof Deno.errors.BadResource)) {
        this.#report(toTransportError(error), "?");
      }
    } finally {
      dispose();
    }
  }

  /**
   * Serves new connections with another certificate (the endpoint is listened on again with it); connections
   * already open keep theirs. Used to add names to a certificate without a restart.
   */
  setCertificate(cert: string, key: string): void {
    this.#listener = this.endpoint.listen({ ...this.#listenOptions, cert, key });
    const old = this.#swapped;
    this.#swapped = Promise.withResolvers<void>();
    old.resolve();
  }

  #admit(incoming: Deno.QuicIncoming): void {
    if (this.#drain.signal.aborted) {
      incoming.refuse();
      return;
    }
    if (this.#connections.size + this.#handshakes.size >= this.limits.maxConnections) {
      // RFC 9000 §5.2.2: refusing sends CONNECTION_REFUSED before any state is kept.
      incoming.refuse();
      this.metrics.connectionsFailed.inc(1, { role: "server", reason: "refused" });
      return;
    }
    const task = this.#handshake(incoming);
    this.#handshakes.add(task);
    task.finally(() => this.#handshakes.delete(task));
  }

  async #handshake(incoming: Deno.QuicIncoming): Promise<void> {
    // Deno 2.9: reading `incoming.remoteAddr` consumes the incoming resource (the connection is then refused),
    // so the peer address is taken from the established connection instead.
    let remote = "?";
    const started = performance.now();
    let raw: Deno.QuicConn | typeof TIMED_OUT;
    const accepting = incoming.accept<false>();
    try {
      raw = await raceTimeout(accepting, this.limits.handshakeTimeoutMs);
    } catch (error) {
      // Failed handshakes (unknown ALPN, bad TLS) must not disturb the server.
      this.metrics.connectionsFailed.inc(1, { role: "server", reason: "handshake" });
      this.#report(toTransportError(error, CloseCode.PROTOCOL_ERROR, "downstream"), remote);
      return;
    }
    if (raw === TIMED_OUT) {
      this.metrics.connectionsFailed.inc(1, { role: "server", reason: "timeout" });
      // The handshake cannot be aborted; when it completes late, close at once. The idle timeout ends it otherwise.
      accepting.then((c) => c.close({ closeCode: CloseCode.TIMEOUT, reason: "handshake timeout" }), () => {});
      return;
    }
    this.metrics.handshakeSeconds.observe((performance.now() - started) / 1000, { role: "server" });
    remote = hostPort(raw.remoteAddr.hostname, raw.remoteAddr.port);
    const alpn = raw.protocol ?? "";
    const handler = this.#handlers.get(alpn);
    const conn = new QuicConnection(raw, {
      role: "server",
      limits: { ...pickConnectionLimits(this.limits), ...handler?.limits },
      metrics: this.metrics,
      ...(handler?.closeCodes ? { closeCodes: handler.closeCodes } : {}),
    });
    if (this.#drain.signal.aborted) conn.drain(); // the handshake finished after close() began
    if (!handler) {
      conn.close(CloseCode.PROTOCOL_ERROR, `no handler for ALPN "${alpn}"`);
      return;
    }
    this.metrics.connectionsAccepted.inc(1, { alpn });
    const served = this.#serve(conn, handler, remote);
    this.#connections.set(conn, served);
    served.finally(() => this.#connections.delete(conn));
  }

  async #serve(conn: QuicConnection, handler: ProtocolHandler, remote: string): Promise<void> {
    try {
      // A handler that ignores the connection closing must not pin it in the server's books.
      await Promise.race([handler.handle(conn), conn.closed]);
      conn.close(this.#drain.signal.aborted ? CloseCode.SHUTDOWN : CloseCode.NO_ERROR);
    } catch (error) {
      const e = toTransportError(error);
      if (!conn.isClosed) this.#report(e, remote, conn.alpn);
      conn.close(e.code === CloseCode.CLOSED ? CloseCode.NO_ERROR : e);
    }
    await conn.closed;
  }

  #report(error: TransportError, remote: string, alpn?: string): void {
    try {
      this.#onError?.(error, alpn === undefined ? { remote } : { alpn, remote });
    } catch {
      // A failing logger must not take the server down.
    }
  }
}

/** The server currently listening on each endpoint (a shared endpoint can be listened on again after close). */
const listening = new WeakMap<Deno.QuicEndpoint, QuicServer>();

/** Validates limits: every value a finite number >= 0 (>= 1 where 0 makes no sense). */
function parseLimits(raw: Partial<ServerLimits>): ServerLimits {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...raw };
  const positive: (keyof ServerLimits)[] = [
    "maxConnections",
    "handshakeTimeoutMs",
    "idleTimeoutMs",
    "maxMessageBytes",
    "streamBurst",
  ];
  for (const [key, value] of Object.entries(limits) as [keyof ServerLimits, number][]) {
    const min = positive.includes(key) ? 1 : 0;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
      throw new RangeError(`Cannot use limits.${key} = ${String(value)}: must be a finite number >= ${min}`);
    }
  }
  return limits;
}

function pickConnectionLimits(l: ServerLimits): ConnectionLimits {
  return {
    maxMessageBytes: l.maxMessageBytes,
    stallTimeoutMs: l.stallTimeoutMs,
    streamBurst: l.streamBurst,
    streamsPerSecond: l.streamsPerSecond,
  };
}
