/**
 * Deno adapter: an HTTP/3 server (RFC 9114) on the transport's {@linkcode QuicServer}, ALPN `h3`, serving a
 * `Deno.serve`-shaped handler: a web `Request` in, a `Response` out. Thin: the protocol lives in
 * {@linkcode H3Session} (control and QPACK streams) and {@linkcode H3MessageReader} (each request stream).
 *
 * Per connection it opens its control stream (SETTINGS) and the two QPACK streams, reads the peer's
 * unidirectional streams (a violation closes the connection with the RFC code), and serves each request stream:
 * the head within `headerTimeoutMs` (slowloris), the body streamed to the handler, the response written as
 * HEADERS + DATA frames + FIN. A malformed request gets a 400 (RFC 9114 §4.1.2 allows a response before the
 * stream ends), a handler error a 500. `close()` sends GOAWAY first, then drains (graceful, §5.2).
 *
 * @module
 */
import {
  type CloseCodeMap,
  type ProtocolHandler,
  type QuicConnection,
  QuicServer,
  type ServerLimits,
} from "../mod.ts";
import {
  concatBytes,
  type Counter,
  type Gauge,
  type Histogram,
  latencyBuckets,
  type MetricsRegistry,
} from "../../core/mod.ts";
import { CONNECTION_SPECIFIC, type HeaderField } from "../http/fields.ts";
import { attachTrailers, trailersOf } from "../http/trailers.ts";
import { encodeH3Goaway, H3Error, H3ErrorCode } from "./h3_frame.ts";
import { encodeH3Data, encodeH3Headers, type H3MessageReader } from "./h3_message.ts";
import { H3QpackLink } from "./deno_h3_qpack.ts";
import { H3Session } from "./h3_session.ts";

/** The ALPN token of HTTP/3 (RFC 9114 §3.1). */
export const H3_ALPN = "h3";

/** Transport close codes mapped onto HTTP/3's (RFC 9114 §8.1). */
export const H3_CLOSE_CODES: CloseCodeMap = {
  NO_ERROR: H3ErrorCode.H3_NO_ERROR,
  INTERNAL_ERROR: H3ErrorCode.H3_INTERNAL_ERROR,
  PROTOCOL_ERROR: H3ErrorCode.H3_GENERAL_PROTOCOL_ERROR,
  CANCELLED: H3ErrorCode.H3_REQUEST_CANCELLED,
  EXCESSIVE_LOAD: H3ErrorCode.H3_EXCESSIVE_LOAD,
  MESSAGE_TOO_LARGE: H3ErrorCode.H3_EXCESSIVE_LOAD,
  STREAM_LIMIT: H3ErrorCode.H3_EXCESSIVE_LOAD,
  STALLED: H3ErrorCode.H3_REQUEST_INCOMPLETE,
  TIMEOUT: H3ErrorCode.H3_NO_ERROR,
  SHUTDOWN: H3ErrorCode.H3_NO_ERROR,
};

/** What the handler learns besides the request. */
export interface Http3RequestInfo {
  /** The client's UDP address. */
  readonly remoteAddr: Deno.NetAddr;
}

/** A `Deno.serve`-shaped handler. */
export type Http3Handler = (request: Request, info: Http3RequestInfo) => Response | Promise<Response>;

/** Options of {@linkcode Http3Server}. */
export interface Http3ServerOptions {
  readonly hostname?: string;
  readonly port?: number;
  /** Certificate chain and key, PEM. */
  readonly cert: string;
  readonly key: string;
  /** SETTINGS_MAX_FIELD_SECTION_SIZE we advertise and enforce. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
  /** Time a client has to send a request's headers, ms. Default 10,000. */
  readonly headerTimeoutMs?: number;
  /** QUIC limits (connections, concurrent request streams, idle timeout, ...). */
  readonly limits?: Partial<ServerLimits>;
  /**
   * Request streams one connection may open per second (and in a burst) before it is closed as a flood.
   * Default 10,000: a busy proxy client legitimately opens thousands.
   */
  readonly requestsPerSecond?: number;
  readonly metrics?: MetricsRegistry;
  /** Told about connection and handler errors. */
  readonly onError?: (error: Error, remote: string) => void;
}

/** How long a draining connection waits, after its last response, for the client to read it and close. */
const DRAIN_GRACE_MS = 1000;

/** Response headers that are connection-specific and never travel in HTTP/3 (RFC 9114 §4.2). */
const HOP_BY_HOP = CONNECTION_SPECIFIC;

/** The metrics of an HTTP/3 server. */
export interface Http3Metrics {
  readonly requests: Counter;
  readonly seconds: Histogram;
  readonly active: Gauge;
  readonly connectionErrors: Counter;
}

/** The metrics of an HTTP/3 server, in the registry given as `metrics`. */
export function http3Metrics(registry: MetricsRegistry): Http3Metrics {
  return {
    requests: registry.counter("ghost_http3_requests_total", "HTTP/3 requests answered, by status code", [
      "status",
    ]),
    seconds: registry.histogram("ghost_http3_request_seconds", "HTTP/3 request time, head to last byte", {
      buckets: latencyBuckets(0.0005, 30),
    }),
    active: registry.gauge("ghost_http3_requests_active", "HTTP/3 requests being served"),
    connectionErrors: registry.counter(
      "ghost_http3_connection_errors_total",
      "HTTP/3 connections closed for a protocol error, by RFC 9114/9204 code",
      ["code"],
    ),
  };
}

/** The `h3` protocol handler for a {@linkcode QuicServer}. */
export function http3ProtocolHandler(
  handler: Http3Handler,
  options: Omit<Http3ServerOptions, "cert" | "key">,
): ProtocolHandler {
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const metrics = options.metrics ? http3Metrics(options.metrics) : undefined;
  const rate = options.requestsPerSecond ?? 10_000;
  return {
    closeCodes: H3_CLOSE_CODES,
    limits: { streamsPerSecond: rate, streamBurst: rate },
    handle: async (conn) => {
      const session = new H3Session({
        role: "server",
        maxFieldSectionSize: options.maxFieldSectionSize ?? 64 * 1024,
      });
      const fail = (error: unknown) => {
        if (conn.isClosed) return;
        if (error instanceof H3Error && !error.stream) {
          metrics?.connectionErrors.inc(1, { code: `0x${error.code.toString(16)}` });
          conn.close(error.code, error.message.slice(0, 100));
        } else {
          options.onError?.(
            error instanceof Error ? error : new Error(String(error)),
            conn.remoteAddr.hostname,
          );
          conn.close(H3ErrorCode.H3_INTERNAL_ERROR, "internal error");
        }
      };
      // Our critical streams stay open for the connection's life (closing one is a connection error, §6.2.1).
      const control = await conn.openUni();
      const controlWriter = control.getWriter();
      await controlWriter.write(session.controlStreamPreface());
      const qpackWriters = [];
      for (const preface of session.qpackStreamPrefaces()) {
        const w = (await conn.openUni()).getWriter();
        await w.write(preface);
        qpackWriters.push(w);
      }
      const link = new H3QpackLink(
        session,
        qpackWriters[0] as WritableStreamDefaultWriter<Uint8Array>,
        qpackWriters[1] as WritableStreamDefaultWriter<Uint8Array>,
      );
      const uniLoop = (async () => {
        while (true) {
          const stream = await conn.acceptUni();
          if (!stream) return;
          readUni(link, stream).catch(fail);
        }
      })();
      // Client-initiated bidirectional streams are 0, 4, 8, ... and arrive in order (RFC 9000 §2.1, §3.2), so
      // the next id is 4 x the streams accepted (Deno's streams do not expose their id).
      let nextStream = 0n;
      const goaway = () => {
        // §5.2: the first stream id we will not process; requests below it are still served.
        controlWriter.write(encodeH3Goaway(nextStream)).catch(() => {});
      };
      conn.signal.addEventListener("abort", goaway, { once: true });
      try {
        await conn.forEachBidi(async (stream) => {
          const id = Number(nextStream);
          nextStream += 4n;
          const started = performance.now();
          metrics?.active.inc();
          const status = await serveRequest(
            conn,
            stream,
            link,
            id,
            handler,
            headerTimeoutMs,
            (error) =>
              options.onError?.(
                error instanceof Error ? error : new Error(String(error)),
                conn.remoteAddr.hostname,
              ),
          ).catch((error) => {
            fail(error);
            return undefined;
          }).finally(() => metrics?.active.dec());
          if (status !== undefined) {
            metrics?.requests.inc(1, { status: String(status) });
            metrics?.seconds.observe((performance.now() - started) / 1000);
          }
        });
      } finally {
        conn.signal.removeEventListener("abort", goaway);
        if (!conn.isClosed) {
          // Draining: the last responses are queued, not yet delivered, and closing the connection now would
          // discard them. Give the client a moment to read them and close (it has our GOAWAY).
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([conn.closed, new Promise((r) => timer = setTimeout(r, DRAIN_GRACE_MS))]);
          clearTimeout(timer);
        }
        link.close();
        await uniLoop.catch(() => {});
        for (const w of [controlWriter, ...qpackWriters]) w.releaseLock();
      }
    },
  };
}

/**
 * Reads one unidirectional stream the peer opened into `session` (control, QPACK, unknown); shared by the server
 * and the client. Throws {@linkcode H3Error} for a connection error.
 * @internal
 */
export async function readUni(link: H3QpackLink, stream: Deno.QuicReceiveStream): Promise<void> {
  const reader = link.session.uniStream();
  // These streams sit idle with a read pending for the connection's life: a BYOB read into a small buffer of
  // our own keeps that at 4 KiB a stream instead of the default 64 KiB chunk each pending read allocates.
  const source = stream.getReader({ mode: "byob" });
  let buf = new Uint8Array(UNI_READ_BYTES);
  try {
    while (true) {
      const { value, done } = await source.read(buf);
      if (done) return reader.finish();
      // A copy goes to the parser (it may keep views of a partial frame); the buffer goes back for the next read.
      const bytes = value.slice();
      buf = new Uint8Array(value.buffer, 0, UNI_READ_BYTES);
      for (const e of reader.push(bytes)) {
        if (e.type === "ignore") {
          // §6.2: an unknown stream type is read no further.
          await source.cancel().catch(() => {});
          return;
        }
        if (e.type === "unblocked") link.unblocked(e.streams);
      }
      // Inserts from the peer's encoder stream are acknowledged at once (Insert Count Increment).
      link.flushDecoder();
    }
  } catch (error) {
    // A stream the connection's end took away is no protocol error of the peer's.
    if (error instanceof H3Error) throw error;
  } finally {
    source.releaseLock();
  }
}

/** Bytes of one read on a peer's unidirectional stream (control and QPACK instructions are small). */
const UNI_READ_BYTES = 4096;

/** Per connection, the abort controllers of its requests in flight (see serveMessage). */
const OPEN_REQUESTS = new WeakMap<QuicConnection, Set<AbortController>>();

function openRequests(conn: QuicConnection): Set<AbortController> {
  let set = OPEN_REQUESTS.get(conn);
  if (set === undefined) {
    const created = new Set<AbortController>();
    set = created;
    OPEN_REQUESTS.set(conn, created);
    void conn.closed.then(() => {
      for (const c of created) c.abort(new DOMException("the client went away", "AbortError"));
      created.clear();
    });
  }
  return set;
}

async function serveRequest(
  conn: QuicConnection,
  stream: Deno.QuicBidirectionalStream,
  link: H3QpackLink,
  id: number,
  handler: Http3Handler,
  headerTimeoutMs: number,
  report: (error: unknown) => void,
): Promise<number> {
  const message = link.reader(id, { role: "server" });
  // One reaction per connection aborts every request still open on it (not one per request: a long-lived
  // connection would keep every request's closure alive).
  const gone = new AbortController();
  const open = openRequests(conn);
  open.add(gone);
  try {
    return await serveMessage(conn, stream, link, id, message, gone, handler, headerTimeoutMs, report);
  } finally {
    open.delete(gone);
    // A request that ended before its message did (reset, timeout, error) releases its QPACK state.
    link.cancel(id, message);
  }
}

async function serveMessage(
  conn: QuicConnection,
  stream: Deno.QuicBidirectionalStream,
  link: H3QpackLink,
  id: number,
  message: H3MessageReader,
  gone: AbortController,
  handler: Http3Handler,
  headerTimeoutMs: number,
  report: (error: unknown) => void,
): Promise<number> {
  const source = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  const respond = async (status: number, body: string) => {
    await writer.write(concatBytes(
      encodeH3Headers([[":status", String(status)], ["content-type", "text/plain; charset=utf-8"]]),
      encodeH3Data(new TextEncoder().encode(body)),
    ));
    await writer.close();
    return status;
  };
  // The head, within the header timeout.
  let head: HeaderField[] | undefined;
  let ended = false;
  const early: Uint8Array[] = [];
  let earlyTrailers: HeaderField[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    source.cancel("header timeout").catch(() => {});
    link.cancel(id, message);
  }, headerTimeoutMs);
  try {
    while (head === undefined) {
      const { value, done } = await source.read();
      // Slowloris: the head did not arrive in time; the cancelled read reports done.
      if (timedOut) return await respond(408, "Request headers timed out\n");
      const events = await link.feed(id, message, done ? null : value).catch((error) => {
        if (timedOut) return [];
        throw error;
      });
      for (const e of events) {
        if (e.type === "headers") head = e.fields;
        else if (e.type === "data") early.push(e.data.slice());
        else if (e.type === "trailers") earlyTrailers = e.fields;
        else if (e.type === "end") ended = true;
      }
      if (done) break;
    }
  } catch (error) {
    if (error instanceof H3Error && error.stream) {
      return await respond(400, `Bad request: ${error.message}\n`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (head === undefined) return await respond(400, "Bad request: no message headers\n");
  const pseudo = new Map(head.filter(([n]) => n.startsWith(":")));
  const method = pseudo.get(":method") ?? "GET";
  const headers = new Headers();
  let authority = pseudo.get(":authority");
  for (const [name, value] of head) {
    if (name.startsWith(":")) continue;
    if (name === "host") authority ??= value;
    try {
      headers.append(name, value);
    } catch {
      return await respond(400, `Bad request: invalid field ${name}\n`);
    }
  }
  const bodyAllowed = method !== "GET" && method !== "HEAD";
  let bodyError: unknown;
  const requestTrailers = Promise.withResolvers<readonly HeaderField[]>();
  if (ended) requestTrailers.resolve(earlyTrailers);
  const body = bodyAllowed
    ? new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of early) c.enqueue(chunk);
        if (ended) c.close();
      },
      async pull(c) {
        if (ended) return;
        try {
          const { value, done } = await source.read();
          for (const e of await link.feed(id, message, done ? null : value)) {
            if (e.type === "data") c.enqueue(e.data.slice());
            else if (e.type === "trailers") requestTrailers.resolve(e.fields);
            else if (e.type === "end") {
              ended = true;
              requestTrailers.resolve([]);
              c.close();
            }
          }
        } catch (error) {
          bodyError = error;
          requestTrailers.reject(error);
          c.error(error);
          gone.abort(error);
        }
      },
      cancel() {
        source.cancel().catch(() => {});
      },
    })
    : null;
  // The request's signal aborts when the client goes away: its stream is reset or the connection closes. A
  // proxy passes that on to the backend. A request without a body keeps a read pending to notice a reset.
  const onClosed = () => gone.abort(new DOMException("the client went away", "AbortError"));
  // STOP_SENDING from the client (it no longer wants the response) errors our side of the stream.
  writer.closed.catch(onClosed);
  if (!body && !ended) {
    // Bytes or the FIN mean nothing here (a bodiless request's stream may still carry reserved frames); only a
    // reset does.
    source.read().then(() => {}, onClosed);
  }
  let request: Request;
  try {
    request = new Request(
      `${pseudo.get(":scheme") ?? "https"}://${authority ?? "localhost"}${pseudo.get(":path") ?? "/"}`,
      {
        method,
        headers,
        body,
        signal: gone.signal,
        ...(body ? { duplex: "half" } : {}),
      } as RequestInit,
    );
  } catch (error) {
    return await respond(400, `Bad request: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (body) attachTrailers(request, requestTrailers.promise);
  let response: Response;
  try {
    response = await handler(request, { remoteAddr: conn.remoteAddr });
  } catch (error) {
    // A body that turned out malformed (e.g. shorter than its Content-Length) is the client's error, not ours.
    if (bodyError instanceof H3Error && bodyError.stream) {
      return await respond(400, `Bad request: ${bodyError.message}\n`);
    }
    report(error);
    return await respond(500, "Internal server error\n");
  }
  const fields: HeaderField[] = [[":status", String(response.status)]];
  for (const [name, value] of response.headers) if (!HOP_BY_HOP.has(name)) fields.push([name, value]);
  await writer.write(link.headersFrame(id, fields));
  if (response.body && method !== "HEAD") {
    for await (const chunk of response.body) if (chunk.length > 0) await writer.write(encodeH3Data(chunk));
  }
  // Trailers (gRPC's status): a HEADERS frame after the DATA frames (RFC 9114 §4.1).
  const trailers = trailersOf(response);
  if (trailers !== undefined && method !== "HEAD") {
    const tail = (await trailers).filter(([name]) => !name.startsWith(":") && !HOP_BY_HOP.has(name));
    if (tail.length > 0) await writer.write(link.headersFrame(id, tail));
  }
  await writer.close();
  if (!bodyAllowed) source.cancel().catch(() => {});
  return response.status;
}

/** An HTTP/3 server: a {@linkcode QuicServer} with the `h3` handler. */
export class Http3Server {
  /** The QUIC server. */
  readonly server: QuicServer;

  /** Binds and starts serving. */
  constructor(handler: Http3Handler, options: Http3ServerOptions) {
    this.server = new QuicServer({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      cert: options.cert,
      key: options.key,
      handlers: { [H3_ALPN]: http3ProtocolHandler(handler, options) },
      limits: { maxConcurrentUniStreams: 16, ...options.limits },
      ...(options.metrics ? { metrics: options.metrics } : {}),
      onError: (error, context) => options.onError?.(error, context.remote),
    });
  }

  /** The bound UDP address. */
  get addr(): Deno.NetAddr {
    return this.server.addr;
  }

  /** Sends GOAWAY on every connection, waits for their requests, then closes. */
  close(): Promise<void> {
    return this.server.close();
  }
}
