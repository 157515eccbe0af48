/**
 * Trailer fields beside web `Request`/`Response` objects, which have no place for them: a server adapter that
 * reads request trailers attaches them with {@linkcode attachTrailers}, a handler that has response trailers does
 * the same, and the adapter that writes the response sends them after the body (HTTP/3 HEADERS, HTTP/2 HEADERS
 * with END_STREAM). gRPC needs this: its status travels in trailers.
 *
 * @module
 */
import type { HeaderField } from "./fields.ts";

const TRAILERS = new WeakMap<Request | Response, Promise<readonly HeaderField[]>>();

/** Attaches the trailers of `message`, resolved once its body has been read to the end. */
export function attachTrailers<T extends Request | Response>(
  message: T,
  trailers: Promise<readonly HeaderField[]>,
): T {
  trailers.catch(() => {});
  TRAILERS.set(message, trailers);
  return message;
}

/** The trailers attached to `message`, if any; they resolve after its body ended. */
export function trailersOf(message: Request | Response): Promise<readonly HeaderField[]> | undefined {
  return TRAILERS.get(message);
}
