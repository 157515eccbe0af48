/**
 * Typed helpers for calling through the bridge in-process: {@linkcode unaryCall}, {@linkcode serverStreamCall},
 * {@linkcode clientStreamCall}, {@linkcode bidiStreamCall}, over anything that opens a {@linkcode BridgeCall}.
 * Non-OK statuses are thrown as {@linkcode BridgeError} with the status code, message and trailers.
 *
 * @module
 */

import { contextOf, endSpan, type Span, SpanKind, startSpan, traceHeaders } from "../core/mod.ts";
import type { BridgeCall } from "./call.ts";
import { BridgeError, GrpcStatus } from "./errors.ts";
import type { CallHead, Metadata } from "./frame_payloads.ts";

/** Per-call options. */
export interface CallOptions {
  /** Request metadata. */
  readonly metadata?: Metadata;
  /** Milliseconds the call may take (gRPC deadline); 0 or absent = none. */
  readonly timeoutMs?: number;
  /** Marks the call safe to retry after it was sent (README "Failover"). */
  readonly idempotent?: boolean;
  /** Cancels the call when aborted. */
  readonly signal?: AbortSignal;
}

/** Anything that opens calls (a GhostBridge). */
export interface Caller {
  /** Opens a call. */
  open(head: CallHead): BridgeCall;
}

/** A unary result with its metadata. */
export interface UnaryResult {
  readonly message: Uint8Array;
  readonly metadata: Metadata;
  readonly trailers: Metadata;
}

/** The head of a call to `service`/`method`. */
export function callHead(service: string, method: string, opts: CallOptions = {}): CallHead {
  return {
    path: `/${service}/${method}`,
    timeoutMs: opts.timeoutMs ?? 0,
    idempotent: opts.idempotent ?? false,
    instance: "",
    metadata: opts.metadata ?? [],
  };
}

/**
 * Opens a call with a client span (when tracing is on): the span's `traceparent` replaces any the caller put in
 * the metadata, so the callee's spans are its children.
 */
function openTraced(
  caller: Caller,
  service: string,
  method: string,
  opts: CallOptions,
): { call: BridgeCall; span: Span | undefined } {
  const span = startSpan("bridge", `${service}/${method}`, {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method },
  });
  if (span === undefined) return { call: caller.open(callHead(service, method, opts)), span };
  const trace = traceHeaders(contextOf(span));
  const te = new TextEncoder();
  const metadata: Metadata = [
    ...(opts.metadata ?? []).filter(([k]) => k !== "traceparent" && k !== "tracestate"),
    ...trace.map(([k, v]) => [k, te.encode(v)] as const),
  ];
  return { call: caller.open(callHead(service, method, { ...opts, metadata })), span };
}

/** Ends a client span with the call's gRPC status. */
function endCallSpan(span: Span | undefined, error?: unknown): void {
  if (span === undefined) return;
  const code = error === undefined
    ? GrpcStatus.OK
    : error instanceof BridgeError
    ? error.code
    : GrpcStatus.UNKNOWN;
  span.setAttribute("rpc.grpc.status_code", code);
  endSpan(span, error);
}

function watch(call: BridgeCall, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = (): void => call.cancel(GrpcStatus.CANCELLED, "Cancelled by caller");
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

async function* responses(
  call: BridgeCall,
  sink?: { metadata: Metadata; trailers: Metadata },
): AsyncGenerator<Uint8Array> {
  let finished = false;
  try {
    for (;;) {
      const ev = await call.next();
      if (ev.type === "head") {
        if (sink) sink.metadata = ev.metadata;
      } else if (ev.type === "message") {
        yield ev.data;
      } else {
        finished = true;
        if (sink) sink.trailers = ev.status.metadata;
        if (ev.status.code !== GrpcStatus.OK) {
          throw new BridgeError(ev.status.code, ev.status.message, {
            source: "upstream",
            trailers: ev.status.metadata,
          });
        }
        return;
      }
    }
  } finally {
    // The consumer stopped early (break / throw): cancel the call.
    if (!finished) call.cancel(GrpcStatus.CANCELLED, "Cancelled by caller");
  }
}

async function sendAll(
  call: BridgeCall,
  requests: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  try {
    for await (const r of requests) await call.write(r);
    call.end();
  } catch (error) {
    call.cancel(
      GrpcStatus.CANCELLED,
      `Request stream failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

async function single(call: BridgeCall): Promise<UnaryResult> {
  const sink = { metadata: [] as Metadata, trailers: [] as Metadata };
  let message: Uint8Array | undefined;
  for await (const m of responses(call, sink)) {
    if (message !== undefined) {
      throw new BridgeError(GrpcStatus.INTERNAL, "Unary response has more than one message");
    }
    message = m;
  }
  if (message === undefined) throw new BridgeError(GrpcStatus.INTERNAL, "Unary response has no message");
  return { message, metadata: sink.metadata, trailers: sink.trailers };
}

/** One request, one response. */
export async function unaryCall(
  caller: Caller,
  service: string,
  method: string,
  request: Uint8Array,
  opts: CallOptions = {},
): Promise<UnaryResult> {
  const { call, span } = openTraced(caller, service, method, opts);
  const unwatch = watch(call, opts.signal);
  let failure: unknown;
  try {
    await call.write(request);
    call.end();
    return await single(call);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    unwatch();
    endCallSpan(span, failure);
  }
}

/** One request, a stream of responses. */
export async function* serverStreamCall(
  caller: Caller,
  service: string,
  method: string,
  request: Uint8Array,
  opts: CallOptions = {},
): AsyncGenerator<Uint8Array> {
  const { call, span } = openTraced(caller, service, method, opts);
  const unwatch = watch(call, opts.signal);
  let failure: unknown;
  try {
    await call.write(request);
    call.end();
    yield* responses(call);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    unwatch();
    endCallSpan(span, failure);
  }
}

/** A stream of requests, one response. */
export async function clientStreamCall(
  caller: Caller,
  service: string,
  method: string,
  requests: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: CallOptions = {},
): Promise<UnaryResult> {
  const { call, span } = openTraced(caller, service, method, opts);
  const unwatch = watch(call, opts.signal);
  let failure: unknown;
  try {
    void sendAll(call, requests);
    return await single(call);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    unwatch();
    endCallSpan(span, failure);
  }
}

/** Streams both ways; requests are sent concurrently with reading responses. */
export async function* bidiStreamCall(
  caller: Caller,
  service: string,
  method: string,
  requests: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: CallOptions = {},
): AsyncGenerator<Uint8Array> {
  const { call, span } = openTraced(caller, service, method, opts);
  const unwatch = watch(call, opts.signal);
  let failure: unknown;
  try {
    void sendAll(call, requests);
    yield* responses(call);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    unwatch();
    endCallSpan(span, failure);
  }
}
