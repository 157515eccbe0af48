/**
 * One HTTP/3 message on a request stream (RFC 9114 §4.1), sans-IO: the bytes of a request stream in, the
 * message's parts out (`headers`, `data`, `trailers`, `end`), or an {@linkcode H3Error} that says whether the
 * stream or the whole connection must end. The server reads requests with it, the client responses.
 *
 * What it enforces: HEADERS first and DATA only after it (else H3_FRAME_UNEXPECTED, a connection error, §4.1);
 * nothing after trailers; unknown and reserved frame types skipped without buffering their payload (§9); the
 * field rules shared with HTTP/2 and a Content-Length that must match the DATA frames (else H3_MESSAGE_ERROR,
 * a stream error, §4.1.2); a stream that ends before its headers or inside a frame (H3_REQUEST_INCOMPLETE,
 * H3_FRAME_ERROR); field sections bounded by SETTINGS_MAX_FIELD_SECTION_SIZE before decoding. DATA payloads
 * stream through as views of the pushed chunks, never assembled, so a body of any size costs no memory here.
 *
 * @module
 */
import {
  CloseCode,
  encodeVarintFrame,
  StreamingFrameDecoder,
  TransportError,
  varintFrameFormat,
} from "../mod.ts";
import { declaredContentLength, fieldSectionProblem, type HeaderField } from "../http/fields.ts";
import { checkFrameAllowed, H3Error, H3ErrorCode, H3FrameType } from "./h3_frame.ts";
import { decodeFieldSection, encodeFieldSection, QpackError } from "./qpack.ts";

/** What {@linkcode H3MessageReader} reports. `headers` is the request head (server) or final response (client). */
export type H3MessageEvent =
  | { readonly type: "informational"; readonly fields: HeaderField[] }
  | { readonly type: "headers"; readonly fields: HeaderField[] }
  | { readonly type: "data"; readonly data: Uint8Array }
  | { readonly type: "trailers"; readonly fields: HeaderField[] }
  | { readonly type: "end" };

/** Options of {@linkcode H3MessageReader}. */
export interface H3MessageReaderOptions {
  /** `server` reads a request, `client` a response. */
  readonly role: "server" | "client";
  /** SETTINGS_MAX_FIELD_SECTION_SIZE this side advertised. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
  /** The request was HEAD (client side): a response Content-Length then describes no body (RFC 9110 §9.3.2). */
  readonly headRequest?: boolean;
  /**
   * Decodes a field section with the connection's QPACK state: the fields, or `undefined` when the section waits
   * for dynamic table inserts (the reader is then {@linkcode H3MessageReader.blocked} until `resume()`).
   * Default: the static table only.
   */
  readonly decode?: (section: Uint8Array) => HeaderField[] | undefined;
}

/** Largest payload of a known frame other than DATA/HEADERS on a request stream. */
const SMALL_FRAME = 16 * 1024;

type State = "head" | "body" | "trailers" | "done";

/** Reads one message from a request stream (see the module doc). */
export class H3MessageReader {
  readonly #role: "server" | "client";
  readonly #maxSection: number;
  readonly #headRequest: boolean;
  readonly #frames: StreamingFrameDecoder<bigint>;
  #state: State = "head";
  /** The frame in progress: its type, and its assembled payload when it is a HEADERS frame. */
  #type: bigint | undefined;
  #skip = false;
  #section: Uint8Array | undefined;
  #sectionFill = 0;
  /** Body octets the Content-Length still promises (undefined: none declared). */
  #bodyLeft: number | undefined;
  #failed: H3Error | undefined;
  readonly #decode: (section: Uint8Array) => HeaderField[] | undefined;
  /** A HEADERS payload waiting for QPACK inserts, and the frame events that came after it. */
  #blocked: Uint8Array | undefined;
  #queue: import("../mod.ts").FrameEvent<bigint>[] = [];
  #finishPending = false;
  /** A field section referenced the dynamic table (a reset must then cancel it on the decoder stream). */
  usedDynamicTable = false;

  /** Creates a reader. */
  constructor(options: H3MessageReaderOptions) {
    this.#role = options.role;
    this.#maxSection = options.maxFieldSectionSize ?? 64 * 1024;
    this.#headRequest = options.headRequest ?? false;
    this.#decode = options.decode ??
      ((section) => decodeFieldSection(section, { maxFieldSectionSize: this.#maxSection }));
    this.#frames = new StreamingFrameDecoder(varintFrameFormat("HTTP/3 frame"), {
      maxBodyLength: (type) =>
        type === H3FrameType.HEADERS
          ? this.#maxSection
          : type === H3FrameType.DATA || !checkKnown(type)
          ? Number.MAX_SAFE_INTEGER
          : SMALL_FRAME,
    });
  }

  /** True once the message is complete (the stream's FIN was seen). */
  get done(): boolean {
    return this.#state === "done";
  }

  /** True while a field section waits for QPACK inserts; call {@linkcode H3MessageReader.resume} after them. */
  get blocked(): boolean {
    return this.#blocked !== undefined;
  }

  /** Retries a blocked field section and goes on with what arrived meanwhile. */
  resume(): H3MessageEvent[] {
    return this.#guard(() => {
      const out: H3MessageEvent[] = [];
      const section = this.#blocked;
      if (section === undefined) return out;
      const fields = this.#decode(section);
      if (fields === undefined) return out;
      this.#blocked = undefined;
      this.#headersDecoded(fields, out);
      this.#drain(this.#queue.splice(0), out);
      if (this.#finishPending && this.#blocked === undefined) out.push(...this.#finishNow());
      return out;
    });
  }

  #drain(events: import("../mod.ts").FrameEvent<bigint>[], out: H3MessageEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      if (this.#blocked !== undefined) {
        this.#queue.push(...events.slice(i));
        return;
      }
      const e = events[i];
      if (e === undefined) continue;
      if (e.kind === "header") this.#frameStart(e.header, e.bodyLength);
      else if (e.kind === "body") this.#frameBody(e.bytes, out);
      else this.#frameEnd(out);
    }
  }

  /**
   * Adds bytes of the stream and returns the events they complete.
   *
   * @throws {H3Error} with `stream` true for a malformed message (reset the stream), false for a connection error
   */
  push(chunk: Uint8Array): H3MessageEvent[] {
    return this.#guard(() => {
      if (this.#state === "done") {
        throw new H3Error(H3ErrorCode.H3_FRAME_UNEXPECTED, "Bytes after the stream end");
      }
      const out: H3MessageEvent[] = [];
      const events = this.#frames.push(chunk);
      if (this.#blocked !== undefined) {
        // Frame bodies are views of `chunk`, which the caller does not reuse; QUIC flow control bounds them.
        this.#queue.push(...events);
        return out;
      }
      this.#drain(events, out);
      return out;
    });
  }

  /**
   * The stream's FIN: checks that the message is complete and returns its `end` event.
   *
   * @throws {H3Error} H3_REQUEST_INCOMPLETE before the headers, H3_FRAME_ERROR inside a frame, H3_MESSAGE_ERROR
   *   when fewer body octets came than Content-Length declared
   */
  finish(): H3MessageEvent[] {
    return this.#guard(() => {
      if (this.#blocked !== undefined) {
        this.#finishPending = true;
        return [];
      }
      return this.#finishNow();
    });
  }

  #finishNow(): H3MessageEvent[] {
    {
      if (this.#state === "done") return [];
      if (this.#frames.pending) {
        throw new H3Error(H3ErrorCode.H3_FRAME_ERROR, "The stream ended inside a frame");
      }
      if (this.#state === "head") {
        throw new H3Error(
          H3ErrorCode.H3_REQUEST_INCOMPLETE,
          "The stream ended before the message headers",
          true,
        );
      }
      if ((this.#bodyLeft ?? 0) > 0) {
        throw new H3Error(
          H3ErrorCode.H3_MESSAGE_ERROR,
          `${this.#bodyLeft} body octets short of Content-Length`,
          true,
        );
      }
      this.#state = "done";
      return [{ type: "end" }];
    }
  }

  #guard<T>(run: () => T): T {
    if (this.#failed) throw this.#failed;
    try {
      return run();
    } catch (error) {
      this.#failed = error instanceof H3Error ? error : error instanceof QpackError
        // RFC 9204 §6: a field section that cannot be decoded is a connection error with the QPACK code.
        ? new H3Error(error.code, error.message)
        : error instanceof TransportError
        ? new H3Error(
          error.code === CloseCode.MESSAGE_TOO_LARGE
            ? H3ErrorCode.H3_EXCESSIVE_LOAD
            : H3ErrorCode.H3_FRAME_ERROR,
          error.message,
        )
        : new H3Error(H3ErrorCode.H3_INTERNAL_ERROR, error instanceof Error ? error.message : String(error));
      throw this.#failed;
    }
  }

  #frameStart(type: bigint, length: number): void {
    this.#type = type;
    this.#skip = !checkFrameAllowed(type, "request", false);
    if (this.#skip) return;
    if (type === H3FrameType.PUSH_PROMISE) {
      // We never send MAX_PUSH_ID, so no push ID is valid (§7.2.5, §4.6); a server never receives one.
      throw this.#role === "client"
        ? new H3Error(H3ErrorCode.H3_ID_ERROR, "PUSH_PROMISE without MAX_PUSH_ID")
        : new H3Error(H3ErrorCode.H3_FRAME_UNEXPECTED, "PUSH_PROMISE from a client");
    }
    if (type === H3FrameType.DATA) {
      if (this.#state !== "body") {
        throw new H3Error(
          H3ErrorCode.H3_FRAME_UNEXPECTED,
          this.#state === "head" ? "DATA before HEADERS" : "DATA after trailers",
        );
      }
      return;
    }
    // HEADERS: the message head, (client) an informational head, or trailers.
    if (this.#state === "trailers") {
      throw new H3Error(H3ErrorCode.H3_FRAME_UNEXPECTED, "HEADERS after trailers");
    }
    this.#section = new Uint8Array(length);
    this.#sectionFill = 0;
  }

  #frameBody(bytes: Uint8Array, out: H3MessageEvent[]): void {
    if (this.#skip) return;
    if (this.#type === H3FrameType.DATA) {
      if (this.#bodyLeft !== undefined) {
        this.#bodyLeft -= bytes.length;
        if (this.#bodyLeft < 0) {
          throw new H3Error(H3ErrorCode.H3_MESSAGE_ERROR, "More body octets than Content-Length", true);
        }
      }
      out.push({ type: "data", data: bytes });
      return;
    }
    (this.#section as Uint8Array).set(bytes, this.#sectionFill);
    this.#sectionFill += bytes.length;
  }

  #frameEnd(out: H3MessageEvent[]): void {
    if (this.#skip || this.#type !== H3FrameType.HEADERS) return;
    const section = this.#section as Uint8Array;
    this.#section = undefined;
    // A Required Insert Count above 0 (the first byte) means the section uses the dynamic table.
    if (section[0] !== 0) this.usedDynamicTable = true;
    const fields = this.#decode(section);
    if (fields === undefined) {
      this.#blocked = section;
      return;
    }
    this.#headersDecoded(fields, out);
  }

  #headersDecoded(fields: HeaderField[], out: H3MessageEvent[]): void {
    const malformed = (why: string): never => {
      throw new H3Error(H3ErrorCode.H3_MESSAGE_ERROR, `Malformed ${why}`, true);
    };
    if (this.#state === "body") {
      const problem = fieldSectionProblem(fields, "trailers");
      if (problem) malformed(`trailers: ${problem}`);
      if ((this.#bodyLeft ?? 0) > 0) {
        malformed(`message: ${this.#bodyLeft} body octets short of Content-Length`);
      }
      this.#state = "trailers";
      out.push({ type: "trailers", fields });
      return;
    }
    const kind = this.#role === "server" ? "request" : "response";
    const problem = fieldSectionProblem(fields, kind);
    if (problem) malformed(`${kind}: ${problem}`);
    if (kind === "response") {
      const status = Number(fields.find(([n]) => n === ":status")?.[1]);
      if (status < 200) {
        // §4.1: interim responses come before the final one; 101 is meaningless in HTTP/3.
        if (status === 101) malformed("response: 101 Switching Protocols");
        out.push({ type: "informational", fields });
        return;
      }
    }
    const length = declaredContentLength(fields);
    if (length === null) malformed(`${kind}: Content-Length is not one number`);
    const status = kind === "response" ? Number(fields.find(([n]) => n === ":status")?.[1]) : 0;
    // RFC 9110 §8.6: a HEAD response, 204 and 304 describe a body they do not carry.
    const bodyless = this.#headRequest || status === 204 || status === 304;
    this.#bodyLeft = bodyless ? 0 : length ?? undefined;
    this.#state = "body";
    out.push({ type: "headers", fields });
  }
}

function checkKnown(type: bigint): boolean {
  try {
    return checkFrameAllowed(type, "request", false);
  } catch {
    return true; // forbidden here: refused once the header is seen, its length never matters
  }
}

/** A HEADERS frame carrying `fields` (QPACK, static table only). */
export function encodeH3Headers(fields: readonly HeaderField[]): Uint8Array {
  return encodeVarintFrame(H3FrameType.HEADERS, encodeFieldSection(fields));
}

/** A DATA frame carrying `data`. */
export function encodeH3Data(data: Uint8Array): Uint8Array {
  return encodeVarintFrame(H3FrameType.DATA, data);
}
