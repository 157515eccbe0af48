/**
 * HTTP/2 (RFC 9113) with HPACK (RFC 7541), written in this project: a sans-IO core (frames, HPACK, the
 * connection state machine with flow control and flood defences) and thin Deno adapters (server and client,
 * h2c with prior knowledge or TLS with ALPN h2). The bridge's gRPC ingress and egress run on it.
 *
 * @example
 * ```ts
 * import { connectHttp2, Http2Server } from "./mod.ts";
 *
 * const server = new Http2Server({
 *   onStream: (s) => {
 *     s.respond([[":status", "200"]]);
 *     void s.end([["x-done", "1"]]);
 *   },
 * });
 * const { hostname, port } = await server.listen();
 * const client = await connectHttp2({ hostname, port });
 * const stream = client.request([[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "x"]], true);
 * console.log((await stream.response)[0]); // [":status", "200"]
 * client.destroy();
 * await server.close();
 * ```
 *
 * @module
 */
export * from "./frame.ts";
export * from "./hpack.ts";
export * from "./connection.ts";
export * from "./deno_http2.ts";
export * from "./deno_http2_handler.ts";
