/**
 * Deno adapters to backends: one {@linkcode UpstreamClient} per backend, by the backend URL's scheme: HTTP/1.1
 * (`http://`, `https://`) on a keep-alive {@linkcode H1Pool}, HTTP/2 (`h2c://`, `h2://`) on one multiplexed
 * connection of the project's own HTTP/2 (reconnected when it goes away), HTTP/3 (`h3://`) on the project's own
 * HTTP/3 client. Every failure is an {@linkcode UpstreamError} that says whether anything reached the backend,
 * which is what decides whether a retry is safe.
 *
 * @module
 */
import {
  connectHttp2,
  ErrorCode,
  type Http2ClientSession,
  Http2Error,
  Http2StreamError,
} from "../transport/http2/mod.ts";

import { H1Pool, H1RequestError } from "../transport/http1/mod.ts";
import type { HeaderField } from "../transport/http/mod.ts";
import type { BackendSpec } from "./config.ts";
import { connectHttp3, type Http3ClientConnection } from "../transport/http3/mod.ts";

/** A request as wraith sends it to a backend. */
export interface UpstreamRequest {
  readonly method: string;
  /** `:authority` / `Host` to send. */
  readonly authority: string;
  /** Origin-form target: path and query. */
  readonly target: string;
  /** Regular fields, lowercase, hop-by-hop already removed, no `host`. */
  readonly fields: readonly HeaderField[];
  /** `null`: no body. A stream is read only once a connection is ready. */
  readonly body: ReadableStream<Uint8Array> | Uint8Array | null;
  /** Request trailers to send after a streamed body (gRPC clients send none, but HTTP allows them). */
  readonly trailers?: Promise<readonly HeaderField[]>;
  readonly signal: AbortSignal;
}

/** A backend's response head, its body stream and trailers. */
export interface UpstreamResponse {
  readonly status: number;
  readonly fields: readonly HeaderField[];
  readonly body: ReadableStream<Uint8Array> | null;
  readonly trailers: Promise<readonly HeaderField[]>;
}

/** What went wrong with a backend. */
export type UpstreamErrorKind = "connect" | "timeout" | "protocol" | "reset" | "refused";

/** A failed exchange with a backend. */
export class UpstreamError extends Error {
  readonly kind: UpstreamErrorKind;
  /** Nothing of the request reached the backend, so any request may be retried elsewhere. */
  readonly sentNothing: boolean;
  constructor(kind: UpstreamErrorKind, sentNothing: boolean, message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = "UpstreamError";
    this.kind = kind;
    this.sentNothing = sentNothing;
  }
}

/** One backend's client. */
export interface UpstreamClient {
  readonly spec: BackendSpec;
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  /** Connections open to the backend. */
  readonly connections: number;
  close(): void;
}

/** How clients are made. */
export interface UpstreamOptions {
  /** CAs trusted for TLS backends (PEM); empty: the system's roots. */
  readonly caCerts: readonly string[];
  readonly connectTimeoutMs: number;
  /** Idle HTTP/1.1 connections kept per backend. */
  readonly maxIdle: number;
}

/** TLS client options of a backend: the trusted CAs and, with `sni=`, the server name. */
function tlsOptions(
  spec: BackendSpec,
  opts: UpstreamOptions,
): { caCerts?: readonly string[]; serverName?: string } {
  return {
    ...(opts.caCerts.length > 0 ? { caCerts: opts.caCerts } : {}),
    ...(spec.serverName !== undefined ? { serverName: spec.serverName } : {}),
  };
}

function timedOut(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof DOMException && signal.reason.name === "TimeoutError";
}

class H1Upstream implements UpstreamClient {
  readonly spec: BackendSpec;
  readonly #pool: H1Pool;
  constructor(spec: BackendSpec, opts: UpstreamOptions) {
    this.spec = spec;
    this.#pool = new H1Pool({
      hostname: spec.hostname,
      port: spec.port,
      maxIdle: opts.maxIdle,
      connectTimeoutMs: opts.connectTimeoutMs,
      ...(spec.tls ? { tls: tlsOptions(spec, opts) } : {}),
    });
  }
  get connections(): number {
    return this.#pool.open;
  }
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const fields: HeaderField[] = [["host", req.authority], ...req.fields];
    try {
      const res = await this.#pool.request(req.method, req.target, fields, req.body, { signal: req.signal });
      return { status: res.status, fields: res.fields, body: res.body, trailers: res.trailers };
    } catch (error) {
      if (timedOut(req.signal)) {
        throw new UpstreamError("timeout", false, `${this.spec.url} timed out`, error);
      }
      if (error instanceof H1RequestError) {
        throw new UpstreamError(
          error.connect ? "connect" : "protocol",
          error.sentNothing,
          `${this.spec.url}: ${error.message}`,
          error,
        );
      }
      throw new UpstreamError("protocol", false, `${this.spec.url}: ${String(error)}`, error);
    }
  }
  close(): void {
    this.#pool.close();
  }
}

/** Pumps a body into a writer function and then ends with trailers. */
async function pump(
  body: ReadableStream<Uint8Array> | Uint8Array,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  if (body instanceof Uint8Array) {
    if (body.length > 0) await write(body);
    return;
  }
  for await (const chunk of body) if (chunk.length > 0) await write(chunk);
}

/** A stream from a `read()` function; cancelling calls `cancel`. */
function streamFrom(read: () => Promise<Uint8Array | null>, cancel: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const chunk = await read();
        if (chunk === null) c.close();
        else c.enqueue(chunk);
      } catch (error) {
        c.error(error);
      }
    },
    cancel,
  }, { highWaterMark: 0 });
}

/** A connection many requests share (HTTP/2, HTTP/3): opened on first use, replaced once closed or going away. */
class SharedConnection<C extends { readonly open: boolean; readonly closed: Promise<void> }> {
  readonly #dial: () => Promise<C>;
  readonly #url: string;
  #current: Promise<C> | undefined;
  /** Connections open now. */
  open = 0;
  constructor(url: string, dial: () => Promise<C>) {
    this.#url = url;
    this.#dial = dial;
  }
  #connect(): Promise<C> {
    const existing = this.#current;
    if (existing !== undefined) return existing;
    const conn = this.#dial();
    this.#current = conn;
    conn.then((c) => {
      this.open++;
      void c.closed.then(() => {
        this.open--;
        if (this.#current === conn) this.#current = undefined;
      });
    }, () => {
      if (this.#current === conn) this.#current = undefined;
    });
    return conn;
  }
  /** An open connection; throws UpstreamError `connect` (nothing sent). */
  async get(): Promise<C> {
    try {
      let conn = await this.#connect();
      if (!conn.open) {
        // GOAWAY arrived: new requests go on a new connection.
        if (this.#current !== undefined && (await this.#current) === conn) this.#current = undefined;
        conn = await this.#connect();
      }
      return conn;
    } catch (error) {
      throw new UpstreamError("connect", true, `${this.#url}: connect failed: ${String(error)}`, error);
    }
  }
  /** Closes the current connection (its requests finish first where the protocol allows). */
  close(shut: (c: C) => void): void {
    void this.#current?.then(shut, () => {});
    this.#current = undefined;
  }
}

class H2Upstream implements UpstreamClient {
  readonly spec: BackendSpec;
  readonly #shared: SharedConnection<Http2ClientSession>;
  constructor(spec: BackendSpec, opts: UpstreamOptions) {
    this.spec = spec;
    this.#shared = new SharedConnection(spec.url, () =>
      connectHttp2({
        hostname: spec.hostname,
        port: spec.port,
        connectTimeoutMs: opts.connectTimeoutMs,
        ...(spec.tls ? { tls: tlsOptions(spec, opts) } : {}),
      }));
  }
  get connections(): number {
    return this.#shared.open;
  }
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const session = await this.#shared.get();
    const head: HeaderField[] = [
      [":method", req.method],
      [":scheme", this.spec.tls ? "https" : "http"],
      [":authority", req.authority],
      [":path", req.target],
      ...req.fields,
    ];
    let stream;
    try {
      stream = session.request(head, req.body === null);
    } catch (error) {
      // REFUSED_STREAM: nothing was processed (RFC 9113 §8.7).
      throw new UpstreamError("refused", true, `${this.spec.url}: ${String(error)}`, error);
    }
    const onAbort = () => stream.reset(ErrorCode.CANCEL);
    req.signal.addEventListener("abort", onAbort, { once: true });
    if (req.body !== null) {
      const body = req.body;
      void (async () => {
        await pump(body, (c) => stream.write(c));
        const trailers = req.trailers ? await req.trailers : [];
        await stream.end(trailers.length > 0 ? trailers : undefined);
      })().catch(() => stream.reset(ErrorCode.CANCEL));
    }
    let fields: HeaderField[];
    try {
      fields = await stream.response;
    } catch (error) {
      req.signal.removeEventListener("abort", onAbort);
      if (timedOut(req.signal)) {
        throw new UpstreamError("timeout", false, `${this.spec.url} timed out`, error);
      }
      const refused = (error instanceof Http2StreamError && error.code === ErrorCode.REFUSED_STREAM) ||
        (error instanceof Http2Error && error.code === ErrorCode.REFUSED_STREAM);
      throw new UpstreamError(
        refused ? "refused" : "reset",
        refused,
        `${this.spec.url}: ${String(error)}`,
        error,
      );
    }
    const status = Number(fields.find(([n]) => n === ":status")?.[1] ?? "502");
    const regular = fields.filter(([n]) => !n.startsWith(":"));
    const trailers = Promise.withResolvers<readonly HeaderField[]>();
    trailers.promise.catch(() => {});
    const body = streamFrom(async () => {
      try {
        const chunk = await stream.read();
        if (chunk === null) {
          req.signal.removeEventListener("abort", onAbort);
          trailers.resolve(stream.trailers ?? []);
        }
        return chunk;
      } catch (error) {
        req.signal.removeEventListener("abort", onAbort);
        trailers.reject(error);
        throw error;
      }
    }, () => {
      req.signal.removeEventListener("abort", onAbort);
      stream.reset(ErrorCode.CANCEL);
      trailers.resolve([]);
    });
    return { status, fields: regular, body, trailers: trailers.promise };
  }
  close(): void {
    this.#shared.close((s) => s.close());
  }
}

class H3Upstream implements UpstreamClient {
  readonly spec: BackendSpec;
  readonly #shared: SharedConnection<Http3ClientConnection>;
  constructor(spec: BackendSpec, opts: UpstreamOptions) {
    this.spec = spec;
    this.#shared = new SharedConnection(spec.url, () =>
      connectHttp3({
        hostname: spec.hostname,
        port: spec.port,
        caCerts: opts.caCerts,
        connectTimeoutMs: opts.connectTimeoutMs,
        ...(spec.serverName !== undefined ? { serverName: spec.serverName } : {}),
      }));
  }
  get connections(): number {
    return this.#shared.open;
  }
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const conn = await this.#shared.get();
    try {
      return await conn.request({
        method: req.method,
        scheme: "https",
        authority: req.authority,
        path: req.target,
        fields: req.fields,
        body: req.body,
        ...(req.trailers ? { trailers: req.trailers } : {}),
        signal: req.signal,
      });
    } catch (error) {
      if (timedOut(req.signal)) {
        throw new UpstreamError("timeout", false, `${this.spec.url} timed out`, error);
      }
      const refused = error instanceof Error && "refused" in error && error.refused === true;
      throw new UpstreamError(
        refused ? "refused" : "reset",
        refused,
        `${this.spec.url}: ${String(error)}`,
        error,
      );
    }
  }
  close(): void {
    this.#shared.close((c) => c.close());
  }
}

/** The client for one backend, by its protocol. */
export function upstreamClient(spec: BackendSpec, opts: UpstreamOptions): UpstreamClient {
  switch (spec.protocol) {
    case "h1":
      return new H1Upstream(spec, opts);
    case "h2":
      return new H2Upstream(spec, opts);
    case "h3":
      return new H3Upstream(spec, opts);
  }
}
