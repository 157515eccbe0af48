/**
 * The call abstraction every part of the bridge speaks: a {@linkcode BridgeCall} is one gRPC call as its caller
 * sees it (write request messages, half-close, cancel; read response events), and a {@linkcode CallTarget} opens
 * them. In-process handlers, HTTP/2 upstreams and remote bridges over QUIC are targets; the HTTP/2 ingress, the
 * QUIC server side and the in-process client API are callers. Messages are opaque bytes throughout.
 *
 * @module
 */

import type { CallHead, CallStatus, Metadata } from "./frame_payloads.ts";

/** What a caller reads: optional response metadata, messages, then exactly one status (last). */
export type ResponseEvent =
  | { readonly type: "head"; readonly metadata: Metadata }
  | { readonly type: "message"; readonly data: Uint8Array }
  | {
    readonly type: "status";
    readonly status: CallStatus;
    /**
     * The call failed underneath (connection lost, stream cut) rather than by an application status: the request
     * may or may not have been processed, so only idempotent calls are retried.
     */
    readonly transportFailure?: boolean;
  };

/** One call, from the caller's side. */
export interface BridgeCall {
  /** Sends one request message; resolves when the transport accepted it (backpressure). */
  write(data: Uint8Array): Promise<void>;
  /** No more request messages. */
  end(): void;
  /** Abandons the call; the status event becomes `code` (default CANCELLED) unless it already ended. */
  cancel(code?: number, message?: string): void;
  /** The next response event; after the status event, the status again. */
  next(): Promise<ResponseEvent>;
}

/** Opens calls on one instance (or one remote bridge). */
export interface CallTarget {
  /** Starts a call; failures to reach the target surface as a status event, never as a throw. */
  open(head: CallHead): BridgeCall;
}

/** A status helper. */
export function status(
  code: number,
  message: string,
  options: { readonly metadata?: Metadata; readonly notProcessed?: boolean } = {},
): CallStatus {
  return { code, message, metadata: options.metadata ?? [], notProcessed: options.notProcessed ?? false };
}

/** A call that already failed (e.g. no instance): yields only its status. */
export function failedCall(s: CallStatus, transportFailure = false): BridgeCall {
  const event: ResponseEvent = { type: "status", status: s, transportFailure };
  return {
    write: () => Promise.resolve(),
    end: () => {},
    cancel: () => {},
    next: () => Promise.resolve(event),
  };
}
