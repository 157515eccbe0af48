/**
 * HTTP/1.1 message syntax (RFC 9112), sans-IO: a response parser for the client side (bytes in, head / body
 * chunks / trailers / end out) and the request head and chunked-body encoders. wraith's HTTP/1.1 upstream pool runs
 * on it; it does no I/O and keeps no socket.
 *
 * The parser is strict where looseness is how requests get smuggled or responses split (RFC 9112 §6.3, §11.2):
 * a `Transfer-Encoding` and a `Content-Length` together, a `Content-Length` that is not one decimal number (or a
 * list of the same one), a transfer coding other than a final `chunked`, obs-fold (§5.2), bare CR, whitespace
 * before a field's colon, NUL anywhere: each is an {@linkcode H1Error}. Sizes are bounded: the head
 * (`maxHeadBytes`), the field count (`maxFields`), a chunk-size line and the trailer section.
 *
 * @module
 */
import type { HeaderField } from "../http/fields.ts";

/** A malformed or over-limit HTTP/1.1 message. The connection cannot be used after it. */
export class H1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "H1Error";
  }
}

/** What a response parser emits. */
export type H1ResponseEvent =
  | {
    readonly type: "head";
    readonly status: number;
    readonly reason: string;
    /** Names lowercased, in order, repeats kept. */
    readonly fields: HeaderField[];
    /** The server will keep the connection open after this response. */
    readonly keepAlive: boolean;
  }
  /** A 1xx response other than 101 (100 Continue, 103 Early Hints): the final response is still to come. */
  | { readonly type: "informational"; readonly status: number; readonly fields: HeaderField[] }
  | { readonly type: "data"; readonly data: Uint8Array }
  | { readonly type: "trailers"; readonly fields: HeaderField[] }
  | { readonly type: "end" };

/** Limits of a parser. */
export interface H1Limits {
  /** Status line plus fields, bytes. Default 64 KiB. */
  readonly maxHeadBytes: number;
  /** Fields in a head or trailer section. Default 100. */
  readonly maxFields: number;
}

const DEFAULT_LIMITS: H1Limits = { maxHeadBytes: 64 * 1024, maxFields: 100 };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Field value characters (RFC 9110 §5.5): visible, space, tab and obs-text; no CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const decoder = new TextDecoder("latin1");
const encoder = new TextEncoder();

/** Finds CRLF CRLF (or the end of an empty head) from `from`; -1 when not there yet. */
function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function findCrlf(buf: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return -1;
}

/** Parses field lines (RFC 9112 §5); `lines` excludes the start line. */
export function parseFieldLines(lines: readonly string[], maxFields: number): HeaderField[] {
  if (lines.length > maxFields) throw new H1Error(`more than ${maxFields} header fields`);
  const fields: HeaderField[] = [];
  for (const line of lines) {
    if (line.startsWith(" ") || line.startsWith("\t")) throw new H1Error("obsolete line folding");
    const colon = line.indexOf(":");
    if (colon <= 0) throw new H1Error("field line without a name");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new H1Error(`bad field name ${JSON.stringify(name.slice(0, 40))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) throw new H1Error(`bad characters in field ${name}`);
    fields.push([name.toLowerCase(), value]);
  }
  return fields;
}

/** Splits a head into lines, refusing bare CR and bare LF (both have been used to split messages). */
function headLines(bytes: Uint8Array): string[] {
  const text = decoder.decode(bytes);
  const lines = text.split("\r\n");
  for (const l of lines) {
    if (l.includes("\r") || l.includes("\n") || l.includes("\0")) {
      throw new H1Error("bare CR, LF or NUL in head");
    }
  }
  return lines;
}

/** How a message's body is delimited (RFC 9112 §6.3). */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" };

/** The single Content-Length of `fields`; `undefined` when there is none; throws when it is not one number. */
export function contentLengthOf(fields: readonly HeaderField[]): number | undefined {
  let length: number | undefined;
  for (const [name, value] of fields) {
    if (name !== "content-length") continue;
    for (const part of value.split(",")) {
      const v = part.trim();
      if (!/^\d{1,15}$/.test(v)) {
        throw new H1Error(`bad content-length ${JSON.stringify(value.slice(0, 40))}`);
      }
      const n = Number(v);
      if (length !== undefined && length !== n) throw new H1Error("conflicting content-length values");
      length = n;
    }
  }
  return length;
}

/** Whether `fields` ask for chunked framing; throws on a transfer coding we cannot take apart. */
function chunkedOf(fields: readonly HeaderField[]): boolean {
  const codings: string[] = [];
  for (const [name, value] of fields) {
    if (name === "transfer-encoding") {
      for (const c of value.split(",")) if (c.trim() !== "") codings.push(c.trim().toLowerCase());
    }
  }
  if (codings.length === 0) return false;
  // Only "chunked", once and last, is framing we can read; anything else is a message we cannot delimit.
  if (codings.length !== 1 || codings[0] !== "chunked") {
    throw new H1Error(`unsupported transfer-encoding ${codings.join(", ")}`);
  }
  return true;
}

/** Response body framing for a response to `method` with `status` (RFC 9112 §6.3). */
export function responseFraming(method: string, status: number, fields: readonly HeaderField[]): BodyFraming {
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { kind: "none" };
  }
  const chunked = chunkedOf(fields);
  const length = contentLengthOf(fields);
  if (chunked && length !== undefined) throw new H1Error("both transfer-encoding and content-length");
  if (chunked) return { kind: "chunked" };
  if (length !== undefined) return length === 0 ? { kind: "none" } : { kind: "length", length };
  return { kind: "close" };
}

/** Whether the `connection` fields of a message carry `token`. */
function connectionHas(fields: readonly HeaderField[], token: string): boolean {
  for (const [name, value] of fields) {
    if (name === "connection" && value.toLowerCase().split(",").some((t) => t.trim() === token)) return true;
  }
  return false;
}

type State = "head" | "body" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers" | "done";

/** What a request parser emits. */
export type H1RequestEvent =
  | {
    readonly type: "head";
    readonly method: string;
    /** The request-target as sent. */
    readonly target: string;
    /** `1.0` or `1.1`. */
    readonly version: string;
    readonly fields: HeaderField[];
    /** The client will keep the connection open after this exchange. */
    readonly keepAlive: boolean;
    /** The request has a body (content-length above 0, or chunked). */
    readonly hasBody: boolean;
  }
  | { readonly type: "data"; readonly data: Uint8Array }
  | { readonly type: "trailers"; readonly fields: HeaderField[] }
  | { readonly type: "end" };

/** Request body framing (RFC 9112 §6.3): requests are never close-delimited; TE with CL is refused (smuggling). */
export function requestFraming(fields: readonly HeaderField[]): BodyFraming {
  const hasTe = fields.some(([n]) => n === "transfer-encoding");
  const length = contentLengthOf(fields);
  if (hasTe && length !== undefined) throw new H1Error("both transfer-encoding and content-length");
  if (hasTe) {
    if (!chunkedOf(fields)) throw new H1Error("transfer-encoding without chunked");
    return { kind: "chunked" };
  }
  return length === undefined || length === 0 ? { kind: "none" } : { kind: "length", length };
}

/** The body half both parsers share: content-length, chunked (with trailers) and close-delimited bodies. */
abstract class H1Parser<E extends { readonly type: string }> {
  protected readonly limits: H1Limits;
  protected buf: Uint8Array = new Uint8Array(0);
  protected state: State = "head";
  protected remaining = 0;
  protected close = false;
  #scanFrom = 0;

  constructor(limits: Partial<H1Limits>) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Buffered bytes not parsed yet. */
  get buffered(): number {
    return this.buf.length;
  }

  /** Feeds received bytes; returns the events they completed. */
  push(bytes: Uint8Array): E[] {
    if (bytes.length > 0) {
      if (this.buf.length === 0) this.buf = bytes;
      else {
        const joined = new Uint8Array(this.buf.length + bytes.length);
        joined.set(this.buf);
        joined.set(bytes, this.buf.length);
        this.buf = joined;
      }
    }
    const out: E[] = [];
    while (this.#step(out));
    return out;
  }

  protected take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Parses a complete head's lines into events; sets `state` for the body. */
  protected abstract onHead(lines: string[], out: E[]): void;
  /** What to do with bytes in the `done` state; false stops. */
  protected abstract onDone(): boolean;

  /** Moves to the body per `framing`; emits the end at once when there is none. */
  protected startBody(framing: BodyFraming, out: E[]): void {
    this.close = framing.kind === "close";
    if (framing.kind === "none") {
      this.state = "done";
      out.push({ type: "end" } as unknown as E);
    } else if (framing.kind === "length") {
      this.remaining = framing.length;
      this.state = "body";
    } else if (framing.kind === "chunked") this.state = "chunk-size";
    else this.state = "body";
  }

  #step(out: E[]): boolean {
    const emit = (e: { type: string; [k: string]: unknown }) => out.push(e as unknown as E);
    switch (this.state) {
      case "done":
        return this.onDone();
      case "head": {
        const end = findHeadEnd(this.buf, this.#scanFrom);
        if (end < 0) {
          if (this.buf.length > this.limits.maxHeadBytes) throw new H1Error("head too large");
          this.#scanFrom = Math.max(0, this.buf.length - 3);
          return false;
        }
        this.#scanFrom = 0;
        if (end > this.limits.maxHeadBytes) throw new H1Error("head too large");
        const lines = headLines(this.take(end));
        this.take(4);
        this.onHead(lines, out);
        return true;
      }
      case "body": {
        if (this.buf.length === 0) return false;
        if (this.close) {
          emit({ type: "data", data: this.take(this.buf.length) });
          return false;
        }
        const data = this.take(Math.min(this.remaining, this.buf.length));
        this.remaining -= data.length;
        emit({ type: "data", data });
        if (this.remaining === 0) {
          this.state = "done";
          emit({ type: "end" });
        }
        return true;
      }
      case "chunk-size": {
        const eol = findCrlf(this.buf, 0);
        if (eol < 0) {
          if (this.buf.length > 1024) throw new H1Error("chunk-size line too long");
          return false;
        }
        const line = decoder.decode(this.take(eol));
        this.take(2);
        // chunk-size [ chunk-ext ]; extensions are ignored (RFC 9112 §7.1.1) but must be well formed text.
        const m = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[\t\x20-\x7e]*)?$/.exec(line);
        if (m === null) throw new H1Error(`bad chunk-size line ${JSON.stringify(line.slice(0, 40))}`);
        const size = parseInt(m[1] ?? "", 16);
        if (size === 0) {
          this.state = "trailers";
          return true;
        }
        this.remaining = size;
        this.state = "chunk-data";
        return true;
      }
      case "chunk-data": {
        if (this.buf.length === 0) return false;
        const data = this.take(Math.min(this.remaining, this.buf.length));
        this.remaining -= data.length;
        emit({ type: "data", data });
        if (this.remaining === 0) this.state = "chunk-crlf";
        return true;
      }
      case "chunk-crlf": {
        if (this.buf.length < 2) return false;
        if (this.buf[0] !== 13 || this.buf[1] !== 10) throw new H1Error("chunk data not followed by CRLF");
        this.take(2);
        this.state = "chunk-size";
        return true;
      }
      case "trailers": {
        // The trailer section ends with an empty line; with no trailers that is the CRLF right away.
        if (this.buf.length >= 2 && this.buf[0] === 13 && this.buf[1] === 10) {
          this.take(2);
          this.state = "done";
          emit({ type: "end" });
          return true;
        }
        const end = findHeadEnd(this.buf, 0);
        if (end < 0) {
          if (this.buf.length > this.limits.maxHeadBytes) throw new H1Error("trailer section too large");
          return false;
        }
        const lines = headLines(this.take(end));
        this.take(4);
        emit({ type: "trailers", fields: parseFieldLines(lines, this.limits.maxFields) });
        this.state = "done";
        emit({ type: "end" });
        return true;
      }
    }
  }
}

/**
 * Parses one HTTP/1.1 response at a time (the client asks for the next with {@linkcode H1ResponseParser.next}).
 * `push(bytes)` returns the events the bytes completed; `finish()` tells it the connection ended (which ends a
 * close-delimited body, and is an error anywhere else mid-message).
 */
export class H1ResponseParser extends H1Parser<H1ResponseEvent> {
  #method = "GET";
  #keepAlive = true;

  constructor(limits: Partial<H1Limits> = {}) {
    super(limits);
  }

  /** Expects the response to a request with `method` (HEAD responses have no body). */
  next(method: string): void {
    if (this.state !== "head" && this.state !== "done") throw new Error("response still in progress");
    this.#method = method;
    this.state = "head";
  }

  /** Whether a whole response has been parsed and nothing of a next one is buffered. */
  get idle(): boolean {
    return this.state === "done" && this.buf.length === 0;
  }

  /** Whether the connection can carry another request after the current response. */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** The connection closed: ends a close-delimited body; throws if a message was cut short. */
  finish(): H1ResponseEvent[] {
    if (this.state === "body" && this.close) {
      this.state = "done";
      this.#keepAlive = false;
      return [{ type: "end" }];
    }
    if (this.state === "done" || (this.state === "head" && this.buf.length === 0)) return [];
    throw new H1Error("connection closed mid-response");
  }

  protected onDone(): boolean {
    if (this.buf.length > 0) throw new H1Error("bytes after the response it asked for");
    return false;
  }

  protected onHead(lines: string[], out: H1ResponseEvent[]): void {
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
    if (m === null) throw new H1Error(`bad status line ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`);
    const status = Number(m[2]);
    if (status < 100) throw new H1Error(`bad status ${status}`);
    const fields = parseFieldLines(lines.slice(1), this.limits.maxFields);
    if (status >= 100 && status < 200 && status !== 101) {
      out.push({ type: "informational", status, fields });
      return;
    }
    const framing = status === 101
      ? { kind: "close" } as const
      : responseFraming(this.#method, status, fields);
    const http10 = m[1] === "0";
    this.#keepAlive = framing.kind !== "close" && !connectionHas(fields, "close") &&
      (!http10 || connectionHas(fields, "keep-alive"));
    out.push({ type: "head", status, reason: m[3] ?? "", fields, keepAlive: this.#keepAlive });
    this.startBody(framing, out);
  }
}

/**
 * Parses the requests of one HTTP/1.1 connection, one after another (pipelined bytes wait in the buffer until
 * {@linkcode H1RequestParser.next}). A request-target must be origin-form, absolute-form, `*` (OPTIONS) or
 * authority-form (CONNECT); HTTP/1.1 requires exactly one `host` (RFC 9112 §3.2).
 */
export class H1RequestParser extends H1Parser<H1RequestEvent> {
  #held = false;

  constructor(limits: Partial<H1Limits> = {}) {
    super(limits);
  }

  /** Whether the current request has been read to its end. */
  get complete(): boolean {
    return this.state === "done";
  }

  /** Whether nothing is buffered and no request is in progress (between requests). */
  get idle(): boolean {
    return (this.state === "done" || this.state === "head") && this.buf.length === 0;
  }

  /** Starts parsing the next pipelined request (call after the previous one's `end`). */
  next(): void {
    if (this.state !== "done") throw new Error("request still in progress");
    this.state = "head";
    this.#held = false;
  }

  /** The connection closed: an error when it cut a request short. */
  finish(): void {
    if (this.state === "head" && this.buf.length === 0) return;
    if (this.state === "done") return;
    throw new H1Error("connection closed mid-request");
  }

  protected onDone(): boolean {
    // Pipelined bytes wait for next().
    this.#held = this.buf.length > 0;
    return false;
  }

  protected onHead(lines: string[], out: H1RequestEvent[]): void {
    // RFC 9112 §2.2: empty lines before a request line are ignored (at least one).
    while (lines.length > 1 && lines[0] === "") lines.shift();
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0] ?? "");
    if (m === null) throw new H1Error(`bad request line ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`);
    const [, method, target, minor] = m as unknown as [string, string, string, string];
    if (!/^[\x21-\x7e]+$/.test(target)) throw new H1Error("bad request target");
    const fields = parseFieldLines(lines.slice(1), this.limits.maxFields);
    const hosts = fields.filter(([n]) => n === "host").length;
    if (minor === "1" && hosts !== 1) throw new H1Error(hosts === 0 ? "missing host" : "more than one host");
    if (hosts > 1) throw new H1Error("more than one host");
    const framing = requestFraming(fields);
    const keepAlive = minor === "1" ? !connectionHas(fields, "close") : connectionHas(fields, "keep-alive");
    out.push({
      type: "head",
      method,
      target,
      version: `1.${minor}`,
      fields,
      keepAlive,
      hasBody: framing.kind !== "none",
    });
    this.startBody(framing, out);
  }
}

/** Encodes a response head: `HTTP/1.1 status reason`, the fields, CRLF CRLF. Throws H1Error on bad input. */
export function encodeResponseHead(status: number, fields: readonly HeaderField[], reason = ""): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new H1Error(`bad status ${status}`);
  let head = `HTTP/1.1 ${status} ${reason.replace(/[^\t\x20-\x7e]/g, "")}\r\n`;
  for (const [name, value] of fields) {
    checkField(name, value);
    head += `${name}: ${value}\r\n`;
  }
  return encoder.encode(head + "\r\n");
}

/** Checks a field for writing: a token name, a value with no CR, LF or NUL. Throws H1Error. */
function checkField(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new H1Error(`bad field name ${JSON.stringify(name.slice(0, 40))}`);
  if (!FIELD_VALUE.test(value)) throw new H1Error(`bad characters in field ${name}`);
}

/** Encodes a request head: `METHOD target HTTP/1.1`, the fields, CRLF CRLF. Throws H1Error on bad input. */
export function encodeRequestHead(
  method: string,
  target: string,
  fields: readonly HeaderField[],
): Uint8Array {
  if (!TOKEN.test(method)) throw new H1Error(`bad method ${JSON.stringify(method.slice(0, 20))}`);
  if (!/^[\x21-\x7e]+$/.test(target)) throw new H1Error("bad request target");
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of fields) {
    checkField(name, value);
    head += `${name}: ${value}\r\n`;
  }
  return encoder.encode(head + "\r\n");
}

/** One chunk of a chunked body (RFC 9112 §7.1); an empty `data` encodes nothing (the end is {@linkcode encodeLastChunk}). */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  const size = encoder.encode(`${data.length.toString(16)}\r\n`);
  const out = new Uint8Array(size.length + data.length + 2);
  out.set(size);
  out.set(data, size.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** The last chunk and the trailer section. */
export function encodeLastChunk(trailers: readonly HeaderField[] = []): Uint8Array {
  let text = "0\r\n";
  for (const [name, value] of trailers) {
    checkField(name, value);
    text += `${name}: ${value}\r\n`;
  }
  return encoder.encode(text + "\r\n");
}
