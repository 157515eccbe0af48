/**
 * The client side of a call over QUIC (Deno adapter): a {@linkcode CallMachine} driven by one bidirectional
 * stream of an authenticated connection to a peer bridge, exposed as a {@linkcode BridgeCall}.
 *
 * @module
 */

import type { QuicConnection } from "../transport/mod.ts";
import { AsyncQueue } from "./_async_queue.ts";
import { StreamIo } from "./_frame_stream.ts";
import { type BridgeCall, type ResponseEvent, status } from "./call.ts";
import { type CallLimits, CallMachine } from "./call_machine.ts";
import { BridgeError, GrpcStatus, StreamErrorCode } from "./errors.ts";
import type { CallHead } from "./frame_payloads.ts";

/** Opens a call on a connection that is (or will be) authenticated. Connect failures become a status event. */
export function openQuicCall(
  connection: Promise<QuicConnection>,
  head: CallHead,
  limits: Partial<CallLimits> = {},
): BridgeCall {
  return new QuicCall(connection, head, limits);
}

class QuicCall implements BridgeCall {
  readonly #machine: CallMachine;
  readonly #events = new AsyncQueue<ResponseEvent>(16);
  readonly #ready: Promise<StreamIo | undefined>;
  #io: StreamIo | undefined;
  #final: ResponseEvent | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(connection: Promise<QuicConnection>, head: CallHead, limits: Partial<CallLimits>) {
    this.#machine = new CallMachine("client", limits);
    this.#ready = this.#open(connection, head);
  }

  async #open(connection: Promise<QuicConnection>, head: CallHead): Promise<StreamIo | undefined> {
    let stream: Deno.QuicBidirectionalStream;
    try {
      const conn = await connection;
      stream = await conn.openBidi();
    } catch (error) {
      // The request never left this bridge: safe to try another instance.
      const e = error instanceof BridgeError ? error : undefined;
      this.#deliverFinal({
        type: "status",
        status: status(
          e?.code === GrpcStatus.PERMISSION_DENIED || e?.code === GrpcStatus.UNAUTHENTICATED
            ? e.code
            : GrpcStatus.UNAVAILABLE,
          `Cannot reach peer bridge: ${error instanceof Error ? error.message : String(error)}`,
          { notProcessed: true },
        ),
        transportFailure: true,
      });
      return undefined;
    }
    if (this.#final) {
      stream.writable.close().catch(() => {});
      stream.readable.cancel().catch(() => {});
      return undefined;
    }
    const io = new StreamIo(stream);
    this.#io = io;
    this.#machine.sendHead(head, performance.now());
    this.#arm();
    void this.#flush();
    void this.#readLoop(io);
    return io;
  }

  async #readLoop(io: StreamIo): Promise<void> {
    try {
      while (!this.#machine.done) {
        const chunk = await io.read();
        if (chunk === null) this.#machine.handleEnd(performance.now());
        else this.#machine.handleBytes(chunk, performance.now());
        await this.#pump();
        if (chunk === null) break;
      }
    } catch (error) {
      this.#machine.handleAbort(
        error instanceof BridgeError
          ? error
          : new BridgeError(GrpcStatus.UNAVAILABLE, String(error), { retryable: true }),
      );
      await this.#pump();
    }
  }

  /** Moves machine events to the caller's queue; awaiting the queue pauses reading (backpressure). */
  async #pump(): Promise<void> {
    for (let e = this.#machine.pollEvent(); e; e = this.#machine.pollEvent()) {
      switch (e.type) {
        case "response_head":
          await this.#events.push({ type: "head", metadata: e.metadata });
          break;
        case "message":
          await this.#events.push({ type: "message", data: e.data });
          break;
        case "status":
          this.#deliverFinal({ type: "status", status: e.status });
          break;
        case "error": {
          const transport = e.error.streamError === StreamErrorCode.TRUNCATED ||
            e.error.reason === "connection_lost";
          this.#deliverFinal({
            type: "status",
            status: status(e.error.code, e.error.message),
            transportFailure: transport,
          });
          break;
        }
        default:
          break;
      }
    }
    await this.#flush();
  }

  #deliverFinal(ev: ResponseEvent): void {
    if (this.#final) return;
    this.#final = ev;
    clearTimeout(this.#timer);
    void this.#events.push(ev);
    this.#events.close();
    const io = this.#io;
    if (io) {
      void this.#flush().then(() => io.fin());
      io.stopReading();
    }
  }

  #arm(): void {
    const at = this.#machine.pollTimeout();
    if (at === undefined) return;
    this.#timer = setTimeout(() => {
      // Timers can fire a hair before performance.now() reaches `at`: the deadline has passed regardless.
      this.#machine.handleTimeout(Math.max(performance.now(), at));
      void this.#pump();
    }, Math.max(0, at - performance.now()));
  }

  #flush(): Promise<void> {
    return this.#io?.write(this.#machine.pollTransmit()) ?? Promise.resolve();
  }

  async write(data: Uint8Array): Promise<void> {
    const io = await this.#ready;
    if (io && this.#machine.sendMessage(data)) await this.#flush();
  }

  end(): void {
    void this.#ready.then((io) => {
      if (io && this.#machine.halfClose()) void this.#flush();
    });
  }

  cancel(code: number = GrpcStatus.CANCELLED, message = "Cancelled"): void {
    if (this.#final) return;
    if (this.#io) {
      this.#machine.cancel(code, message);
      void this.#pump();
    } else {
      this.#deliverFinal({ type: "status", status: status(code, message, { notProcessed: true }) });
    }
  }

  async next(): Promise<ResponseEvent> {
    const r = await this.#events.next();
    if (!r.done) return r.value;
    return this.#final ??
      { type: "status", status: status(GrpcStatus.INTERNAL, "Call ended without status") };
  }
}
