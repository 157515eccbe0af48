/**
 * Ingress (Deno adapter over `node:http2`): a local gRPC endpoint (h2c, prior knowledge) that relays every call,
 * whatever its method path, through a {@linkcode Caller} (the bridge). Hand-written gRPC framing keeps messages
 * opaque; metadata, `grpc-timeout`, RST_STREAM CANCEL, status codes, messages and trailers pass end to end.
 * `/grpc.health.v1.Health/Check` is answered from the bridge's registry.
 *
 * @module
 */

import http2 from "node:http2";
import type { Caller } from "./client_api.ts";
import { GrpcStatus } from "./errors.ts";
import type { CallStatus, HealthStatusValue } from "./frame_payloads.ts";
import { encodeGrpcMessage, GrpcMessageDecoder } from "./grpc_framing.ts";
import {
  encodeGrpcMessage as percentEncode,
  headersToMetadata,
  metadataToHeaders,
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
}

/** True when `path` matches one of the patterns (`/a.B/C` exactly or `/a.B/*`). */
export function matchesMethod(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === path || (p.endsWith("/*") && path.startsWith(p.slice(0, -1))));
}

/** The gRPC ingress server. */
export class GrpcIngress {
  readonly #server: http2.Http2Server;
  readonly #caller: Caller;
  readonly #opts: GrpcIngressOptions;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #addr: { hostname: string; port: number } | undefined;

  /** Creates the server; call {@linkcode GrpcIngress.listen}. */
  constructor(caller: Caller, opts: GrpcIngressOptions = {}) {
    this.#caller = caller;
    this.#opts = opts;
    this.#server = http2.createServer({ settings: { initialWindowSize: 4 * 1024 * 1024 } });
    this.#server.on("session", (s) => {
      this.#sessions.add(s);
      s.on("close", () => this.#sessions.delete(s));
      s.on("error", () => {});
    });
    this.#server.on(
      "stream",
      (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) =>
        void this.#handle(stream, headers),
    );
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ hostname: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#opts.port ?? 0, this.#opts.hostname ?? "127.0.0.1", () => {
        const a = this.#server.address();
        const port = typeof a === "object" && a ? a.port : 0;
        this.#addr = { hostname: this.#opts.hostname ?? "127.0.0.1", port };
        resolve(this.#addr);
      });
    });
  }

  /** The bound address, once listening. */
  get addr(): { hostname: string; port: number } | undefined {
    return this.#addr;
  }

  /** Stops accepting and closes client sessions. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.#sessions) s.close();
      this.#server.close(() => resolve());
      setTimeout(() => {
        for (const s of this.#sessions) s.destroy();
      }, 1000);
    });
  }

  async #handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    stream.on("error", () => {});
    const path = String(headers[":path"] ?? "");
    const contentType = String(headers["content-type"] ?? "");
    if (headers[":method"] !== "POST" || !contentType.startsWith("application/grpc")) {
      stream.respond({ ":status": 415 }, { endStream: true });
      return;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      trailersOnly(stream, {
        code: GrpcStatus.UNIMPLEMENTED,
        message: `Encoding ${String(encoding)} is not supported`,
        metadata: [],
        notProcessed: true,
      });
      return;
    }
    if (!/^\/[^/\s]+\/[^/\s]+$/.test(path)) {
      trailersOnly(stream, {
        code: GrpcStatus.UNIMPLEMENTED,
        message: `Bad method path ${path}`,
        metadata: [],
        notProcessed: true,
      });
      return;
    }
    const timeoutHeader = headers["grpc-timeout"];
    const timeoutMs = parseGrpcTimeout(Array.isArray(timeoutHeader) ? timeoutHeader[0] : timeoutHeader) ?? 0;
    if (path === "/grpc.health.v1.Health/Check" && this.#opts.health) {
      return this.#healthCheck(stream);
    }
    // A bridge that knows no instance of the service yet (it just started, or a peer came up after its last
    // discovery round) runs one discovery round before answering UNAVAILABLE.
    const discover = this.#caller as Caller & {
      readonly registry?: { candidates(service: string): readonly unknown[] };
      resolve?(service: string): Promise<unknown>;
    };
    const service = path.split("/")[1] ?? "";
    if (discover.registry && discover.resolve && discover.registry.candidates(service).length === 0) {
      await discover.resolve(service).catch(() => {});
    }
    const call = this.#caller.open({
      path,
      timeoutMs,
      idempotent: matchesMethod(path, this.#opts.idempotentMethods ?? []),
      instance: "",
      metadata: headersToMetadata(headers),
    });
    let finished = false;
    // Requests: HTTP/2 DATA -> messages -> call.write (paused while the bridge applies backpressure).
    const decoder = new GrpcMessageDecoder(this.#opts.maxMessageBytes ?? 4 * 1024 * 1024);
    let writing: Promise<void> = Promise.resolve();
    stream.on("data", (chunk: Uint8Array) => {
      let messages: Uint8Array[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        const e = error as { code?: number; message?: string };
        call.cancel(e.code ?? GrpcStatus.INTERNAL, e.message ?? "Bad request message");
        return;
      }
      for (const m of messages) {
        stream.pause();
        writing = writing.then(() => call.write(m)).then(() => {
          if (!stream.destroyed) stream.resume();
        });
      }
    });
    stream.on("end", () => void writing.then(() => call.end()));
    // RST_STREAM from the client (CANCEL, or its deadline): cancel the call through the bridge.
    stream.on("close", () => {
      if (!finished) call.cancel(GrpcStatus.CANCELLED, "Client cancelled the call");
    });

    let headSent = false;
    const sendHead = (md: ReturnType<typeof headersToMetadata>): void => {
      if (headSent || stream.destroyed) return;
      headSent = true;
      stream.respond({
        ...metadataToHeaders(md),
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-accept-encoding": "identity",
      }, {
        waitForTrailers: true,
      });
    };
    for (;;) {
      const ev = await call.next();
      if (stream.destroyed || stream.closed) {
        finished = true;
        return;
      }
      if (ev.type === "head") {
        sendHead(ev.metadata);
      } else if (ev.type === "message") {
        sendHead([]);
        if (!stream.write(encodeGrpcMessage(ev.data))) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              stream.off("drain", done);
              stream.off("close", done);
              resolve();
            };
            stream.on("drain", done);
            stream.on("close", done);
          });
        }
      } else {
        finished = true;
        if (!headSent) {
          trailersOnly(stream, ev.status);
        } else {
          stream.once("wantTrailers", () => stream.sendTrailers(statusHeaders(ev.status)));
          stream.end();
        }
        return;
      }
    }
  }

  #healthCheck(stream: http2.ServerHttp2Stream): void {
    const decoder = new GrpcMessageDecoder(4096);
    const msgs: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => {
      try {
        msgs.push(...decoder.push(c));
      } catch {
        // answered below as INVALID_ARGUMENT
      }
    });
    stream.on("end", () => {
      const req = msgs[0] ?? new Uint8Array(0);
      // HealthCheckRequest { string service = 1; }
      let service = "";
      if (req[0] === 0x0a && (req[1] ?? 0) < 0x80) {
        service = new TextDecoder().decode(req.subarray(2, 2 + (req[1] ?? 0)));
      }
      const st = this.#opts.health?.(service) ?? 0;
      if (st === 3) {
        trailersOnly(stream, {
          code: GrpcStatus.NOT_FOUND,
          message: `Unknown service ${service}`,
          metadata: [],
          notProcessed: false,
        });
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(encodeGrpcMessage(Uint8Array.of(0x08, st)));
    });
  }
}

function statusHeaders(s: CallStatus): http2.OutgoingHttpHeaders {
  return {
    ...metadataToHeaders(s.metadata),
    "grpc-status": String(s.code),
    ...(s.message !== "" ? { "grpc-message": percentEncode(s.message) } : {}),
  };
}

function trailersOnly(stream: http2.ServerHttp2Stream, s: CallStatus): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ":status": 200, "content-type": "application/grpc", ...statusHeaders(s) }, {
    endStream: true,
  });
}
