/**
 * The connection-level half of HTTP/3 (RFC 9114 §6.2, §7; RFC 9204 §4.2), sans-IO: our control stream's first
 * bytes, and a reader for each unidirectional stream the peer opens. The reader learns the stream type, then:
 *
 * - **control** (0x00): SETTINGS first (else H3_MISSING_SETTINGS), then GOAWAY (ids never increase; a client
 *   accepts only client-initiated bidirectional ids) and MAX_PUSH_ID (from a client only); a second control
 *   stream is H3_STREAM_CREATION_ERROR, its end H3_CLOSED_CRITICAL_STREAM.
 * - **QPACK encoder** (0x02) and **decoder** (0x03) streams: we advertise a dynamic table of capacity 0 and never
 *   reference one, so the only valid encoder instruction is Set Dynamic Table Capacity 0 and the only valid
 *   decoder instruction Stream Cancellation; anything else is QPACK_ENCODER/DECODER_STREAM_ERROR (RFC 9204
 *   §4.3-§4.4). One of each; their end is H3_CLOSED_CRITICAL_STREAM.
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
import { decodeInteger } from "../http2/hpack.ts";
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
import { QpackErrorCode } from "./qpack.ts";

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
  | { readonly type: "ignore" };

/** Options of {@linkcode H3Session}. */
export interface H3SessionOptions {
  readonly role: "server" | "client";
  /** SETTINGS_MAX_FIELD_SECTION_SIZE we advertise. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
}

/** Our settings, the peer's, and the critical streams seen so far (see the module doc). */
export class H3Session {
  readonly role: "server" | "client";
  readonly maxFieldSectionSize: number;
  /** The peer's SETTINGS once received. */
  peerSettings: ReadonlyMap<number, bigint> | undefined;
  /** The lowest id the peer's GOAWAY allowed, once received. */
  goaway: bigint | undefined;
  readonly #seen = new Set<bigint>();

  /** Creates the session state. */
  constructor(options: H3SessionOptions) {
    this.role = options.role;
    this.maxFieldSectionSize = options.maxFieldSectionSize ?? 64 * 1024;
  }

  /** The first bytes of our control stream: its type, then SETTINGS (QPACK capacity 0, no blocked streams). */
  controlStreamPreface(): Uint8Array {
    const settings = encodeH3Settings(
      new Map([
        [H3Setting.QPACK_MAX_TABLE_CAPACITY, 0],
        [H3Setting.QPACK_BLOCKED_STREAMS, 0],
        [H3Setting.MAX_FIELD_SECTION_SIZE, this.maxFieldSectionSize],
      ]),
    );
    const out = new Uint8Array(1 + settings.length);
    out[0] = Number(H3StreamType.CONTROL);
    out.set(settings, 1);
    return out;
  }

  /** The empty QPACK encoder and decoder streams we open: just their types (nothing to say with capacity 0). */
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
    this.#qpackInstructions(bytes);
    return [];
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

  #qpackInstructions(chunk: Uint8Array): void {
    const encoder = this.#type === H3StreamType.QPACK_ENCODER;
    const code = encoder
      ? QpackErrorCode.QPACK_ENCODER_STREAM_ERROR
      : QpackErrorCode.QPACK_DECODER_STREAM_ERROR;
    const fail = (why: string): never => {
      throw new H3Error(code, `QPACK ${encoder ? "encoder" : "decoder"} stream: ${why}`);
    };
    const bytes = concatBytes(this.#qpack, chunk);
    let at = 0;
    while (at < bytes.length) {
      const b = bytes[at] as number;
      let prefix: number;
      if (encoder) {
        // §4.3: 1xxxxxxx and 01xxxxxx insert, 000xxxxx duplicate: all need a table we gave no room for.
        if ((b & 0xe0) !== 0x20) fail("insertion into a table of capacity 0");
        prefix = 5;
      } else {
        // §4.4: Section Acknowledgement (1xxxxxxx) and Insert Count Increment (00xxxxxx) refer to dynamic
        // state we never created; Stream Cancellation (01xxxxxx) is fine.
        if ((b & 0xc0) !== 0x40) fail("acknowledgement of a dynamic table we never used");
        prefix = 6;
      }
      let value: number;
      let next: number;
      try {
        [value, next] = decodeInteger(bytes, at, prefix);
      } catch (error) {
        if (bytes.length - at > 8) fail(error instanceof Error ? error.message : String(error));
        break; // truncated: wait for the rest
      }
      if (encoder && value !== 0) fail(`Set Dynamic Table Capacity ${value} above our maximum 0`);
      at = next;
    }
    this.#qpack = bytes.slice(at);
  }
}
