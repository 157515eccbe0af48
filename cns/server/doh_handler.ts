/**
 * DNS over HTTPS (RFC 8484) as a Web-standard `handle(request): Promise<Response>`, testable without sockets.
 * GET carries the query base64url-encoded (no padding) in `?dns=`, POST carries it as the body with
 * `Content-Type: application/dns-message`. Answers are `200 application/dns-message` with `Cache-Control:
 * max-age` set to the smallest TTL (§5.1); malformed requests get 4xx, never a crash.
 *
 * @module
 */

import { decodeMessage, readHeader } from "../proto/message_codec.ts";
import { MAX_STREAM_MESSAGE, type QueryHandler } from "../resolver/query_handler.ts";

/** RFC 8484 §6: the media type. */
export const DNS_MESSAGE_TYPE = "application/dns-message";

/** Options of {@linkcode DohHandler}. */
export interface DohHandlerOptions {
  /** The URL path served. Default `/dns-query` (RFC 8484 §3 leaves it to the server; this is the usual one). */
  readonly path?: string;
}

/** Base64url without padding (RFC 4648 §5, RFC 8484 §4.1) to bytes; `undefined` when not valid. */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Bytes to base64url without padding. */
export function encodeBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The DoH request handler. */
export class DohHandler {
  readonly #core: QueryHandler;
  readonly #path: string;

  /** Wraps the server core. */
  constructor(core: QueryHandler, options: DohHandlerOptions = {}) {
    this.#core = core;
    this.#path = options.path ?? "/dns-query";
  }

  /** Answers one HTTP request; `client` is the peer's IP address. */
  async handle(request: Request, client = "::"): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== this.#path) return text(404, "Not found");
    let query: Uint8Array | undefined;
    if (request.method === "GET") {
      const param = url.searchParams.get("dns");
      if (param === null) return text(400, "Missing dns parameter");
      // base64url of 65,535 bytes is 87,380 characters.
      if (param.length > 87_380) return text(414, "Query too long");
      query = decodeBase64Url(param);
      if (!query) return text(400, "Invalid base64url in dns parameter");
    } else if (request.method === "POST") {
      const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
      if (type !== DNS_MESSAGE_TYPE) return text(415, `Content-Type must be ${DNS_MESSAGE_TYPE}`);
      const read = await readBody(request, MAX_STREAM_MESSAGE);
      if (read === "too-large") return text(413, "Query too large");
      if (read === undefined) return text(400, "Cannot read body");
      query = read;
    } else {
      return new Response("Method not allowed", { status: 405, headers: { allow: "GET, POST" } });
    }
    const response = await this.#core.handle(query, { address: client, transport: "doh" });
    if (response === null) return text(400, "Not a DNS query");
    const headers = new Headers({
      "content-type": DNS_MESSAGE_TYPE,
      "content-length": String(response.length),
    });
    const maxAge = minTtl(response);
    if (maxAge !== undefined) headers.set("cache-control", `max-age=${maxAge}`);
    return new Response(response.slice().buffer, { status: 200, headers });
  }
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** Reads a body up to `max` bytes without trusting Content-Length. */
async function readBody(request: Request, max: number): Promise<Uint8Array | "too-large" | undefined> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) return "too-large";
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => {});
        return "too-large";
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** RFC 8484 §5.1: freshness is the smallest TTL in the answer; none for messages without records. */
function minTtl(response: Uint8Array): number | undefined {
  if (!readHeader(response)) return undefined;
  try {
    const m = decodeMessage(response);
    const ttls = [...m.answers, ...m.authorities].map((r) => r.ttl ?? 0);
    return ttls.length === 0 ? undefined : Math.min(...ttls);
  } catch {
    return undefined;
  }
}
