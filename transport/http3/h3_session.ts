/**
 * The connection-level half of HTTP/3 (RFC 9114 §6.2, §7; RFC 9204 §4.2), sans-IO: our control stream's first
 * bytes, and a reader for each unidirectional stream the peer opens. The reader learns the stream type, then:
 *
 * - **control** (0x00): SETTINGS first (else H3_MISSING_SETTINGS), then GOAWAY (ids never increase; a client
 *   accepts only client-initiated bidirectional ids) and MAX_PUSH_ID (from a client only); a second control
 *   stream is H3_STREAM_CREATION_ERROR, its end H3_CLOSED_CRITICAL_STREAM.
 * - **QPACK encoder** (0x02) and **decoder** (0x03) streams: the peer's encoder instructions feed our
 *   {@linkcode QpackDecoder} (inserts, capacity, duplicates; blocked request streams it unblocks come back as
 *   `unblocked`), its decoder instructions feed our {@linkcode QpackEncoder} (acknowledgements, cancellations,
 *   insert count increments); a violation is QPACK_ENCODER/DECODER_STREAM_ERROR (RFC 9204 §4.3-§4.4). One of
 *   each; their end is H3_CLOSED_CRITICAL_STREAM.
 * - **push** (0x01): we never send MAX_PUSH_ID, so a push stream is H3_ID_ERROR (client) or
 *   H3_STREAM_CREATION_ERROR (server).
 * - **unknown or reserved** types: `ignore`; the adapter stops reading them (§6.2, §9).
 *
 * @module
 */
import {
  decodeVarintBigInt,
  encodeVarint,
  peekVarint,
  StreamingFrameDecoder,
  TransportError,
  varintFrameFormat,
} from "../mod.ts";
import { concatBytes } from "../../core/mod.ts";
import {
  checkFrameAllowed,
  encodeH3Settings,
  H3Error,
  H3ErrorCode,
  H3FrameType,
  H3Setting,
  parseH3Goaway,
  parseH3Settings,
} from "./h3_frame.ts";
import { QpackError } from "./qpack.ts";
import { QpackDecoder, QpackEncoder } from "./qpack_dynamic.ts";

/** The frames the control stream carries (RFC 9114 §7.2): bounded at 16 KiB each. */
const CONTROL_FRAMES: ReadonlySet<bigint> = new Set<bigint>([
  H3FrameType.SETTINGS,
  H3FrameType.GOAWAY,
  H3FrameType.MAX_PUSH_ID,
  H3FrameType.CANCEL_PUSH,
]);

/** Unidirectional stream types (RFC 9114 §6.2, RFC 9204 §4.2). */
export const H3StreamType = {
  CONTROL: 0x00n,
  PUSH: 0x01n,
  QPACK_ENCODER: 0x02n,
  QPACK_DECODER: 0x03n,
} as const;

/** What happened on a peer's unidirectional stream. */
export type H3SessionEvent =
  | { readonly type: "settings"; readonly settings: ReadonlyMap<number, bigint> }
  | { readonly type: "goaway"; readonly id: bigint }
  | { readonly type: "maxPushId"; readonly id: bigint }
  /** Inserts arrived on the peer's encoder stream: these blocked request streams can be decoded now. */
  | { readonly type: "unblocked"; readonly streams: readonly number[] }
  | { readonly type: "ignore" };

/** Options of {@linkcode H3Session}. */
export interface H3SessionOptions {
  readonly role: "server" | "client";
  /** SETTINGS_MAX_FIELD_SECTION_SIZE we advertise. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
  /** SETTINGS_QPACK_MAX_TABLE_CAPACITY we advertise (the peer may insert up to it). Default 4,096; 0 turns it off. */
  readonly qpackMaxTableCapacity?: number;
  /** SETTINGS_QPACK_BLOCKED_STREAMS we advertise. Default 16. */
  readonly qpackBlockedStreams?: number;
  /** The dynamic table we use toward the peer, at most its maximum. Default 4,096; 0: static table only. */
  readonly qpackEncoderCapacity?: number;
}

/** Our settings, the peer's, and the critical streams seen so far (see the module doc). */
export class H3Session {
  readonly role: "server" | "client";
  readonly maxFieldSectionSize: number;
  /** The peer's SETTINGS once received. */
  peerSettings: ReadonlyMap<number, bigint> | undefined;
  /** The lowest id the peer's GOAWAY allowed, once received. */
  goaway: bigint | undefined;
  /** Our QPACK decoder (the peer's encoder stream feeds it). */
  readonly decoder: QpackDecoder;
  /** Our QPACK encoder: static table only until the peer's SETTINGS say what table it allows. */
  encoder: QpackEncoder;
  readonly #seen = new Set<bigint>();
  readonly #qpackCapacity: number;
  readonly #qpackBlocked: number;
  readonly #encoderCapacity: number;

  /** Creates the session state. */
  constructor(options: H3SessionOptions) {
    this.role = options.role;
    this.maxFieldSectionSize = options.maxFieldSectionSize ?? 64 * 1024;
    this.#qpackCapacity = options.qpackMaxTableCapacity ?? 4_096;
    this.#qpackBlocked = this.#qpackCapacity === 0 ? 0 : options.qpackBlockedStreams ?? 16;
    this.#encoderCapacity = options.qpackEncoderCapacity ?? 4_096;
    this.decoder = new QpackDecoder({
      maxTableCapacity: this.#qpackCapacity,
      maxBlockedStreams: this.#qpackBlocked,
      maxFieldSectionSize: this.maxFieldSectionSize,
    });
    this.encoder = new QpackEncoder({ peerMaxTableCapacity: 0 });
  }

  /** The peer's SETTINGS arrived: our encoder may now use the table it allows. @internal */
  settingsReceived(settings: ReadonlyMap<number, bigint>): void {
    const peerCapacity = Number(settings.get(H3Setting.QPACK_MAX_TABLE_CAPACITY) ?? 0n);
    if (this.#encoderCapacity > 0 && peerCapacity > 0) {
      this.encoder = new QpackEncoder({
        peerMaxTableCapacity: Math.min(peerCapacity, 2 ** 30),
        capacity: this.#encoderCapacity,
      });
    }
  }

  /** The first bytes of our control stream: its type, then SETTINGS (our QPACK table, blocked streams, section size). */
  controlStreamPreface(): Uint8Array {
    const settings = encodeH3Settings(
      new Map([
        [H3Setting.QPACK_MAX_TABLE_CAPACITY, this.#qpackCapacity],
        [H3Setting.QPACK_BLOCKED_STREAMS, this.#qpackBlocked],
        [H3Setting.MAX_FIELD_SECTION_SIZE, this.maxFieldSectionSize],
      ]),
    );
    const out = new Uint8Array(1 + settings.length);
    out[0] = Number(H3StreamType.CONTROL);
    out.set(settings, 1);
    return out;
  }

  /** The first bytes of the QPACK encoder and decoder streams we open: their types. */
  qpackStreamPrefaces(): Uint8Array[] {
    return [encodeVarint(H3StreamType.QPACK_ENCODER), encodeVarint(H3StreamType.QPACK_DECODER)];
  }

  /** A reader for one unidirectional stream the peer opened. */
  uniStream(): H3UniStreamReader {
    return new H3UniStreamReader(this, this.#seen);
  }
}

/** Reads one peer unidirectional stream (see {@linkcode H3Session}). */
export class H3UniStreamReader {
  readonly #session: H3Session;
  readonly #seen: Set<bigint>;
  #type: bigint | undefined;
  #head: Uint8Array = new Uint8Array(0);
  #frames: StreamingFrameDecoder<bigint> | undefined;
  #firstFrame = true;
  /** The control frame in progress: its type, whether it is skipped, its payload so far. */
  #frameType = 0n;
  #skip = false;
  #payload: Uint8Array = new Uint8Array(0);
  #fill = 0;
  #qpack: Uint8Array = new Uint8Array(0);

  /** Created by {@linkcode H3Session.uniStream}. */
  constructor(session: H3Session, seen: Set<bigint>) {
    this.#session = session;
    this.#seen = seen;
  }

  /** The stream type once known. */
  get type(): bigint | undefined {
    return this.#type;
  }

  /**
   * Adds stream bytes.
   *
   * @throws {H3Error} a connection error
   */
  push(chunk: Uint8Array): H3SessionEvent[] {
    let bytes = chunk;
    if (this.#type === undefined) {
      bytes = concatBytes(this.#head, chunk);
      const peeked = peekVarint(bytes, 0);
      if (peeked === undefined) {
        this.#head = bytes;
        return [];
      }
      const [type, at] = decodeVarintBigInt(bytes, 0);
      this.#head = new Uint8Array(0);
      bytes = bytes.subarray(at);
      this.#open(type);
      if (!this.#critical()) return [{ type: "ignore" }];
    }
    if (!this.#critical()) return [];
    if (this.#type === H3StreamType.CONTROL) return this.#control(bytes);
    return this.#qpackInstructions(bytes);
  }

  /**
   * The peer ended the stream.
   *
   * @throws {H3Error} H3_CLOSED_CRITICAL_STREAM for a control or QPACK stream
   */
  finish(): void {
    if (this.#critical()) {
      throw new H3Error(
        H3ErrorCode.H3_CLOSED_CRITICAL_STREAM,
        `Critical stream 0x${this.#type?.toString(16)} closed`,
      );
    }
  }

  #critical(): boolean {
    return this.#type === H3StreamType.CONTROL || this.#type === H3StreamType.QPACK_ENCODER ||
      this.#type === H3StreamType.QPACK_DECODER;
  }

  #open(type: bigint): void {
    this.#type = type;
    if (type === H3StreamType.PUSH) {
      throw this.#session.role === "client"
        ? new H3Error(H3ErrorCode.H3_ID_ERROR, "Push stream without MAX_PUSH_ID")
        : new H3Error(H3ErrorCode.H3_STREAM_CREATION_ERROR, "Push stream from a client");
    }
    if (!this.#critical()) return;
    if (this.#seen.has(type)) {
      throw new H3Error(H3ErrorCode.H3_STREAM_CREATION_ERROR, `Second stream of type 0x${type.toString(16)}`);
    }
    this.#seen.add(type);
    // Control frames are small; a DATA or HEADERS frame here is refused as unexpected once read.
    // Known control frames are small; any other type is either refused at its header (DATA, HEADERS, HTTP/2's)
    // or skipped as it streams by (unknown and reserved types, of any length: §9).
    if (type === H3StreamType.CONTROL) {
      this.#frames = new StreamingFrameDecoder(varintFrameFormat("HTTP/3 frame"), {
        maxBodyLength: (t: bigint) => CONTROL_FRAMES.has(t) ? 16 * 1024 : Number.MAX_SAFE_INTEGER,
      });
    }
  }

  #control(bytes: Uint8Array): H3SessionEvent[] {
    const out: H3SessionEvent[] = [];
    let events;
    try {
      events = (this.#frames as StreamingFrameDecoder<bigint>).push(bytes);
    } catch (error) {
      if (error instanceof TransportError) throw new H3Error(H3ErrorCode.H3_FRAME_ERROR, error.message);
      throw error;
    }
    for (const e of events) {
      if (e.kind === "header") {
        const first = this.#firstFrame;
        this.#firstFrame = false;
        this.#frameType = e.header;
        this.#skip = !checkFrameAllowed(e.header, "control", first);
        this.#payload = this.#skip ? new Uint8Array(0) : new Uint8Array(e.bodyLength);
        this.#fill = 0;
      } else if (e.kind === "body") {
        if (this.#skip) continue;
        this.#payload.set(e.bytes, this.#fill);
        this.#fill += e.bytes.length;
      } else if (!this.#skip) {
        this.#controlFrame({ type: this.#frameType, payload: this.#payload }, out);
      }
    }
    return out;
  }

  #controlFrame(f: { readonly type: bigint; readonly payload: Uint8Array }, out: H3SessionEvent[]): void {
    const s = this.#session;
    if (f.type === H3FrameType.SETTINGS) {
      s.peerSettings = parseH3Settings(f.payload);
      s.settingsReceived(s.peerSettings);
      out.push({ type: "settings", settings: s.peerSettings });
    } else if (f.type === H3FrameType.GOAWAY) {
      const id = parseH3Goaway(f.payload);
      // §5.2: a server's GOAWAY names a client-initiated bidirectional stream; ids never increase.
      if (s.role === "client" && id % 4n !== 0n) {
        throw new H3Error(H3ErrorCode.H3_ID_ERROR, `GOAWAY id ${id} is not a request stream`);
      }
      if (s.goaway !== undefined && id > s.goaway) {
        throw new H3Error(H3ErrorCode.H3_ID_ERROR, `GOAWAY id ${id} above the previous ${s.goaway}`);
      }
      s.goaway = id;
      out.push({ type: "goaway", id });
    } else if (f.type === H3FrameType.MAX_PUSH_ID) {
      if (s.role === "client") {
        throw new H3Error(H3ErrorCode.H3_FRAME_UNEXPECTED, "MAX_PUSH_ID from a server");
      }
      out.push({ type: "maxPushId", id: parseH3Goaway(f.payload) });
    }
    // CANCEL_PUSH: no push was ever promised or allowed; nothing to cancel.
  }

  #qpackInstructions(chunk: Uint8Array): H3SessionEvent[] {
    const encoder = this.#type === H3StreamType.QPACK_ENCODER;
    try {
      if (!encoder) {
        this.#session.encoder.decoderStream(chunk);
        return [];
      }
      const streams = this.#session.decoder.encoderStream(chunk);
      return streams.length > 0 ? [{ type: "unblocked", streams }] : [];
    } catch (error) {
      if (error instanceof QpackError) throw new H3Error(error.code, `QPACK: ${error.message}`);
      throw error;
    }
  }
}
