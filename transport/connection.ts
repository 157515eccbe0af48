/**
 * `QuicConnection`: a `Deno.QuicConn` with the transport's limits applied, handed to server handlers and
 * returned by the client pool.
 *
 * It accepts and opens streams (counting accepted streams against a stream-open budget), builds message readers
 * and writers that enforce the message size and stall limits, and closes the whole connection with the matching
 * close code when the peer breaks one: Deno cannot reset a single stream with an error code, so a connection
 * close is the only way to tell the peer why.
 *
 * @module
 */

import { abortPromise, raceTimeout } from "./_deadline.ts";
import { CloseCode, type CloseCodeName, closeCodeName, type ErrorSource, TransportError } from "./errors.ts";
import { maxPrefixedLength, type PrefixSize } from "./framing.ts";
import { TokenBucket } from "./rate_limit.ts";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_STALL_TIMEOUT_MS,
  MessagePartReader,
  MessageReader,
  type MessageReaderOptions,
  type MessageStream,
  MessageWriter,
  type MessageWriterOptions,
  readAll,
  type StreamHooks,
} from "./stream.ts";
import type { Role, TransportMetrics } from "./transport_metrics.ts";

/** Options of the per-connection message helpers. */
export interface MessageOptions {
  /** Length prefix size: 2 (DoQ) or 4 bytes. Defaults to 4. */
  readonly prefix?: PrefixSize;
  /** Lower the connection's message limit for this stream. */
  readonly maxMessageBytes?: number;
  /** Noun for error messages, e.g. `"DoQ message"`. */
  readonly name?: string;
}

/** Per-connection limits. */
export interface ConnectionLimits {
  /** Largest message read or written through the connection's message helpers. Default 1 MiB. */
  readonly maxMessageBytes: number;
  /** Milliseconds without progress inside a message before the connection is closed with STALLED. Default 10 s. */
  readonly stallTimeoutMs: number;
  /** Streams the peer may open in a burst before the refill rate applies. Default 1,000. */
  readonly streamBurst: number;
  /** Streams per second the peer may open on average. Default 1,000. */
  readonly streamsPerSecond: number;
}

/** Defaults of {@linkcode ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  stallTimeoutMs: DEFAULT_STALL_TIMEOUT_MS,
  streamBurst: 1000,
  streamsPerSecond: 1000,
};

/**
 * Maps our close codes onto a protocol's own registry (e.g. DoQ, HTTP/3). Codes not listed are sent as they are.
 */
export type CloseCodeMap = Partial<Record<CloseCodeName, number>>;

/** How a connection ended. */
export interface ConnectionCloseInfo {
  /** The application close code, as sent (after mapping). `undefined` when the transport ended it (e.g. idle). */
  readonly closeCode: number | undefined;
  /** The reason text. */
  readonly reason: string;
  /** `"local"`: we closed it; `"peer"`: the peer did; `"transport"`: idle timeout or a transport error. */
  readonly initiator: "local" | "peer" | "transport";
}

/** Options of {@linkcode QuicConnection}. */
export interface QuicConnectionOptions {
  /** Which end we are. */
  readonly role: Role;
  /** Limits; missing keys take {@linkcode DEFAULT_CONNECTION_LIMITS}. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Metrics to record into. */
  readonly metrics?: TransportMetrics;
  /** Close code mapping for this connection's protocol. */
  readonly closeCodes?: CloseCodeMap;
  /** Clock in milliseconds, for the stream budget. Defaults to `performance.now`. */
  readonly now?: () => number;
}

let nextId = 1;

/**
 * The abort reason of a connection's signal. A shared plain value: `abort()` without one builds a DOMException
 * with a stack trace, which showed up in handshake profiles.
 */
const STOPPED = Object.freeze({ name: "ConnectionStopped" });

/**
 * A QUIC connection with limits. Server handlers receive one per accepted connection; the client pool returns
 * them too.
 */
export class QuicConnection {
  /** Process-unique id, for logs. */
  readonly id: number = nextId++;
  /** The underlying Deno connection. Streams taken from it directly bypass the limits and metrics. */
  readonly raw: Deno.QuicConn;
  /** Which end we are. */
  readonly role: Role;
  /** The negotiated ALPN protocol. */
  readonly alpn: string;
  /** The limits in force. */
  readonly limits: ConnectionLimits;
  /** Resolves once the connection is closed, whoever closed it. Never rejects. */
  readonly closed: Promise<ConnectionCloseInfo>;

  readonly #metrics: TransportMetrics | undefined;
  readonly #closeCodes: CloseCodeMap;
  readonly #budget: TokenBucket;
  readonly #now: () => number;
  readonly #drain: AbortController = new AbortController();
  #bidiReader: ReadableStreamDefaultReader<Deno.QuicBidirectionalStream> | undefined;
  #uniReader: ReadableStreamDefaultReader<Deno.QuicReceiveStream> | undefined;
  #localClose: { closeCode: number; reason: string } | undefined;
  #closeInfo: ConnectionCloseInfo | undefined;

  /** Wraps an established connection. */
  constructor(raw: Deno.QuicConn, options: QuicConnectionOptions) {
    this.raw = raw;
    this.role = options.role;
    this.alpn = raw.protocol ?? "";
    this.limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
    this.#metrics = options.metrics;
    this.#closeCodes = options.closeCodes ?? {};
    this.#now = options.now ?? (() => performance.now());
    this.#budget = new TokenBucket(
      { capacity: this.limits.streamBurst, refillPerSecond: this.limits.streamsPerSecond },
      this.#now(),
    );
    this.#metrics?.connectionsOpen.inc(1, { role: this.role });
    this.closed = raw.closed.then(
      (info): ConnectionCloseInfo =>
        this.#localClose
          ? { ...this.#localClose, initiator: "local" }
          : { closeCode: info.closeCode, reason: info.reason, initiator: "peer" },
      (error: unknown): ConnectionCloseInfo =>
        this.#localClose ? { ...this.#localClose, initiator: "local" } : {
          closeCode: undefined,
          reason: error instanceof Error ? error.message : String(error),
          initiator: "transport",
        },
    ).then((info) => {
      this.#closeInfo = info;
      this.#metrics?.connectionsOpen.dec(1, { role: this.role });
      if (!this.#drain.signal.aborted) this.#drain.abort(STOPPED);
      return info;
    });
  }

  /** The peer's UDP address. */
  get remoteAddr(): Deno.NetAddr {
    return this.raw.remoteAddr;
  }

  /** The server name the client asked for (server side only). */
  get serverName(): string | undefined {
    return this.raw.serverName;
  }

  /** Aborted when the connection closes or its server starts draining; long-running handlers watch it. */
  get signal(): AbortSignal {
    return this.#drain.signal;
  }

  /**
   * Starts draining: `acceptBidi()`/`acceptUni()` return `null` from now on and {@linkcode QuicConnection.signal}
   * aborts, so handlers finish their current work and return. The server calls it on every connection when it
   * starts draining. (A per-connection method rather than a listener on a server-wide signal: 30,000 listeners on
   * one AbortSignal made each new connection cost O(n).)
   */
  drain(): void {
    if (!this.#drain.signal.aborted) this.#drain.abort(STOPPED);
  }

  /** True once closed (by either side). */
  get isClosed(): boolean {
    return this.#localClose !== undefined || this.#closeInfo !== undefined;
  }

  /** How it ended, once closed. */
  get closeInfo(): ConnectionCloseInfo | undefined {
    return this.#closeInfo;
  }

  /** The largest datagram payload the path allows now (0 when the peer does not accept datagrams). */
  get maxDatagramSize(): number {
    return this.raw.maxDatagramSize;
  }

  /**
   * Waits for the peer's next bidirectional stream; `null` when the connection closed or is draining. Each
   * accepted stream spends one token of the stream budget; a peer over budget gets the connection closed with
   * `STREAM_LIMIT`.
   */
  async acceptBidi(): Promise<Deno.QuicBidirectionalStream | null> {
    this.#bidiReader ??= this.raw.incomingBidirectionalStreams.getReader();
    const stream = await this.#nextIncoming(this.#bidiReader);
    if (stream) this.#metrics?.streamsAccepted.inc(1, { role: this.role, kind: "bidi" });
    return stream;
  }

  /** Waits for the peer's next unidirectional stream; `null` when closed or draining. Budgeted like bidi. */
  async acceptUni(): Promise<Deno.QuicReceiveStream | null> {
    this.#uniReader ??= this.raw.incomingUnidirectionalStreams.getReader();
    const stream = await this.#nextIncoming(this.#uniReader);
    if (stream) this.#metrics?.streamsAccepted.inc(1, { role: this.role, kind: "uni" });
    return stream;
  }

  /**
   * Opens a bidirectional stream. With `wait` (default true) it waits for stream credit when the peer's
   * concurrent-stream limit is reached; without, it throws `STREAM_LIMIT`.
   */
  async openBidi(options: { readonly wait?: boolean } = {}): Promise<Deno.QuicBidirectionalStream> {
    try {
      const s = await this.raw.createBidirectionalStream({ waitUntilAvailable: options.wait ?? true });
      this.#metrics?.streamsOpened.inc(1, { role: this.role, kind: "bidi" });
      return s;
    } catch (error) {
      throw this.#openError(error);
    }
  }

  /** Opens a unidirectional stream; `wait` as in {@linkcode QuicConnection.openBidi}. */
  async openUni(options: { readonly wait?: boolean } = {}): Promise<Deno.QuicSendStream> {
    try {
      const s = await this.raw.createUnidirectionalStream({ waitUntilAvailable: options.wait ?? true });
      this.#metrics?.streamsOpened.inc(1, { role: this.role, kind: "uni" });
      return s;
    } catch (error) {
      throw this.#openError(error);
    }
  }

  /**
   * Length-prefixed message reader and writer over a bidirectional stream, with this connection's limits: a
   * peer that sends an oversized or malformed message, or stalls inside one, gets the connection closed with
   * `MESSAGE_TOO_LARGE`, `PROTOCOL_ERROR` or `STALLED`.
   */
  messages(
    stream: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> },
    options: MessageOptions = {},
  ): MessageStream {
    return { reader: this.reader(stream.readable, options), writer: this.writer(stream.writable, options) };
  }

  /** A {@linkcode MessageReader} with this connection's limits (see {@linkcode QuicConnection.messages}). */
  reader(readable: ReadableStream<Uint8Array>, options: MessageOptions = {}): MessageReader {
    const metrics = this.#metrics;
    const role = { role: this.role };
    return new MessageReader(readable, {
      ...this.#messageOptions(options),
      ...(metrics ? { onBytes: (n: number) => metrics.bytesIn.inc(n, role) } : {}),
    });
  }

  /**
   * A {@linkcode MessagePartReader} with this connection's limits: large messages as zero-copy parts, for
   * consumers that process bytes as they arrive.
   */
  partReader(readable: ReadableStream<Uint8Array>, options: MessageOptions = {}): MessagePartReader {
    const metrics = this.#metrics;
    const role = { role: this.role };
    return new MessagePartReader(readable, {
      ...this.#messageOptions(options),
      ...(metrics ? { onBytes: (n: number) => metrics.bytesIn.inc(n, role) } : {}),
    });
  }

  /** A {@linkcode MessageWriter} with this connection's limits; a peer that stops reading gets `STALLED`. */
  writer(writable: WritableStream<Uint8Array>, options: MessageOptions = {}): MessageWriter {
    const metrics = this.#metrics;
    const role = { role: this.role };
    return new MessageWriter(writable, {
      ...this.#messageOptions(options),
      ...(metrics ? { onBytes: (n: number) => metrics.bytesOut.inc(n, role) } : {}),
    });
  }

  /**
   * Reads a whole stream (e.g. a unidirectional request), bounded by `maxBytes` (default: the message limit)
   * and `timeoutMs` (default: the stall timeout); violations close the connection.
   */
  readAll(
    readable: ReadableStream<Uint8Array>,
    options: { readonly maxBytes?: number; readonly timeoutMs?: number } = {},
  ): Promise<Uint8Array> {
    const metrics = this.#metrics;
    const role = { role: this.role };
    return readAll(readable, {
      ...this.#hooks(),
      ...(metrics ? { onBytes: (n: number) => metrics.bytesIn.inc(n, role) } : {}),
      maxBytes: options.maxBytes ?? this.limits.maxMessageBytes,
      timeoutMs: options.timeoutMs ?? this.limits.stallTimeoutMs,
    });
  }

  /**
   * Accepts bidirectional streams until the connection closes or drains, running `handler` for each in its own
   * task, then waits for the running ones. A handler error closes the connection: a {@linkcode TransportError}
   * with its code, anything else with `INTERNAL_ERROR`.
   */
  async forEachBidi(handler: (stream: Deno.QuicBidirectionalStream) => Promise<void>): Promise<void> {
    const running = new Set<Promise<void>>();
    while (true) {
      const stream = await this.acceptBidi();
      if (!stream) break;
      const task = handler(stream).catch((error: unknown) => this.#closeForError(error));
      running.add(task);
      task.finally(() => running.delete(task));
    }
    await Promise.all(running);
  }

  /** Sends a datagram (RFC 9221); throws RangeError when larger than {@linkcode maxDatagramSize}. */
  async sendDatagram(data: Uint8Array): Promise<void> {
    const max = this.raw.maxDatagramSize;
    if (data.length > max) {
      throw new RangeError(`Cannot send datagram: length ${data.length} exceeds ${max}`);
    }
    try {
      await this.raw.sendDatagram(data);
    } catch (error) {
      throw this.#closeError() ??
        new TransportError(CloseCode.CLOSED, "Cannot send datagram: connection closed", { cause: error });
    }
    this.#metrics?.bytesOut.inc(data.length, { role: this.role });
  }

  /** The next datagram, or `null` once the connection is closed. */
  async readDatagram(): Promise<Uint8Array | null> {
    try {
      const d = await this.raw.readDatagram();
      this.#metrics?.bytesIn.inc(d.length, { role: this.role });
      return d;
    } catch {
      return null;
    }
  }

  /**
   * Closes the connection with a close code (default `NO_ERROR`), mapped through the protocol's code map. A
   * {@linkcode TransportError} supplies its code and reason. Later calls do nothing.
   */
  close(error?: TransportError | number, reason = ""): void {
    if (this.#localClose || this.#closeInfo) return;
    const code = error instanceof TransportError ? error.code : error ?? CloseCode.NO_ERROR;
    const text = error instanceof TransportError ? error.reason : reason;
    const name = closeCodeName(code) as CloseCodeName;
    const wire = this.#closeCodes[name] ?? code;
    this.#localClose = { closeCode: wire, reason: text };
    if (!this.#drain.signal.aborted) this.#drain.abort(STOPPED);
    try {
      this.raw.close({ closeCode: wire, reason: text });
    } catch {
      // Already closed underneath (e.g. idle timeout raced us).
    }
  }

  /** The close as an error, once the connection is closed (for failed reads and writes). */
  closeError(): TransportError | undefined {
    return this.#closeError();
  }

  // -------------------------------------------------------------------------------------------------------------

  async #nextIncoming<T>(reader: ReadableStreamDefaultReader<T>): Promise<T | null> {
    if (this.isClosed || this.#drain.signal.aborted) return null;
    const { promise: drained, dispose } = abortPromise(this.#drain.signal);
    const read = reader.read();
    let result: ReadableStreamReadResult<T> | undefined;
    try {
      result = await Promise.race([read, drained.then(() => undefined)]);
    } catch {
      return null; // the connection closed
    } finally {
      dispose();
    }
    if (result === undefined) {
      read.catch(() => {}); // resolves or fails when the connection closes
      return null;
    }
    if (result.done) return null;
    // Stream-open budget: a peer that opens streams without limit is cut off.
    if (!this.#budget.take(this.#now())) {
      this.#violation(
        new TransportError(
          CloseCode.STREAM_LIMIT,
          `Cannot accept stream: more than ${this.limits.streamBurst} streams opened at over ` +
            `${this.limits.streamsPerSecond}/s`,
          { source: this.#peer() },
        ),
      );
      return null;
    }
    return result.value;
  }

  #messageOptions(options: MessageOptions): MessageReaderOptions & MessageWriterOptions {
    const prefix = options.prefix ?? 4;
    // A stream may lower the connection's limit, never raise it.
    const max = Math.min(
      options.maxMessageBytes ?? Infinity,
      this.limits.maxMessageBytes,
      maxPrefixedLength(prefix),
    );
    return {
      ...this.#hooks(),
      prefix,
      maxMessageBytes: max,
      stallTimeoutMs: this.limits.stallTimeoutMs,
      ...(options.name === undefined ? {} : { name: options.name }),
    };
  }

  #hooks(): StreamHooks {
    return {
      peer: this.#peer(),
      onViolation: (error) => this.#violation(error),
      closeError: async () => {
        // A stream fails a moment before `closed` settles; give it a little time to learn the peer's code.
        if (!this.isClosed) await raceTimeout(this.closed, 250);
        return this.#closeError();
      },
    };
  }

  #violation(error: TransportError): void {
    if (this.isClosed) return;
    this.#metrics?.limitViolations.inc(1, { code: closeCodeName(error.code) });
    this.close(error);
  }

  #closeForError(error: unknown): void {
    if (this.isClosed) return;
    if (error instanceof TransportError) {
      // Errors that merely report that the connection is gone need no close of their own.
      if (error.code === CloseCode.CLOSED) return this.close(CloseCode.NO_ERROR);
      return this.#violation(error);
    }
    this.close(
      new TransportError(CloseCode.INTERNAL_ERROR, "Internal error", { cause: error, source: "internal" }),
    );
  }

  #closeError(): TransportError | undefined {
    if (this.#localClose) {
      const { closeCode, reason } = this.#localClose;
      return new TransportError(
        CloseCode.CLOSED,
        `Connection closed locally with ${closeCodeName(closeCode)}`,
        {
          reason,
          source: "internal",
        },
      );
    }
    const info = this.#closeInfo;
    if (!info) return undefined;
    if (info.closeCode === undefined) {
      return new TransportError(CloseCode.CLOSED, `Connection lost: ${info.reason}`, {
        source: this.#peer(),
      });
    }
    return new TransportError(
      info.closeCode,
      `Connection closed by peer with ${closeCodeName(info.closeCode)}${
        info.reason ? `: ${info.reason}` : ""
      }`,
      { reason: info.reason, source: this.#peer() },
    );
  }

  #openError(error: unknown): TransportError {
    const closed = this.#closeError();
    if (closed) return closed;
    if (error instanceof RangeError) {
      return new TransportError(CloseCode.STREAM_LIMIT, "Cannot open stream: peer's stream limit reached", {
        cause: error,
        source: "internal",
        retryable: true,
      });
    }
    return new TransportError(CloseCode.CLOSED, "Cannot open stream: connection failed", {
      cause: error,
      source: this.#peer(),
    });
  }

  #peer(): ErrorSource {
    return this.role === "server" ? "downstream" : "upstream";
  }
}
