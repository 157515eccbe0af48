import { concatBytes } from "../core/mod.ts";
// Private Deno adapter: one QUIC bidirectional stream as bytes in and frames out, with in-band endings (Deno
// cannot reset a stream with a code: `fin()` closes our side, `stopReading()` sends STOP_SENDING 0).

import { BridgeError, GrpcStatus } from "./errors.ts";
import { type Frame, FrameDecoder, type FrameLimits } from "./frame_codec.ts";

/** Reads and writes one stream; never throws from write/fin/stop (a dead stream is recorded instead). */
export class StreamIo {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #writing: Promise<void> = Promise.resolve();
  #queue: Uint8Array[] = [];
  #flushQueued = false;
  #writeFailed = false;
  #finished = false;
  #stopped = false;

  constructor(
    stream: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> },
  ) {
    this.#reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
  }

  /** True once a write failed (the peer sent STOP_SENDING or the connection closed). */
  get writeFailed(): boolean {
    return this.#writeFailed;
  }

  /** The next chunk, or `null` at the end; read errors (connection lost) are thrown as UNAVAILABLE. */
  async read(): Promise<Uint8Array | null> {
    try {
      const r = await this.#reader.read();
      return r.done ? null : r.value;
    } catch (error) {
      if (this.#stopped) return null;
      throw new BridgeError(GrpcStatus.UNAVAILABLE, "Stream failed: connection lost", {
        cause: error,
        reason: "connection_lost",
        retryable: true,
      });
    }
  }

  /**
   * Queues a write after the previous ones; resolves when QUIC accepted it (flow control = backpressure).
   * Frames queued before the previous write completes go out together as one write (a call's GRPC_REQUEST,
   * MESSAGE and HALF_CLOSE, or a reply's MESSAGE and STATUS, become one QUIC write instead of three).
   */
  write(bytes: Uint8Array | undefined): Promise<void> {
    if (bytes === undefined || bytes.length === 0 || this.#writeFailed || this.#finished) {
      return this.#writing;
    }
    this.#queue.push(bytes);
    if (this.#flushQueued) return this.#writing;
    this.#flushQueued = true;
    this.#writing = this.#writing.then(async () => {
      this.#flushQueued = false;
      const parts = this.#queue;
      this.#queue = [];
      if (this.#writeFailed || parts.length === 0) return;
      try {
        await this.#writer.write(parts.length === 1 ? parts[0] as Uint8Array : concatBytes(...parts));
      } catch {
        this.#writeFailed = true;
      }
    });
    return this.#writing;
  }

  /** Closes our sending side (FIN) after queued writes. */
  fin(): Promise<void> {
    if (this.#finished) return this.#writing;
    this.#finished = true;
    this.#writing = this.#writing.then(async () => {
      try {
        await this.#writer.close();
      } catch {
        this.#writeFailed = true;
      }
    });
    return this.#writing;
  }

  /** Stops reading (STOP_SENDING 0); pending reads end. */
  stopReading(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reader.cancel().catch(() => {});
  }
}

/** Reads whole frames from a {@linkcode StreamIo}, with a decoder holding `initial` bytes already read. */
export class FrameReader {
  readonly #io: StreamIo;
  readonly #decoder: FrameDecoder;
  readonly #ready: Frame[] = [];

  constructor(io: StreamIo, limits: FrameLimits, initial: readonly Uint8Array[] = []) {
    this.#io = io;
    this.#decoder = new FrameDecoder(limits);
    for (const c of initial) this.#ready.push(...this.#copy(this.#decoder.push(c)));
  }

  /** The next frame, or `null` at a clean end. Throws the bridge's decode error or UNAVAILABLE. */
  async next(): Promise<Frame | null> {
    while (this.#ready.length === 0) {
      const chunk = await this.#io.read();
      if (chunk === null) {
        this.#decoder.finish();
        return null;
      }
      this.#ready.push(...this.#copy(this.#decoder.push(chunk)));
    }
    return this.#ready.shift() ?? null;
  }

  #copy(frames: Frame[]): Frame[] {
    return frames.map((f) => ({ type: f.type, payload: f.payload.slice() }));
  }
}

/** Resolves with `p`, or rejects with DEADLINE_EXCEEDED after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BridgeError(GrpcStatus.DEADLINE_EXCEEDED, `${what}: no answer within ${ms} ms`, {
            retryable: true,
          }),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
