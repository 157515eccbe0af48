/**
 * Egress (Deno adapter over `node:http2`): a {@linkcode CallTarget} that calls a gRPC server over HTTP/2 (h2c,
 * prior knowledge) with hand-written gRPC framing, so any method path passes and messages stay opaque bytes.
 * Metadata, `grpc-timeout`, cancellation (RST_STREAM CANCEL), status codes, messages and trailers pass through.
 *
 * @module
 */

import http2 from "node:http2";
import { AsyncQueue } from "./_async_queue.ts";
import { type BridgeCall, type CallTarget, type ResponseEvent, status } from "./call.ts";
import { GrpcStatus } from "./errors.ts";
import type { CallHead } from "./frame_payloads.ts";
import { HealthStatus, type HealthStatusValue } from "./frame_payloads.ts";
import { encodeGrpcMessage, GrpcMessageDecoder } from "./grpc_framing.ts";
import {
  decodeGrpcMessage,
  formatGrpcTimeout,
  headersToMetadata,
  metadataToHeaders,
} from "./grpc_metadata.ts";

/** Options of {@linkcode Http2Target}. */
export interface Http2TargetOptions {
  /** Largest response message accepted. */
  readonly maxMessageBytes: number;
}

/** HTTP status to gRPC status when a response carries no grpc-status (PROTOCOL-HTTP2.md, http-grpc-status-mapping). */
export function httpToGrpcStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** Calls one upstream gRPC server; one HTTP/2 connection, reopened after it fails. */
export class Http2Target implements CallTarget {
  readonly #endpoint: string;
  readonly #opts: Http2TargetOptions;
  #session: http2.ClientHttp2Session | undefined;

  /** Targets `endpoint`, `http://host:port`. */
  constructor(endpoint: string, opts: Http2TargetOptions) {
    this.#endpoint = endpoint;
    this.#opts = opts;
  }

  #sessionNow(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    const next = http2.connect(this.#endpoint, {
      // Large windows: 4 MiB messages should not wait on WINDOW_UPDATE round trips.
      settings: { initialWindowSize: 4 * 1024 * 1024, maxHeaderListSize: 64 * 1024 },
    });
    next.on("error", () => {}); // surfaced per stream
    next.on("close", () => {
      if (this.#session === next) this.#session = undefined;
    });
    next.setMaxListeners?.(0);
    this.#session = next;
    return next;
  }

  /** Starts a call. */
  open(head: CallHead): BridgeCall {
    return new Http2Call(() => this.#sessionNow(), head, this.#opts.maxMessageBytes);
  }

  /**
   * grpc.health.v1.Health/Check for `service`. A server without the health service (UNIMPLEMENTED) that answers
   * at all counts as SERVING; no answer counts as NOT_SERVING.
   */
  async checkHealth(service: string, timeoutMs: number): Promise<HealthStatusValue> {
    const name = new TextEncoder().encode(service);
    // HealthCheckRequest { string service = 1; }: tag 0x0a, varint length, bytes.
    const req = name.length === 0
      ? new Uint8Array(0)
      : new Uint8Array([0x0a, ...varint(name.length), ...name]);
    const call = this.open({
      path: "/grpc.health.v1.Health/Check",
      timeoutMs,
      idempotent: true,
      instance: "",
      metadata: [],
    });
    await call.write(req);
    call.end();
    let body: Uint8Array | undefined;
    for (;;) {
      const ev = await call.next();
      if (ev.type === "message") body = ev.data;
      if (ev.type !== "status") continue;
      if (ev.status.code === GrpcStatus.UNIMPLEMENTED) return HealthStatus.SERVING;
      if (ev.status.code === GrpcStatus.NOT_FOUND) return HealthStatus.SERVICE_UNKNOWN;
      if (ev.status.code !== GrpcStatus.OK) return HealthStatus.NOT_SERVING;
      return parseServingStatus(body ?? new Uint8Array(0));
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** HealthCheckResponse { ServingStatus status = 1; }: field 1 varint; absent = UNKNOWN. */
export function parseServingStatus(body: Uint8Array): HealthStatusValue {
  let i = 0;
  let result: number = HealthStatus.UNKNOWN;
  while (i < body.length) {
    const tag = body[i++] ?? 0;
    if (tag === 0x08) {
      let v = 0;
      let shift = 0;
      for (; i < body.length && shift < 35; shift += 7) {
        const b = body[i++] ?? 0;
        v |= (b & 0x7f) << shift;
        if ((b & 0x80) === 0) break;
      }
      result = v;
    } else {
      break; // unknown field: stop (the status field comes first in practice)
    }
  }
  return result >= 0 && result <= 3 ? result as HealthStatusValue : HealthStatus.UNKNOWN;
}

class Http2Call implements BridgeCall {
  readonly #events = new AsyncQueue<ResponseEvent>(16);
  readonly #decoder: GrpcMessageDecoder;
  #stream: http2.ClientHttp2Stream | undefined;
  #final: ResponseEvent | undefined;
  #gotHeaders = false;
  #early: Uint8Array[] = [];
  #httpStatus = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(session: () => http2.ClientHttp2Session, head: CallHead, maxMessageBytes: number) {
    this.#decoder = new GrpcMessageDecoder(maxMessageBytes);
    const headers: http2.OutgoingHttpHeaders = {
      ...metadataToHeaders(head.metadata),
      ":method": "POST",
      ":path": head.path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-accept-encoding": "identity",
    };
    if (head.timeoutMs > 0) {
      headers["grpc-timeout"] = formatGrpcTimeout(head.timeoutMs);
      this.#timer = setTimeout(
        () => this.cancel(GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded"),
        head.timeoutMs,
      );
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session().request(headers, { endStream: false });
    } catch (error) {
      this.#finish(
        status(GrpcStatus.UNAVAILABLE, `Cannot reach upstream: ${String(error)}`, { notProcessed: true }),
        true,
      );
      return;
    }
    this.#stream = stream;
    stream.on("response", (h) => {
      this.#httpStatus = Number(h[":status"] ?? 0);
      if (h["grpc-status"] !== undefined) {
        // Trailers-Only response.
        this.#finish(this.#statusFrom(h));
        return;
      }
      this.#gotHeaders = true;
      void this.#events.push({ type: "head", metadata: headersToMetadata(h) });
      // Deno's node:http2 may emit "data" before "response": release what was held back.
      for (const data of this.#early.splice(0)) void this.#events.push({ type: "message", data });
    });
    stream.on("data", (chunk: Uint8Array) => {
      let messages: Uint8Array[];
      try {
        messages = this.#decoder.push(chunk);
      } catch (error) {
        const e = error as { code?: number; message?: string };
        this.#finish(status(e.code ?? GrpcStatus.INTERNAL, e.message ?? "Bad message"));
        stream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      for (const data of messages) {
        if (!this.#gotHeaders) {
          this.#early.push(data);
          continue;
        }
        const p = this.#events.push({ type: "message", data });
        if (this.#events.size >= 16) {
          stream.pause();
          p.then(() => stream.resume());
        }
      }
    });
    stream.on("trailers", (h) => this.#finish(this.#statusFrom(h)));
    stream.on("error", () => {});
    stream.on("close", () => {
      if (this.#final) return;
      const rst = stream.rstCode ?? 0;
      if (rst === http2.constants.NGHTTP2_REFUSED_STREAM) {
        this.#finish(
          status(GrpcStatus.UNAVAILABLE, "Upstream refused the stream", { notProcessed: true }),
          true,
        );
      } else if (!this.#gotHeaders && this.#httpStatus === 0) {
        // No response at all: the connection failed (e.g. refused) or died before answering.
        this.#finish(
          status(GrpcStatus.UNAVAILABLE, "Upstream unavailable", {
            notProcessed: rst === 0 && !stream.sentHeaders,
          }),
          true,
        );
      } else if (rst === http2.constants.NGHTTP2_CANCEL) {
        this.#finish(status(GrpcStatus.CANCELLED, "Upstream cancelled the stream"));
      } else if (this.#httpStatus !== 200) {
        this.#finish(
          status(httpToGrpcStatus(this.#httpStatus), `Upstream answered HTTP ${this.#httpStatus}`),
        );
      } else {
        this.#finish(status(GrpcStatus.UNAVAILABLE, "Upstream stream ended without trailers"), true);
      }
    });
  }

  #statusFrom(h: http2.IncomingHttpHeaders): ReturnType<typeof status> {
    const code = Number(h["grpc-status"]);
    const raw = h["grpc-message"];
    const message = decodeGrpcMessage(Array.isArray(raw) ? raw.join(",") : raw ?? "");
    return status(Number.isInteger(code) && code >= 0 && code <= 255 ? code : GrpcStatus.UNKNOWN, message, {
      metadata: headersToMetadata(h),
    });
  }

  #finish(s: ReturnType<typeof status>, transportFailure = false): void {
    if (this.#final) return;
    clearTimeout(this.#timer);
    this.#final = { type: "status", status: s, transportFailure };
    void this.#events.push(this.#final);
    this.#events.close();
  }

  write(data: Uint8Array): Promise<void> {
    const s = this.#stream;
    if (!s || this.#final || s.destroyed || s.writableEnded) return Promise.resolve();
    if (s.write(encodeGrpcMessage(data))) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        s.off("drain", done);
        s.off("close", done);
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  }

  end(): void {
    const s = this.#stream;
    if (s && !s.destroyed && !s.writableEnded) s.end();
  }

  cancel(code: number = GrpcStatus.CANCELLED, message = "Cancelled"): void {
    if (this.#final) return;
    this.#events.clear();
    this.#finish(status(code, message));
    const s = this.#stream;
    if (s && !s.destroyed) s.close(http2.constants.NGHTTP2_CANCEL); // RST_STREAM CANCEL
  }

  async next(): Promise<ResponseEvent> {
    const r = await this.#events.next();
    if (!r.done) return r.value;
    return this.#final ?? { type: "status", status: status(GrpcStatus.INTERNAL, "No status") };
  }
}
