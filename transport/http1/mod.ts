/**
 * HTTP/1.1 (RFC 9112) for the client side of a proxy: a strict sans-IO response parser and request encoders
 * ({@linkcode H1ResponseParser}, {@linkcode encodeRequestHead}, {@linkcode encodeChunk}) and a keep-alive
 * connection pool for one origin on Deno TCP/TLS ({@linkcode H1Pool}). wraith's HTTP/1.1 upstreams run on it.
 *
 * @example
 * ```ts
 * import { H1ResponseParser } from "./mod.ts";
 *
 * const parser = new H1ResponseParser();
 * parser.next("GET");
 * const events = parser.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi"));
 * console.log(events.map((e) => e.type)); // ["head", "data", "end"]
 * ```
 *
 * @module
 */
export * from "./h1_codec.ts";
export * from "./deno_http1_client.ts";
export * from "./deno_http1_server.ts";
