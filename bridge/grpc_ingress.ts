/**
 * Ingress: a local gRPC endpoint (h2c, prior knowledge) on this project's own HTTP/2 (`transport/http2/`) that
 * relays every call, whatever its method path, through a {@linkcode Caller} (the bridge). Hand-written gRPC framing
 * keeps messages opaque; metadata, `grpc-timeout`, RST_STREAM CANCEL, status codes, messages and trailers pass end to
 * end, with backpressure both ways (a slow client slows the upstream) and trailers only after every message.
 * `/grpc.health.v1.Health/Check` is answered from the bridge's registry.
 *
 * @module
 */

import {
  type HeaderField,
  Http2Server,
  type Http2ServerStats,
  type Http2Stream,
} from "../transport/http2/mod.ts";
import type { Caller } from "./client_api.ts";
import {
  contextOf,
  endSpan,
  extractContext,
  type Span,
  SpanKind,
  startSpan,
  traceHeaders,
} from "../core/mod.ts";
import { GrpcStatus } from "./errors.ts";
import type { CallStatus, HealthStatusValue, Metadata } from "./frame_payloads.ts";
import { encodeGrpcMessage, GrpcMessageDecoder } from "./grpc_framing.ts";
import {
  encodeGrpcMessage as percentEncode,
  fieldsToMetadata,
  metadataToFields,
  parseGrpcTimeout,
} from "./grpc_metadata.ts";

/** Options of {@linkcode GrpcIngress}. */
export interface GrpcIngressOptions {
  /** Address to listen on. Default 127.0.0.1. */
  readonly hostname?: string;
  /** Port; 0 picks one. */
  readonly port?: number;
  /** Largest request message. Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** Method paths (or `/pkg.Service/*`) whose calls are idempotent (README "Failover"). */
  readonly idempotentMethods?: readonly string[];
  /** grpc.health.v1 status of a service name ("" = the bridge). */
  readonly health?: (service: string) => HealthStatusValue;
  /** Whether a service is known at all (registered now or before); unknown ones get UNIMPLEMENTED. */
  readonly knows?: (service: string) => boolean;
  /** Connections at once (default 10,000) and per client address (default 1,000). */
  readonly maxConnections?: number;
  readonly maxConnectionsPerClient?: number;
  /** A connection with no open call for this long is closed (default 5 min). */
  readonly idleTimeoutMs?: number;
  /** Counts each finished call (for metrics): method path, status code, duration, bytes in and out. */
  readonly onCall?: (
    call: { path: string; code: number; ms: number; bytesIn: number; bytesOut: number },
  ) => void;
  /** Notable events (accept failing and recovering, protocol errors). */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** True when `path` matches one of the patterns (`/a.B/C` exactly or `/a.B/*`). */
export function matchesMethod(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === path || (p.endsWith("/*") && path.startsWith(p.slice(0, -1))));
}

/** The gRPC ingress server. */
export class GrpcIngress {
  readonly #server: Http2Server;
  readonly #caller: Caller;
  readonly #opts: GrpcIngressOptions;
  #addr: { hostname: string; port: number } | undefined;
  #inFlight = 0;

  /** Creates the server; call {@linkcode GrpcIngress.listen}. */
  constructor(caller: Caller, opts: GrpcIngressOptions = {}) {
    this.#caller = caller;
    this.#opts = opts;
    this.#server = new Http2Server({
      hostname: opts.hostname ?? "127.0.0.1",
      port: opts.port ?? 0,
      // Room for a 4 MiB message in flight per stream without a WINDOW_UPDATE round trip.
      limits: { streamWindow: 4 << 20, connectionWindow: 32 << 20, maxConcurrentStreams: 1024 },
      maxConnections: opts.maxConnections ?? 10_000,
      maxConnectionsPerClient: opts.maxConnectionsPerClient ?? 1_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 300_000,
      onStream: (stream) => {
        this.#inFlight++;
        void this.#handle(stream).finally(() => this.#inFlight--);
      },
      ...(opts.onEvent !== undefined ? { onEvent: opts.onEvent } : {}),
    });
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<{ hostname: string; port: number }> {
    this.#addr = await this.#server.listen();
    return this.#addr;
  }

  /** The bound address, once listening. */
  get addr(): { hostname: string; port: number } | undefined {
    return this.#addr;
  }

  /** Connection counters (accept errors, refusals, degraded) and calls in flight. */
  get stats(): Http2ServerStats & { readonly callsInFlight: number } {
    return { ...this.#server.stats, callsInFlight: this.#inFlight };
  }

  /** Stops accepting; GOAWAY lets calls in flight finish until `deadlineMs` (default 1 s from now). */
  close(deadlineMs?: number): Promise<void> {
    return this.#server.close(deadlineMs);
  }

  /** One call as one server span: its parent is the client's `traceparent`; its own goes on to the callee. */
  async #handle(stream: Http2Stream): Promise<void> {
    const path = header(stream.headers, ":path") ?? "";
    const [, service = "", method = ""] = path.split("/");
    const span = startSpan("bridge", /^\/[^/\s]+\/[^/\s]+$/.test(path) ? path.slice(1) : "grpc.invalid", {
      kind: SpanKind.SERVER,
      parent: extractContext((name) => header(stream.headers, name)),
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": service.slice(0, 200),
        "rpc.method": method.slice(0, 200),
      },
    });
    let code: number = GrpcStatus.UNKNOWN;
    try {
      code = await this.#serve(stream, path, span);
    } finally {
      span?.setAttribute("rpc.grpc.status_code", code);
      endSpan(span, SERVER_ERRORS.has(code) ? `gRPC status ${code}` : undefined);
    }
  }

  async #serve(stream: Http2Stream, path: string, span: Span | undefined): Promise<number> {
    const started = Date.now();
    let bytesIn = 0;
    let bytesOut = 0;
    const finished = (code: number): number => {
      this.#opts.onCall?.({ path, code, ms: Date.now() - started, bytesIn, bytesOut });
      return code;
    };
    const contentType = header(stream.headers, "content-type") ?? "";
    if (header(stream.headers, ":method") !== "POST" || !contentType.startsWith("application/grpc")) {
      stream.respond([[":status", "415"]], true);
      return GrpcStatus.UNIMPLEMENTED;
    }
    const encoding = header(stream.headers, "grpc-encoding");
    if (encoding !== undefined && encoding !== "identity") {
      return finished(
        trailersOnly(stream, callStatus(GrpcStatus.UNIMPLEMENTED, `Encoding ${encoding} is not supported`)),
      );
    }
    if (!/^\/[^/\s]+\/[^/\s]+$/.test(path)) {
      return finished(trailersOnly(stream, callStatus(GrpcStatus.UNIMPLEMENTED, `Bad method path ${path}`)));
    }
    const timeoutMs = parseGrpcTimeout(header(stream.headers, "grpc-timeout")) ?? 0;
    if (path === "/grpc.health.v1.Health/Check" && this.#opts.health) {
      return finished(await this.#healthCheck(stream));
    }
    // A bridge that knows no instance of the service yet (it just started, or a peer came up after its last
    // discovery round) runs one discovery round before answering.
    const discover = this.#caller as Caller & {
      readonly registry?: { candidates(service: string): readonly unknown[] };
      resolve?(service: string): Promise<unknown>;
    };
    const service = path.split("/")[1] ?? "";
    if (discover.registry && discover.resolve && discover.registry.candidates(service).length === 0) {
      await discover.resolve(service).catch(() => {});
      if (discover.registry.candidates(service).length === 0 && this.#opts.knows?.(service) === false) {
        return finished(
          trailersOnly(stream, callStatus(GrpcStatus.UNIMPLEMENTED, `Unknown service ${service}`)),
        );
      }
    }
    const call = this.#caller.open({
      path,
      timeoutMs,
      idempotent: matchesMethod(path, this.#opts.idempotentMethods ?? []),
      instance: "",
      metadata: span === undefined
        ? fieldsToMetadata(stream.headers)
        : withTrace(fieldsToMetadata(stream.headers), span),
    });
    // The client's reset (CANCEL, or its own deadline) cancels the call through the bridge.
    const onAbort = (): void => call.cancel(GrpcStatus.CANCELLED, "Client cancelled the call");
    stream.signal.addEventListener("abort", onAbort, { once: true });
    // Requests: DATA -> messages -> call.write, one at a time: the stream is not read while the bridge applies
    // backpressure, so the client's window closes.
    const requests = (async () => {
      const decoder = new GrpcMessageDecoder(this.#opts.maxMessageBytes ?? 4 * 1024 * 1024);
      try {
        for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {
          bytesIn += chunk.length;
          for (const m of decoder.push(chunk)) await call.write(m);
        }
        call.end();
      } catch (error) {
        const e = error as { code?: number; message?: string };
        if (!stream.signal.aborted) {
          call.cancel(e.code ?? GrpcStatus.INTERNAL, e.message ?? "Bad request message");
        }
      }
    })();
    let headSent = false;
    const sendHead = (md: Parameters<typeof metadataToFields>[0]): void => {
      if (headSent) return;
      headSent = true;
      stream.respond([
        [":status", "200"],
        ["content-type", "application/grpc"],
        ["grpc-accept-encoding", "identity"],
        ...metadataToFields(md),
      ]);
    };
    try {
      for (;;) {
        const ev = await call.next();
        if (stream.signal.aborted) return finished(GrpcStatus.CANCELLED);
        if (ev.type === "head") {
          sendHead(ev.metadata);
        } else if (ev.type === "message") {
          sendHead([]);
          const framed = encodeGrpcMessage(ev.data);
          // Resolves once the client's window took it: a slow client slows the call.
          await stream.write(framed);
          bytesOut += framed.length;
        } else {
          if (!headSent) return finished(trailersOnly(stream, ev.status));
          // Trailers go after every message written above (the stream keeps its writes in order).
          await stream.end(statusFields(ev.status));
          return finished(ev.status.code);
        }
      }
    } catch {
      // The client went away mid-response: the call is cancelled (onAbort) and nothing is reported as done.
      call.cancel(GrpcStatus.CANCELLED, "Client went away");
      return finished(GrpcStatus.CANCELLED);
    } finally {
      stream.signal.removeEventListener("abort", onAbort);
      await requests;
    }
  }

  async #healthCheck(stream: Http2Stream): Promise<number> {
    const decoder = new GrpcMessageDecoder(4096);
    const msgs: Uint8Array[] = [];
    try {
      for (let c = await stream.read(); c !== null; c = await stream.read()) msgs.push(...decoder.push(c));
    } catch {
      return trailersOnly(stream, callStatus(GrpcStatus.INVALID_ARGUMENT, "Bad health check request"));
    }
    const req = msgs[0] ?? new Uint8Array(0);
    // HealthCheckRequest { string service = 1; }
    let service = "";
    if (req[0] === 0x0a && (req[1] ?? 0) < 0x80) {
      service = new TextDecoder().decode(req.subarray(2, 2 + (req[1] ?? 0)));
    }
    const st = this.#opts.health?.(service) ?? 0;
    if (st === 3) return trailersOnly(stream, callStatus(GrpcStatus.NOT_FOUND, `Unknown service ${service}`));
    stream.respond([[":status", "200"], ["content-type", "application/grpc"]]);
    await stream.write(encodeGrpcMessage(Uint8Array.of(0x08, st))).catch(() => {});
    await stream.end([["grpc-status", "0"]]).catch(() => {});
    return GrpcStatus.OK;
  }
}

/** gRPC codes that mark a server span as an error (OpenTelemetry's RPC conventions). */
const SERVER_ERRORS: ReadonlySet<number> = new Set([
  GrpcStatus.UNKNOWN,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

/** `md` with its trace context replaced by `span`'s, so the callee's spans are children of the relay's. */
function withTrace(md: Metadata, span: Span): Metadata {
  const te = new TextEncoder();
  return [
    ...md.filter(([k]) => k !== "traceparent" && k !== "tracestate"),
    ...traceHeaders(contextOf(span)).map(([k, v]) => [k, te.encode(v)] as const),
  ];
}

function header(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find(([n]) => n === name)?.[1];
}

function callStatus(code: number, message: string): CallStatus {
  return { code, message, metadata: [], notProcessed: true };
}

function statusFields(s: CallStatus): HeaderField[] {
  return [
    ["grpc-status", String(s.code)],
    ...(s.message !== "" ? [["grpc-message", percentEncode(s.message)] as HeaderField] : []),
    ...metadataToFields(s.metadata),
  ];
}

/** A Trailers-Only response (status in the response headers, END_STREAM); returns the code. */
function trailersOnly(stream: Http2Stream, s: CallStatus): number {
  stream.respond([[":status", "200"], ["content-type", "application/grpc"], ...statusFields(s)], true);
  return s.code;
}
