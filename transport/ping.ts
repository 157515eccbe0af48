/**
 * `ghost-ping/1`: the transport's diagnostic protocol, used by benchmarks and as the supervisor's liveness probe.
 *
 * Wire format: on each client-initiated bidirectional stream the client sends messages, each a 4-byte big-endian
 * length followed by that many bytes (at most {@linkcode PING_MAX_MESSAGE_BYTES}); the server writes every
 * message back unchanged, in order, and finishes its side when the client finishes its own. Oversized or stalled
 * messages close the connection with `MESSAGE_TOO_LARGE` or `STALLED`.
 *
 * @module
 */
import { equalBytes } from "../core/mod.ts";

import type { QuicConnection } from "./connection.ts";
import { CloseCode, TransportError } from "./errors.ts";
import type { ConnectionHandler } from "./server.ts";
import type { MessageReader, MessageStream, MessageWriter } from "./stream.ts";
import { raceTimeout, TIMED_OUT } from "./_deadline.ts";

/** The ALPN protocol id. */
export const PING_ALPN = "ghost-ping/1";

/** Largest ping message: 1 MiB. */
export const PING_MAX_MESSAGE_BYTES = 1 << 20;

/** Options of {@linkcode pingHandler}. */
export interface PingHandlerOptions {
  /** Largest message echoed; at most {@linkcode PING_MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
}

/** The server side: echoes every message of every bidirectional stream until the connection closes or drains. */
export function pingHandler(options: PingHandlerOptions = {}): ConnectionHandler {
  const max = Math.min(options.maxMessageBytes ?? PING_MAX_MESSAGE_BYTES, PING_MAX_MESSAGE_BYTES);
  return (conn) =>
    conn.forEachBidi(async (stream) => {
      const { reader, writer } = conn.messages(stream, {
        prefix: 4,
        maxMessageBytes: max,
        name: "ping message",
      });
      for await (const message of reader) await writer.write(message);
      await writer.close();
    });
}

/** Result of {@linkcode ping}. */
export interface PingResult {
  /** Round-trip time in milliseconds, stream opening included. */
  readonly rttMs: number;
  /** The echoed bytes. */
  readonly payload: Uint8Array;
}

/**
 * Sends one message on a new stream and waits for its echo.
 *
 * @throws {TransportError} `TIMEOUT` after `timeoutMs` (default 5,000), `PROTOCOL_ERROR` when the echo differs,
 *   or the connection's close error
 */
export async function ping(
  conn: QuicConnection,
  payload: Uint8Array = new Uint8Array(0),
  options: { readonly timeoutMs?: number } = {},
): Promise<PingResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 5000;
  let streams: MessageStream | undefined;
  const work = (async () => {
    const stream = await conn.openBidi();
    streams = conn.messages(stream, { prefix: 4, maxMessageBytes: PING_MAX_MESSAGE_BYTES });
    await streams.writer.write(payload);
    await streams.writer.close();
    const echo = await streams.reader.read();
    await streams.reader.cancel();
    return echo;
  })();
  const echo = await raceTimeout(work, timeoutMs);
  if (echo === TIMED_OUT) {
    streams?.reader.cancel().catch(() => {});
    streams?.writer.abort().catch(() => {});
    throw new TransportError(CloseCode.TIMEOUT, `Cannot ping: no echo within ${timeoutMs} ms`, {
      source: "upstream",
    });
  }
  const rttMs = performance.now() - started;
  if (echo === null || !equalBytes(echo, payload)) {
    throw new TransportError(CloseCode.PROTOCOL_ERROR, "Cannot ping: echo differs from payload", {
      source: "upstream",
    });
  }
  return { rttMs, payload: echo };
}

/**
 * A long-lived ping stream: many round trips on one bidirectional stream (no stream setup per ping).
 *
 * @example
 * ```ts
 * const session = await PingStream.open(conn);
 * const echo = await session.ping(new Uint8Array(32));
 * await session.close();
 * ```
 */
export class PingStream {
  readonly #reader: MessageReader;
  readonly #writer: MessageWriter;

  private constructor(reader: MessageReader, writer: MessageWriter) {
    this.#reader = reader;
    this.#writer = writer;
  }

  /** Opens a stream on `conn`. */
  static async open(conn: QuicConnection): Promise<PingStream> {
    const stream = await conn.openBidi();
    const { reader, writer } = conn.messages(stream, { prefix: 4, maxMessageBytes: PING_MAX_MESSAGE_BYTES });
    return new PingStream(reader, writer);
  }

  /**
   * One round trip: writes `payload`, returns the echo.
   *
   * @throws {TransportError} `PROTOCOL_ERROR` when the stream ends without an echo, or the connection's error
   */
  async ping(payload: Uint8Array): Promise<Uint8Array> {
    await this.#writer.write(payload);
    const echo = await this.#reader.read();
    if (echo === null) {
      throw new TransportError(CloseCode.PROTOCOL_ERROR, "Cannot ping: stream ended without an echo", {
        source: "upstream",
      });
    }
    return echo;
  }

  /** Finishes the stream and waits for the server to finish its side. */
  async close(): Promise<void> {
    await this.#writer.close();
    while ((await this.#reader.read()) !== null) {
      // drain echoes still in flight
    }
  }
}
