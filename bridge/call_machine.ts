/**
 * The sans-IO state machine of one call on one QUIC bidirectional stream, for either end. Bytes from the peer go
 * in through {@linkcode CallMachine.handleBytes} / {@linkcode CallMachine.handleEnd}, local actions through the
 * `send*` methods, time through {@linkcode CallMachine.handleTimeout}; frames to write come out of
 * {@linkcode CallMachine.pollTransmit}, application events out of {@linkcode CallMachine.pollEvent}, the next
 * deadline out of {@linkcode CallMachine.pollTimeout}. No awaits, no clock reads, no sockets.
 *
 * Call order on the wire (README "Call streams"): the client sends GRPC_REQUEST, then MESSAGE frames, then
 * HALF_CLOSE (or CANCEL at any time); the server sends GRPC_RESPONSE, MESSAGE frames, then STATUS. STREAM_ERROR
 * may end the stream in either direction. Deno cannot reset a QUIC stream with a code, so every ending is in band.
 *
 * @module
 */

import {
  BridgeError,
  decodeError,
  GrpcStatus,
  StreamErrorCode,
  streamErrorName,
  streamErrorStatus,
} from "./errors.ts";
import {
  DEFAULT_FRAME_LIMITS,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  type FrameLimits,
  FrameType,
  frameTypeName,
  MAX_FRAME_PAYLOAD,
  writeFrameHeader,
} from "./frame_codec.ts";
import {
  type CallHead,
  type CallStatus,
  decodeCallHead,
  decodeCancel,
  decodeMessageStart,
  decodeResponseHead,
  decodeStatus,
  decodeStreamError,
  encodeCallHead,
  encodeCancel,
  encodeResponseHead,
  encodeStatus,
  encodeStreamError,
  type Metadata,
} from "./frame_payloads.ts";

/** Largest gRPC message by default: 4 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Limits of a call. */
export interface CallLimits extends FrameLimits {
  /** Largest gRPC message accepted from the peer. Default 4 MiB. */
  readonly maxMessageBytes: number;
}

/** Defaults of {@linkcode CallLimits}. */
export const DEFAULT_CALL_LIMITS: CallLimits = {
  ...DEFAULT_FRAME_LIMITS,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
};

/** What the application learns from the peer. `status`, `cancelled` and `error` end the call. */
export type CallEvent =
  | { readonly type: "head"; readonly head: CallHead }
  | { readonly type: "response_head"; readonly metadata: Metadata }
  | { readonly type: "message"; readonly data: Uint8Array }
  | { readonly type: "half_close" }
  | { readonly type: "status"; readonly status: CallStatus }
  | { readonly type: "cancelled"; readonly code: number; readonly message: string }
  | { readonly type: "error"; readonly error: BridgeError };

/** Which end of the stream: the client opened it and sends the request. */
export type CallRole = "client" | "server";

type Phase = "await_head" | "open" | "done";

const EMPTY = new Uint8Array(0);

/**
 * One call's state machine.
 *
 * @example
 * ```ts
 * const client = new CallMachine("client");
 * const server = new CallMachine("server");
 * client.sendHead({ path: "/s.S/M", timeoutMs: 0, idempotent: false, instance: "", metadata: [] }, 0);
 * client.sendMessage(new Uint8Array([1]));
 * client.halfClose();
 * server.handleBytes(client.pollTransmit() ?? new Uint8Array(0), 0);
 * server.pollEvent(); // { type: "head", ... }
 * ```
 */
export class CallMachine {
  /** Which end this is. */
  readonly role: CallRole;
  readonly #limits: CallLimits;
  readonly #decoder: FrameDecoder;
  readonly #out: Uint8Array[] = [];
  #outBytes = 0;
  readonly #events: CallEvent[] = [];
  // Receive side.
  #recvPhase: Phase;
  #gotResponseHead = false;
  #peerHalfClosed = false;
  #partial: Uint8Array | undefined;
  #partialFill = 0;
  // Send side.
  #sentHead = false;
  #sentHalfClose = false;
  #sentResponseHead = false;
  #deadline: number | undefined;
  #done = false;
  #responseBytesSeen = false;

  /** Creates the machine for one end of a new stream. */
  constructor(role: CallRole, limits: Partial<CallLimits> = {}) {
    this.role = role;
    this.#limits = { ...DEFAULT_CALL_LIMITS, ...limits };
    this.#decoder = new FrameDecoder(this.#limits);
    this.#recvPhase = role === "server" ? "await_head" : "open";
  }

  /** True once the call ended (status, cancel or error, sent or received). The adapter then FINs its side. */
  get done(): boolean {
    return this.#done;
  }

  /** True once any response frame (headers, message or status) arrived: after that a call is never retried. */
  get responseStarted(): boolean {
    return this.#responseBytesSeen;
  }

  /** True once GRPC_REQUEST was queued. */
  get headSent(): boolean {
    return this.#sentHead;
  }

  /** Bytes queued for transmission. */
  get pendingBytes(): number {
    return this.#outBytes;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Output

  /** All queued frames as one buffer, or `undefined` when nothing is queued. */
  pollTransmit(): Uint8Array | undefined {
    if (this.#out.length === 0) return undefined;
    const first = this.#out[0];
    let out: Uint8Array;
    if (this.#out.length === 1 && first !== undefined) {
      out = first;
    } else {
      out = new Uint8Array(this.#outBytes);
      let off = 0;
      for (const b of this.#out) {
        out.set(b, off);
        off += b.length;
      }
    }
    this.#out.length = 0;
    this.#outBytes = 0;
    return out;
  }

  /** The next event for the application. */
  pollEvent(): CallEvent | undefined {
    return this.#events.shift();
  }

  /** The deadline (same clock as `now`), when the call has one and is not done. */
  pollTimeout(): number | undefined {
    return this.#done ? undefined : this.#deadline;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Local actions

  /** Client: opens the call. A non-zero `timeoutMs` sets the deadline at `now + timeoutMs`. */
  sendHead(head: CallHead, now: number): void {
    this.#expectRole("client", "send GRPC_REQUEST");
    if (this.#sentHead) throw new TypeError("Cannot send GRPC_REQUEST: already sent");
    this.#sentHead = true;
    if (head.timeoutMs > 0) this.#deadline = now + head.timeoutMs;
    this.#queue(FrameType.GRPC_REQUEST, encodeCallHead(head));
  }

  /** Server: sends the response's initial metadata (implied by the first message or status when not sent). */
  sendResponseHead(metadata: Metadata = []): boolean {
    this.#expectRole("server", "send GRPC_RESPONSE");
    if (this.#done || this.#sentResponseHead) return false;
    this.#sentResponseHead = true;
    this.#queue(FrameType.GRPC_RESPONSE, encodeResponseHead({ metadata }));
    return true;
  }

  /** Sends one gRPC message, split into MESSAGE + MESSAGE_CONTINUATION frames. False when the call is over. */
  sendMessage(data: Uint8Array): boolean {
    if (this.#done) return false;
    if (this.role === "client") {
      if (!this.#sentHead) throw new TypeError("Cannot send message: GRPC_REQUEST not sent");
      if (this.#sentHalfClose) return false;
    } else if (!this.#sentResponseHead) {
      this.sendResponseHead([]);
    }
    if (data.length > 0xffff_ffff) {
      throw new RangeError(`Cannot send message: length ${data.length} exceeds 2^32-1`);
    }
    // README: every receiver accepts MESSAGE frames of up to 65,535 payload bytes.
    const firstChunk = Math.min(data.length, MAX_FRAME_PAYLOAD - 4);
    const frames = 1 + Math.ceil((data.length - firstChunk) / MAX_FRAME_PAYLOAD);
    const out = new Uint8Array(frames * FRAME_HEADER_BYTES + 4 + data.length);
    writeFrameHeader(out, 0, FrameType.MESSAGE, 4 + firstChunk);
    new DataView(out.buffer).setUint32(FRAME_HEADER_BYTES, data.length);
    out.set(data.subarray(0, firstChunk), FRAME_HEADER_BYTES + 4);
    let off = FRAME_HEADER_BYTES + 4 + firstChunk;
    for (let at = firstChunk; at < data.length; at += MAX_FRAME_PAYLOAD) {
      const chunk = data.subarray(at, Math.min(data.length, at + MAX_FRAME_PAYLOAD));
      writeFrameHeader(out, off, FrameType.MESSAGE_CONTINUATION, chunk.length);
      out.set(chunk, off + FRAME_HEADER_BYTES);
      off += FRAME_HEADER_BYTES + chunk.length;
    }
    this.#push(out);
    return true;
  }

  /** Client: no more request messages. */
  halfClose(): boolean {
    this.#expectRole("client", "half-close");
    if (this.#done || this.#sentHalfClose) return false;
    this.#sentHalfClose = true;
    this.#queue(FrameType.HALF_CLOSE, EMPTY);
    return true;
  }

  /** Client: abandons the call (CANCEL frame); emits a local status with `code`. */
  cancel(code: number = GrpcStatus.CANCELLED, message = "Cancelled"): boolean {
    this.#expectRole("client", "cancel");
    if (this.#done) return false;
    if (this.#sentHead) this.#queue(FrameType.CANCEL, encodeCancel(code));
    this.#finish({ type: "status", status: { code, message, metadata: [], notProcessed: !this.#sentHead } });
    return true;
  }

  /** Server: ends the call with a status and trailing metadata. */
  sendStatus(status: CallStatus): boolean {
    this.#expectRole("server", "send STATUS");
    if (this.#done) return false;
    this.#queue(FrameType.STATUS, encodeStatus(status));
    this.#done = true;
    return true;
  }

  /** Either end: rejects the stream with a stream error code; emits an error event locally. */
  sendStreamError(code: number, message: string): boolean {
    if (this.#done) return false;
    this.#queue(FrameType.STREAM_ERROR, encodeStreamError({ code, message }));
    this.#finish({
      type: "error",
      error: new BridgeError(streamErrorStatus(code), message, { streamError: code, source: "internal" }),
    });
    return true;
  }

  /** The deadline passed: the client cancels with DEADLINE_EXCEEDED; the server reports it and sends the status. */
  handleTimeout(now: number): void {
    if (this.#done || this.#deadline === undefined || now < this.#deadline) return;
    const message = "Deadline exceeded";
    if (this.role === "client") {
      this.cancel(GrpcStatus.DEADLINE_EXCEEDED, message);
    } else {
      this.#queue(
        FrameType.STATUS,
        encodeStatus({ code: GrpcStatus.DEADLINE_EXCEEDED, message, metadata: [], notProcessed: false }),
      );
      this.#finish({ type: "cancelled", code: GrpcStatus.DEADLINE_EXCEEDED, message });
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Peer input

  /** Bytes read from the stream. A protocol violation answers with STREAM_ERROR and ends the call. */
  handleBytes(chunk: Uint8Array, now: number): void {
    if (this.#done) return;
    try {
      for (const frame of this.#decoder.push(chunk)) {
        this.#handleFrame(frame.type, frame.payload, now);
        if (this.#done) return;
      }
    } catch (error) {
      this.#reject(error);
    }
  }

  /** The peer finished its side (FIN). Before its last frame that truncates the call. */
  handleEnd(_now: number): void {
    if (this.#done) return;
    try {
      this.#decoder.finish();
    } catch (error) {
      this.#reject(error);
      return;
    }
    if (this.role === "server") {
      if (this.#recvPhase === "await_head") {
        this.#finish({
          type: "cancelled",
          code: GrpcStatus.CANCELLED,
          message: "Stream ended before GRPC_REQUEST",
        });
      } else if (!this.#peerHalfClosed) {
        // FIN without HALF_CLOSE or CANCEL: the client went away.
        this.#finish({ type: "cancelled", code: GrpcStatus.CANCELLED, message: "Client ended the stream" });
      }
    } else {
      this.#finish({
        type: "error",
        error: new BridgeError(GrpcStatus.UNAVAILABLE, "Stream ended before STATUS", {
          streamError: StreamErrorCode.TRUNCATED,
          source: "upstream",
          retryable: !this.#responseBytesSeen,
        }),
      });
    }
  }

  /** The stream or connection failed underneath (read error, connection closed). */
  handleAbort(error: BridgeError): void {
    if (this.#done) return;
    this.#finish(
      this.role === "client"
        ? { type: "error", error }
        : { type: "cancelled", code: error.code, message: error.message },
    );
  }

  // ---------------------------------------------------------------------------------------------------------------

  #handleFrame(type: number, payload: Uint8Array, now: number): void {
    if (type === FrameType.STREAM_ERROR) {
      const e = decodeStreamError(payload);
      const error = new BridgeError(
        streamErrorStatus(e.code),
        `Peer reset the stream with ${streamErrorName(e.code)}: ${e.message}`,
        { streamError: e.code, source: this.role === "client" ? "upstream" : "downstream" },
      );
      this.#finish(
        this.role === "client" ? { type: "error", error } : {
          type: "cancelled",
          code: error.code,
          message: error.message,
        },
      );
      return;
    }
    if (this.role === "server") this.#serverFrame(type, payload, now);
    else this.#clientFrame(type, payload);
  }

  #serverFrame(type: number, payload: Uint8Array, now: number): void {
    if (this.#recvPhase === "await_head") {
      if (type !== FrameType.GRPC_REQUEST) this.#unexpected(type);
      const head = decodeCallHead(payload);
      this.#recvPhase = "open";
      if (head.timeoutMs > 0) this.#deadline = now + head.timeoutMs;
      this.#events.push({ type: "head", head });
      return;
    }
    switch (type) {
      case FrameType.MESSAGE:
      case FrameType.MESSAGE_CONTINUATION:
        if (this.#peerHalfClosed) this.#unexpected(type);
        this.#messageFrame(type, payload);
        return;
      case FrameType.HALF_CLOSE:
        if (this.#peerHalfClosed || this.#partial) this.#unexpected(type);
        this.#peerHalfClosed = true;
        this.#events.push({ type: "half_close" });
        return;
      case FrameType.CANCEL: {
        const code = decodeCancel(payload);
        this.#finish({
          type: "cancelled",
          code: code === GrpcStatus.DEADLINE_EXCEEDED ? code : GrpcStatus.CANCELLED,
          message: code === GrpcStatus.DEADLINE_EXCEEDED ? "Deadline exceeded" : "Cancelled by client",
        });
        return;
      }
      default:
        this.#unexpected(type);
    }
  }

  #clientFrame(type: number, payload: Uint8Array): void {
    this.#responseBytesSeen = true;
    switch (type) {
      case FrameType.GRPC_RESPONSE:
        if (this.#gotResponseHead) this.#unexpected(type);
        this.#gotResponseHead = true;
        this.#events.push({ type: "response_head", metadata: decodeResponseHead(payload).metadata });
        return;
      case FrameType.MESSAGE:
      case FrameType.MESSAGE_CONTINUATION:
        if (!this.#gotResponseHead) this.#unexpected(type);
        this.#messageFrame(type, payload);
        return;
      case FrameType.STATUS: {
        if (this.#partial) this.#unexpected(type);
        const status = decodeStatus(payload);
        this.#finish({ type: "status", status });
        return;
      }
      default:
        this.#unexpected(type);
    }
  }

  #messageFrame(type: number, payload: Uint8Array): void {
    if (type === FrameType.MESSAGE) {
      if (this.#partial) this.#unexpected(type);
      const m = decodeMessageStart(payload);
      if (m.length > this.#limits.maxMessageBytes) {
        throw decodeError(
          StreamErrorCode.MESSAGE_TOO_LARGE,
          `Cannot receive message: length ${m.length} exceeds ${this.#limits.maxMessageBytes}`,
        );
      }
      if (m.chunk.length === m.length) {
        this.#events.push({ type: "message", data: m.chunk.slice() });
        return;
      }
      // Allocation only after the limit check above.
      this.#partial = new Uint8Array(m.length);
      this.#partial.set(m.chunk);
      this.#partialFill = m.chunk.length;
      return;
    }
    const partial = this.#partial;
    if (!partial) this.#unexpected(type);
    if (payload.length === 0 || payload.length > partial.length - this.#partialFill) {
      throw decodeError(
        StreamErrorCode.MALFORMED_FRAME,
        `Cannot decode MESSAGE_CONTINUATION: ${payload.length} bytes, ${
          partial.length - this.#partialFill
        } expected at most`,
      );
    }
    partial.set(payload, this.#partialFill);
    this.#partialFill += payload.length;
    if (this.#partialFill === partial.length) {
      this.#partial = undefined;
      this.#events.push({ type: "message", data: partial });
    }
  }

  #unexpected(type: number): never {
    throw decodeError(
      StreamErrorCode.UNEXPECTED_FRAME,
      `Cannot accept ${frameTypeName(type)} frame: not allowed here on the ${this.role} side`,
    );
  }

  /** A decode error of peer bytes: tell the peer (STREAM_ERROR) and end the call. */
  #reject(error: unknown): void {
    const e = error instanceof BridgeError ? error : new BridgeError(GrpcStatus.INTERNAL, String(error), {
      cause: error,
      streamError: StreamErrorCode.INTERNAL,
    });
    const code = e.streamError ?? StreamErrorCode.INTERNAL;
    this.#queue(FrameType.STREAM_ERROR, encodeStreamError({ code, message: e.message }));
    this.#finish(
      this.role === "client" ? { type: "error", error: e } : {
        type: "cancelled",
        code: e.code,
        message: e.message,
      },
    );
  }

  #finish(event: CallEvent): void {
    this.#done = true;
    this.#partial = undefined;
    this.#events.push(event);
  }

  #queue(type: number, payload: Uint8Array): void {
    this.#push(encodeFrame(type, payload));
  }

  #push(bytes: Uint8Array): void {
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
  }

  #expectRole(role: CallRole, what: string): void {
    if (this.role !== role) throw new TypeError(`Cannot ${what}: only the ${role} side may`);
  }
}
