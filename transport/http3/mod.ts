/**
 * HTTP/3's header compression, QPACK (RFC 9204), with the static table only: what an HTTP/3 endpoint needs when it
 * advertises SETTINGS_QPACK_MAX_TABLE_CAPACITY = 0. The first piece of the HTTP/3 layer wraith will run on; the
 * frame layer reuses `transport/`'s varint frames (`encodeVarintFrame`, `varintFrameFormat`).
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
