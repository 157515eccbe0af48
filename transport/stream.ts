/**
 * Stream adapter: length-prefixed messages over QUIC streams (or any Web stream of bytes), with a bounded
 * message size, a stall timeout for a peer that stops in the middle of a message, and backpressure (every write
 * waits for the stream to accept it; nothing is buffered without bound).
 *
 * `MessageReader` and `MessageWriter` take `ReadableStream<Uint8Array>` / `WritableStream<Uint8Array>`, so
 * `Deno.QuicReceiveStream` / `Deno.QuicSendStream` fit, and so do in-memory streams in tests.
 *
 * @module
 */

import { deadlines, raceTimeout, TIMED_OUT } from "./_deadline.ts";
import { Watchdog } from "./_watchdog.ts";
import { CloseCode, type ErrorSource, TransportError } from "./errors.ts";
import {
  LengthPrefixedDecoder,
  lengthPrefixFormat,
  maxPrefixedLength,
  type PrefixSize,
  StreamingFrameDecoder,
  writeLengthPrefix,
} from "./framing.ts";

/** Default largest message: 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;

/** Default stall timeout: 10 s without progress in the middle of a message. */
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/** Hooks that connect a reader or writer to its connection (limit enforcement and metrics). */
export interface StreamHooks {
  /** Called with an error caused by the peer (malformed, oversized or stalled input) before it is thrown. */
  readonly onViolation?: (error: TransportError) => void;
  /** Called with the payload byte count of each message read or written. */
  readonly onBytes?: (bytes: number) => void;
  /** Gives the connection's close error when the stream failed because the connection closed. */
  readonly closeError?: () => Promise<TransportError | undefined>;
  /** Who the other end is, for error `source`. Defaults to `"downstream"`. */
  readonly peer?: ErrorSource;
}

/** Options of {@linkcode MessageReader}. */
export interface MessageReaderOptions extends StreamHooks {
  /** Length prefix size: 2 (DoQ) or 4 bytes. Defaults to 4. */
  readonly prefix?: PrefixSize;
  /** Largest message accepted. Defaults to 1 MiB (65,535 with a 2-byte prefix). */
  readonly maxMessageBytes?: number;
  /** Milliseconds without progress allowed inside a message; 0 disables. Defaults to 10,000. */
  readonly stallTimeoutMs?: number;
  /** Milliseconds allowed to wait for the first byte of the next message; 0 (default) waits forever. */
  readonly idleTimeoutMs?: number;
  /** Noun for error messages. Defaults to `"message"`. */
  readonly name?: string;
}

/**
 * Reads a stream's chunks. A byte stream (every Deno socket and QUIC stream) is read into buffers of ours, sized
 * to what the reads return: from 4 KiB, doubled after a read that fills one, up to 64 KiB, and halved after one
 * that uses less than a quarter. The default reader of a byte stream allocates 64 KiB for every read, also for a
 * read that brings a 40-byte message or only the end of the stream. Each read gets a fresh buffer, so the chunks
 * (and the messages a decoder returns as views into them) are never overwritten.
 */
class ChunkSource {
  readonly #byob: ReadableStreamBYOBReader | undefined;
  readonly #chunks: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #size = 4096;

  constructor(readable: ReadableStream<Uint8Array>) {
    try {
      this.#byob = readable.getReader({ mode: "byob" });
    } catch {
      this.#chunks = readable.getReader(); // not a byte stream
    }
  }

  /** The next chunk, or null at the end of the stream. */
  async read(): Promise<Uint8Array | null> {
    const byob = this.#byob;
    if (byob === undefined) {
      const r = await (this.#chunks as ReadableStreamDefaultReader<Uint8Array>).read();
      return r.done ? null : r.value;
    }
    const size = this.#size;
    const r = await byob.read(new Uint8Array(size));
    if (r.done || r.value === undefined) return null;
    const n = r.value.length;
    if (n === size) this.#size = Math.min(size * 2, 65536);
    else if (n < size / 4) this.#size = Math.max(size / 2, 4096);
    return r.value;
  }

  cancel(reason?: unknown): Promise<void> {
    return (this.#byob ?? this.#chunks as ReadableStreamDefaultReader<Uint8Array>).cancel(reason);
  }
}

/** What {@linkcode FramedReader} needs from a push decoder. */
interface ItemDecoder<T> {
  push(chunk: Uint8Array): T[];
  finish(): void;
  readonly pending: boolean;
  readonly bufferedBytes: number;
}

/**
 * The read loop shared by {@linkcode MessageReader} and {@linkcode MessagePartReader}: pulls chunks, feeds a push
 * decoder, applies the stall watchdog inside a message and the optional idle timeout between messages, and maps
 * stream failures to the connection's close error.
 */
class FramedReader<T> {
  readonly #reader: ChunkSource;
  readonly #decoder: ItemDecoder<T>;
  readonly #queue: T[] = [];
  readonly #stallMs: number;
  readonly #idleMs: number;
  readonly #hooks: StreamHooks;
  readonly #name: string;
  readonly #stall: Watchdog;
  readonly #size: (item: T) => number;
  #head = 0;
  #done = false;

  constructor(
    readable: ReadableStream<Uint8Array>,
    decoder: ItemDecoder<T>,
    size: (item: T) => number,
    options: MessageReaderOptions,
  ) {
    this.#name = options.name ?? "message";
    this.#decoder = decoder;
    this.#size = size;
    this.#stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#stall = new Watchdog(this.#stallMs);
    this.#idleMs = options.idleTimeoutMs ?? 0;
    this.#hooks = options;
    this.#reader = new ChunkSource(readable);
  }

  async read(): Promise<T | null> {
    while (true) {
      if (this.#head < this.#queue.length) {
        const item = this.#queue[this.#head++] as T;
        if (this.#head === this.#queue.length) {
          this.#queue.length = 0;
          this.#head = 0;
        }
        this.#hooks.onBytes?.(this.#size(item));
        return item;
      }
      if (this.#done) return null;
      const pending = this.#decoder.pending;
      const ms = pending ? this.#stallMs : this.#idleMs;
      let result: Uint8Array | null | typeof TIMED_OUT;
      try {
        // Inside a message the stall watchdog applies; between messages only the optional idle timeout.
        result = pending
          ? await this.#stall.watch(this.#reader.read())
          : await raceTimeout(this.#reader.read(), ms);
      } catch (error) {
        this.#done = true;
        this.#stall.stop();
        throw (await this.#hooks.closeError?.()) ??
          new TransportError(CloseCode.CLOSED, `Cannot read ${this.#name}: stream failed`, {
            cause: error,
            source: this.#hooks.peer ?? "downstream",
          });
      }
      if (result === TIMED_OUT) {
        const error = pending
          ? new TransportError(
            CloseCode.STALLED,
            `Cannot read ${this.#name}: peer stalled for ${ms} ms with ${this.#decoder.bufferedBytes} bytes buffered`,
            { source: this.#hooks.peer ?? "downstream" },
          )
          : new TransportError(CloseCode.TIMEOUT, `Cannot read ${this.#name}: peer idle for ${ms} ms`, {
            source: this.#hooks.peer ?? "downstream",
          });
        throw this.#fail(error);
      }
      if (result === null) {
        this.#done = true;
        this.#stall.stop();
        try {
          this.#decoder.finish();
        } catch (error) {
          throw this.#fail(error as TransportError);
        }
        continue;
      }
      try {
        for (const item of this.#decoder.push(result)) this.#queue.push(item);
      } catch (error) {
        throw this.#fail(error as TransportError);
      }
    }
  }

  async cancel(reason?: unknown): Promise<void> {
    this.#done = true;
    this.#stall.stop();
    await this.#reader.cancel(reason).catch(() => {});
  }

  #fail(error: TransportError): TransportError {
    this.#done = true;
    this.#stall.stop();
    this.#reader.cancel().catch(() => {});
    this.#hooks.onViolation?.(error);
    return error;
  }
}

/**
 * Reads length-prefixed messages from a byte stream, each as one contiguous `Uint8Array`.
 *
 * @example
 * ```ts
 * const reader = new MessageReader(stream.readable, { prefix: 4, maxMessageBytes: 65536, stallTimeoutMs: 5000 });
 * for await (const message of reader) console.log(message.length);
 * ```
 */
export class MessageReader implements AsyncIterable<Uint8Array> {
  readonly #inner: FramedReader<Uint8Array>;

  /** Locks `readable` and reads messages from it. */
  constructor(readable: ReadableStream<Uint8Array>, options: MessageReaderOptions = {}) {
    const prefix = options.prefix ?? 4;
    const max = options.maxMessageBytes ?? Math.min(DEFAULT_MAX_MESSAGE_BYTES, maxPrefixedLength(prefix));
    const decoder = new LengthPrefixedDecoder({
      prefix,
      maxMessageBytes: max,
      name: options.name ?? "message",
    });
    this.#inner = new FramedReader(readable, decoder, (m) => m.length, options);
  }

  /**
   * The next message, or `null` at a clean end of stream.
   *
   * @throws {TransportError} `MESSAGE_TOO_LARGE`, `PROTOCOL_ERROR` (malformed, or the stream ended inside a
   *   message), `STALLED` (no progress inside a message), `TIMEOUT` (idle), or the connection's close error
   */
  read(): Promise<Uint8Array | null> {
    return this.#inner.read();
  }

  /** Stops reading: cancels the stream (QUIC STOP_SENDING with code 0 in Deno) and releases it. */
  cancel(reason?: unknown): Promise<void> {
    return this.#inner.cancel(reason);
  }

  /** Iterates messages until the end of the stream. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (true) {
      const m = await this.read();
      if (m === null) return;
      yield m;
    }
  }
}

/** A piece of a message, as received; see {@linkcode MessagePartReader}. */
export interface MessagePart {
  /** The message's length, from its prefix. */
  readonly messageLength: number;
  /** Where `bytes` starts within the message. */
  readonly offset: number;
  /** The bytes: a view into the received chunk (not copied). */
  readonly bytes: Uint8Array;
  /** True on the message's last part (a 0-byte message is one part with empty `bytes`). */
  readonly last: boolean;
}

/**
 * Reads length-prefixed messages as parts, without assembling them: for large messages (bulk transfers, file
 * uploads, HTTP/3 DATA) that the consumer processes as they arrive. No body bytes are buffered or copied; limits
 * and stall detection are those of {@linkcode MessageReader}.
 *
 * @example
 * ```ts
 * const parts = new MessagePartReader(stream.readable, { prefix: 4, maxMessageBytes: 1 << 30 });
 * for await (const part of parts) await file.write(part.bytes);
 * ```
 */
export class MessagePartReader implements AsyncIterable<MessagePart> {
  readonly #inner: FramedReader<MessagePart>;

  /** Locks `readable` and reads message parts from it. */
  constructor(readable: ReadableStream<Uint8Array>, options: MessageReaderOptions = {}) {
    const prefix = options.prefix ?? 4;
    const max = options.maxMessageBytes ?? Math.min(DEFAULT_MAX_MESSAGE_BYTES, maxPrefixedLength(prefix));
    checkPrefixLimit(prefix, max);
    const frames = new StreamingFrameDecoder(lengthPrefixFormat(prefix, options.name ?? "message"), {
      maxBodyLength: max,
    });
    let length = 0;
    let offset = 0;
    const decoder: ItemDecoder<MessagePart> = {
      push(chunk) {
        const parts: MessagePart[] = [];
        for (const e of frames.push(chunk)) {
          if (e.kind === "header") {
            length = e.bodyLength;
            offset = 0;
            if (length === 0) parts.push({ messageLength: 0, offset: 0, bytes: EMPTY, last: true });
          } else if (e.kind === "body") {
            parts.push({
              messageLength: length,
              offset,
              bytes: e.bytes,
              last: offset + e.bytes.length === length,
            });
            offset += e.bytes.length;
          }
        }
        return parts;
      },
      finish: () => frames.finish(),
      get pending() {
        return frames.pending;
      },
      get bufferedBytes() {
        return frames.bufferedBytes + frames.bodyReceived;
      },
    };
    this.#inner = new FramedReader(readable, decoder, (p) => p.bytes.length, options);
  }

  /**
   * The next part, or `null` at a clean end of stream.
   *
   * @throws {TransportError} as {@linkcode MessageReader.read}
   */
  read(): Promise<MessagePart | null> {
    return this.#inner.read();
  }

  /** Stops reading: cancels the stream and releases it. */
  cancel(reason?: unknown): Promise<void> {
    return this.#inner.cancel(reason);
  }

  /** Iterates parts until the end of the stream. */
  async *[Symbol.asyncIterator](): AsyncIterator<MessagePart> {
    while (true) {
      const p = await this.read();
      if (p === null) return;
      yield p;
    }
  }
}

const EMPTY = new Uint8Array(0);

function checkPrefixLimit(prefix: PrefixSize, max: number): void {
  if (!Number.isInteger(max) || max < 0 || max > maxPrefixedLength(prefix)) {
    throw new RangeError(
      `Cannot use maxMessageBytes ${max}: a ${prefix}-byte prefix allows 0..${maxPrefixedLength(prefix)}`,
    );
  }
}

/** Options of {@linkcode MessageWriter}. */
export interface MessageWriterOptions extends StreamHooks {
  /** Length prefix size: 2 (DoQ) or 4 bytes. Defaults to 4. */
  readonly prefix?: PrefixSize;
  /** Largest message we send. Defaults to 1 MiB (65,535 with a 2-byte prefix). */
  readonly maxMessageBytes?: number;
  /**
   * Milliseconds one write may wait for the peer to take the bytes (flow control); 0 disables. Defaults to
   * 10,000.
   */
  readonly stallTimeoutMs?: number;
  /** Noun for error messages. Defaults to `"message"`. */
  readonly name?: string;
}

/** Payloads up to this size are copied behind their prefix and sent as one chunk; larger ones go as two. */
const COALESCE_LIMIT = 16 * 1024;

/** {@linkcode readAll}'s first buffer; it doubles as needed, up to the limit plus one byte. */
const FIRST_READ_BYTES = 2048;

/**
 * First buffers of finished {@linkcode readAll} calls, for the next ones. A 2 KiB `ArrayBuffer` lives outside
 * V8's heap and cost ~1.5 us to allocate (and later to free), more than the rest of a DoQ query's read; a
 * result up to 64 bytes copied out of a pooled buffer stays on the heap and costs a few nanoseconds.
 */
const readBuffers: ArrayBuffer[] = [];
const MAX_POOLED_READ_BUFFERS = 64;

/**
 * Writes length-prefixed messages to a byte stream, one write at a time: each `write()` resolves when the
 * stream accepted the bytes, which is the backpressure.
 *
 * @example
 * ```ts
 * const writer = new MessageWriter(stream.writable, { prefix: 4 });
 * await writer.write(new TextEncoder().encode("hello"));
 * await writer.close();
 * ```
 */
export class MessageWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #prefix: PrefixSize;
  readonly #max: number;
  readonly #stallMs: number;
  readonly #hooks: StreamHooks;
  readonly #name: string;
  readonly #stall: Watchdog;
  #failed: TransportError | undefined;

  /** Locks `writable` and writes messages to it. */
  constructor(writable: WritableStream<Uint8Array>, options: MessageWriterOptions = {}) {
    this.#prefix = options.prefix ?? 4;
    this.#max = options.maxMessageBytes ??
      Math.min(DEFAULT_MAX_MESSAGE_BYTES, maxPrefixedLength(this.#prefix));
    if (this.#max > maxPrefixedLength(this.#prefix)) {
      throw new RangeError(`Cannot write messages of ${this.#max} bytes with a ${this.#prefix}-byte prefix`);
    }
    this.#stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#stall = new Watchdog(this.#stallMs);
    this.#hooks = options;
    this.#name = options.name ?? "message";
    this.#writer = writable.getWriter();
  }

  /**
   * Sends one message; resolves once the stream accepted it.
   *
   * @throws {TransportError} `MESSAGE_TOO_LARGE` (source internal; nothing is sent), `STALLED` when the peer does
   *   not take the bytes in time, or the connection's close error
   */
  async write(payload: Uint8Array): Promise<void> {
    if (this.#failed) throw this.#failed;
    if (payload.length > this.#max) {
      throw new TransportError(
        CloseCode.MESSAGE_TOO_LARGE,
        `Cannot write ${this.#name}: length ${payload.length} exceeds ${this.#max}`,
        { source: "internal" },
      );
    }
    if (payload.length <= COALESCE_LIMIT) {
      const frame = new Uint8Array(this.#prefix + payload.length);
      writeLengthPrefix(payload.length, this.#prefix, frame, 0);
      frame.set(payload, this.#prefix);
      await this.#write(frame);
    } else {
      const header = new Uint8Array(this.#prefix);
      writeLengthPrefix(payload.length, this.#prefix, header, 0);
      await this.#write(header);
      await this.#write(payload);
    }
    this.#hooks.onBytes?.(payload.length);
  }

  /** Finishes the stream (QUIC FIN) after the queued writes. */
  async close(): Promise<void> {
    this.#stall.stop();
    if (this.#failed) return;
    try {
      await this.#writer.close();
    } catch (error) {
      throw await this.#closedError(error);
    }
  }

  /**
   * Abandons the stream. Deno cannot send RESET_STREAM with a code: the peer sees a FIN, so signal errors with a
   * connection close instead.
   */
  async abort(reason?: unknown): Promise<void> {
    this.#stall.stop();
    await this.#writer.abort(reason).catch(() => {});
  }

  async #write(chunk: Uint8Array): Promise<void> {
    let result: void | typeof TIMED_OUT;
    try {
      // `ready` resolves when the stream's queue has room; the write promise when the bytes were taken.
      const writer = this.#writer;
      result = await this.#stall.watch(writer.ready.then(() => writer.write(chunk)));
    } catch (error) {
      this.#stall.stop();
      this.#failed = await this.#closedError(error);
      throw this.#failed;
    }
    if (result === TIMED_OUT) {
      this.#stall.stop();
      this.#failed = new TransportError(
        CloseCode.STALLED,
        `Cannot write ${this.#name}: peer took no bytes for ${this.#stallMs} ms`,
        { source: this.#hooks.peer ?? "downstream" },
      );
      this.#writer.abort().catch(() => {});
      this.#hooks.onViolation?.(this.#failed);
      throw this.#failed;
    }
  }

  async #closedError(error: unknown): Promise<TransportError> {
    return (await this.#hooks.closeError?.()) ??
      new TransportError(CloseCode.CLOSED, `Cannot write ${this.#name}: stream closed`, {
        cause: error,
        source: this.#hooks.peer ?? "downstream",
      });
  }
}

/** Options of {@linkcode readAll}. */
export interface ReadAllOptions extends StreamHooks {
  /** Largest total accepted; more is `MESSAGE_TOO_LARGE`. */
  readonly maxBytes: number;
  /** Deadline for the whole stream in milliseconds; 0 disables. */
  readonly timeoutMs: number;
}

/**
 * Reads a stream to its end (e.g. a request on a unidirectional stream), bounded in size and time. Allocates
 * only for bytes received, never from a length the peer claims.
 *
 * @throws {TransportError} `MESSAGE_TOO_LARGE`, `TIMEOUT`, or the connection's close error
 */
export async function readAll(
  readable: ReadableStream<Uint8Array>,
  options: ReadAllOptions,
): Promise<Uint8Array> {
  // A byte stream (every Deno socket and QUIC stream) is read into a buffer of ours. The default reader of a
  // byte stream allocates a 64 KiB chunk for every read, also for the read that only finds the end: 128 KiB
  // for a 40-byte DoQ query.
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = readable.getReader({ mode: "byob" });
  } catch {
    byob = undefined; // not a byte stream: read its chunks
  }
  const chunked = byob === undefined ? readable.getReader() : undefined;
  const reader: { cancel(): Promise<void> } = byob ?? chunked ?? readable;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const first = Math.min(FIRST_READ_BYTES, options.maxBytes + 1);
  let buf: Uint8Array = byob === undefined
    ? EMPTY
    : first === FIRST_READ_BYTES
    ? new Uint8Array(readBuffers.pop() ?? new ArrayBuffer(first))
    : new Uint8Array(first);
  const fail = (error: TransportError): TransportError => {
    reader.cancel().catch(() => {});
    options.onViolation?.(error);
    return error;
  };
  // One deadline for the whole stream (not a timer per read): it cancels the reader, which ends the pending
  // read.
  let timedOut = false;
  const deadline = options.timeoutMs > 0
    ? deadlines.add(options.timeoutMs, () => {
      timedOut = true;
      reader.cancel().catch(() => {});
    })
    : undefined;
  const timeoutError = (): TransportError =>
    new TransportError(CloseCode.TIMEOUT, `Cannot read stream: not finished within ${options.timeoutMs} ms`, {
      source: options.peer ?? "downstream",
    });
  try {
    while (true) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        if (byob === undefined) {
          result = await (chunked as ReadableStreamDefaultReader<Uint8Array>).read();
        } else {
          if (total === buf.length) {
            // Full and not yet over the limit (the buffer holds at most maxBytes + 1): grow.
            const bigger = new Uint8Array(Math.min(buf.length * 2, options.maxBytes + 1));
            bigger.set(buf);
            buf = bigger;
          }
          // The view's buffer is transferred to the stream and comes back with the result.
          result = await byob.read(new Uint8Array(buf.buffer, total, buf.length - total));
          // No view back means the stream was cancelled and kept our buffer: not a clean end.
          if (result.value === undefined) throw new TypeError("stream cancelled");
          buf = new Uint8Array(result.value.buffer);
        }
      } catch (error) {
        if (timedOut) throw fail(timeoutError());
        throw (await options.closeError?.()) ??
          new TransportError(CloseCode.CLOSED, "Cannot read stream: stream failed", {
            cause: error,
            source: options.peer ?? "downstream",
          });
      }
      if (result.done) {
        if (timedOut) throw fail(timeoutError());
        break;
      }
      total += result.value.length;
      if (total > options.maxBytes) {
        throw fail(
          new TransportError(
            CloseCode.MESSAGE_TOO_LARGE,
            `Cannot read stream: length ${total} exceeds ${options.maxBytes}`,
            { source: options.peer ?? "downstream" },
          ),
        );
      }
      if (byob === undefined) chunks.push(result.value);
    }
  } finally {
    if (deadline !== undefined) deadlines.cancel(deadline);
  }
  // The stream is finished: its reader is not released (releasing one makes a TypeError for its closed
  // promise, which cost 9% of a DoQ server's thread in a profile).
  options.onBytes?.(total);
  if (byob !== undefined) {
    if (buf.byteLength !== FIRST_READ_BYTES) return buf.subarray(0, total);
    // Still the first buffer (it came back from the stream with the last read): copy out, keep the buffer.
    const out = buf.slice(0, total);
    if (readBuffers.length < MAX_POOLED_READ_BUFFERS) readBuffers.push(buf.buffer as ArrayBuffer);
    return out;
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** A bidirectional stream's two directions as message reader and writer. */
export interface MessageStream {
  /** Messages from the peer. */
  readonly reader: MessageReader;
  /** Messages to the peer. */
  readonly writer: MessageWriter;
}

/** Wraps both directions of a bidirectional stream with the same options. */
export function messageStream(
  stream: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> },
  options: MessageReaderOptions & MessageWriterOptions = {},
): MessageStream {
  return {
    reader: new MessageReader(stream.readable, options),
    writer: new MessageWriter(stream.writable, options),
  };
}
