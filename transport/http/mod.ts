/**
 * What HTTP/1.1, HTTP/2 and HTTP/3 share: the field-section rules of h2 and h3 ({@linkcode fieldSectionProblem},
 * {@linkcode declaredContentLength}) and trailers carried beside web `Request`/`Response` objects
 * ({@linkcode attachTrailers}, {@linkcode trailersOf}).
 *
 * @example
 * ```ts
 * import { attachTrailers, fieldSectionProblem, trailersOf } from "./mod.ts";
 *
 * console.log(fieldSectionProblem([[":status", "200"], ["Bad", "x"]], "response")); // field name "Bad" is not lowercase
 * const response = attachTrailers(new Response("ok"), Promise.resolve([["grpc-status", "0"]] as const));
 * console.log(await trailersOf(response)); // [["grpc-status", "0"]]
 * ```
 *
 * @module
 */
export * from "./fields.ts";
export * from "./trailers.ts";
export * from "./signatures.ts";
