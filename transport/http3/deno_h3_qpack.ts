/**
 * Deno adapter: one HTTP/3 connection's QPACK plumbing, shared by the server and the client. It owns the writers
 * of our QPACK encoder and decoder streams, flushes what the sans-IO {@linkcode QpackEncoder} and
 * {@linkcode QpackDecoder} have to say, gives each request stream a {@linkcode H3MessageReader} bound to the
 * connection's dynamic table, and parks a request stream whose field section waits for inserts until the peer's
 * encoder stream brings them (or the stream or connection ends).
 *
 * @module
 */
import type { HeaderField } from "../http/fields.ts";
import { encodeVarintFrame } from "../mod.ts";
import { H3Error, H3ErrorCode, H3FrameType } from "./h3_frame.ts";
import { type H3MessageEvent, H3MessageReader, type H3MessageReaderOptions } from "./h3_message.ts";
import type { H3Session } from "./h3_session.ts";

/** The QPACK side of one connection (see the module doc). */
export class H3QpackLink {
  readonly session: H3Session;
  readonly #encoder: WritableStreamDefaultWriter<Uint8Array>;
  readonly #decoder: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiting = new Map<number, () => void>();
  readonly #cancelled = new Set<number>();
  #closed = false;

  constructor(
    session: H3Session,
    encoder: WritableStreamDefaultWriter<Uint8Array>,
    decoder: WritableStreamDefaultWriter<Uint8Array>,
  ) {
    this.session = session;
    this.#encoder = encoder;
    this.#decoder = decoder;
  }

  /** Writes what our decoder has to tell the peer (Section Acknowledgments, Insert Count Increments, cancels). */
  flushDecoder(): void {
    const bytes = this.session.decoder.takeDecoderStream();
    if (bytes.length > 0 && !this.#closed) this.#decoder.write(bytes).catch(() => {});
  }

  /** Inserts arrived: wakes the request streams they unblock (from the uni stream reader's `unblocked` event). */
  unblocked(streams: readonly number[]): void {
    for (const id of streams) {
      this.#waiting.get(id)?.();
      this.#waiting.delete(id);
    }
    this.flushDecoder();
  }

  /** A reader for request stream `streamId` that decodes with the connection's table. */
  reader(
    streamId: number,
    options: Omit<H3MessageReaderOptions, "decode" | "maxFieldSectionSize">,
  ): H3MessageReader {
    return new H3MessageReader({
      ...options,
      maxFieldSectionSize: this.session.maxFieldSectionSize,
      decode: (section) => {
        const fields = this.session.decoder.decodeSection(streamId, section);
        if (fields !== undefined) this.flushDecoder();
        return fields;
      },
    });
  }

  /**
   * Feeds a chunk (or the stream's end, `null`) to `reader`; when a field section is blocked, waits for the inserts
   * and resumes. Rejects when the connection closes first.
   */
  async feed(streamId: number, reader: H3MessageReader, chunk: Uint8Array | null): Promise<H3MessageEvent[]> {
    const out = chunk === null ? reader.finish() : reader.push(chunk);
    while (reader.blocked) {
      if (this.#closed || this.#cancelled.has(streamId)) {
        throw new H3Error(H3ErrorCode.H3_REQUEST_CANCELLED, "gave up waiting for QPACK inserts", true);
      }
      await new Promise<void>((resolve) => this.#waiting.set(streamId, resolve));
      out.push(...reader.resume());
    }
    return out;
  }

  /** The stream ended early (reset, abandoned): tell the peer's encoder, stop waiting for it. */
  cancel(streamId: number, reader: H3MessageReader): void {
    if (reader.done) return;
    if (reader.blocked) {
      this.#cancelled.add(streamId);
      this.#waiting.get(streamId)?.();
      this.#waiting.delete(streamId);
    }
    this.session.decoder.cancelStream(streamId, reader.usedDynamicTable || reader.blocked);
    this.flushDecoder();
  }

  /** A HEADERS frame for `fields` on `streamId`, our encoder-stream instructions written first. */
  headersFrame(streamId: number, fields: readonly HeaderField[]): Uint8Array {
    const section = this.session.encoder.encodeSection(streamId, fields);
    const instructions = this.session.encoder.takeEncoderStream();
    if (instructions.length > 0 && !this.#closed) this.#encoder.write(instructions).catch(() => {});
    return encodeVarintFrame(H3FrameType.HEADERS, section);
  }

  /** The connection is gone: every parked stream fails. */
  close(): void {
    this.#closed = true;
    for (const wake of this.#waiting.values()) wake();
    this.#waiting.clear();
  }
}
