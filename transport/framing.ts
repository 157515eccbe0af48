/**
 * Sans-IO framing: QUIC variable-length integers (RFC 9000 §16), length-prefixed messages (u16 as in DoQ,
 * RFC 9250 §4.2, or u32), and a generic push decoder that DoQ, GhostBridge and HTTP/3 framings reuse by supplying
 * a header parser.
 *
 * Nothing here touches I/O, timers or `Deno.*`. Every decoder takes an explicit size limit and checks it before
 * allocating a body buffer. "Need more bytes" never throws; malformed or oversized input throws
 * {@linkcode TransportError} with `PROTOCOL_ERROR` or `MESSAGE_TOO_LARGE`.
 *
 * @module
 */

import { CloseCode, TransportError } from "./errors.ts";

// ---------------------------------------------------------------------------------------------------------------
// QUIC variable-length integers, RFC 9000 §16

/** The largest value a QUIC varint holds: 2^62 - 1 (RFC 9000 §16). */
export const MAX_VARINT: bigint = (1n << 62n) - 1n;

/**
 * The encoded size of `value` as a QUIC varint: 1, 2, 4 or 8 bytes.
 *
 * @throws {RangeError} when the value is negative, fractional or above {@linkcode MAX_VARINT}
 */
export function varintLength(value: number | bigint): 1 | 2 | 4 | 8 {
  const v = toVarintBigInt(value);
  // RFC 9000 §16, Table 4: 6, 14, 30 and 62 usable bits.
  if (v < 0x40n) return 1;
  if (v < 0x4000n) return 2;
  if (v < 0x4000_0000n) return 4;
  return 8;
}

/**
 * Encodes `value` as a QUIC varint in its shortest form. With `into`, writes at `offset` and returns `into`.
 *
 * @throws {RangeError} when the value is out of range or `into` is too short
 */
export function encodeVarint(value: number | bigint, into?: Uint8Array, offset = 0): Uint8Array {
  const v = toVarintBigInt(value);
  const size = varintLength(v);
  const out = into ?? new Uint8Array(size);
  if (offset < 0 || offset + size > out.length) {
    throw new RangeError(
      `Cannot encode varint: ${size} bytes do not fit at offset ${offset} of ${out.length}`,
    );
  }
  if (size === 1) {
    out[offset] = Number(v);
  } else if (size === 2) {
    const n = Number(v);
    out[offset] = 0x40 | (n >> 8);
    out[offset + 1] = n & 0xff;
  } else if (size === 4) {
    const n = Number(v);
    // The top two bits 0b10 mark a 4-byte varint.
    out[offset] = 0x80 | (n >>> 24);
    out[offset + 1] = (n >>> 16) & 0xff;
    out[offset + 2] = (n >>> 8) & 0xff;
    out[offset + 3] = n & 0xff;
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    view.setBigUint64(offset, v | (0b11n << 62n));
  }
  return out;
}

/**
 * Decodes a QUIC varint at `offset` as a number.
 *
 * @returns `[value, nextOffset]`
 * @throws {TransportError} `PROTOCOL_ERROR` when the bytes end early or the value exceeds 2^53 - 1 (use
 *   {@linkcode decodeVarintBigInt} for such values, e.g. reserved HTTP/3 frame types)
 */
export function decodeVarint(bytes: Uint8Array, offset = 0): [number, number] {
  const peeked = peekVarint(bytes, offset);
  if (peeked === undefined) {
    throw new TransportError(
      CloseCode.PROTOCOL_ERROR,
      `Cannot decode varint: input ends at offset ${offset}`,
      {
        source: "downstream",
      },
    );
  }
  if (!Number.isSafeInteger(peeked[0])) {
    throw new TransportError(
      CloseCode.PROTOCOL_ERROR,
      `Cannot decode varint: value at offset ${offset} exceeds 2^53-1`,
      { source: "downstream" },
    );
  }
  return peeked;
}

/**
 * Decodes a QUIC varint at `offset` as a bigint (exact over the whole 62-bit range).
 *
 * @returns `[value, nextOffset]`
 * @throws {TransportError} `PROTOCOL_ERROR` when the bytes end early
 */
export function decodeVarintBigInt(bytes: Uint8Array, offset = 0): [bigint, number] {
  const size = peekVarintSize(bytes, offset);
  if (size === undefined || offset + size > bytes.length) {
    throw new TransportError(
      CloseCode.PROTOCOL_ERROR,
      `Cannot decode varint: input ends at offset ${offset}`,
      {
        source: "downstream",
      },
    );
  }
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(bytes[offset + i] ?? 0);
  if (size > 1) v &= (1n << BigInt(size * 8 - 2)) - 1n; // drop the two length bits
  else v &= 0x3fn;
  return [v, offset + size];
}

/**
 * Reads a QUIC varint if all its bytes are present; the push decoders' "need more" form.
 *
 * Values above 2^53 - 1 come back rounded (still above any sane limit), so this is exact for lengths and for
 * every value a limit check accepts.
 *
 * @returns `[value, nextOffset]`, or `undefined` when more bytes are needed (never throws)
 */
export function peekVarint(bytes: Uint8Array, offset = 0): [number, number] | undefined {
  const size = peekVarintSize(bytes, offset);
  if (size === undefined || offset + size > bytes.length) return undefined;
  const first = (bytes[offset] ?? 0) & 0x3f;
  let v = first;
  for (let i = 1; i < size; i++) v = v * 256 + (bytes[offset + i] ?? 0);
  return [v, offset + size];
}

function peekVarintSize(bytes: Uint8Array, offset: number): 1 | 2 | 4 | 8 | undefined {
  const first = bytes[offset];
  if (first === undefined) return undefined;
  // RFC 9000 §16: the two most significant bits of the first byte encode log2 of the length.
  return (1 << (first >> 6)) as 1 | 2 | 4 | 8;
}

function toVarintBigInt(value: number | bigint): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot encode varint: ${value} is not a safe integer`);
  }
  const v = BigInt(value);
  if (v < 0n || v > MAX_VARINT) {
    throw new RangeError(`Cannot encode varint: ${value} is outside 0..2^62-1`);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Generic push decoder

/** A parsed frame header: its value, how many bytes it took, and how many body bytes follow. */
export interface FrameHeader<H> {
  /** The header's decoded fields. */
  readonly header: H;
  /** Bytes the header occupies, at least 1 and at most the format's `maxHeaderLength`. */
  readonly headerLength: number;
  /** Bytes of body that follow the header. */
  readonly bodyLength: number;
}

/**
 * A framing: how to read a header and build a frame. Implement it for a protocol and hand it to
 * {@linkcode FrameDecoder}.
 */
export interface FrameFormat<H, F> {
  /** Noun used in error messages, e.g. `"DoQ message"`. */
  readonly name: string;
  /** The longest header this format has; the decoder never buffers more header bytes than this. */
  readonly maxHeaderLength: number;
  /**
   * Parses a header at the start of `bytes` (which holds at most `maxHeaderLength` bytes). Returns `undefined`
   * when more bytes are needed; throws {@linkcode TransportError} when the header is malformed.
   */
  parseHeader(bytes: Uint8Array): FrameHeader<H> | undefined;
  /** Builds the frame value. `body` may be a view into a pushed chunk. */
  build(header: H, body: Uint8Array): F;
}

/** Limits of a {@linkcode FrameDecoder}. */
export interface FrameDecoderLimits<H> {
  /** Largest body accepted, in bytes, or a function of the header (per frame type limits). */
  readonly maxBodyLength: number | ((header: H) => number);
}

const EMPTY = new Uint8Array(0);

/** The header part of a {@linkcode FrameFormat}: all a {@linkcode StreamingFrameDecoder} needs. */
export type FrameHeaderFormat<H> = Pick<FrameFormat<H, unknown>, "name" | "maxHeaderLength" | "parseHeader">;

/** What a {@linkcode StreamingFrameDecoder} reports: a frame's header, its body in parts, its end. */
export type FrameEvent<H> =
  | { readonly kind: "header"; readonly header: H; readonly bodyLength: number }
  | { readonly kind: "body"; readonly bytes: Uint8Array }
  | { readonly kind: "end" };

/**
 * A push decoder that does not assemble bodies: `push(chunk)` returns, in order, each frame's `header` event,
 * its body as `body` events (views into the pushed chunks, never copied), and an `end` event. Only header bytes
 * are buffered (at most `maxHeaderLength`), so a frame may be as long as its limit allows without being held in
 * memory: HTTP/3 DATA frames and bulk GhostBridge payloads stream through it. "Need more bytes" returns what is
 * complete so far and never throws; a malformed header or a length over the limit throws
 * {@linkcode TransportError} (checked from the header, before any body byte is accepted), after which the
 * decoder stays failed.
 *
 * @example
 * ```ts
 * const d = new StreamingFrameDecoder(lengthPrefixFormat(4), { maxBodyLength: 1 << 30 });
 * for (const e of d.push(chunk)) if (e.kind === "body") await file.write(e.bytes);
 * ```
 */
export class StreamingFrameDecoder<H> {
  readonly #format: FrameHeaderFormat<H>;
  readonly #limits: FrameDecoderLimits<H>;
  readonly #headerBuf: Uint8Array;
  #headerFill = 0;
  #inBody = false;
  #remaining = 0;
  #bodyLength = 0;
  #failure: TransportError | undefined;

  /** Creates a decoder for `format` with explicit `limits`. */
  constructor(format: FrameHeaderFormat<H>, limits: FrameDecoderLimits<H>) {
    if (!Number.isInteger(format.maxHeaderLength) || format.maxHeaderLength < 1) {
      throw new RangeError(`Cannot create decoder: maxHeaderLength ${format.maxHeaderLength} is not >= 1`);
    }
    this.#format = format;
    this.#limits = limits;
    this.#headerBuf = new Uint8Array(format.maxHeaderLength);
  }

  /** True while a frame has started but is not complete (a stalled peer is one that leaves this true). */
  get pending(): boolean {
    return this.#headerFill > 0 || this.#inBody;
  }

  /** Header bytes held for the frame in progress. */
  get bufferedBytes(): number {
    return this.#headerFill;
  }

  /** Body bytes of the current frame received so far. */
  get bodyReceived(): number {
    return this.#inBody ? this.#bodyLength - this.#remaining : 0;
  }

  /**
   * Adds bytes and returns the events they complete, in order; `[]` when more bytes are needed.
   *
   * @throws {TransportError} `PROTOCOL_ERROR` for a malformed header, `MESSAGE_TOO_LARGE` for a length over limit
   */
  push(chunk: Uint8Array): FrameEvent<H>[] {
    if (this.#failure) throw this.#failure;
    try {
      const out: FrameEvent<H>[] = [];
      this.#push(chunk, out);
      return out;
    } catch (error) {
      this.#failure = error instanceof TransportError ? error : new TransportError(
        CloseCode.PROTOCOL_ERROR,
        `Cannot decode ${this.#format.name}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, source: "downstream" },
      );
      throw this.#failure;
    }
  }

  /**
   * Call at the end of the stream: throws when a frame was cut off.
   *
   * @throws {TransportError} `PROTOCOL_ERROR` when the stream ended inside a frame
   */
  finish(): void {
    if (this.#failure) throw this.#failure;
    if (!this.pending) return;
    const where = this.#inBody
      ? `after ${this.#bodyLength - this.#remaining} of ${this.#bodyLength} body bytes`
      : `in a header after ${this.#headerFill} bytes`;
    this.#failure = new TransportError(
      CloseCode.PROTOCOL_ERROR,
      `Cannot decode ${this.#format.name}: stream ended ${where}`,
      { source: "downstream" },
    );
    throw this.#failure;
  }

  #push(chunk: Uint8Array, out: FrameEvent<H>[]): void {
    const max = this.#format.maxHeaderLength;
    let off = 0;
    while (off < chunk.length) {
      if (this.#inBody) {
        const take = Math.min(this.#remaining, chunk.length - off);
        out.push({ kind: "body", bytes: chunk.subarray(off, off + take) });
        off += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#inBody = false;
          out.push({ kind: "end" });
        }
        continue;
      }
      let parsed: FrameHeader<H> | undefined;
      let consumed: number;
      if (this.#headerFill === 0) {
        // Fast path: parse straight from the chunk, no copy.
        const view = chunk.subarray(off, off + max);
        parsed = this.#format.parseHeader(view);
        if (parsed === undefined) {
          this.#checkNeedMore(view.length);
          this.#headerBuf.set(view);
          this.#headerFill = view.length;
          off += view.length;
          continue;
        }
        consumed = this.#checkHeaderLength(parsed, view.length);
      } else {
        const take = Math.min(max - this.#headerFill, chunk.length - off);
        this.#headerBuf.set(chunk.subarray(off, off + take), this.#headerFill);
        const view = this.#headerBuf.subarray(0, this.#headerFill + take);
        parsed = this.#format.parseHeader(view);
        if (parsed === undefined) {
          this.#checkNeedMore(view.length);
          this.#headerFill += take;
          off += take;
          continue;
        }
        // Only the bytes of this chunk that belong to the header are consumed.
        consumed = this.#checkHeaderLength(parsed, view.length) - this.#headerFill;
        if (consumed < 1) throw new RangeError(`Cannot decode ${this.#format.name}: parser is not monotonic`);
        this.#headerFill = 0;
      }
      off += consumed;
      // The limit is checked from the header alone, before any body byte is taken.
      this.#checkBodyLength(parsed.header, parsed.bodyLength);
      out.push({ kind: "header", header: parsed.header, bodyLength: parsed.bodyLength });
      if (parsed.bodyLength === 0) {
        out.push({ kind: "end" });
      } else {
        this.#inBody = true;
        this.#bodyLength = parsed.bodyLength;
        this.#remaining = parsed.bodyLength;
      }
    }
  }

  #checkNeedMore(available: number): void {
    if (available >= this.#format.maxHeaderLength) {
      throw new TransportError(
        CloseCode.PROTOCOL_ERROR,
        `Cannot decode ${this.#format.name}: header longer than ${this.#format.maxHeaderLength} bytes`,
        { source: "downstream" },
      );
    }
  }

  #checkHeaderLength(parsed: FrameHeader<H>, available: number): number {
    const n = parsed.headerLength;
    if (!Number.isInteger(n) || n < 1 || n > available) {
      throw new RangeError(`Cannot decode ${this.#format.name}: parser reported header length ${n}`);
    }
    return n;
  }

  #checkBodyLength(header: H, length: number): void {
    const limit = typeof this.#limits.maxBodyLength === "number"
      ? this.#limits.maxBodyLength
      : this.#limits.maxBodyLength(header);
    if (!Number.isInteger(length) || length < 0) {
      throw new TransportError(
        CloseCode.PROTOCOL_ERROR,
        `Cannot decode ${this.#format.name}: invalid length ${length}`,
        { source: "downstream" },
      );
    }
    if (length > limit) {
      throw new TransportError(
        CloseCode.MESSAGE_TOO_LARGE,
        `Cannot decode ${this.#format.name}: length ${length} exceeds ${limit}`,
        { source: "downstream" },
      );
    }
  }
}

/**
 * A push decoder of whole frames: feed it the bytes of a stream in chunks of any size with `push(chunk)`, get
 * complete frames back. Built on {@linkcode StreamingFrameDecoder}: incomplete input is kept (at most one header
 * plus one body, both bounded by the limits) and never throws; malformed or oversized input throws
 * {@linkcode TransportError}, after which the decoder stays failed. A body is allocated once, at its final size,
 * and only when it straddles chunks; a body inside one chunk is a view into it (so do not reuse a chunk's buffer
 * after pushing it).
 *
 * @example
 * ```ts
 * const decoder = new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 65535 });
 * decoder.push(Uint8Array.of(0, 3, 1)); // []
 * decoder.push(Uint8Array.of(2, 3)); // [Uint8Array [1, 2, 3]]
 * ```
 */
export class FrameDecoder<H, F> {
  readonly #stream: StreamingFrameDecoder<H>;
  readonly #build: (header: H, body: Uint8Array) => F;
  #header: H | undefined;
  #bodyLength = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #failure: TransportError | undefined;

  /** Creates a decoder for `format` with explicit `limits`. */
  constructor(format: FrameFormat<H, F>, limits: FrameDecoderLimits<H>) {
    this.#stream = new StreamingFrameDecoder(format, limits);
    this.#build = (header, body) => format.build(header, body);
  }

  /** True while a frame has started but is not complete (a stalled peer is one that leaves this true). */
  get pending(): boolean {
    return this.#stream.pending;
  }

  /** Bytes held for the frame in progress (header and body). */
  get bufferedBytes(): number {
    return this.#stream.bufferedBytes + this.#stream.bodyReceived;
  }

  /**
   * Adds bytes and returns every frame they complete, in order; `[]` when more bytes are needed.
   *
   * @throws {TransportError} `PROTOCOL_ERROR` for a malformed header, `MESSAGE_TOO_LARGE` for a body over limit
   */
  push(chunk: Uint8Array): F[] {
    if (this.#failure) throw this.#failure;
    const out: F[] = [];
    for (const e of this.#stream.push(chunk)) {
      if (e.kind === "header") {
        this.#header = e.header;
        this.#bodyLength = e.bodyLength;
        this.#body = undefined;
        this.#bodyFill = 0;
      } else if (e.kind === "body") {
        if (this.#body === undefined && e.bytes.length === this.#bodyLength) {
          this.#body = e.bytes; // the whole body in one chunk: no copy
        } else {
          // Allocation happens only here, after the decoder checked the announced length against the limit.
          this.#body ??= new Uint8Array(this.#bodyLength);
          this.#body.set(e.bytes, this.#bodyFill);
        }
        this.#bodyFill += e.bytes.length;
      } else {
        out.push(this.#buildChecked(this.#header as H, this.#body ?? EMPTY));
        this.#header = undefined;
        this.#body = undefined;
      }
    }
    return out;
  }

  /**
   * Call at the end of the stream: throws when a frame was cut off.
   *
   * @throws {TransportError} `PROTOCOL_ERROR` when the stream ended inside a frame
   */
  finish(): void {
    if (this.#failure) throw this.#failure;
    this.#stream.finish();
  }

  /** A format's `build` may reject a frame; anything it throws becomes a `PROTOCOL_ERROR` and fails the decoder. */
  #buildChecked(header: H, body: Uint8Array): F {
    try {
      return this.#build(header, body);
    } catch (error) {
      this.#failure = error instanceof TransportError ? error : new TransportError(
        CloseCode.PROTOCOL_ERROR,
        `Cannot decode frame: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, source: "downstream" },
      );
      throw this.#failure;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Length-prefixed messages

/** Size of a big-endian length prefix: 2 bytes (DoQ, RFC 9250 §4.2) or 4 bytes. */
export type PrefixSize = 2 | 4;

/** The largest length a prefix of `prefix` bytes can carry. */
export function maxPrefixedLength(prefix: PrefixSize): number {
  return prefix === 2 ? 0xffff : 0xffff_ffff;
}

/** The {@linkcode FrameFormat} of messages with a big-endian length prefix of 2 or 4 bytes. */
export function lengthPrefixFormat(prefix: PrefixSize, name = "message"): FrameFormat<number, Uint8Array> {
  checkPrefix(prefix);
  return {
    name,
    maxHeaderLength: prefix,
    parseHeader(bytes: Uint8Array): FrameHeader<number> | undefined {
      if (bytes.length < prefix) return undefined;
      const length = prefix === 2 ? readU16(bytes, 0) : readU32(bytes, 0);
      return { header: length, headerLength: prefix, bodyLength: length };
    },
    build(_header: number, body: Uint8Array): Uint8Array {
      return body;
    },
  };
}

/** Options of {@linkcode LengthPrefixedDecoder} and {@linkcode decodeLengthPrefixed}. */
export interface LengthPrefixOptions {
  /** Prefix size in bytes. */
  readonly prefix: PrefixSize;
  /** Largest message body accepted; must not exceed what the prefix can carry. */
  readonly maxMessageBytes: number;
  /** Noun for error messages. Defaults to `"message"`. */
  readonly name?: string;
}

/**
 * Push decoder of length-prefixed messages; `push(chunk)` returns the completed message bodies.
 *
 * @example
 * ```ts
 * const d = new LengthPrefixedDecoder({ prefix: 4, maxMessageBytes: 1 << 20 });
 * const messages = d.push(encodeLengthPrefixed(new TextEncoder().encode("hi"), 4));
 * ```
 */
export class LengthPrefixedDecoder extends FrameDecoder<number, Uint8Array> {
  /** Creates a decoder; throws RangeError when the limit does not fit the prefix. */
  constructor(options: LengthPrefixOptions) {
    checkLimit(options);
    super(lengthPrefixFormat(options.prefix, options.name), { maxBodyLength: options.maxMessageBytes });
  }
}

/** Bytes needed to encode a `length`-byte payload with a `prefix`-byte prefix. */
export function lengthPrefixedSize(length: number, prefix: PrefixSize): number {
  return prefix + length;
}

/**
 * Writes a big-endian length prefix into `into` at `offset`.
 *
 * @throws {RangeError} when the length does not fit the prefix
 */
export function writeLengthPrefix(length: number, prefix: PrefixSize, into: Uint8Array, offset = 0): void {
  checkPrefix(prefix);
  if (!Number.isInteger(length) || length < 0 || length > maxPrefixedLength(prefix)) {
    throw new RangeError(`Cannot encode message: length ${length} exceeds ${maxPrefixedLength(prefix)}`);
  }
  if (offset < 0 || offset + prefix > into.length) {
    throw new RangeError(`Cannot encode message: prefix does not fit at offset ${offset}`);
  }
  if (prefix === 2) {
    into[offset] = length >>> 8;
    into[offset + 1] = length & 0xff;
  } else {
    into[offset] = length >>> 24;
    into[offset + 1] = (length >>> 16) & 0xff;
    into[offset + 2] = (length >>> 8) & 0xff;
    into[offset + 3] = length & 0xff;
  }
}

/**
 * Encodes `payload` with a big-endian length prefix.
 *
 * @throws {RangeError} when the payload is too long for the prefix
 */
export function encodeLengthPrefixed(payload: Uint8Array, prefix: PrefixSize = 2): Uint8Array {
  const out = new Uint8Array(prefix + payload.length);
  writeLengthPrefix(payload.length, prefix, out, 0);
  out.set(payload, prefix);
  return out;
}

/**
 * Decodes one length-prefixed message at `offset` of a complete buffer (the codec form of the push decoder).
 *
 * @returns `[body, nextOffset]`; `body` is a view into `bytes`
 * @throws {TransportError} `PROTOCOL_ERROR` when the input is cut short, `MESSAGE_TOO_LARGE` over the limit
 */
export function decodeLengthPrefixed(
  bytes: Uint8Array,
  offset: number,
  options: LengthPrefixOptions,
): [Uint8Array, number] {
  checkLimit(options);
  const { prefix, maxMessageBytes } = options;
  const name = options.name ?? "message";
  if (offset < 0 || offset + prefix > bytes.length) {
    throw new TransportError(
      CloseCode.PROTOCOL_ERROR,
      `Cannot decode ${name}: input ends inside the prefix`,
      {
        source: "downstream",
      },
    );
  }
  const length = prefix === 2 ? readU16(bytes, offset) : readU32(bytes, offset);
  if (length > maxMessageBytes) {
    throw new TransportError(
      CloseCode.MESSAGE_TOO_LARGE,
      `Cannot decode ${name}: length ${length} exceeds ${maxMessageBytes}`,
      { source: "downstream" },
    );
  }
  const start = offset + prefix;
  if (start + length > bytes.length) {
    throw new TransportError(
      CloseCode.PROTOCOL_ERROR,
      `Cannot decode ${name}: length ${length} runs past the end of input`,
      { source: "downstream" },
    );
  }
  return [bytes.subarray(start, start + length), start + length];
}

// ---------------------------------------------------------------------------------------------------------------
// Varint-typed frames (HTTP/3 shape, RFC 9114 §7.1)

/** A frame with a varint type and a varint length, as in HTTP/3. */
export interface VarintFrame {
  /** Frame type; a bigint because reserved types use the whole 62-bit range (RFC 9114 §7.2.8). */
  readonly type: bigint;
  /** Frame payload. */
  readonly payload: Uint8Array;
}

/**
 * The {@linkcode FrameFormat} of `type (varint) | length (varint) | payload` frames (RFC 9114 §7.1).
 *
 * Use with `new FrameDecoder(varintFrameFormat(), { maxBodyLength: (type) => ... })` for per-type limits.
 */
export function varintFrameFormat(name = "frame"): FrameFormat<bigint, VarintFrame> {
  return {
    name,
    maxHeaderLength: 16,
    parseHeader(bytes: Uint8Array): FrameHeader<bigint> | undefined {
      const t = peekVarint(bytes, 0);
      if (t === undefined) return undefined;
      const l = peekVarint(bytes, t[1]);
      if (l === undefined) return undefined;
      const [type] = decodeVarintBigInt(bytes, 0);
      return { header: type, headerLength: l[1], bodyLength: l[0] };
    },
    build(type: bigint, payload: Uint8Array): VarintFrame {
      return { type, payload };
    },
  };
}

/** Encodes a varint-typed frame (RFC 9114 §7.1). */
export function encodeVarintFrame(type: number | bigint, payload: Uint8Array): Uint8Array {
  const tl = varintLength(type);
  const ll = varintLength(payload.length);
  const out = new Uint8Array(tl + ll + payload.length);
  encodeVarint(type, out, 0);
  encodeVarint(payload.length, out, tl);
  out.set(payload, tl + ll);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) * 0x100_0000) + (((bytes[offset + 1] ?? 0) << 16) |
    ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0));
}

function checkPrefix(prefix: number): void {
  if (prefix !== 2 && prefix !== 4) {
    throw new RangeError(`Cannot use length prefix of ${prefix} bytes: use 2 or 4`);
  }
}

function checkLimit(options: LengthPrefixOptions): void {
  checkPrefix(options.prefix);
  const max = maxPrefixedLength(options.prefix);
  if (
    !Number.isInteger(options.maxMessageBytes) || options.maxMessageBytes < 0 || options.maxMessageBytes > max
  ) {
    throw new RangeError(
      `Cannot use maxMessageBytes ${options.maxMessageBytes}: a ${options.prefix}-byte prefix allows 0..${max}`,
    );
  }
}
