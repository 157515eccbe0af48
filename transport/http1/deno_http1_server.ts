/**
 * Deno adapter: serves one HTTP/1.1 connection (already accepted, TLS done) with a `Deno.serve`-shaped handler,
 * on the sans-IO {@linkcode H1RequestParser}. Requests are served one at a time in order (pipelined requests
 * wait in the parser's buffer); keep-alive until the client or a limit ends it.
 *
 * - **Slowloris**: a request head must be complete within `headerTimeoutMs` of its first byte (408, then close);
 *   an idle keep-alive connection is closed after `idleTimeoutMs`.
 * - **Smuggling**: `transfer-encoding` with `content-length`, a bad length, a coding other than a final
 *   `chunked`, obs-fold, bare CR/LF, a missing or repeated `host`: 400 and close (RFC 9112 §6.1, §6.3, §11.2).
 * - **Size**: a head over `maxHeaderBytes` or with more than `maxHeaders` fields: 431 and close.
 * - `Expect: 100-continue` gets its `100 Continue` when the handler first reads the body.
 * - Responses are sent with `content-length` when the response says it (and its body matches, or the
 *   connection closes), otherwise chunked with trailers from {@linkcode trailersOf}.
 * - A request body the handler did not read is drained (up to 64 KiB) to keep the connection; beyond that the
 *   connection closes.
 *
 * @module
 */
import type { HeaderField } from "../http/fields.ts";
import { attachTrailers, trailersOf } from "../http/trailers.ts";
import {
  encodeChunk,
  encodeLastChunk,
  encodeResponseHead,
  H1Error,
  type H1RequestEvent,
  H1RequestParser,
} from "./h1_codec.ts";

/** A handler on web types. */
export type Http1Handler = (
  request: Request,
  info: { readonly remoteAddr: Deno.NetAddr; readonly version: string },
) => Response | Promise<Response>;

/** Limits of one connection. */
export interface Http1ServerLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** Response fields that HTTP/1.1 framing owns (the adapter writes its own). */
const FRAMING = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
  "proxy-connection",
]);
const DRAIN_LIMIT = 64 * 1024;
const READ_SIZE = 64 * 1024;
const encoder = new TextEncoder();

class Timeout extends Error {}

const TIMED_OUT = Symbol("timed out");
/** Connections waiting on a read with a deadline; one interval checks them all. */
const WATCHED = new Set<{ deadline: number; fire(): void }>();
let watchdog: ReturnType<typeof setInterval> | undefined;

function ensureWatchdog(): void {
  if (watchdog !== undefined) return;
  const id = setInterval(() => {
    const now = Date.now();
    for (const w of WATCHED) {
      if (w.deadline <= now) {
        w.deadline = Number.POSITIVE_INFINITY;
        w.fire();
      }
    }
    if (WATCHED.size === 0) {
      clearInterval(id);
      watchdog = undefined;
    }
  }, 50);
  watchdog = id;
  // The watchdog alone never keeps a process alive.
  Deno.unrefTimer(id as unknown as number);
}

/** Serves `conn` until it closes; never throws. */
export async function serveHttp1Connection(
  conn: Deno.Conn,
  handler: Http1Handler,
  limits: Http1ServerLimits,
  opts: { scheme?: string; onError?: (error: unknown) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const parser = new H1RequestParser({ maxHeadBytes: limits.maxHeaderBytes, maxFields: limits.maxHeaders });
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  const pending: H1RequestEvent[] = [];
  let eof = false;
  let closed = false;
  // Deadlines are checked by one shared watchdog, not a timer per read (thousands of reads a second).
  const watch = { deadline: Number.POSITIVE_INFINITY, fire: () => {} };
  const close = () => {
    if (closed) return;
    closed = true;
    WATCHED.delete(watch);
    try {
      conn.close();
    } catch {
      // gone
    }
  };
  opts.signal?.addEventListener("abort", () => {
    // Draining: an idle connection closes now; a busy one after its response (keepAlive is checked below).
    if (parser.idle && pending.length === 0) close();
  }, { once: true });
  const writeAll = async (bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  };
  // One buffer per connection; what a read returns is copied out (parsed events keep references to it).
  const buf = new Uint8Array(READ_SIZE);
  let timeout = new Promise<typeof TIMED_OUT>((r) => (watch.fire = () => r(TIMED_OUT)));
  WATCHED.add(watch);
  ensureWatchdog();
  /** Reads more bytes into the parser; false at EOF. `deadline` bounds the wait (epoch ms). */
  const readMore = async (deadline?: number): Promise<boolean> => {
    if (eof) return false;
    watch.deadline = deadline ?? Number.POSITIVE_INFINITY;
    const n = await Promise.race([conn.read(buf), timeout]);
    watch.deadline = Number.POSITIVE_INFINITY;
    if (n === TIMED_OUT) {
      timeout = new Promise((r) => (watch.fire = () => r(TIMED_OUT)));
      throw new Timeout();
    }
    if (n === null) {
      eof = true;
      parser.finish();
      return false;
    }
    pending.push(...parser.push(buf.slice(0, n)));
    return true;
  };
  const fail = async (status: number, message: string) => {
    try {
      const body = encoder.encode(`${message}\n`);
      await writeAll(encodeResponseHead(status, [
        ["content-type", "text/plain; charset=utf-8"],
        ["content-length", String(body.length)],
        ["connection", "close"],
      ], reasonOf(status)));
      await writeAll(body);
    } catch {
      // the client is gone
    }
    close();
  };

  try {
    let first = true;
    while (!closed) {
      // The head: idle wait, then headerTimeoutMs from the first byte.
      let head: Extract<H1RequestEvent, { type: "head" }> | undefined;
      let deadline = Date.now() + (first ? limits.headerTimeoutMs : limits.idleTimeoutMs);
      let started = !parser.idle;
      if (started) deadline = Math.min(deadline, Date.now() + limits.headerTimeoutMs);
      try {
        while (head === undefined) {
          const e = pending.shift();
          if (e !== undefined) {
            if (e.type === "head") head = e;
            continue;
          }
          if (!(await readMore(deadline))) return close();
          if (!started) {
            started = true;
            deadline = Math.min(deadline, Date.now() + limits.headerTimeoutMs);
          }
        }
      } catch (error) {
        if (error instanceof Timeout) return started ? await fail(408, "Request head timed out") : close();
        if (error instanceof H1Error) {
          const big = /too large|more than \d+ header fields/.test(error.message);
          return await fail(big ? 431 : 400, `Bad request: ${error.message}`);
        }
        throw error;
      }
      first = false;

      // The body, streamed to the handler as it pulls.
      let bodyDone = !head.hasBody;
      let bodyError: unknown;
      const trailers = Promise.withResolvers<readonly HeaderField[]>();
      trailers.promise.catch(() => {});
      if (bodyDone) trailers.resolve([]);
      const expect = head.fields.some(([n, v]) => n === "expect" && v.toLowerCase() === "100-continue");
      let continued = false;
      const nextBodyEvent = async (): Promise<Uint8Array | null> => {
        while (true) {
          const e = pending.shift();
          if (e === undefined) {
            if (expect && !continued) {
              continued = true;
              await writeAll(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
            }
            if (!(await readMore(Date.now() + limits.idleTimeoutMs))) {
              throw new H1Error("connection closed mid-body");
            }
            continue;
          }
          if (e.type === "data") return e.data;
          if (e.type === "trailers") trailers.resolve(e.fields);
          if (e.type === "end") {
            bodyDone = true;
            trailers.resolve([]);
            return null;
          }
        }
      };
      const body = head.hasBody
        ? new ReadableStream<Uint8Array>({
          async pull(c) {
            try {
              const chunk = await nextBodyEvent();
              if (chunk === null) c.close();
              else c.enqueue(chunk);
            } catch (error) {
              bodyError = error;
              trailers.reject(error);
              c.error(error);
            }
          },
        }, { highWaterMark: 0 })
        : null;
      const headers = new Headers();
      let bad: string | undefined;
      for (const [name, value] of head.fields) {
        try {
          headers.append(name, value);
        } catch {
          bad = name;
        }
      }
      const host = head.fields.find(([n]) => n === "host")?.[1] ?? "localhost";
      let url: string;
      if (head.target.startsWith("/")) url = `${opts.scheme ?? "https"}://${host}${head.target}`;
      else if (/^https?:\/\//i.test(head.target)) url = head.target;
      else if (head.target === "*" && head.method === "OPTIONS") url = `${opts.scheme ?? "https"}://${host}/`;
      else return await fail(400, "Bad request: unsupported request target");
      let request: Request;
      try {
        if (bad !== undefined) throw new Error(`invalid field ${bad}`);
        request = new Request(url, {
          method: head.method,
          headers,
          body: head.method === "GET" || head.method === "HEAD" ? null : body,
          ...(body ? { duplex: "half" } : {}),
        } as RequestInit);
      } catch (error) {
        return await fail(400, `Bad request: ${error instanceof Error ? error.message : String(error)}`);
      }
      attachTrailers(request, trailers.promise);
      let response: Response;
      try {
        response = await handler(request, { remoteAddr, version: head.version });
      } catch (error) {
        if (bodyError instanceof H1Error) return await fail(400, `Bad request: ${bodyError.message}`);
        opts.onError?.(error);
        response = new Response("Internal server error\n", { status: 500 });
      }
      const keepAlive = head.keepAlive && !opts.signal?.aborted;
      const ok = await writeResponse(writeAll, head.method, head.version, response, keepAlive);
      if (!ok || !keepAlive) return close();
      // Keep the connection only when the request body was read (or drained) to its end.
      if (!bodyDone) {
        let drained = 0;
        try {
          while (!bodyDone && drained <= DRAIN_LIMIT) {
            const chunk = await nextBodyEvent();
            if (chunk !== null) drained += chunk.length;
          }
        } catch {
          return close();
        }
        if (!bodyDone) return close();
      }
      parser.next();
      pending.push(...parser.push(new Uint8Array(0)));
    }
  } catch (error) {
    if (!(error instanceof H1Error) && !(error instanceof Deno.errors.BadResource)) opts.onError?.(error);
    close();
  }
}

const IDLE = Symbol("idle");

/** Bytes waiting to be written together (see writeResponse). */
class WriteGather {
  readonly #write: (b: Uint8Array) => Promise<void>;
  #parts: Uint8Array[] = [];
  size = 0;
  constructor(write: (b: Uint8Array) => Promise<void>) {
    this.#write = write;
  }
  add(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.size += bytes.length;
  }
  /** Resolves on a macrotask turn when something is waiting (nothing waiting: never). */
  idle(): Promise<typeof IDLE> {
    if (this.size === 0) return new Promise(() => {});
    return new Promise((r) => setTimeout(() => r(IDLE), 0));
  }
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const parts = this.#parts;
    const all = parts.length === 1 ? parts[0] ?? new Uint8Array(0) : new Uint8Array(this.size);
    if (parts.length > 1) {
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
    }
    this.#parts = [];
    this.size = 0;
    await this.#write(all);
  }
}

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function reasonOf(status: number): string {
  return REASONS[status] ?? "";
}

/** Writes a response; false when the connection must close (a body shorter than its length, a write error). */
async function writeResponse(
  writeAll: (b: Uint8Array) => Promise<void>,
  method: string,
  version: string,
  response: Response,
  keepAlive: boolean,
): Promise<boolean> {
  const fields: HeaderField[] = [];
  let length: number | undefined;
  for (const [name, value] of response.headers) {
    if (name === "content-length" && /^\d{1,15}$/.test(value)) length = Number(value);
    if (FRAMING.has(name)) continue;
    fields.push([name, value]);
  }
  const status = response.status;
  const noBody = method === "HEAD" || status === 204 || status === 304 || status < 200;
  const tail = trailersOf(response);
  // HTTP/1.0 clients cannot read chunked: they get a close-delimited body.
  const chunked = !noBody && response.body !== null && (length === undefined || tail !== undefined) &&
    version === "1.1";
  if (noBody) {
    if (
      length !== undefined && status !== 204 && status < 300 || (method === "HEAD" && length !== undefined)
    ) {
      fields.push(["content-length", String(length)]);
    }
  } else if (response.body === null) fields.push(["content-length", "0"]);
  else if (chunked) fields.push(["transfer-encoding", "chunked"]);
  else if (length !== undefined) fields.push(["content-length", String(length)]);
  const closeAfter = !keepAlive || (!noBody && response.body !== null && !chunked && length === undefined);
  if (closeAfter) fields.push(["connection", "close"]);
  else if (version === "1.0") fields.push(["connection", "keep-alive"]);
  // TLS connections cannot turn Nagle's algorithm off in Deno, so a head and a body in two small writes would
  // wait for the client's delayed ACK (~40 ms): bytes are gathered and written together whenever the body has
  // nothing more ready right now (or 64 KiB are waiting).
  const out = new WriteGather(writeAll);
  try {
    out.add(encodeResponseHead(status, fields, reasonOf(status) || response.statusText));
    if (noBody || response.body === null) {
      await out.flush();
      await response.body?.cancel().catch(() => {});
      return !closeAfter;
    }
    let sent = 0;
    const reader = response.body.getReader();
    let next = reader.read();
    while (true) {
      const ready = await Promise.race([next, out.idle()]);
      if (ready === IDLE) {
        await out.flush();
        continue;
      }
      if (ready.done) break;
      next = reader.read();
      const chunk = ready.value;
      if (chunk.length === 0) continue;
      sent += chunk.length;
      if (!chunked && length !== undefined && sent > length) {
        await reader.cancel().catch(() => {});
        return false;
      }
      out.add(chunked ? encodeChunk(chunk) : chunk);
      if (out.size >= 64 * 1024) await out.flush();
    }
    if (chunked) {
      const t = tail === undefined ? [] : await tail.catch(() => []);
      out.add(encodeLastChunk(t.filter(([n]) => !FRAMING.has(n))));
    }
    await out.flush();
    if (!chunked && length !== undefined && sent !== length) return false;
    return !closeAfter;
  } catch {
    // The body failed mid-way (upstream reset) or the client left: the client must see a cut, not an end.
    return false;
  }
}
