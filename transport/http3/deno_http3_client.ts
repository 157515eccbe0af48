/**
 * Deno adapter: an HTTP/3 client connection (RFC 9114) on the transport's {@linkcode connectQuic}, ALPN `h3`. It
 * opens the control stream (SETTINGS) and the QPACK streams, reads the server's unidirectional streams (a
 * violation closes the connection with the RFC code; a GOAWAY stops new requests), and runs each request on its
 * own bidirectional stream: HEADERS, DATA frames, optional trailers, FIN; the response is read with
 * {@linkcode H3MessageReader} (1xx skipped, content-length checked, trailers kept). wraith's `h3://` upstreams and
 * the tests run on it.
 *
 * @module
 */
import { connectQuic, type QuicConnection } from "../mod.ts";
import type { HeaderField } from "../http/fields.ts";
import { H3Error, H3ErrorCode } from "./h3_frame.ts";
import { encodeH3Data } from "./h3_message.ts";
import { H3QpackLink } from "./deno_h3_qpack.ts";
import { H3Session } from "./h3_session.ts";
import { H3_ALPN, readUni } from "./deno_http3.ts";

/** Options of {@linkcode connectHttp3}. */
export interface Http3ConnectOptions {
  readonly hostname: string;
  readonly port: number;
  /** Name the certificate must carry (SNI); default `hostname`. */
  readonly serverName?: string;
  /** Extra trusted CAs, PEM. */
  readonly caCerts?: readonly string[];
  /** QUIC handshake deadline, ms. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** SETTINGS_MAX_FIELD_SECTION_SIZE we advertise. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
}

/** One request. */
export interface Http3ClientRequest {
  readonly method: string;
  /** Default `https`. */
  readonly scheme?: string;
  readonly authority: string;
  /** Path and query. */
  readonly path: string;
  /** Regular fields, lowercase. */
  readonly fields?: readonly HeaderField[];
  readonly body?: ReadableStream<Uint8Array> | Uint8Array | null;
  /** Sent after the body, when non-empty. */
  readonly trailers?: Promise<readonly HeaderField[]>;
  readonly signal?: AbortSignal;
}

/** A response. */
export interface Http3ClientResponse {
  readonly status: number;
  /** Regular fields. */
  readonly fields: readonly HeaderField[];
  readonly body: ReadableStream<Uint8Array> | null;
  readonly trailers: Promise<readonly HeaderField[]>;
}

/** A request that failed; `refused` when the server did not process it (safe to retry elsewhere). */
export class Http3RequestError extends Error {
  readonly refused: boolean;
  constructor(message: string, refused: boolean, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = "Http3RequestError";
    this.refused = refused;
  }
}

/** An HTTP/3 client connection (see the module doc). */
export class Http3ClientConnection {
  readonly #conn: QuicConnection;
  readonly #session: H3Session;
  readonly #link: H3QpackLink;
  readonly #writers: WritableStreamDefaultWriter<Uint8Array>[];
  /** Streams are opened one at a time, so the n-th request stream has id 4n (Deno does not expose ids). */
  #opening: Promise<unknown> = Promise.resolve();
  #nextId = 0;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;

  /** @internal */
  constructor(
    conn: QuicConnection,
    session: H3Session,
    link: H3QpackLink,
    writers: WritableStreamDefaultWriter<Uint8Array>[],
  ) {
    this.#conn = conn;
    this.#session = session;
    this.#link = link;
    this.#writers = writers;
    this.closed = conn.closed.then(() => link.close());
  }

  /** QPACK dynamic table use on this connection: inserts each side made, and ours the server acknowledged. */
  get qpack(): { readonly ourInserts: number; readonly acknowledged: number; readonly peerInserts: number } {
    return {
      ourInserts: this.#session.encoder.table.insertCount,
      acknowledged: this.#session.encoder.knownReceivedCount,
      peerInserts: this.#session.decoder.table.insertCount,
    };
  }

  /** Whether new requests may go on this connection (open, no GOAWAY). */
  get open(): boolean {
    return !this.#conn.isClosed && this.#session.goaway === undefined;
  }

  /** Sends a request; resolves with the response head. Throws {@linkcode Http3RequestError}. */
  async request(req: Http3ClientRequest): Promise<Http3ClientResponse> {
    if (!this.open) throw new Http3RequestError("connection closed or going away", true);
    let stream: Deno.QuicBidirectionalStream;
    let id: number;
    try {
      const opened = this.#opening.then(() => this.#conn.openBidi({ wait: true }));
      this.#opening = opened.catch(() => {});
      stream = await opened;
      id = this.#nextId;
      this.#nextId += 4;
    } catch (error) {
      throw new Http3RequestError(`cannot open a stream: ${String(error)}`, true, error);
    }
    const link = this.#link;
    const head: HeaderField[] = [
      [":method", req.method],
      [":scheme", req.scheme ?? "https"],
      [":authority", req.authority],
      [":path", req.path],
      ...(req.fields ?? []),
    ];
    const writer = stream.writable.getWriter();
    const source = stream.readable.getReader();
    const abort = () => {
      writer.abort(H3ErrorCode.H3_REQUEST_CANCELLED).catch(() => {});
      source.cancel(H3ErrorCode.H3_REQUEST_CANCELLED).catch(() => {});
    };
    req.signal?.addEventListener("abort", abort, { once: true });
    const done = () => req.signal?.removeEventListener("abort", abort);
    const sending = (async () => {
      await writer.write(link.headersFrame(id, head));
      const body = req.body ?? null;
      if (body instanceof Uint8Array) {
        if (body.length > 0) await writer.write(encodeH3Data(body));
      } else if (body !== null) {
        for await (const chunk of body) if (chunk.length > 0) await writer.write(encodeH3Data(chunk));
      }
      const trailers = req.trailers ? await req.trailers : [];
      if (trailers.length > 0) await writer.write(link.headersFrame(id, trailers));
      await writer.close();
    })();
    sending.catch(() => {});
    const message = link.reader(id, { role: "client", headRequest: req.method === "HEAD" });
    const pending: import("./h3_message.ts").H3MessageEvent[] = [];
    let finished = false;
    const readMore = async (): Promise<void> => {
      const { value, done: eof } = await source.read();
      if (eof) finished = true;
      pending.push(...await link.feed(id, message, eof ? null : value));
    };
    let fields: HeaderField[] | undefined;
    try {
      while (fields === undefined) {
        const e = pending.shift();
        if (e === undefined) {
          if (finished) {
            throw new H3Error(H3ErrorCode.H3_MESSAGE_ERROR, "stream ended without a response", true);
          }
          await readMore();
          continue;
        }
        if (e.type === "headers") fields = e.fields;
      }
    } catch (error) {
      done();
      abort();
      link.cancel(id, message);
      const refused = /REQUEST_REJECTED|0x10b\b|\b267\b/.test(String(error));
      throw new Http3RequestError(
        `no response: ${error instanceof Error ? error.message : String(error)}`,
        refused,
        error,
      );
    }
    const status = Number(fields.find(([n]) => n === ":status")?.[1] ?? "0");
    const regular = fields.filter(([n]) => !n.startsWith(":"));
    const trailers = Promise.withResolvers<readonly HeaderField[]>();
    trailers.promise.catch(() => {});
    let ended = false;
    const take = (): Uint8Array | null | undefined => {
      while (true) {
        const e = pending.shift();
        if (e === undefined) return undefined;
        if (e.type === "data") return e.data;
        if (e.type === "trailers") trailers.resolve(e.fields);
        if (e.type === "end") {
          ended = true;
          trailers.resolve([]);
          done();
          return null;
        }
      }
    };
    const first = take();
    if (first === null) {
      source.releaseLock();
      return { status, fields: regular, body: null, trailers: trailers.promise };
    }
    const early = first;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        if (early !== undefined) c.enqueue(early);
      },
      async pull(c) {
        try {
          while (true) {
            const chunk = take();
            if (chunk === null) return c.close();
            if (chunk !== undefined) return c.enqueue(chunk);
            if (finished && !ended) {
              throw new H3Error(H3ErrorCode.H3_MESSAGE_ERROR, "response cut short", true);
            }
            await readMore();
          }
        } catch (error) {
          done();
          link.cancel(id, message);
          trailers.reject(error);
          c.error(error);
        }
      },
      cancel() {
        done();
        trailers.resolve([]);
        if (!ended) {
          abort();
          link.cancel(id, message);
        }
      },
    }, { highWaterMark: 0 });
    return { status, fields: regular, body, trailers: trailers.promise };
  }

  /** Closes the connection (H3_NO_ERROR). */
  close(): void {
    for (const w of this.#writers) w.releaseLock();
    this.#conn.close(H3ErrorCode.H3_NO_ERROR, "");
  }
}

/** Connects, opens the control and QPACK streams, and starts reading the server's. */
export async function connectHttp3(opts: Http3ConnectOptions): Promise<Http3ClientConnection> {
  const conn = await connectQuic(
    { hostname: opts.hostname, port: opts.port, serverName: opts.serverName ?? opts.hostname, alpn: H3_ALPN },
    {
      ...(opts.caCerts && opts.caCerts.length > 0 ? { caCerts: opts.caCerts } : {}),
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
      // The server's control stream, its two QPACK streams, and room for unknown ones.
      maxConcurrentUniStreams: 16,
      maxConcurrentBidiStreams: 0,
    },
  );
  const session = new H3Session({
    role: "client",
    maxFieldSectionSize: opts.maxFieldSectionSize ?? 64 * 1024,
  });
  const writers: WritableStreamDefaultWriter<Uint8Array>[] = [];
  let link: H3QpackLink;
  try {
    const control = (await conn.openUni()).getWriter();
    await control.write(session.controlStreamPreface());
    writers.push(control);
    for (const preface of session.qpackStreamPrefaces()) {
      const w = (await conn.openUni()).getWriter();
      await w.write(preface);
      writers.push(w);
    }
    link = new H3QpackLink(
      session,
      writers[1] as WritableStreamDefaultWriter<Uint8Array>,
      writers[2] as WritableStreamDefaultWriter<Uint8Array>,
    );
  } catch (error) {
    conn.close();
    throw error;
  }
  const fail = (error: unknown) => {
    if (conn.isClosed) return;
    if (error instanceof H3Error && !error.stream) conn.close(error.code, error.message.slice(0, 100));
    else conn.close(H3ErrorCode.H3_INTERNAL_ERROR, "internal error");
  };
  void (async () => {
    while (true) {
      const stream = await conn.acceptUni().catch(() => null);
      if (!stream) return;
      readUni(link, stream).catch(fail);
    }
  })();
  return new Http3ClientConnection(conn, session, link, writers);
}
