/**
 * In-process gRPC handlers: TypeScript functions that serve a service's methods through the bridge, with
 * messages as bytes. Build a method with {@linkcode unary}, {@linkcode serverStream}, {@linkcode clientStream}
 * or {@linkcode bidiStream}; a service is a record of method name to method.
 *
 * @module
 */

import type { Metadata } from "./frame_payloads.ts";

/** What a handler gets besides its messages. */
export interface HandlerContext {
  /** The full method path, `/package.Service/Method`. */
  readonly path: string;
  /** Request metadata. */
  readonly metadata: Metadata;
  /** Aborted when the caller cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** The deadline in `Date.now()` milliseconds, when the caller set one. */
  readonly deadline: number | undefined;
  /** Sends response metadata now (otherwise it goes out, empty, with the first message or the status). */
  sendHeader(metadata: Metadata): void;
  /** Sets trailing metadata sent with the status. */
  setTrailer(metadata: Metadata): void;
}

/** A unary method. */
export type UnaryFn = (request: Uint8Array, ctx: HandlerContext) => Uint8Array | Promise<Uint8Array>;
/** A server-streaming method. */
export type ServerStreamFn = (request: Uint8Array, ctx: HandlerContext) => AsyncIterable<Uint8Array>;
/** A client-streaming method. */
export type ClientStreamFn = (
  requests: AsyncIterable<Uint8Array>,
  ctx: HandlerContext,
) => Uint8Array | Promise<Uint8Array>;
/** A bidirectional-streaming method. */
export type BidiStreamFn = (
  requests: AsyncIterable<Uint8Array>,
  ctx: HandlerContext,
) => AsyncIterable<Uint8Array>;

/** One method with its kind. */
export type MethodHandler =
  | { readonly kind: "unary"; readonly fn: UnaryFn }
  | { readonly kind: "server_stream"; readonly fn: ServerStreamFn }
  | { readonly kind: "client_stream"; readonly fn: ClientStreamFn }
  | { readonly kind: "bidi_stream"; readonly fn: BidiStreamFn };

/** Method name (the part after the last `/`) to handler. */
export type ServiceHandlers = Readonly<Record<string, MethodHandler>>;

/** A unary method. */
export function unary(fn: UnaryFn): MethodHandler {
  return { kind: "unary", fn };
}

/** A server-streaming method. */
export function serverStream(fn: ServerStreamFn): MethodHandler {
  return { kind: "server_stream", fn };
}

/** A client-streaming method. */
export function clientStream(fn: ClientStreamFn): MethodHandler {
  return { kind: "client_stream", fn };
}

/** A bidirectional-streaming method. */
export function bidiStream(fn: BidiStreamFn): MethodHandler {
  return { kind: "bidi_stream", fn };
}
