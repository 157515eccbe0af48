/**
 * Deno adapter: serves a `Deno.serve`-shaped handler (web `Request` in, `Response` out) on the project's
 * HTTP/2 server streams. Request trailers are attached to the `Request` and response trailers taken from the
 * `Response` ({@linkcode attachTrailers}), so gRPC's status survives a proxy. The request's fields were already
 * checked by the connection (RFC 9113 §8.2-§8.3); a handler error is a 500.
 *
 * @module
 */
import { CONNECTION_SPECIFIC, type HeaderField } from "../http/fields.ts";
import { attachTrailers, trailersOf } from "../http/trailers.ts";
import type { Http2Stream } from "./deno_http2.ts";
import { ErrorCode } from "./frame.ts";

/** A handler on web types. */
export type Http2Handler = (
  request: Request,
  info: { readonly remoteAddr: { readonly hostname: string; readonly port: number } },
) => Response | Promise<Response>;

function textResponse(stream: Http2Stream, status: number, body: string): void {
  stream.respond([[":status", String(status)], ["content-type", "text/plain; charset=utf-8"]]);
  void stream.write(new TextEncoder().encode(body)).then(() => stream.end()).catch(() => {});
}

/** Serves one stream with `handler` (pass as the server's `onStream`). */
export function serveHttp2Stream(
  handler: Http2Handler,
  onError: (error: unknown) => void = () => {},
): (stream: Http2Stream, client: { readonly hostname: string; readonly port: number }) => void {
  return (stream, client) => void serve(stream, client, handler, onError);
}

async function serve(
  stream: Http2Stream,
  client: { readonly hostname: string; readonly port: number },
  handler: Http2Handler,
  onError: (error: unknown) => void,
): Promise<void> {
  const pseudo = new Map<string, string>();
  const headers = new Headers();
  for (const [name, value] of stream.headers) {
    if (name.startsWith(":")) pseudo.set(name, value);
    else {
      try {
        headers.append(name, value);
      } catch {
        return textResponse(stream, 400, `Bad request: invalid field ${name}\n`);
      }
    }
  }
  const method = pseudo.get(":method") ?? "GET";
  if (method === "CONNECT") return textResponse(stream, 501, "CONNECT is not supported\n");
  const authority = pseudo.get(":authority") ?? headers.get("host") ?? "localhost";
  const trailers = Promise.withResolvers<readonly HeaderField[]>();
  const hasBody = method !== "GET" && method !== "HEAD";
  const body = hasBody
    ? new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          const chunk = await stream.read();
          if (chunk === null) {
            trailers.resolve(stream.trailers ?? []);
            c.close();
          } else c.enqueue(chunk);
        } catch (error) {
          trailers.reject(error);
          c.error(error);
        }
      },
      cancel() {
        trailers.resolve([]);
      },
    }, { highWaterMark: 0 })
    : null;
  if (!hasBody) trailers.resolve([]);
  let request: Request;
  try {
    request = new Request(`${pseudo.get(":scheme") ?? "https"}://${authority}${pseudo.get(":path") ?? "/"}`, {
      method,
      headers,
      body,
      signal: stream.signal,
      ...(body ? { duplex: "half" } : {}),
    } as RequestInit);
  } catch (error) {
    return textResponse(
      stream,
      400,
      `Bad request: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  attachTrailers(request, trailers.promise);
  let response: Response;
  try {
    response = await handler(request, { remoteAddr: client });
  } catch (error) {
    onError(error);
    return textResponse(stream, 500, "Internal server error\n");
  }
  const fields: HeaderField[] = [[":status", String(response.status)]];
  for (const [name, value] of response.headers) {
    if (!CONNECTION_SPECIFIC.has(name)) fields.push([name, value]);
  }
  const tail = trailersOf(response);
  try {
    if (response.body === null || method === "HEAD") {
      if (tail === undefined || method === "HEAD") {
        stream.respond(fields, true);
        await response.body?.cancel();
        return;
      }
      stream.respond(fields);
    } else {
      stream.respond(fields);
      for await (const chunk of response.body) if (chunk.length > 0) await stream.write(chunk);
    }
    const t = tail === undefined
      ? []
      : (await tail).filter(([n]) => !n.startsWith(":") && !CONNECTION_SPECIFIC.has(n));
    await stream.end(t.length > 0 ? t : undefined);
  } catch (error) {
    // The client reset the stream, or the upstream body failed mid-way: the client must not see a clean end.
    stream.reset(ErrorCode.INTERNAL_ERROR);
    if (!stream.signal.aborted) onError(error);
  }
}
