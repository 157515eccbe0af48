/**
 * The TCP front: TLS with ALPN `h2` and `http/1.1` on one port. Connections that negotiate `h2` go to the
 * project's HTTP/2 server ({@linkcode Http2Server.serveConnection}), the rest to the HTTP/1.1 connection server;
 * both serve the same handler. The accept loop survives running out of file descriptors (it backs off and says so);
 * connections beyond `maxConnections` are closed at once; a TLS handshake must finish within the header timeout.
 *
 * @module
 */
import { type MetricsRegistry } from "../core/mod.ts";
import { Http2Server, serveHttp2Stream } from "../transport/http2/mod.ts";
import { type Http1ServerLimits, serveHttp1Connection } from "../transport/http1/mod.ts";
import type { ClientInfo } from "./proxy.ts";

/** Limits of the front. */
export interface FrontLimits extends Http1ServerLimits {
  readonly maxConnections: number;
  readonly maxStreamsPerConnection: number;
}

/** Options of {@linkcode HttpsFront}. */
export interface HttpsFrontOptions {
  readonly hostname: string;
  readonly port: number;
  readonly cert: string;
  readonly key: string;
  readonly handler: (request: Request, info: ClientInfo) => Promise<Response>;
  readonly limits: FrontLimits;
  /**
   * Bind with SO_REUSEPORT, so `setCertificate` can hand the port to a listener with a new certificate. Off by
   * default: then a second process on the same port fails to bind instead of sharing it.
   */
  readonly swappableCertificate?: boolean;
  readonly metrics?: MetricsRegistry;
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** The front (see the module doc). */
export class HttpsFront {
  readonly #opts: HttpsFrontOptions;
  readonly #h2: Http2Server;
  readonly #h1 = new Set<Deno.Conn>();
  readonly #drain = new AbortController();
  #listener: Deno.TlsListener | undefined;
  #loop: Promise<void> | undefined;
  #open = 0;
  /** `Alt-Svc` value added to every answer (set once HTTP/3 is up). */
  altSvc: string | undefined;
  readonly #m;

  constructor(opts: HttpsFrontOptions) {
    this.#opts = opts;
    const handle = (request: Request, info: ClientInfo) =>
      opts.handler(request, info).then((r) => {
        if (this.altSvc !== undefined) r.headers.set("alt-svc", this.altSvc);
        return r;
      });
    this.#h2 = new Http2Server({
      onStream: serveHttp2Stream(
        (request, info) => handle(request, { client: info.remoteAddr.hostname, version: "2" }),
        (error) => opts.onEvent?.("http2 handler error", { error: String(error) }),
      ),
      limits: {
        maxConcurrentStreams: opts.limits.maxStreamsPerConnection,
        maxHeaderListSize: opts.limits.maxHeaderBytes,
      },
      maxConnections: opts.limits.maxConnections,
      maxConnectionsPerClient: opts.limits.maxConnections,
      handshakeTimeoutMs: opts.limits.headerTimeoutMs,
      idleTimeoutMs: opts.limits.idleTimeoutMs,
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    this.#h1Handler = (request, info) =>
      handle(request, { client: info.remoteAddr.hostname, version: info.version });
    const r = opts.metrics;
    this.#m = r
      ? {
        connections: r.gauge("ghost_wraith_tcp_connections", "Open TCP (TLS) client connections"),
        accepted: r.counter(
          "ghost_wraith_tcp_accepted_total",
          "TCP connections accepted, by negotiated protocol",
          [
            "alpn",
          ],
        ),
        refused: r.counter(
          "ghost_wraith_tcp_refused_total",
          "TCP connections refused (over max_connections)",
        ),
        acceptErrors: r.counter(
          "ghost_wraith_tcp_accept_errors_total",
          "Accept failures (such as out of descriptors)",
        ),
      }
      : undefined;
  }

  readonly #h1Handler: (
    request: Request,
    info: { remoteAddr: Deno.NetAddr; version: string },
  ) => Promise<Response>;

  #bind(port: number, cert: string, key: string): Deno.TlsListener {
    // SO_REUSEPORT: a second listener on the same port can take over with a new certificate (setCertificate).
    return Deno.listenTls(
      {
        hostname: this.#opts.hostname,
        port,
        cert,
        key,
        alpnProtocols: ["h2", "http/1.1"],
        reusePort: this.#opts.swappableCertificate === true,
      } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem & { reusePort: boolean },
    );
  }

  /** Binds and starts accepting. */
  listen(): Promise<Deno.NetAddr> {
    this.#listener = this.#bind(this.#opts.port, this.#opts.cert, this.#opts.key);
    this.#loop = this.#accept(this.#listener);
    return Promise.resolve(this.#listener.addr);
  }

  /**
   * Serves new connections with another certificate: a second listener on the same port takes over, then the
   * first closes. Connections already accepted keep going.
   */
  setCertificate(cert: string, key: string): void {
    const old = this.#listener;
    if (old === undefined || this.#opts.swappableCertificate !== true) {
      throw new Error("this front was not bound to swap certificates (swappableCertificate)");
    }
    const next = this.#bind(old.addr.port, cert, key);
    this.#listener = next;
    const oldLoop = this.#loop;
    this.#loop = this.#accept(next);
    try {
      old.close();
    } catch {
      // closed
    }
    void oldLoop?.catch(() => {});
  }

  async #accept(listener: Deno.TlsListener): Promise<void> {
    let backoff = 5;
    let failing = false;
    while (!this.#drain.signal.aborted) {
      let conn: Deno.TlsConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#drain.signal.aborted || error instanceof Deno.errors.BadResource) return;
        this.#m?.acceptErrors.inc();
        if (!failing) this.#opts.onEvent?.("accept failing; backing off", { error: String(error) });
        failing = true;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      if (failing) this.#opts.onEvent?.("accept recovered", {});
      failing = false;
      backoff = 5;
      if (this.#open >= this.#opts.limits.maxConnections) {
        this.#m?.refused.inc();
        try {
          conn.close();
        } catch {
          // gone
        }
        continue;
      }
      void this.#serve(conn);
    }
  }

  async #serve(conn: Deno.TlsConn): Promise<void> {
    this.#open++;
    this.#m?.connections.set(this.#open);
    let alpn: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const handshake = await Promise.race([
        conn.handshake(),
        new Promise<undefined>((
          r,
        ) => (timer = setTimeout(() => r(undefined), this.#opts.limits.headerTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (handshake === undefined) throw new Error("TLS handshake timed out");
      alpn = handshake.alpnProtocol;
      if ("setNoDelay" in conn) (conn as unknown as Deno.TcpConn).setNoDelay(true);
    } catch {
      clearTimeout(timer);
      try {
        conn.close();
      } catch {
        // gone
      }
      this.#open--;
      this.#m?.connections.set(this.#open);
      return;
    }
    this.#m?.accepted.inc(1, { alpn: alpn ?? "none" });
    if (alpn === "h2") {
      // The HTTP/2 server counts and times the connection from here; it closes it.
      this.#h2.serveConnection(conn);
      this.#open--;
      this.#m?.connections.set(this.#open);
      return;
    }
    this.#h1.add(conn);
    try {
      await serveHttp1Connection(conn, this.#h1Handler, this.#opts.limits, {
        signal: this.#drain.signal,
        onError: (error) => this.#opts.onEvent?.("http1 handler error", { error: String(error) }),
      });
    } finally {
      this.#h1.delete(conn);
      this.#open--;
      this.#m?.connections.set(this.#open);
    }
  }

  /** Stops accepting; HTTP/2 connections get GOAWAY, HTTP/1.1 ones close after their response; all by `deadlineMs`. */
  async close(deadlineMs: number): Promise<void> {
    this.#drain.abort();
    try {
      this.#listener?.close();
    } catch {
      // closed
    }
    await this.#loop?.catch(() => {});
    const h2 = this.#h2.close(deadlineMs);
    while (this.#h1.size > 0 && Date.now() < deadlineMs) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.#h1) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    await h2;
  }
}
