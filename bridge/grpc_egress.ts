/**
 * Egress: a {@linkcode CallTarget} that calls a gRPC server over HTTP/2 (h2c, prior knowledge) on this project's
 * own HTTP/2 (`transport/http2/`), with hand-written gRPC framing, so any method path passes and messages stay
 * opaque bytes. A stream that ends without a `grpc-status` is never reported as success.
 * Metadata, `grpc-timeout`, cancellation (RST_STREAM CANCEL), status codes, messages and trailers pass through.
 *
 * @module
 */

import {
  connectHttp2,
  ErrorCode,
  type HeaderField,
  type Http2ClientSession,
  type Http2Stream,
  Http2StreamError,
} from "../transport/http2/mod.ts";
import { AsyncQueue } from "./_async_queue.ts";
import { type BridgeCall, type CallTarget, type ResponseEvent, status } from "./call.ts";
import { GrpcStatus } from "./errors.ts";
import type { CallHead } from "./frame_payloads.ts";
import { HealthStatus, type HealthStatusValue } from "./frame_payloads.ts";
import { encodeGrpcMessage, GrpcMessageDecoder } from "./grpc_framing.ts";
import { decodeGrpcMessage, fieldsToMetadata, formatGrpcTimeout, metadataToFields } from "./grpc_metadata.ts";

/** Options of {@linkcode Http2Target}. */
export interface Http2TargetOptions {
  /** Largest response message accepted. */
  readonly maxMessageBytes: number;
  /** TCP connect plus the server's SETTINGS must come within this. Default 5 s. */
  readonly connectTimeoutMs?: number;
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
  readonly #host: { hostname: string; port: number };
  readonly #opts: Http2TargetOptions;
  #session: Promise<Http2ClientSession> | undefined;

  /** Targets `endpoint`, `http://host:port`. */
  constructor(endpoint: string, opts: Http2TargetOptions) {
    const u = new URL(endpoint);
    this.#host = { hostname: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 80) };
    this.#opts = opts;
  }

  /** The open connection, or a new one. */
  async session(): Promise<Http2ClientSession> {
    const current = this.#session;
    if (current !== undefined) {
      const s = await current.catch(() => undefined);
      if (s !== undefined && s.open) return s;
      if (this.#session === current) this.#session = undefined;
    }
    const next = connectHttp2({
      ...this.#host,
      connectTimeoutMs: this.#opts.connectTimeoutMs ?? 5_000,
      // Large windows: 4 MiB messages should not wait on WINDOW_UPDATE round trips.
      limits: { streamWindow: 4 << 20, connectionWindow: 32 << 20, maxHeaderListSize: 64 * 1024 },
    });
    this.#session = next;
    next.catch(() => {
      if (this.#session === next) this.#session = undefined;
    });
    return await next;
  }

  /** Starts a call. */
  open(head: CallHead): BridgeCall {
    return new Http2Call(this, head, this.#opts.maxMessageBytes);
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
    void this.#session?.then((s) => s.destroy(), () => {});
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

function statusFrom(fields: readonly HeaderField[]): ReturnType<typeof status> {
  const get = (name: string): string | undefined => fields.find(([n]) => n === name)?.[1];
  const code = Number(get("grpc-status"));
  return status(
    Number.isInteger(code) && code >= 0 && code <= 255 ? code : GrpcStatus.UNKNOWN,
    decodeGrpcMessage(get("grpc-message") ?? ""),
    {
      metadata: fieldsToMetadata(fields),
    },
  );
}

/** One call on an HTTP/2 stream: request messages out as DATA, response head, messages and trailers in. */
class Http2Call implements BridgeCall {
  readonly #events = new AsyncQueue<ResponseEvent>(16);
  readonly #decoder: GrpcMessageDecoder;
  readonly #stream: Promise<Http2Stream | undefined>;
  #final: ResponseEvent | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(target: Http2Target, head: CallHead, maxMessageBytes: number) {
    this.#decoder = new GrpcMessageDecoder(maxMessageBytes);
    const fields: HeaderField[] = [
      [":method", "POST"],
      [":scheme", "http"],
      [":path", head.path],
      [":authority", "upstream"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ["grpc-accept-encoding", "identity"],
      ...(head.timeoutMs > 0 ? [["grpc-timeout", formatGrpcTimeout(head.timeoutMs)] as HeaderField] : []),
      ...metadataToFields(head.metadata),
    ];
    if (head.timeoutMs > 0) {
      this.#timer = setTimeout(
        () => this.cancel(GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded"),
        head.timeoutMs,
      );
    }
    this.#stream = (async () => {
      let session: Http2ClientSession;
      try {
        session = await target.session();
      } catch (error) {
        this.#finish(
          status(
            GrpcStatus.UNAVAILABLE,
            `Cannot reach upstream: ${error instanceof Error ? error.message : error}`,
            {
              notProcessed: true,
            },
          ),
          true,
        );
        return undefined;
      }
      if (this.#final !== undefined) return undefined;
      let stream: Http2Stream;
      try {
        stream = session.request(fields);
      } catch (error) {
        this.#finish(
          status(
            GrpcStatus.UNAVAILABLE,
            `Upstream refused the stream: ${error instanceof Error ? error.message : error}`,
            {
              notProcessed: true,
            },
          ),
          true,
        );
        return undefined;
      }
      void this.#readResponse(stream);
      return stream;
    })();
  }

  async #readResponse(stream: Http2Stream): Promise<void> {
    let gotHead = false;
    try {
      const head = await stream.response;
      const httpStatus = Number(head.find(([n]) => n === ":status")?.[1] ?? 0);
      if (head.some(([n]) => n === "grpc-status")) {
        // Trailers-Only response.
        this.#finish(statusFrom(head));
        return;
      }
      if (httpStatus !== 200) {
        this.#finish(status(httpToGrpcStatus(httpStatus), `Upstream answered HTTP ${httpStatus}`));
        stream.reset(ErrorCode.CANCEL);
        return;
      }
      gotHead = true;
      await this.#events.push({ type: "head", metadata: fieldsToMetadata(head) });
      for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {
        let messages: Uint8Array[];
        try {
          messages = this.#decoder.push(chunk);
        } catch (error) {
          const e = error as { code?: number; message?: string };
          this.#finish(status(e.code ?? GrpcStatus.INTERNAL, e.message ?? "Bad message"));
          stream.reset(ErrorCode.CANCEL);
          return;
        }
        // Awaiting the queue is the backpressure: while the caller does not read, this stream is not read, and
        // the upstream's window closes.
        for (const data of messages) await this.#events.push({ type: "message", data });
        if (this.#final !== undefined) return;
      }
      const trailers = stream.trailers;
      if (trailers !== undefined && trailers.some(([n]) => n === "grpc-status")) {
        this.#finish(statusFrom(trailers));
      } // A stream that ends without a status lost the call's outcome: never report it as success.
      else this.#finish(status(GrpcStatus.UNAVAILABLE, "Upstream stream ended without trailers"), true);
    } catch (error) {
      const code = error instanceof Http2StreamError ? error.code : ErrorCode.INTERNAL_ERROR;
      if (code === ErrorCode.REFUSED_STREAM) {
        this.#finish(
          status(GrpcStatus.UNAVAILABLE, "Upstream refused the stream", { notProcessed: true }),
          true,
        );
      } else if (code === ErrorCode.CANCEL && gotHead) {
        this.#finish(status(GrpcStatus.CANCELLED, "Upstream cancelled the stream"));
      } else {
        this.#finish(
          status(
            GrpcStatus.UNAVAILABLE,
            `Upstream unavailable: ${error instanceof Error ? error.message : error}`,
          ),
          true,
        );
      }
    }
  }

  #finish(s: ReturnType<typeof status>, transportFailure = false): void {
    if (this.#final) return;
    clearTimeout(this.#timer);
    this.#final = { type: "status", status: s, transportFailure };
    void this.#events.push(this.#final);
    this.#events.close();
  }

  write(data: Uint8Array): Promise<void> {
    const next = this.#writes.then(async () => {
      const stream = await this.#stream;
      if (stream === undefined || this.#final !== undefined) return;
      await stream.write(encodeGrpcMessage(data)).catch(() => {});
    });
    this.#writes = next;
    return next;
  }

  end(): void {
    this.#writes = this.#writes.then(async () => {
      const stream = await this.#stream;
      if (stream !== undefined && this.#final === undefined) await stream.end().catch(() => {});
    });
  }

  cancel(code: number = GrpcStatus.CANCELLED, message = "Cancelled"): void {
    if (this.#final) return;
    this.#events.clear();
    this.#finish(status(code, message));
    void this.#stream.then((s) => s?.reset(ErrorCode.CANCEL)); // RST_STREAM CANCEL
  }

  async next(): Promise<ResponseEvent> {
    const r = await this.#events.next();
    if (!r.done) return r.value;
    return this.#final ?? { type: "status", status: status(GrpcStatus.INTERNAL, "No status") };
  }
}
