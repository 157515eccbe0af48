/**
 * An HTTP/2 connection (RFC 9113) as a sans-IO state machine, server or client side: bytes in
 * ({@linkcode Http2Connection.receive}), events out ({@linkcode Http2Connection.poll}), bytes out
 * ({@linkcode Http2Connection.takeOutput}). No sockets, timers or clocks inside: `now` is passed in.
 *
 * What it enforces (each a test in `connection_test.ts`):
 * - the connection preface and SETTINGS first (§3.4), SETTINGS ACK, PING ACK, GOAWAY;
 * - stream states and ids (§5.1): odd client ids, increasing; frames on closed streams; trailers end the stream;
 * - header blocks: CONTINUATION only and immediately (§6.10), a bound on fragments and bytes (CONTINUATION flood),
 *   HPACK limits (HPACK bomb), the field rules of §8.2 (lowercase names, no connection-specific fields, pseudo-header
 *   order and set);
 * - flow control both ways (§5.2, §6.9): the peer never sends past what we advertised; we send only within the
 *   peer's windows and credit back only what the application consumed, so a slow reader slows the sender;
 * - SETTINGS_MAX_CONCURRENT_STREAMS (REFUSED_STREAM beyond it);
 * - floods: peer resets (CVE-2023-44487 "rapid reset"), SETTINGS, PING, empty frames: each has a token budget;
 *   exhausting it is GOAWAY ENHANCE_YOUR_CALM.
 *
 * @module
 */
import { declaredContentLength, fieldSectionProblem } from "../http/fields.ts";
import { type HeaderField, HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  encodeGoaway,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  ErrorCode,
  Flag,
  type Frame,
  FrameDecoder,
  FrameType,
  Http2Error,
  MAX_WINDOW,
  parseData,
  parseGoaway,
  parseHeaders,
  parsePing,
  parsePriority,
  parseRstStream,
  parseSettings,
  parseWindowUpdate,
  type Setting,
  SettingId,
} from "./frame.ts";

/** What one side of a connection allows. */
export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise. Default 256. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise (per stream receive window). Default 1 MiB. */
  readonly streamWindow: number;
  /** Connection receive window. Default 16 MiB. */
  readonly connectionWindow: number;
  /** SETTINGS_MAX_FRAME_SIZE we advertise. Default 16 KiB. */
  readonly maxFrameSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce (decoded size). Default 64 KiB. */
  readonly maxHeaderListSize: number;
  /** Bytes of one header block on the wire (HEADERS + CONTINUATION fragments). Default 64 KiB. */
  readonly maxHeaderBlockBytes: number;
  /** CONTINUATION frames in one header block. Default 32. */
  readonly maxContinuations: number;
  /** Peer-initiated stream resets allowed per second, with a burst of twice that (rapid reset). Default 100. */
  readonly resetsPerSecond: number;
  /** SETTINGS and PING frames from the peer per second, burst twice that. Default 50. */
  readonly controlFramesPerSecond: number;
  /** Empty DATA/CONTINUATION frames and zero WINDOW_UPDATE-free nonsense per second, burst twice that. Default 100. */
  readonly emptyFramesPerSecond: number;
}

/** Defaults of {@linkcode Http2Limits}. */
export const DEFAULT_HTTP2_LIMITS: Http2Limits = Object.freeze({
  maxConcurrentStreams: 256,
  streamWindow: 1 << 20,
  connectionWindow: 16 << 20,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxHeaderListSize: 64 * 1024,
  maxHeaderBlockBytes: 64 * 1024,
  maxContinuations: 32,
  resetsPerSecond: 100,
  controlFramesPerSecond: 50,
  emptyFramesPerSecond: 100,
});

/** What the connection tells its user. */
export type Http2Event =
  /** A header block: a request (server) or response head (client) when `initial`, else trailers. */
  | {
    readonly type: "headers";
    readonly streamId: number;
    readonly headers: HeaderField[];
    readonly endStream: boolean;
    readonly initial: boolean;
  }
  | {
    readonly type: "data";
    readonly streamId: number;
    readonly data: Uint8Array;
    readonly endStream: boolean;
  }
  /** The stream ended abnormally: the peer reset it, or we did because of its error (`local`). */
  | { readonly type: "reset"; readonly streamId: number; readonly code: number; readonly local: boolean }
  /** Send windows grew: pending writes may proceed. */
  | { readonly type: "writable" }
  /** The peer's first SETTINGS arrived: the connection is established. */
  | { readonly type: "ready" }
  | { readonly type: "goaway"; readonly lastStreamId: number; readonly code: number; readonly debug: string }
  /** The connection is over; with an error when it died of one (we sent GOAWAY with its code). */
  | { readonly type: "closed"; readonly error?: Http2Error };

type StreamState = "open" | "halfClosedLocal" | "halfClosedRemote";

interface Stream {
  readonly id: number;
  state: StreamState;
  sendWindow: number;
  /** What the peer may still send on it. */
  recvWindow: number;
  /** Consumed but not yet credited back. */
  unacked: number;
  /** Header blocks received (request/response, then trailers). */
  blocks: number;
  /** Request body octets the peer's Content-Length still promises (server side; undefined: none declared). */
  bodyLeft?: number;
}

/** A token bucket: `rate` per second, burst `2 * rate`. */
class Budget {
  #tokens: number;
  #at = 0;
  readonly #rate: number;
  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = 2 * rate;
  }
  take(now: number): boolean {
    this.#tokens = Math.min(2 * this.#rate, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Options of {@linkcode Http2Connection}. */
export interface Http2ConnectionOptions {
  readonly role: "server" | "client";
  readonly limits?: Partial<Http2Limits>;
}

/** One HTTP/2 connection (see the module doc). */
export class Http2Connection {
  readonly role: "server" | "client";
  readonly limits: Http2Limits;
  readonly #decoder: FrameDecoder;
  readonly #hpackIn: HpackDecoder;
  readonly #hpackOut = new HpackEncoder();
  readonly #streams = new Map<number, Stream>();
  readonly #events: Http2Event[] = [];
  #out: Uint8Array[] = [];
  #outBytes = 0;
  // What we still need before normal frames: the client's preface (server side), then the peer's SETTINGS.
  #prefaceLeft: number;
  #gotSettings = false;
  #closed = false;
  #goawaySent = false;
  #goawayReceived = false;
  // Highest stream id the peer opened (server) and our next id (client).
  #lastPeerStream = 0;
  #nextStream: number;
  // Header block being assembled: its stream, fragments, byte count, CONTINUATIONs, END_STREAM.
  #block:
    | { streamId: number; parts: Uint8Array[]; bytes: number; count: number; endStream: boolean }
    | undefined;
  // Peer settings that shape what we send.
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #peerInitialWindow = 65_535;
  #peerMaxStreams = Number.POSITIVE_INFINITY;
  #sendWindow = 65_535;
  #recvWindow = 65_535;
  #connUnacked = 0;
  readonly #resets: Budget;
  readonly #control: Budget;
  readonly #empties: Budget;

  /** Creates a connection; its first output is the preface (client) and our SETTINGS. */
  constructor(options: Http2ConnectionOptions) {
    this.role = options.role;
    this.limits = { ...DEFAULT_HTTP2_LIMITS, ...options.limits };
    this.#decoder = new FrameDecoder(this.limits.maxFrameSize);
    this.#hpackIn = new HpackDecoder({ maxHeaderListSize: this.limits.maxHeaderListSize });
    this.#prefaceLeft = this.role === "server" ? CLIENT_PREFACE.length : 0;
    this.#nextStream = this.role === "client" ? 1 : 2;
    this.#resets = new Budget(this.limits.resetsPerSecond);
    this.#control = new Budget(this.limits.controlFramesPerSecond);
    this.#empties = new Budget(this.limits.emptyFramesPerSecond);
    if (this.role === "client") this.#emit(CLIENT_PREFACE);
    const settings: Setting[] = [
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, this.limits.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, this.limits.streamWindow],
      [SettingId.MAX_FRAME_SIZE, this.limits.maxFrameSize],
      [SettingId.MAX_HEADER_LIST_SIZE, this.limits.maxHeaderListSize],
    ];
    this.#emit(encodeSettings(settings));
    if (this.limits.connectionWindow > 65_535) {
      this.#emit(encodeWindowUpdate(0, this.limits.connectionWindow - 65_535));
      this.#recvWindow = this.limits.connectionWindow;
    }
  }

  /** Whether the connection is over (after GOAWAY both ways, an error, or close). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether new streams may be opened (no GOAWAY either way). */
  get acceptingStreams(): boolean {
    return !this.#closed && !this.#goawaySent && !this.#goawayReceived;
  }

  /** Open streams. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** Bytes of output not yet taken. */
  get pendingOutput(): number {
    return this.#outBytes;
  }

  /** How many bytes `sendData` would accept on a stream right now. */
  sendCapacity(streamId: number): number {
    const s = this.#streams.get(streamId);
    if (s === undefined || s.state === "halfClosedLocal") return 0;
    return Math.max(0, Math.min(this.#sendWindow, s.sendWindow));
  }

  /** Whether the stream is still open in either direction. */
  hasStream(streamId: number): boolean {
    return this.#streams.has(streamId);
  }

  /** Whether the stream is still open for sending. */
  canSend(streamId: number): boolean {
    const s = this.#streams.get(streamId);
    return s !== undefined && s.state !== "halfClosedLocal";
  }

  /** Takes the bytes to write to the socket. */
  takeOutput(): Uint8Array {
    if (this.#out.length === 0) return new Uint8Array(0);
    const out = this.#out.length === 1 ? this.#out[0] as Uint8Array : concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    return out;
  }

  /** The next event, or `undefined`. */
  poll(): Http2Event | undefined {
    return this.#events.shift();
  }

  /** Feeds bytes from the socket. Protocol errors become GOAWAY (or RST_STREAM) and events; nothing throws. */
  receive(bytes: Uint8Array, now: number): void {
    if (this.#closed) return;
    try {
      let chunk = bytes;
      if (this.#prefaceLeft > 0) {
        const n = Math.min(this.#prefaceLeft, chunk.length);
        const offset = CLIENT_PREFACE.length - this.#prefaceLeft;
        for (let i = 0; i < n; i++) {
          if (chunk[i] !== CLIENT_PREFACE[offset + i]) {
            throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "Not an HTTP/2 connection preface");
          }
        }
        this.#prefaceLeft -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      for (const f of this.#decoder.push(chunk)) {
        if (this.#closed) return;
        this.#frame(f, now);
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Opens a stream with request headers (client). Throws when the connection cannot take another stream. */
  request(headers: readonly HeaderField[], endStream: boolean): number {
    if (this.role !== "client") throw new TypeError("Only a client opens streams");
    if (!this.acceptingStreams) {
      throw new Http2Error(ErrorCode.REFUSED_STREAM, "The connection is going away");
    }
    if (this.#streams.size >= this.#peerMaxStreams) {
      throw new Http2Error(
        ErrorCode.REFUSED_STREAM,
        `The peer allows ${this.#peerMaxStreams} concurrent streams`,
      );
    }
    const id = this.#nextStream;
    this.#nextStream += 2;
    this.#streams.set(id, {
      id,
      state: "open",
      sendWindow: this.#peerInitialWindow,
      recvWindow: this.limits.streamWindow,
      unacked: 0,
      blocks: 0,
    });
    this.#sendHeaderBlock(id, headers, endStream);
    return id;
  }

  /** Sends a response head (server), or any header block, on an open stream. */
  sendHeaders(streamId: number, headers: readonly HeaderField[], endStream: boolean): void {
    const s = this.#streams.get(streamId);
    if (s === undefined || s.state === "halfClosedLocal") return;
    this.#sendHeaderBlock(streamId, headers, endStream);
  }

  /**
   * Sends as much of `data` as the flow-control windows allow, in frames within the peer's SETTINGS_MAX_FRAME_SIZE;
   * returns how many bytes were taken. `endStream` is set only when all of `data` went out.
   */
  sendData(streamId: number, data: Uint8Array, endStream: boolean): number {
    const s = this.#streams.get(streamId);
    if (s === undefined || s.state === "halfClosedLocal") return 0;
    let sent = 0;
    while (sent < data.length) {
      const room = Math.min(this.#sendWindow, s.sendWindow, this.#peerMaxFrame, data.length - sent);
      if (room <= 0) break;
      const last = sent + room === data.length;
      this.#emit(
        encodeFrame(
          FrameType.DATA,
          last && endStream ? Flag.END_STREAM : 0,
          streamId,
          data.subarray(sent, sent + room),
        ),
      );
      this.#sendWindow -= room;
      s.sendWindow -= room;
      sent += room;
    }
    if (data.length === 0 && endStream) this.#emit(encodeFrame(FrameType.DATA, Flag.END_STREAM, streamId));
    if (endStream && sent === data.length) this.#endLocal(s);
    return sent;
  }

  /** Credits back `n` bytes the application consumed (WINDOW_UPDATE), so the peer may send more. */
  consumed(streamId: number, n: number): void {
    if (n <= 0 || this.#closed) return;
    this.#connUnacked += n;
    if (this.#connUnacked >= this.limits.connectionWindow / 4) {
      this.#emit(encodeWindowUpdate(0, this.#connUnacked));
      this.#recvWindow += this.#connUnacked;
      this.#connUnacked = 0;
    }
    const s = this.#streams.get(streamId);
    if (s === undefined || s.state === "halfClosedRemote") return;
    s.unacked += n;
    if (s.unacked >= this.limits.streamWindow / 4) {
      this.#emit(encodeWindowUpdate(streamId, s.unacked));
      s.recvWindow += s.unacked;
      s.unacked = 0;
    }
  }

  /** Resets a stream (RST_STREAM). */
  reset(streamId: number, code: number = ErrorCode.CANCEL): void {
    if (!this.#streams.has(streamId) || this.#closed) return;
    this.#streams.delete(streamId);
    this.#emit(encodeRstStream(streamId, code));
    this.#maybeFinish();
  }

  /** Sends GOAWAY: no new streams; those already open finish. */
  goaway(code: number = ErrorCode.NO_ERROR, debug = ""): void {
    if (this.#goawaySent || this.#closed) return;
    this.#goawaySent = true;
    this.#emit(encodeGoaway(this.#lastPeerStream, code, debug));
    this.#maybeFinish();
  }

  /** Sends a PING (liveness). */
  ping(data: Uint8Array = new Uint8Array(8)): void {
    if (!this.#closed) this.#emit(encodePing(data));
  }

  /** Ends the connection without a word (the socket went away). */
  terminate(): void {
    this.#close();
  }

  // ---- receive ----

  #frame(f: Frame, now: number): void {
    if (!this.#gotSettings && f.type !== FrameType.SETTINGS) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "The first frame is not SETTINGS");
    }
    if (
      this.#block !== undefined && (f.type !== FrameType.CONTINUATION || f.streamId !== this.#block.streamId)
    ) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "A header block was interrupted");
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#data(f, now);
      case FrameType.HEADERS:
        return this.#headers(f, now);
      case FrameType.CONTINUATION:
        return this.#continuation(f, now);
      case FrameType.PRIORITY:
        return parsePriority(f);
      case FrameType.RST_STREAM:
        return this.#rstStream(f, now);
      case FrameType.SETTINGS:
        return this.#settings(f, now);
      case FrameType.PUSH_PROMISE:
        // We sent SETTINGS_ENABLE_PUSH = 0 (§8.4): a push is a connection error.
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
      case FrameType.PING: {
        const p = parsePing(f);
        if (p.ack) return;
        if (!this.#control.take(now)) throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "PING flood");
        this.#emit(encodePing(p.data, true));
        return;
      }
      case FrameType.GOAWAY: {
        const g = parseGoaway(f);
        this.#goawayReceived = true;
        this.#events.push({
          type: "goaway",
          lastStreamId: g.lastStreamId,
          code: g.code,
          debug: new TextDecoder().decode(g.debug.subarray(0, 256)),
        });
        // Streams we opened above the peer's last id were never processed: refused, safe to retry.
        for (const id of [...this.#streams.keys()]) {
          if (this.#isOwn(id) && id > g.lastStreamId) {
            this.#streams.delete(id);
            this.#events.push({ type: "reset", streamId: id, code: ErrorCode.REFUSED_STREAM, local: false });
          }
        }
        if (this.#streams.size === 0) this.#close();
        return;
      }
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(f);
      default:
        // §5.5: unknown frame types are ignored.
        return;
    }
  }

  #isOwn(id: number): boolean {
    return (id % 2 === 1) === (this.role === "client");
  }

  #data(f: Frame, now: number): void {
    const { data, endStream } = parseData(f);
    // Flow control counts the whole payload, padding included (§6.9.1).
    if (f.payload.length > this.#recvWindow) {
      throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    }
    this.#recvWindow -= f.payload.length;
    const s = this.#streams.get(f.streamId);
    if (s === undefined || s.state === "halfClosedRemote") {
      // Closed (or never opened): credit the connection window back, reset the stream (§5.1).
      this.consumed(0, f.payload.length);
      if (f.streamId > this.#highestId()) {
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
      }
      if (s !== undefined) this.#streamError(s, ErrorCode.STREAM_CLOSED);
      else this.#emit(encodeRstStream(f.streamId, ErrorCode.STREAM_CLOSED));
      return;
    }
    if (f.payload.length > s.recvWindow) {
      throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the stream window", f.streamId);
    }
    s.recvWindow -= f.payload.length;
    if (data.length === 0 && !endStream && !this.#empties.take(now)) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "Empty DATA flood");
    }
    // Padding is never delivered: credit it back at once.
    const padding = f.payload.length - data.length;
    if (padding > 0) this.consumed(f.streamId, padding);
    if (s.blocks === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "DATA before HEADERS", f.streamId);
    if (s.bodyLeft !== undefined) {
      // §8.1.1: more DATA than Content-Length, or END_STREAM before all of it, is a malformed request (smuggling).
      s.bodyLeft -= data.length;
      if (s.bodyLeft < 0 || (endStream && s.bodyLeft > 0)) {
        this.consumed(f.streamId, data.length);
        this.#streamError(s, ErrorCode.PROTOCOL_ERROR);
        return;
      }
    }
    this.#events.push({ type: "data", streamId: f.streamId, data, endStream });
    if (endStream) this.#endRemote(s);
  }

  #highestId(): number {
    return Math.max(this.#lastPeerStream, this.#nextStream - 2);
  }

  #headers(f: Frame, now: number): void {
    const h = parseHeaders(f);
    this.#block = {
      streamId: f.streamId,
      parts: [h.fragment],
      bytes: h.fragment.length,
      count: 0,
      endStream: h.endStream,
    };
    if (h.fragment.length > this.limits.maxHeaderBlockBytes) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "Header block too large");
    }
    if (h.endHeaders) this.#headerBlockDone(now);
  }

  #continuation(f: Frame, now: number): void {
    const b = this.#block;
    if (b === undefined) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without a header block");
    }
    b.count++;
    b.bytes += f.payload.length;
    // CONTINUATION flood: a block that never ends, or is made of many empty frames.
    if (b.count > this.limits.maxContinuations || b.bytes > this.limits.maxHeaderBlockBytes) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "CONTINUATION flood");
    }
    if (f.payload.length === 0 && !this.#empties.take(now)) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "Empty CONTINUATION flood");
    }
    b.parts.push(f.payload);
    if ((f.flags & Flag.END_HEADERS) !== 0) this.#headerBlockDone(now);
  }

  #headerBlockDone(now: number): void {
    const b = this.#block;
    if (b === undefined) return;
    this.#block = undefined;
    let fields: HeaderField[];
    try {
      // Decoded even for a stream we refuse, so both HPACK tables stay in step (§4.3).
      fields = this.#hpackIn.decode(concat(b.parts, b.bytes));
    } catch (error) {
      if (error instanceof HpackError && /header list exceeds/.test(error.message)) {
        // Over our SETTINGS_MAX_HEADER_LIST_SIZE: the table stayed in step up to here, but not after; close.
        throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, error.message);
      }
      throw new Http2Error(
        ErrorCode.COMPRESSION_ERROR,
        error instanceof Error ? error.message : String(error),
      );
    }
    const id = b.streamId;
    const existing = this.#streams.get(id);
    if (existing === undefined) {
      if (this.#isOwn(id) || id <= this.#lastPeerStream) {
        // A stream we know as closed: STREAM_CLOSED (§5.1); one we never opened: connection error.
        if (this.#isOwn(id) && id >= this.#nextStream) {
          throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "HEADERS on a stream this side never opened");
        }
        this.#emit(encodeRstStream(id, ErrorCode.STREAM_CLOSED));
        return;
      }
      // A new peer stream (server side).
      if (id % 2 === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "A client opened an even stream id");
      this.#lastPeerStream = id;
      if (this.#goawaySent) {
        this.#emit(encodeRstStream(id, ErrorCode.REFUSED_STREAM));
        return;
      }
      if (this.#streams.size >= this.limits.maxConcurrentStreams) {
        // Refusals count as resets: a client that opens and is refused in a loop is flooding.
        if (!this.#resets.take(now)) throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "Stream flood");
        this.#emit(encodeRstStream(id, ErrorCode.REFUSED_STREAM));
        return;
      }
      // §8.1.1: a Content-Length that is not a number, or that END_STREAM already contradicts, is malformed.
      const declared = declaredContentLength(fields);
      const malformed = fieldSectionProblem(fields, "request") !== undefined || declared === null ||
        (b.endStream && (declared ?? 0) > 0);
      if (malformed) {
        this.#emit(encodeRstStream(id, ErrorCode.PROTOCOL_ERROR));
        if (!this.#resets.take(now)) {
          throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "Malformed request flood");
        }
        return;
      }
      const s: Stream = {
        id,
        state: "open",
        sendWindow: this.#peerInitialWindow,
        recvWindow: this.limits.streamWindow,
        unacked: 0,
        blocks: 1,
        ...(declared === undefined ? {} : { bodyLeft: declared }),
      };
      this.#streams.set(id, s);
      this.#events.push({
        type: "headers",
        streamId: id,
        headers: fields,
        endStream: b.endStream,
        initial: true,
      });
      if (b.endStream) this.#endRemote(s);
      return;
    }
    if (existing.state === "halfClosedRemote") {
      this.#streamError(existing, ErrorCode.STREAM_CLOSED);
      return;
    }
    const isClientHead = this.role === "client" && existing.blocks === 0;
    // 1xx informational responses come before the final one and are skipped (gRPC never sends them).
    const status = fields.find(([n]) => n === ":status")?.[1] ?? "";
    if (isClientHead && /^1\d\d$/.test(status)) return;
    const kind = isClientHead ? "response" : "trailers";
    if (kind === "trailers" && !b.endStream) {
      // §8.1: a second header block must end the stream.
      this.#streamError(existing, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (
      fieldSectionProblem(fields, kind) !== undefined || (kind === "trailers" && (existing.bodyLeft ?? 0) > 0)
    ) {
      this.#streamError(existing, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    existing.blocks++;
    this.#events.push({
      type: "headers",
      streamId: id,
      headers: fields,
      endStream: b.endStream,
      initial: isClientHead,
    });
    if (b.endStream) this.#endRemote(existing);
  }

  #rstStream(f: Frame, now: number): void {
    const code = parseRstStream(f);
    const s = this.#streams.get(f.streamId);
    if (s === undefined) {
      if (f.streamId > this.#highestId()) {
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
      }
      return;
    }
    // CVE-2023-44487: opening and resetting streams costs the peer nothing and us a handler each; budget it.
    if (!this.#isOwn(f.streamId) && !this.#resets.take(now)) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "Rapid reset");
    }
    this.#streams.delete(f.streamId);
    this.#events.push({ type: "reset", streamId: f.streamId, code, local: false });
    this.#maybeFinish();
  }

  #settings(f: Frame, now: number): void {
    const { ack, settings } = parseSettings(f);
    if (ack) return;
    if (this.#gotSettings && !this.#control.take(now)) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "SETTINGS flood");
    }
    for (const [id, value] of settings) {
      if (id === SettingId.HEADER_TABLE_SIZE) this.#hpackOut.setMaxTableSize(Math.min(value, 4096));
      else if (id === SettingId.MAX_FRAME_SIZE) this.#peerMaxFrame = value;
      else if (id === SettingId.MAX_CONCURRENT_STREAMS) this.#peerMaxStreams = value;
      else if (id === SettingId.INITIAL_WINDOW_SIZE) {
        // §6.9.2: the change applies to every open stream's send window, which may go negative.
        const delta = value - this.#peerInitialWindow;
        for (const s of this.#streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) {
            throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "Stream window overflow");
          }
        }
        this.#peerInitialWindow = value;
      }
    }
    this.#emit(encodeSettings([], true));
    if (!this.#gotSettings) {
      this.#gotSettings = true;
      this.#events.push({ type: "ready" });
    }
    this.#events.push({ type: "writable" });
  }

  #windowUpdate(f: Frame): void {
    let inc: number;
    try {
      inc = parseWindowUpdate(f);
    } catch (error) {
      if (error instanceof Http2Error && error.streamId !== 0) {
        const s = this.#streams.get(error.streamId);
        if (s !== undefined) this.#streamError(s, error.code);
        return;
      }
      throw error;
    }
    if (f.streamId === 0) {
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW) {
        throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "Connection window overflow");
      }
    } else {
      const s = this.#streams.get(f.streamId);
      if (s === undefined) {
        if (f.streamId > this.#highestId()) {
          throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
        }
        return;
      }
      s.sendWindow += inc;
      if (s.sendWindow > MAX_WINDOW) {
        this.#streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
    }
    this.#events.push({ type: "writable" });
  }

  // ---- send ----

  #sendHeaderBlock(streamId: number, headers: readonly HeaderField[], endStream: boolean): void {
    const block = this.#hpackOut.encode(headers);
    const max = this.#peerMaxFrame;
    let at = 0;
    let first = true;
    do {
      const part = block.subarray(at, at + max);
      at += part.length;
      const last = at >= block.length;
      const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
      this.#emit(encodeFrame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, part));
      first = false;
    } while (at < block.length);
    const s = this.#streams.get(streamId);
    if (s !== undefined && endStream) this.#endLocal(s);
  }

  #endLocal(s: Stream): void {
    if (s.state === "halfClosedRemote") this.#forget(s);
    else s.state = "halfClosedLocal";
  }

  #endRemote(s: Stream): void {
    if (s.state === "halfClosedLocal") this.#forget(s);
    else s.state = "halfClosedRemote";
  }

  #forget(s: Stream): void {
    this.#streams.delete(s.id);
    this.#maybeFinish();
  }

  #streamError(s: Stream, code: number): void {
    this.#streams.delete(s.id);
    this.#emit(encodeRstStream(s.id, code));
    this.#events.push({ type: "reset", streamId: s.id, code, local: true });
    this.#maybeFinish();
  }

  /** After GOAWAY (either way), the connection ends when its last stream does. */
  #maybeFinish(): void {
    if ((this.#goawaySent || this.#goawayReceived) && this.#streams.size === 0) this.#close();
  }

  #emit(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
  }

  #fail(error: unknown): void {
    const e = error instanceof Http2Error
      ? error
      : new Http2Error(ErrorCode.INTERNAL_ERROR, error instanceof Error ? error.message : String(error));
    if (e.streamId !== 0) {
      const s = this.#streams.get(e.streamId);
      if (s !== undefined) this.#streamError(s, e.code);
      else this.#emit(encodeRstStream(e.streamId, e.code));
      return;
    }
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      this.#emit(encodeGoaway(this.#lastPeerStream, e.code, e.message));
    }
    for (const id of this.#streams.keys()) {
      this.#events.push({ type: "reset", streamId: id, code: e.code, local: true });
    }
    this.#streams.clear();
    this.#close(e);
  }

  #close(error?: Http2Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.push(error !== undefined ? { type: "closed", error } : { type: "closed" });
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
