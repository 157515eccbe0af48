/**
 * Deno adapter: an HTTP/1.1 client connection pool for one origin (host and port, cleartext or TLS), on the
 * sans-IO {@linkcode H1ResponseParser}. Keep-alive connections are reused (up to `maxIdle` idle ones, each closed
 * after `idleTimeoutMs`); a request sends exactly the head it is given (no added `user-agent`, `accept` or
 * decompression, unlike `fetch`), so a proxy forwards what it means to.
 *
 * A request on a reused connection that the server had already closed fails with
 * {@linkcode H1RequestError}`.sentNothing` false but `receivedNothing` true and `stale` true; the pool retries such
 * a request once on a new connection when its body is replayable (none or bytes), as browsers and hyper do.
 *
 * @module
 */
import type { HeaderField } from "../http/fields.ts";
import {
  encodeChunk,
  encodeLastChunk,
  encodeRequestHead,
  H1Error,
  type H1Limits,
  H1ResponseParser,
} from "./h1_codec.ts";

/** Why a request failed, and how far it got (what a proxy's retry decision needs). */
export class H1RequestError extends Error {
  /** Nothing of the request reached the wire: safe to retry anywhere. */
  readonly sentNothing: boolean;
  /** No byte of a response arrived. */
  readonly receivedNothing: boolean;
  /** The failure was a reused connection the server had closed. */
  readonly stale: boolean;
  /** Connecting failed or timed out. */
  readonly connect: boolean;
  constructor(
    message: string,
    opts: {
      sentNothing: boolean;
      receivedNothing: boolean;
      stale?: boolean;
      connect?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = "H1RequestError";
    this.sentNothing = opts.sentNothing;
    this.receivedNothing = opts.receivedNothing;
    this.stale = opts.stale ?? false;
    this.connect = opts.connect ?? false;
  }
}

/** A response: the head at once, the body as a stream, the trailers when the body has ended. */
export interface H1Response {
  readonly status: number;
  readonly reason: string;
  readonly fields: readonly HeaderField[];
  /** `null` when the response has no body (HEAD, 204, 304, length 0). */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Trailer fields of a chunked body (empty otherwise); resolves when the body ends. */
  readonly trailers: Promise<readonly HeaderField[]>;
}

/** A request body: none, bytes, or a stream (sent chunked unless the head has a content-length). */
export type H1Body = Uint8Array | ReadableStream<Uint8Array> | null;

/** Options of {@linkcode H1Pool}. */
export interface H1PoolOptions {
  readonly hostname: string;
  readonly port: number;
  /** TLS to the origin; absent: cleartext. */
  readonly tls?: { readonly caCerts?: readonly string[]; readonly serverName?: string };
  /** Idle connections kept. Default 64. */
  readonly maxIdle?: number;
  /** An idle connection is closed after this, ms. Default 30 s (under the usual 60 s+ of servers). */
  readonly idleTimeoutMs?: number;
  /** TCP (+TLS) connect, ms. Default 5 s. */
  readonly connectTimeoutMs?: number;
  readonly limits?: Partial<H1Limits>;
}

/** Options of one request. */
export interface H1RequestOptions {
  /** Aborts connecting, sending and receiving (the connection is closed). */
  readonly signal?: AbortSignal;
}

const READ_SIZE = 64 * 1024;

class H1Conn {
  readonly conn: Deno.Conn;
  readonly parser: H1ResponseParser;
  idleSince = 0;
  closed = false;
  used = false;
  /** In the pool's idle list. */
  idle = false;
  /**
   * A read started while idle, so a server that closes a kept-alive connection is noticed at once (the pool drops
   * it) rather than by the next request; a request that takes the connection reads this first.
   */
  pendingRead: Promise<{ n: number | null; buf: Uint8Array } | { error: unknown }> | undefined;
  constructor(conn: Deno.Conn, limits: Partial<H1Limits>) {
    this.conn = conn;
    this.parser = new H1ResponseParser(limits);
  }
  /** The next read: the one started while idle, or a new one. */
  async read(): Promise<{ n: number | null; buf: Uint8Array }> {
    const pending = this.pendingRead;
    this.pendingRead = undefined;
    if (pending !== undefined) {
      const r = await pending;
      if ("error" in r) throw r.error;
      return r;
    }
    return await this.readOnce();
  }
  /** One read into the connection's buffer; the bytes are copied out (parsed events keep them). */
  async readOnce(): Promise<{ n: number | null; buf: Uint8Array }> {
    const n = await this.conn.read(this.#buf);
    return n === null ? { n, buf: this.#buf } : { n, buf: this.#buf.slice(0, n) };
  }
  readonly #buf = new Uint8Array(READ_SIZE);
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A keep-alive pool for one origin (see the module doc). */
export class H1Pool {
  readonly #opts: H1PoolOptions;
  readonly #idle: H1Conn[] = [];
  #open = 0;
  #closed = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(opts: H1PoolOptions) {
    this.#opts = opts;
  }

  /** Connections open (busy and idle). */
  get open(): number {
    return this.#open;
  }

  /** Idle connections. */
  get idle(): number {
    return this.#idle.length;
  }

  async #connect(signal?: AbortSignal): Promise<H1Conn> {
    const timeout = AbortSignal.timeout(this.#opts.connectTimeoutMs ?? 5_000);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const tcp = this.#opts.tls !== undefined
        ? Deno.connectTls({
          hostname: this.#opts.hostname,
          port: this.#opts.port,
          ...(this.#opts.tls.caCerts ? { caCerts: [...this.#opts.tls.caCerts] } : {}),
          alpnProtocols: ["http/1.1"],
          ...(this.#opts.tls.serverName !== undefined ? { serverName: this.#opts.tls.serverName } : {}),
        } as Deno.ConnectTlsOptions)
        : Deno.connect({ hostname: this.#opts.hostname, port: this.#opts.port, signal: both });
      let reject: (reason: unknown) => void = () => {};
      const aborted = new Promise<never>((_, r) => (reject = r));
      const onAbort = () => reject(both.reason);
      both.addEventListener("abort", onAbort, { once: true });
      try {
        const conn: Deno.Conn = await Promise.race([tcp, aborted]);
        if ("handshake" in conn) await Promise.race([(conn as Deno.TlsConn).handshake(), aborted]);
        if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
        this.#open++;
        return new H1Conn(conn, this.#opts.limits ?? {});
      } catch (error) {
        void tcp.then((c) => c.close(), () => {});
        throw error;
      } finally {
        both.removeEventListener("abort", onAbort);
      }
    } catch (error) {
      const timedOut = timeout.aborted && !signal?.aborted;
      throw new H1RequestError(
        `connect to ${this.#opts.hostname}:${this.#opts.port} ${
          timedOut ? "timed out" : `failed: ${error instanceof Error ? error.message : String(error)}`
        }`,
        { sentNothing: true, receivedNothing: true, connect: true, cause: error },
      );
    }
  }

  #release(c: H1Conn): void {
    if (c.closed) return;
    if (
      this.#closed || !c.parser.idle || !c.parser.keepAlive || this.#idle.length >= (this.#opts.maxIdle ?? 64)
    ) {
      this.#drop(c);
      return;
    }
    c.idleSince = Date.now();
    c.idle = true;
    const read = c.readOnce().then((r) => r, (error: unknown) => ({ error }));
    c.pendingRead = read;
    void read.then(() => {
      // Anything while idle (EOF, a reset, unasked-for bytes) ends the connection.
      if (!c.idle) return;
      const i = this.#idle.indexOf(c);
      if (i >= 0) this.#idle.splice(i, 1);
      c.idle = false;
      this.#drop(c);
    });
    this.#idle.push(c);
    this.#sweeper ??= setInterval(() => this.#sweep(), 1_000);
  }

  #drop(c: H1Conn): void {
    if (c.closed) return;
    c.close();
    this.#open--;
  }

  #sweep(): void {
    const limit = Date.now() - (this.#opts.idleTimeoutMs ?? 30_000);
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const c = this.#idle[i];
      if (c !== undefined && c.idleSince < limit) {
        this.#idle.splice(i, 1);
        c.idle = false;
        this.#drop(c);
      }
    }
    if (this.#idle.length === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /**
   * Sends one request and resolves with the response head. `target` is the request-target (`/path?query`);
   * `fields` are sent as given (include `host`). Throws {@linkcode H1RequestError}.
   */
  async request(
    method: string,
    target: string,
    fields: readonly HeaderField[],
    body: H1Body,
    options: H1RequestOptions = {},
  ): Promise<H1Response> {
    if (this.#closed) throw new H1RequestError("pool closed", { sentNothing: true, receivedNothing: true });
    // Framing is ours to write: bytes go with their length, a stream without one goes chunked.
    const hasLength = fields.some(([n]) => n === "content-length");
    const framed: HeaderField[] = fields.filter(([n]) => n !== "transfer-encoding");
    if (body instanceof Uint8Array && !hasLength) framed.push(["content-length", String(body.length)]);
    else if (body !== null && !hasLength) framed.push(["transfer-encoding", "chunked"]);
    fields = framed;
    const head = encodeRequestHead(method, target, fields);
    const reused = this.#idle.pop();
    if (reused !== undefined) reused.idle = false;
    if (reused !== undefined) {
      try {
        return await this.#exchange(reused, method, head, fields, body, options);
      } catch (error) {
        // A keep-alive connection the server closed while it sat idle: retry once on a new one when that is safe.
        const replayable = body === null || body instanceof Uint8Array;
        if (!(error instanceof H1RequestError && error.stale && replayable)) throw error;
      }
    }
    const fresh = await this.#connect(options.signal);
    return await this.#exchange(fresh, method, head, fields, body, options);
  }

  async #exchange(
    c: H1Conn,
    method: string,
    head: Uint8Array,
    fields: readonly HeaderField[],
    body: H1Body,
    options: H1RequestOptions,
  ): Promise<H1Response> {
    const reused = c.used;
    c.used = true;
    c.parser.next(method);
    let received = false;
    let sentAll = false;
    const fail = (message: string, error: unknown, sentNothing: boolean): H1RequestError => {
      this.#drop(c);
      if (error instanceof H1RequestError) return error;
      return new H1RequestError(message, {
        sentNothing,
        receivedNothing: !received,
        stale: reused && !received,
        cause: error,
      });
    };
    const onAbort = () => this.#drop(c);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => options.signal?.removeEventListener("abort", onAbort);

    // Send the head (and a small body with it), then stream the rest while the response is read.
    const chunked = body !== null && !fields.some(([n]) => n === "content-length");
    const writeAll = async (bytes: Uint8Array) => {
      let off = 0;
      while (off < bytes.length) off += await c.conn.write(bytes.subarray(off));
    };
    const sending = (async () => {
      if (body === null) {
        await writeAll(head);
      } else if (body instanceof Uint8Array) {
        const framed = chunked ? [encodeChunk(body), encodeLastChunk()] : [body];
        const total = head.length + framed.reduce((n, b) => n + b.length, 0);
        const all = new Uint8Array(total);
        let off = 0;
        for (const b of [head, ...framed]) {
          all.set(b, off);
          off += b.length;
        }
        await writeAll(all);
      } else {
        await writeAll(head);
        for await (const chunk of body) {
          if (c.closed) throw new H1Error("connection closed while sending the body");
          if (chunk.length > 0) await writeAll(chunked ? encodeChunk(chunk) : chunk);
        }
        if (chunked) await writeAll(encodeLastChunk());
      }
      sentAll = true;
    })();
    let sendError: unknown;
    sending.catch((e) => (sendError = e));

    const events: import("./h1_codec.ts").H1ResponseEvent[] = [];
    const readMore = async (): Promise<boolean> => {
      let n: number | null;
      let b: Uint8Array;
      try {
        ({ n, buf: b } = await c.read());
      } catch (error) {
        throw fail(`read from ${this.#opts.hostname}:${this.#opts.port} failed`, error, false);
      }
      if (n === null) {
        try {
          events.push(...c.parser.finish());
        } catch (error) {
          throw fail(
            received
              ? "origin closed the connection mid-response"
              : "origin closed the connection before answering",
            error,
            false,
          );
        }
        return false;
      }
      received = true;
      try {
        events.push(...c.parser.push(b.subarray(0, n)));
      } catch (error) {
        throw fail(`bad response: ${error instanceof Error ? error.message : String(error)}`, error, false);
      }
      return true;
    };

    // The head.
    let headEvent: Extract<import("./h1_codec.ts").H1ResponseEvent, { type: "head" }> | undefined;
    try {
      while (headEvent === undefined) {
        const e = events.shift();
        if (e === undefined) {
          if (sendError !== undefined && !received) {
            throw fail(`send to ${this.#opts.hostname}:${this.#opts.port} failed`, sendError, false);
          }
          if (!(await readMore()) && events.length === 0) {
            throw fail("origin closed the connection before answering", new H1Error("eof"), false);
          }
          continue;
        }
        if (e.type === "head") headEvent = e;
        // 1xx informational answers are consumed here (a proxy may forward 103 in a later version).
      }
    } catch (error) {
      cleanup();
      throw error;
    }

    const trailers = Promise.withResolvers<readonly HeaderField[]>();
    trailers.promise.catch(() => {});
    const finish = () => {
      cleanup();
      // Reuse only when the request went out whole too.
      if (sentAll) this.#release(c);
      else void sending.then(() => this.#release(c), () => this.#drop(c));
    };
    const endsNow = events[0]?.type === "end";
    if (endsNow) {
      events.shift();
      trailers.resolve([]);
      finish();
      return {
        status: headEvent.status,
        reason: headEvent.reason,
        fields: headEvent.fields,
        body: null,
        trailers: trailers.promise,
      };
    }
    let done = false;
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          while (true) {
            const e = events.shift();
            if (e === undefined) {
              if (!(await readMore()) && events.length === 0) {
                throw new H1RequestError("origin closed the connection mid-response", {
                  sentNothing: false,
                  receivedNothing: false,
                });
              }
              continue;
            }
            if (e.type === "data") {
              controller.enqueue(e.data);
              return;
            }
            if (e.type === "trailers") trailers.resolve(e.fields);
            if (e.type === "end") {
              done = true;
              trailers.resolve([]);
              controller.close();
              finish();
              return;
            }
          }
        } catch (error) {
          done = true;
          this.#drop(c);
          cleanup();
          trailers.reject(error);
          controller.error(error);
        }
      },
      cancel: () => {
        if (done) return;
        done = true;
        // The reader gave up mid-body: the connection is in an unknown place in the stream.
        this.#drop(c);
        cleanup();
        trailers.resolve([]);
      },
    }, { highWaterMark: 0 });
    return {
      status: headEvent.status,
      reason: headEvent.reason,
      fields: headEvent.fields,
      body: stream,
      trailers: trailers.promise,
    };
  }

  /** Closes idle connections and refuses new requests; busy ones close when their response ends. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const c of this.#idle.splice(0)) {
      c.idle = false;
      this.#drop(c);
    }
  }
}
