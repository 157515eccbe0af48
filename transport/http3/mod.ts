/**
 * HTTP/3 (RFC 9114) and QPACK (RFC 9204), the layer wraith and cns's DoH3 run on: QPACK with its static and
 * dynamic tables (`qpack.ts`, `qpack_dynamic.ts`); HTTP/3 frames (RFC 9114 §7) on
 * `transport/`'s varint frames: which frame may go on which stream, SETTINGS and GOAWAY payloads, per-type limits;
 * and one message on a request stream (`H3MessageReader`, RFC 9114 §4.1): frame order, the field rules, a
 * Content-Length that must match the DATA frames, streamed bodies; the connection's control and QPACK streams
 * (`H3Session`); and the Deno adapters, `Http3Server` and `connectHttp3`.
 *
 * @example
 * ```ts
 * import { decodeFieldSection, encodeFieldSection } from "./mod.ts";
 *
 * const block = encodeFieldSection([[":method", "GET"], [":path", "/"], ["x-demo", "1"]]);
 * console.log(decodeFieldSection(block)); // [[":method", "GET"], [":path", "/"], ["x-demo", "1"]]
 * ```
 *
 * @module
 */
export * from "./qpack.ts";
export * from "./qpack_static_table.ts";
export * from "./h3_frame.ts";
export * from "./h3_message.ts";
export * from "./h3_session.ts";
export * from "./deno_http3.ts";
export * from "./deno_http3_client.ts";
export * from "./qpack_dynamic.ts";
