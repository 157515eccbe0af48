/**
 * Deno adapters of the HTTP/2 core: {@linkcode Http2Server} over `Deno.listen` (h2c, prior knowledge) or
 * `Deno.listenTls` (ALPN `h2`), and {@linkcode connectHttp2} over `Deno.connect`/`Deno.connectTls`. Thin: sockets,
 * timers and promises around {@linkcode Http2Connection}, which decides everything.
 *
 * Streams give backpressure end to end: `read()` credits the peer's window only for what was read, and `write()`
 * resolves once the bytes fit the peer's window and the socket took them, so nothing is buffered without bound.
 * Trailers and END_STREAM go after every byte written before them.
 *
 * The server survives running out of file descriptors (accept backs off, logs, counts, reports `degraded`, and
 * resumes), caps connections in total and per client, and closes connections that do not finish the handshake
 * in time or sit idle.
 *
 * @module
 */
import { Http2Connection, type Http2Event, type Http2Limits } from "./connection.ts";
import { ErrorCode, errorCodeName, Http2Error } from "./frame.ts";
import type { HeaderField } from "./hpack.ts";

/** A stream ended by RST_STREAM or by the connection going away. */
export class Http2StreamError extends Error {
  /** RFC 9113 §7 code. */
  readonly code: number;
  /** Creates an error for a stream reset with `code`. */
  constructor(code: number, message?: string) {
    super(message ?? `Stream reset: ${errorCodeName(code)}`);
    this.name = "Http2StreamError";
    this.code = code;
  }
}

/** Bytes written to a socket but not yet taken by it, above which writers wait. */
const HIGH_WATER = 1 << 20;

/** One HTTP/2 stream, from either end. */
export class Http2Stream {
  /** Stream id. */
  readonly id: number;
  readonly #session: Session;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Http2StreamError | undefined;
  #wake: (() => void) | undefined;
  #writes: Promise<void> = Promise.resolve();
  #localEnded = false;
  readonly #abort = new AbortController();
  /** Request headers (server side) or response headers once they arrived (client side). */
  headers: HeaderField[] = [];
  /** Trailers, once `read()` returned `null`. */
  trailers: HeaderField[] | undefined;
  readonly #head = Promise.withResolvers<HeaderField[]>();

  /** @internal */
  constructor(session: Session, id: number) {
    this.#session = session;
    this.id = id;
    this.#head.promise.catch(() => {});
  }

  /** Aborted when the stream is reset or the connection goes away. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Response headers (client side); rejects if the stream is reset first. */
  get response(): Promise<HeaderField[]> {
    return this.#head.promise;
  }

  /** The next chunk of the body; `null` at its end. Throws {@linkcode Http2StreamError} when reset. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const c = this.#chunks.shift();
      if (c !== undefined) {
        this.#session.consumed(this.id, c.length);
        return c;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Sends response headers (server side). */
  respond(headers: readonly HeaderField[], endStream = false): void {
    if (this.#localEnded || this.#error !== undefined) return;
    if (endStream) this.#localEnded = true;
    this.#session.sendHeaders(this.id, headers, endStream);
  }

  /** Sends body bytes; resolves when they are within the peer's window and handed to the socket. */
  write(data: Uint8Array): Promise<void> {
    const next = this.#writes.then(() => this.#session.writeData(this, data, false));
    this.#writes = next.catch(() => {});
    return next;
  }

  /** Ends the stream after everything written so far: with trailers, or an empty END_STREAM DATA frame. */
  end(trailers?: readonly HeaderField[]): Promise<void> {
    if (this.#localEnded) return this.#writes;
    this.#localEnded = true;
    const next = this.#writes.then(() =>
      trailers !== undefined
        ? this.#session.sendHeaders(this.id, trailers, true)
        : this.#session.writeData(this, new Uint8Array(0), true)
    );
    this.#writes = next.catch(() => {});
    return next;
  }

  /** Resets the stream (RST_STREAM `code`, default CANCEL). */
  reset(code: number = ErrorCode.CANCEL): void {
    this.#session.reset(this.id, code);
    this.fail(new Http2StreamError(code, `Stream reset locally: ${errorCodeName(code)}`));
  }

  /** Waits until the stream may send more (window opened) or is gone. @internal */
  waitWritable(): Promise<void> {
    return this.#session.waitWritable(this.#abort.signal);
  }

  /** @internal */
  get failed(): Http2StreamError | undefined {
    return this.#error;
  }

  /** @internal */
  deliverHead(headers: HeaderField[]): void {
    this.headers = headers;
    this.#head.resolve(headers);
  }

  /** @internal */
  deliverData(data: Uint8Array, end: boolean): void {
    if (data.length > 0) this.#chunks.push(data);
    if (end) this.#ended = true;
    this.#wake?.();
    this.#wake = undefined;
  }

  /** @internal */
  deliverTrailers(headers: HeaderField[]): void {
    this.trailers = headers;
    this.deliverData(new Uint8Array(0), true);
  }

  /** @internal */
  fail(error: Http2StreamError): void {
    if (this.#error !== undefined || (this.#ended && this.#localEnded)) return;
    this.#error = error;
    this.#head.reject(error);
    this.#abort.abort(error);
    this.#wake?.();
    this.#wake = undefined;
  }
}

/** What a {@linkcode Session} reports. */
interface SessionHooks {
  onReady?(): void;
  onStream?(stream: Http2Stream): void;
  onClose?(error?: Http2Error): void;
}

/** One connection: the core plus its socket. @internal */
class Session {
  readonly core: Http2Connection;
  readonly #conn: Deno.Conn;
  readonly #streams = new Map<number, Http2Stream>();
  readonly #hooks: SessionHooks;
  #writing: Promise<void> = Promise.resolve();
  #pumping = false;
  // Bytes taken from the core so far, and bytes the socket has taken; a writer waits for its own bytes only.
  #taken = 0;
  #written = 0;
  #drainWaiters: { target: number; resolve: () => void }[] = [];
  #waiters: (() => void)[] = [];
  #done = false;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  lastActivity = Date.now();

  constructor(core: Http2Connection, conn: Deno.Conn, hooks: SessionHooks) {
    this.core = core;
    this.#conn = conn;
    // HTTP/2 writes many small frames (a response head, its data, its trailers): Nagle's algorithm would hold
    // each behind the peer's delayed ACK, tens of milliseconds per call.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    this.#hooks = hooks;
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    this.flush();
    void this.#readLoop();
  }

  get done(): boolean {
    return this.#done;
  }

  get streams(): number {
    return this.#streams.size;
  }

  async #readLoop(): Promise<void> {
    // One frame at the default SETTINGS_MAX_FRAME_SIZE; larger reads gain little and cost memory per connection.
    const buf = new Uint8Array(16 * 1024 + 9);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.lastActivity = Date.now();
        this.core.receive(buf.slice(0, n), Date.now());
        this.#dispatch();
        this.flush();
        if (this.core.closed) break;
      }
    } catch {
      // The socket failed (reset, closed under us): the connection is over.
    }
    this.core.terminate();
    this.#dispatch();
    await this.#writing.catch(() => {});
    this.#shutdown();
  }

  #dispatch(): void {
    for (let e: Http2Event | undefined = this.core.poll(); e !== undefined; e = this.core.poll()) {
      switch (e.type) {
        case "headers": {
          if (e.initial && this.core.role === "server") {
            const s = new Http2Stream(this, e.streamId);
            s.headers = e.headers;
            this.#streams.set(e.streamId, s);
            if (e.endStream) s.deliverData(new Uint8Array(0), true);
            try {
              this.#hooks.onStream?.(s);
            } catch {
              s.reset(ErrorCode.INTERNAL_ERROR);
            }
          } else {
            const s = this.#streams.get(e.streamId);
            if (s === undefined) break;
            if (e.initial) {
              s.deliverHead(e.headers);
              if (e.endStream) s.deliverData(new Uint8Array(0), true);
            } else s.deliverTrailers(e.headers);
          }
          if (e.endStream) this.#release(e.streamId);
          break;
        }
        case "data": {
          const s = this.#streams.get(e.streamId);
          if (s === undefined) {
            this.core.consumed(e.streamId, e.data.length);
            break;
          }
          s.deliverData(e.data, e.endStream);
          if (e.endStream) this.#release(e.streamId);
          break;
        }
        case "reset": {
          const s = this.#streams.get(e.streamId);
          this.#streams.delete(e.streamId);
          s?.fail(new Http2StreamError(e.code));
          this.#wakeWriters();
          break;
        }
        case "writable":
          this.#wakeWriters();
          break;
        case "ready":
          this.#hooks.onReady?.();
          break;
        case "closed": {
          for (const s of this.#streams.values()) {
            s.fail(
              new Http2StreamError(
                e.error?.code ?? ErrorCode.CANCEL,
                e.error?.message ?? "Connection closed",
              ),
            );
          }
          this.#streams.clear();
          this.#wakeWriters();
          this.#hooks.onClose?.(e.error);
          break;
        }
        default:
          break;
      }
    }
  }

  /** Forgets a stream once both of its sides ended (the core tracks that). */
  #release(id: number): void {
    if (!this.core.hasStream(id)) this.#streams.delete(id);
  }

  /**
   * Writes whatever the core produced, in order. While a socket write is in flight, frames produced meanwhile
   * (a response's head, data and trailers) wait and go out together in the next write: fewer packets and syscalls.
   */
  flush(): void {
    if (!this.#pumping && !this.#done) {
      this.#pumping = true;
      this.#writing = this.#pump();
    }
    if (this.core.closed) void this.#writing.then(() => this.#shutdown());
  }

  /** Resolves when every byte produced so far has been taken by the socket (or the connection is gone). */
  drained(): Promise<void> {
    const target = this.#taken + this.core.pendingOutput;
    if (this.#written >= target || this.#done) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push({ target, resolve }));
  }

  /** Bytes handed to the socket but not yet taken by it. */
  get #inFlight(): number {
    return this.#taken - this.#written + this.core.pendingOutput;
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const out = this.core.takeOutput();
        if (out.length === 0 || this.#done) break;
        this.#taken += out.length;
        let at = 0;
        while (at < out.length) at += await this.#conn.write(out.subarray(at));
        this.#written += out.length;
        const ready = this.#drainWaiters.filter((w) => w.target <= this.#written);
        this.#drainWaiters = this.#drainWaiters.filter((w) => w.target > this.#written);
        for (const w of ready) w.resolve();
        this.#wakeWriters();
      }
    } catch {
      this.#shutdown();
    } finally {
      this.#pumping = false;
    }
  }

  #wakeWriters(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  waitWritable(signal: AbortSignal): Promise<void> {
    if (this.#done || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  async writeData(s: Http2Stream, data: Uint8Array, end: boolean): Promise<void> {
    let rest = data;
    for (;;) {
      if (s.failed !== undefined) throw s.failed;
      if (this.#done) throw new Http2StreamError(ErrorCode.CANCEL, "Connection closed");
      if (this.#inFlight > HIGH_WATER) {
        await this.waitWritable(s.signal);
        continue;
      }
      const n = this.core.sendData(s.id, rest, end);
      rest = rest.subarray(n);
      this.flush();
      if (rest.length === 0 && (n > 0 || data.length === 0 || !end)) {
        if (end) this.#release(s.id);
        // Resolved once the socket took these bytes (bounded memory), not merely queued.
        await this.drained();
        return;
      }
      if (!this.core.canSend(s.id)) {
        throw s.failed ?? new Http2StreamError(ErrorCode.STREAM_CLOSED, "Stream closed");
      }
      await this.waitWritable(s.signal);
    }
  }

  sendHeaders(id: number, headers: readonly HeaderField[], endStream: boolean): void {
    this.core.sendHeaders(id, headers, endStream);
    if (endStream) this.#release(id);
    this.flush();
  }

  consumed(id: number, n: number): void {
    this.core.consumed(id, n);
    this.flush();
  }

  reset(id: number, code: number): void {
    this.core.reset(id, code);
    this.#streams.delete(id);
    this.flush();
  }

  /** Opens a client stream. */
  request(headers: readonly HeaderField[], endStream: boolean): Http2Stream {
    const id = this.core.request(headers, endStream);
    const s = new Http2Stream(this, id);
    this.#streams.set(id, s);
    this.flush();
    return s;
  }

  /** GOAWAY, then close once streams are done (or at once when none are open). */
  goaway(code: number = ErrorCode.NO_ERROR, debug = ""): void {
    this.core.goaway(code, debug);
    this.#dispatch();
    this.flush();
  }

  /** Closes the socket now. */
  destroy(): void {
    this.core.terminate();
    this.#dispatch();
    this.#shutdown();
  }

  #shutdown(): void {
    if (this.#done) return;
    this.#done = true;
    for (const w of this.#drainWaiters.splice(0)) w.resolve();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#wakeWriters();
    this.#resolveClosed();
  }
}

// ---- server ----

/** Options of {@linkcode Http2Server}. */
export interface Http2ServerOptions {
  readonly hostname?: string;
  /** 0 picks a port. */
  readonly port?: number;
  /** TLS with ALPN `h2`; absent: cleartext HTTP/2 with prior knowledge (h2c). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly limits?: Partial<Http2Limits>;
  /** Connections at once. Default 10,000. */
  readonly maxConnections?: number;
  /** Connections at once from one address. Default 1,000. */
  readonly maxConnectionsPerClient?: number;
  /** The client must send its preface and SETTINGS within this time. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** A connection with no open stream for this long gets GOAWAY and is closed. Default 5 min. */
  readonly idleTimeoutMs?: number;
  /** Called for each new stream (request headers in `stream.headers`). */
  readonly onStream: (
    stream: Http2Stream,
    client: { readonly hostname: string; readonly port: number },
  ) => void;
  /** Notable events: accept failures (with backoff), connections refused by a cap, protocol errors. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** Counters of a server, for metrics and status. */
export interface Http2ServerStats {
  connections: number;
  accepted: number;
  refused: number;
  acceptErrors: number;
  protocolErrors: number;
  /** Accepting is failing right now (e.g. out of file descriptors); clears on the next success. */
  degraded: boolean;
}

/** An HTTP/2 server (see the module doc). */
export class Http2Server {
  readonly #opts: Http2ServerOptions;
  #listener: Deno.Listener | undefined;
  readonly #sessions = new Set<Session>();
  readonly #perClient = new Map<string, number>();
  #closing = false;
  #loop: Promise<void> | undefined;
  readonly stats: Http2ServerStats = {
    connections: 0,
    accepted: 0,
    refused: 0,
    acceptErrors: 0,
    protocolErrors: 0,
    degraded: false,
  };

  /** Creates the server; {@linkcode Http2Server.listen} starts it. */
  constructor(opts: Http2ServerOptions) {
    this.#opts = opts;
  }

  /** Binds and starts accepting; resolves with the bound address. */
  listen(): Promise<{ hostname: string; port: number }> {
    const hostname = this.#opts.hostname ?? "127.0.0.1";
    const port = this.#opts.port ?? 0;
    this.#listener = this.#opts.tls !== undefined
      ? Deno.listenTls({
        hostname,
        port,
        cert: this.#opts.tls.cert,
        key: this.#opts.tls.key,
        alpnProtocols: ["h2"],
      })
      : Deno.listen({ hostname, port });
    const addr = this.#listener.addr as Deno.NetAddr;
    this.#loop = this.#acceptLoop(this.#listener);
    return Promise.resolve({ hostname: addr.hostname, port: addr.port });
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    let backoff = 5;
    while (!this.#closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#closing || error instanceof Deno.errors.BadResource) return;
        // Out of descriptors (EMFILE/ENFILE) or a transient failure: back off, say so, keep serving the rest.
        this.stats.acceptErrors++;
        if (!this.stats.degraded) {
          this.#opts.onEvent?.("accept failing; backing off", {
            error: error instanceof Error ? error.message : String(error),
          });
        }
        this.stats.degraded = true;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      if (this.stats.degraded) {
        this.#opts.onEvent?.("accept recovered", { after_errors: this.stats.acceptErrors });
      }
      this.stats.degraded = false;
      backoff = 5;
      this.serveConnection(conn);
    }
  }

  /**
   * Serves a connection accepted elsewhere (a TLS front that negotiated ALPN `h2`), under this server's caps and
   * timeouts. The server needs no listener of its own for this.
   */
  serveConnection(conn: Deno.Conn): void {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const client = remote.hostname;
    const n = this.#perClient.get(client) ?? 0;
    if (
      this.#sessions.size >= (this.#opts.maxConnections ?? 10_000) ||
      n >= (this.#opts.maxConnectionsPerClient ?? 1_000)
    ) {
      this.stats.refused++;
      try {
        conn.close();
      } catch {
        // gone
      }
      return;
    }
    this.#perClient.set(client, n + 1);
    this.stats.accepted++;
    this.stats.connections++;
    let ready = false;
    const session = new Session(
      new Http2Connection({ role: "server", limits: this.#opts.limits ?? {} }),
      conn,
      {
        onReady: () => (ready = true),
        onStream: (s) => this.#opts.onStream(s, { hostname: remote.hostname, port: remote.port }),
        onClose: (error) => {
          if (error !== undefined && error.code !== ErrorCode.NO_ERROR) {
            this.stats.protocolErrors++;
            this.#opts.onEvent?.("http2 connection error", {
              code: errorCodeName(error.code),
              reason: error.message,
              client,
            });
          }
        },
      },
    );
    this.#sessions.add(session);
    const handshakeMs = this.#opts.handshakeTimeoutMs ?? 10_000;
    const idleMs = this.#opts.idleTimeoutMs ?? 300_000;
    const started = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      if (!ready && now - started > handshakeMs) {
        // A connection that never sent the preface and SETTINGS holds a descriptor for nothing.
        session.destroy();
      } else if (ready && session.core.activeStreams === 0 && now - session.lastActivity > idleMs) {
        session.goaway(ErrorCode.NO_ERROR, "idle");
        session.destroy();
      }
    }, Math.max(50, Math.min(handshakeMs, idleMs, 1_000)));
    void session.closed.then(() => {
      clearInterval(timer);
      this.#sessions.delete(session);
      this.stats.connections--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    });
  }

  /** Open connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting, sends GOAWAY on every connection so open streams finish, and closes what is left at
   * `deadlineMs` (epoch ms; default now + 1 s).
   */
  async close(deadlineMs: number = Date.now() + 1_000): Promise<void> {
    this.#closing = true;
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    await this.#loop?.catch(() => {});
    for (const s of this.#sessions) s.goaway(ErrorCode.NO_ERROR, "shutting down");
    const all = Promise.all([...this.#sessions].map((s) => s.closed));
    const left = Math.max(0, deadlineMs - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, left)))]);
    clearTimeout(timer);
    for (const s of this.#sessions) s.destroy();
  }
}

// ---- client ----

/** Options of {@linkcode connectHttp2}. */
export interface Http2ConnectOptions {
  readonly hostname: string;
  readonly port: number;
  /** TLS (ALPN `h2`); absent: h2c with prior knowledge. */
  readonly tls?: { readonly caCerts?: readonly string[]; readonly serverName?: string };
  readonly limits?: Partial<Http2Limits>;
  /** TCP (+TLS) connect and the server's SETTINGS must come within this. Default 5 s. */
  readonly connectTimeoutMs?: number;
}

/** A client connection: opens streams with {@linkcode Http2ClientSession.request}. */
export class Http2ClientSession {
  readonly #session: Session;
  /** @internal */
  constructor(session: Session) {
    this.#session = session;
  }

  /** Whether new streams can be opened. */
  get open(): boolean {
    return !this.#session.done && this.#session.core.acceptingStreams;
  }

  /** Resolves when the connection is closed. */
  get closed(): Promise<void> {
    return this.#session.closed;
  }

  /** Open streams. */
  get streams(): number {
    return this.#session.streams;
  }

  /** Opens a stream with request headers; throws {@linkcode Http2Error} REFUSED_STREAM when it cannot. */
  request(headers: readonly HeaderField[], endStream = false): Http2Stream {
    return this.#session.request(headers, endStream);
  }

  /** GOAWAY and close once open streams finished. */
  close(): void {
    this.#session.goaway();
    if (this.#session.core.activeStreams === 0) this.#session.destroy();
  }

  /** Closes at once. */
  destroy(): void {
    this.#session.destroy();
  }
}

/** Connects and completes the HTTP/2 handshake (the server's SETTINGS). */
export async function connectHttp2(opts: Http2ConnectOptions): Promise<Http2ClientSession> {
  const timeoutMs = opts.connectTimeoutMs ?? 5_000;
  const signal = AbortSignal.timeout(timeoutMs);
  const conn = opts.tls !== undefined
    ? await Deno.connectTls({
      hostname: opts.hostname,
      port: opts.port,
      ...(opts.tls.caCerts !== undefined ? { caCerts: [...opts.tls.caCerts] } : {}),
      alpnProtocols: ["h2"],
      ...(opts.tls.serverName !== undefined ? { serverName: opts.tls.serverName } : {}),
    } as Deno.ConnectTlsOptions)
    : await Deno.connect({ hostname: opts.hostname, port: opts.port, signal });
  const ready = Promise.withResolvers<void>();
  const core = new Http2Connection({ role: "client", limits: opts.limits ?? {} });
  const session = new Session(core, conn, {
    onReady: () => ready.resolve(),
    onClose: (error) => ready.reject(error ?? new Http2Error(ErrorCode.CONNECT_ERROR, "Connection closed")),
  });
  void session.closed.then(() => ready.reject(new Http2Error(ErrorCode.CONNECT_ERROR, "Connection closed")));
  ready.promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready.promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Http2Error(
                ErrorCode.SETTINGS_TIMEOUT,
                `No SETTINGS from ${opts.hostname}:${opts.port} within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    session.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return new Http2ClientSession(session);
}
