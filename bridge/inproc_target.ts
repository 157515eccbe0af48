/**
 * A {@linkcode CallTarget} that runs in-process handlers: request messages go into an async queue the handler
 * reads, its results become response events. Cancellation and deadlines abort the handler's signal.
 *
 * @module
 */

import { endSpan, extractContext, type Span, SpanKind, startSpan, withSpan } from "../core/mod.ts";
import { AsyncQueue } from "./_async_queue.ts";
import { type BridgeCall, type CallTarget, type ResponseEvent, status } from "./call.ts";
import { BridgeError, GrpcStatus } from "./errors.ts";
import type { CallHead, Metadata } from "./frame_payloads.ts";
import type { HandlerContext, ServiceHandlers } from "./handlers.ts";

/** Runs calls against a service's in-process handlers. */
export class InprocTarget implements CallTarget {
  readonly #service: string;
  readonly #handlers: ServiceHandlers;

  /** Serves `service` (e.g. `ghost.wallet.v1.WalletService`) with `handlers`. */
  constructor(service: string, handlers: ServiceHandlers) {
    this.#service = service;
    this.#handlers = handlers;
  }

  /** Starts the handler for `head.path`. */
  open(head: CallHead): BridgeCall {
    return new InprocCall(this.#service, this.#handlers, head);
  }
}

class InprocCall implements BridgeCall {
  readonly #requests = new AsyncQueue<Uint8Array>(8);
  readonly #responses = new AsyncQueue<ResponseEvent>(8);
  readonly #abort = new AbortController();
  #final: ResponseEvent | undefined;
  #headSent = false;
  #trailers: Metadata = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #span: Span | undefined;

  constructor(service: string, handlers: ServiceHandlers, head: CallHead) {
    const slash = head.path.lastIndexOf("/");
    // The handler runs in a server span of the service that owns it (see `spanService`),
    // a child of the caller's span when the metadata carries its `traceparent`.
    this.#span = startSpan(spanService(service), head.path.slice(1), {
      kind: SpanKind.SERVER,
      parent: extractContext((name) => metadataValue(head.metadata, name)),
      attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": head.path.slice(slash + 1) },
    });
    const svc = head.path.slice(1, slash);
    const method = handlers[head.path.slice(slash + 1)];
    if (svc !== service || method === undefined || !Object.hasOwn(handlers, head.path.slice(slash + 1))) {
      this.#finish(GrpcStatus.UNIMPLEMENTED, `Method ${head.path} is not implemented`);
      return;
    }
    const deadline = head.timeoutMs > 0 ? Date.now() + head.timeoutMs : undefined;
    if (head.timeoutMs > 0) {
      this.#timer = setTimeout(
        () => this.cancel(GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded"),
        head.timeoutMs,
      );
    }
    const ctx: HandlerContext = {
      path: head.path,
      metadata: head.metadata,
      signal: this.#abort.signal,
      deadline,
      sendHeader: (md) => this.#sendHead(md),
      setTrailer: (md) => (this.#trailers = md),
    };
    void withSpan(this.#span, () => this.#run(method, ctx));
  }

  async #run(method: NonNullable<ServiceHandlers[string]>, ctx: HandlerContext): Promise<void> {
    try {
      switch (method.kind) {
        case "unary":
          await this.#reply(await method.fn(await this.#single(), ctx));
          break;
        case "client_stream":
          await this.#reply(await method.fn(this.#requests, ctx));
          break;
        case "server_stream":
          for await (const m of method.fn(await this.#single(), ctx)) await this.#reply(m);
          break;
        case "bidi_stream":
          for await (const m of method.fn(this.#requests, ctx)) await this.#reply(m);
          break;
      }
      this.#finish(GrpcStatus.OK, "", this.#trailers);
    } catch (error) {
      if (error instanceof BridgeError) {
        this.#finish(error.code, error.message, error.trailers.length > 0 ? error.trailers : this.#trailers);
      } else if (this.#abort.signal.aborted) {
        this.#finish(GrpcStatus.CANCELLED, "Cancelled");
      } else {
        this.#finish(GrpcStatus.UNKNOWN, error instanceof Error ? error.message : String(error));
      }
    }
  }

  /** The one request message of a unary or server-streaming method. */
  async #single(): Promise<Uint8Array> {
    const first = await this.#requests.next();
    if (first.done) throw new BridgeError(GrpcStatus.INTERNAL, "Request ended without a message");
    const extra = await this.#requests.next();
    if (!extra.done) throw new BridgeError(GrpcStatus.INTERNAL, "Request has more than one message");
    return first.value;
  }

  #endSpan(code: number, message: string): void {
    const span = this.#span;
    if (span === undefined) return;
    this.#span = undefined;
    span.setAttribute("rpc.grpc.status_code", code);
    endSpan(span, code === GrpcStatus.OK || code === GrpcStatus.CANCELLED ? undefined : message);
  }

  #sendHead(metadata: Metadata): void {
    if (this.#headSent || this.#final) return;
    this.#headSent = true;
    void this.#responses.push({ type: "head", metadata });
  }

  async #reply(data: Uint8Array): Promise<void> {
    if (this.#final) throw new BridgeError(GrpcStatus.CANCELLED, "Call ended");
    this.#sendHead([]);
    await this.#responses.push({ type: "message", data });
  }

  #finish(code: number, message: string, metadata: Metadata = []): void {
    if (this.#final) return;
    clearTimeout(this.#timer);
    this.#endSpan(code, message);
    this.#final = { type: "status", status: status(code, message, { metadata }) };
    void this.#responses.push(this.#final);
    this.#responses.close();
    this.#requests.clear();
  }

  write(data: Uint8Array): Promise<void> {
    return this.#final ? Promise.resolve() : this.#requests.push(data);
  }

  end(): void {
    this.#requests.close();
  }

  cancel(code: number = GrpcStatus.CANCELLED, message = "Cancelled"): void {
    if (this.#final) return;
    this.#responses.clear(); // the caller gave up: undelivered responses are dropped
    this.#final = undefined;
    const ev: ResponseEvent = { type: "status", status: status(code, message) };
    clearTimeout(this.#timer);
    this.#endSpan(code, message);
    this.#final = ev;
    this.#requests.clear();
    this.#abort.abort(new BridgeError(code, message));
    this.#cancelled = ev;
  }

  #cancelled: ResponseEvent | undefined;

  async next(): Promise<ResponseEvent> {
    if (this.#cancelled) return this.#cancelled;
    const r = await this.#responses.next();
    if (!r.done) return r.value;
    return this.#cancelled ?? this.#final ??
      { type: "status", status: status(GrpcStatus.INTERNAL, "No status") };
  }
}

/**
 * The tracing scope of a gRPC service: `ghostchain.wallet.v1.WalletService` -> `wallet`, the chain's
 * `ghostchain.v1.BlockchainService` -> `chain`, anything else -> `bridge`.
 */
function spanService(service: string): string {
  if (service === "ghostchain.v1.BlockchainService") return "chain";
  return /^ghostchain\.([a-z]+)\.v\d+\./.exec(service)?.[1] ?? "bridge";
}

function metadataValue(md: Metadata, name: string): string | undefined {
  const hit = md.find(([k]) => k === name);
  return hit === undefined ? undefined : new TextDecoder().decode(hit[1]);
}
