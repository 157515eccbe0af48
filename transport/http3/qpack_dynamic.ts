/**
 * QPACK's dynamic table (RFC 9204 §3-§4), sans-IO: {@linkcode QpackDecoder} (our side of the peer's encoder
 * stream, field sections that reference the table, blocked streams, our decoder instructions) and
 * {@linkcode QpackEncoder} (our inserts on our encoder stream, field sections that reference them, the peer's
 * decoder instructions).
 *
 * The decoder keeps what the peer may spend on it bounded: the table's capacity is at most what we advertised
 * (SETTINGS_QPACK_MAX_TABLE_CAPACITY), at most `maxBlockedStreams` streams may wait for inserts
 * (SETTINGS_QPACK_BLOCKED_STREAMS; one more is QPACK_DECOMPRESSION_FAILED), a partial encoder instruction may
 * not outgrow the table, and a decoded section is bounded by SETTINGS_MAX_FIELD_SECTION_SIZE however often it
 * references one large entry (the QPACK bomb).
 *
 * The encoder never makes the peer block: a section references only entries the peer has acknowledged (Known
 * Received Count), and fields worth indexing are inserted for later sections. It never evicts an entry a section
 * still awaiting acknowledgement references (§2.1.1), and never inserts what would need such an eviction.
 *
 * @module
 */
import { concatBytes } from "../../core/mod.ts";
import { encodeInteger, type HeaderField } from "../http2/hpack.ts";
import { decodeString, encodeString, integer, QpackError, QpackErrorCode, SENSITIVE } from "./qpack.ts";
import { QPACK_STATIC_TABLE } from "./qpack_static_table.ts";

/** Size of an entry (RFC 9204 §3.2.1): name and value octets plus 32. */
export function qpackEntrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/** The dynamic table both sides keep in step: entries by absolute index, oldest first. */
export class QpackDynamicTable {
  /** Current capacity (set by the encoder, at most the decoder's maximum). */
  capacity = 0;
  /** Sum of entry sizes. */
  size = 0;
  /** Entries ever inserted; the newest entry's absolute index is `insertCount - 1`. */
  insertCount = 0;
  readonly #entries: HeaderField[] = [];
  readonly #sizes: number[] = [];

  /** The entry with absolute index `index`, if it is still in the table. */
  get(index: number): HeaderField | undefined {
    const at = index - (this.insertCount - this.#entries.length);
    return at >= 0 ? this.#entries[at] : undefined;
  }

  /** Absolute index of the oldest entry still in the table. */
  get oldest(): number {
    return this.insertCount - this.#entries.length;
  }

  /** Entries in the table. */
  get length(): number {
    return this.#entries.length;
  }

  /** Evicts from the oldest until `size <= limit`; false if that would evict an entry at or after `keepFrom`. */
  evictTo(limit: number, keepFrom = Number.POSITIVE_INFINITY): boolean {
    let n = 0;
    let size = this.size;
    while (size > limit) {
      const s = this.#sizes[n];
      if (s === undefined || this.oldest + n >= keepFrom) return false;
      size -= s;
      n++;
    }
    this.#entries.splice(0, n);
    this.#sizes.splice(0, n);
    this.size = size;
    return true;
  }

  /** Inserts an entry, evicting as needed; the caller checked that it fits the capacity. */
  insert(name: string, value: string): void {
    const s = qpackEntrySize(name, value);
    this.evictTo(this.capacity - s);
    this.#entries.push([name, value]);
    this.#sizes.push(s);
    this.size += s;
    this.insertCount++;
  }

  /** The newest entry equal to `name`/`value` (or with that name), as an absolute index. */
  find(name: string, value: string, from = 0): { exact: number; name: number } {
    let nameAt = -1;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const abs = this.oldest + i;
      if (abs < from) break;
      const e = this.#entries[i];
      if (e === undefined || e[0] !== name) continue;
      if (e[1] === value) return { exact: abs, name: nameAt >= 0 ? nameAt : abs };
      if (nameAt < 0) nameAt = abs;
    }
    return { exact: -1, name: nameAt };
  }
}

const truncated = (error: unknown): boolean => error instanceof QpackError && /truncated/.test(error.message);

/** Options of {@linkcode QpackDecoder}. */
export interface QpackDecoderOptions {
  /** SETTINGS_QPACK_MAX_TABLE_CAPACITY we advertise. */
  readonly maxTableCapacity: number;
  /** SETTINGS_QPACK_BLOCKED_STREAMS we advertise. */
  readonly maxBlockedStreams: number;
  /** SETTINGS_MAX_FIELD_SECTION_SIZE we advertise. Default 64 KiB. */
  readonly maxFieldSectionSize?: number;
}

/** Our decoder (see the module doc). */
export class QpackDecoder {
  readonly table: QpackDynamicTable = new QpackDynamicTable();
  readonly #maxCapacity: number;
  readonly #maxBlocked: number;
  readonly #maxSection: number;
  #pending: Uint8Array = new Uint8Array(0);
  /** Inserts the encoder knows we received (by Insert Count Increment or Section Acknowledgment). */
  #acknowledged = 0;
  readonly #out: Uint8Array[] = [];
  readonly #blocked = new Map<number, number>();

  constructor(options: QpackDecoderOptions) {
    this.#maxCapacity = options.maxTableCapacity;
    this.#maxBlocked = options.maxBlockedStreams;
    this.#maxSection = options.maxFieldSectionSize ?? 64 * 1024;
  }

  /** Streams waiting for inserts: stream id -> the Insert Count they need. */
  get blocked(): ReadonlyMap<number, number> {
    return this.#blocked;
  }

  /**
   * Bytes of the peer's encoder stream (RFC 9204 §4.3). Returns the ids of blocked streams that can now be
   * decoded. Throws QpackError QPACK_ENCODER_STREAM_ERROR.
   */
  encoderStream(bytes: Uint8Array): number[] {
    const buf = this.#pending.length === 0 ? bytes : concatBytes(this.#pending, bytes);
    let at = 0;
    const fail = (why: string): never => {
      throw new QpackError(`Encoder stream: ${why}`, QpackErrorCode.QPACK_ENCODER_STREAM_ERROR);
    };
    while (at < buf.length) {
      const start = at;
      const b = buf[at] ?? 0;
      try {
        if ((b & 0x80) !== 0) {
          // Insert with Name Reference: 1 T index(6), value.
          const [index, next] = integer(buf, at, 6);
          const [value, after] = decodeString(buf, next, 7, this.#maxCapacity);
          const name = (b & 0x40) !== 0
            ? QPACK_STATIC_TABLE[index]?.[0]
            : this.table.get(this.table.insertCount - 1 - index)?.[0];
          if (name === undefined) {
            fail(`name reference ${index} is not in the ${b & 0x40 ? "static" : "dynamic"} table`);
          }
          this.#insert(name as string, value, fail);
          at = after;
        } else if ((b & 0x40) !== 0) {
          // Insert with Literal Name: 01 H namelen(5), name, value.
          const [name, next] = decodeString(buf, at, 5, this.#maxCapacity);
          const [value, after] = decodeString(buf, next, 7, this.#maxCapacity);
          this.#insert(name, value, fail);
          at = after;
        } else if ((b & 0x20) !== 0) {
          // Set Dynamic Table Capacity: 001 capacity(5).
          const [capacity, next] = integer(buf, at, 5);
          if (capacity > this.#maxCapacity) {
            fail(`capacity ${capacity} above our maximum ${this.#maxCapacity}`);
          }
          this.table.capacity = capacity;
          if (!this.table.evictTo(capacity)) fail("capacity change would evict a referenced entry");
          at = next;
        } else {
          // Duplicate: 000 index(5).
          const [index, next] = integer(buf, at, 5);
          const e = this.table.get(this.table.insertCount - 1 - index);
          if (e === undefined) fail(`duplicate of ${index}, which is not in the table`);
          this.#insert((e as HeaderField)[0], (e as HeaderField)[1], fail);
          at = next;
        }
      } catch (error) {
        if (!truncated(error)) {
          if (error instanceof QpackError && error.code === QpackErrorCode.QPACK_ENCODER_STREAM_ERROR) {
            throw error;
          }
          fail(error instanceof Error ? error.message : String(error));
        }
        // A partial instruction waits for more bytes; it can never need more than the table holds.
        if (buf.length - start > this.#maxCapacity + 64) fail("an instruction larger than the table");
        at = start;
        break;
      }
    }
    this.#pending = buf.slice(at);
    // Tell the encoder what arrived so it can reference it (Insert Count Increment, §4.4.3).
    this.#acknowledge();
    const ready: number[] = [];
    for (const [stream, need] of this.#blocked) {
      if (need <= this.table.insertCount) {
        this.#blocked.delete(stream);
        ready.push(stream);
      }
    }
    return ready;
  }

  #insert(name: string, value: string, fail: (why: string) => never): void {
    if (qpackEntrySize(name, value) > this.table.capacity) {
      fail(`an entry of ${qpackEntrySize(name, value)} bytes in a table of ${this.table.capacity}`);
    }
    this.table.insert(name, value);
  }

  /** Required Insert Count from its encoded form (RFC 9204 §4.5.1.1). */
  #requiredInsertCount(encoded: number): number {
    if (encoded === 0) return 0;
    const maxEntries = Math.floor(this.#maxCapacity / 32);
    const fullRange = 2 * maxEntries;
    if (encoded > fullRange) throw new QpackError(`Required Insert Count ${encoded} out of range`);
    const maxValue = this.table.insertCount + maxEntries;
    const maxWrapped = Math.floor(maxValue / fullRange) * fullRange;
    let ric = maxWrapped + encoded - 1;
    if (ric > maxValue) {
      if (ric <= fullRange) throw new QpackError(`Required Insert Count ${encoded} out of range`);
      ric -= fullRange;
    }
    if (ric === 0) throw new QpackError("Required Insert Count encoded as 0 mod range");
    return ric;
  }

  /**
   * Decodes a field section of stream `streamId`, or returns `undefined` when it must wait for inserts (the
   * stream is then blocked; decode it again once {@linkcode QpackDecoder.encoderStream} lists it). Throws
   * QpackError QPACK_DECOMPRESSION_FAILED.
   */
  decodeSection(streamId: number, bytes: Uint8Array): HeaderField[] | undefined {
    const [encoded, afterRic] = integer(bytes, 0, 8);
    const ric = this.#requiredInsertCount(encoded);
    const b1 = bytes[afterRic];
    if (b1 === undefined) throw new QpackError("Cannot decode field section: prefix truncated");
    const [delta, start] = integer(bytes, afterRic, 7);
    const base = (b1 & 0x80) !== 0 ? ric - delta - 1 : ric + delta;
    if (base < 0) throw new QpackError("Cannot decode field section: negative Base");
    if (ric > this.table.insertCount) {
      if (!this.#blocked.has(streamId) && this.#blocked.size >= this.#maxBlocked) {
        throw new QpackError(`Cannot decode field section: more than ${this.#maxBlocked} blocked streams`);
      }
      this.#blocked.set(streamId, ric);
      return undefined;
    }
    this.#blocked.delete(streamId);
    const fields: HeaderField[] = [];
    let size = 0;
    let maxRef = -1;
    const emit = (name: string, value: string): void => {
      // The bomb bound: decoded size counts every reference, not the bytes on the wire.
      size += name.length + value.length + 32;
      if (size > this.#maxSection) {
        throw new QpackError(`Cannot decode field section: larger than ${this.#maxSection}`);
      }
      fields.push([name, value]);
    };
    const dynamic = (abs: number): HeaderField => {
      if (abs >= ric || abs < 0) {
        throw new QpackError(
          `Cannot decode field section: reference ${abs} beyond Required Insert Count ${ric}`,
        );
      }
      const e = this.table.get(abs);
      if (e === undefined) throw new QpackError(`Cannot decode field section: entry ${abs} was evicted`);
      maxRef = Math.max(maxRef, abs);
      return e;
    };
    const staticEntry = (index: number): HeaderField => {
      const e = QPACK_STATIC_TABLE[index];
      if (e === undefined) {
        throw new QpackError(`Cannot decode field section: static index ${index} out of range`);
      }
      return e;
    };
    let at = start;
    while (at < bytes.length) {
      const b = bytes[at] ?? 0;
      if ((b & 0x80) !== 0) {
        // Indexed Field Line: 1 T index(6).
        const [index, next] = integer(bytes, at, 6);
        at = next;
        const [n, v] = (b & 0x40) !== 0 ? staticEntry(index) : dynamic(base - 1 - index);
        emit(n, v);
      } else if ((b & 0x40) !== 0) {
        // Literal Field Line with Name Reference: 01 N T index(4), value.
        const [index, next] = integer(bytes, at, 4);
        const [value, after] = decodeString(bytes, next, 7, this.#maxSection);
        at = after;
        emit(((b & 0x10) !== 0 ? staticEntry(index) : dynamic(base - 1 - index))[0], value);
      } else if ((b & 0x20) !== 0) {
        // Literal Field Line with Literal Name: 001 N H namelen(3), name, value.
        const [name, next] = decodeString(bytes, at, 3, this.#maxSection);
        const [value, after] = decodeString(bytes, next, 7, this.#maxSection);
        at = after;
        emit(name, value);
      } else if ((b & 0x10) !== 0) {
        // Indexed Field Line with Post-Base Index: 0001 index(4).
        const [index, next] = integer(bytes, at, 4);
        at = next;
        const [n, v] = dynamic(base + index);
        emit(n, v);
      } else {
        // Literal Field Line with Post-Base Name Reference: 0000 N index(3), value.
        const [index, next] = integer(bytes, at, 3);
        const [value, after] = decodeString(bytes, next, 7, this.#maxSection);
        at = after;
        emit(dynamic(base + index)[0], value);
      }
    }
    if (ric > 0 && maxRef !== ric - 1) {
      // §4.5.1.1: the Required Insert Count must be exactly what the section needs.
      throw new QpackError(
        `Cannot decode field section: Required Insert Count ${ric} but the newest reference is ${maxRef}`,
      );
    }
    if (ric > 0) {
      // Section Acknowledgment (§4.4.1): 1 stream(7). It also acknowledges every insert up to ric.
      const out: number[] = [];
      encodeInteger(streamId, 7, 0x80, out);
      this.#out.push(Uint8Array.from(out));
      this.#acknowledged = Math.max(this.#acknowledged, ric);
    }
    return fields;
  }

  /** The stream was reset or abandoned before its sections were decoded (Stream Cancellation, §4.4.2). */
  cancelStream(streamId: number, referencedTable: boolean): void {
    this.#blocked.delete(streamId);
    if (!referencedTable || this.#maxCapacity === 0) return;
    const out: number[] = [];
    encodeInteger(streamId, 6, 0x40, out);
    this.#out.push(Uint8Array.from(out));
  }

  #acknowledge(): void {
    const n = this.table.insertCount - this.#acknowledged;
    if (n <= 0) return;
    const out: number[] = [];
    encodeInteger(n, 6, 0x00, out);
    this.#out.push(Uint8Array.from(out));
    this.#acknowledged = this.table.insertCount;
  }

  /** Decoder-stream bytes to send now (empty when there is nothing to say). */
  takeDecoderStream(): Uint8Array {
    const bytes = concatBytes(...this.#out);
    this.#out.length = 0;
    return bytes;
  }
}

/** Options of {@linkcode QpackEncoder}. */
export interface QpackEncoderOptions {
  /** The peer's SETTINGS_QPACK_MAX_TABLE_CAPACITY. */
  readonly peerMaxTableCapacity: number;
  /** The capacity we use, at most the peer's maximum. Default 4,096. */
  readonly capacity?: number;
  /** Huffman-code strings unless that is longer. Default true. */
  readonly huffman?: boolean;
}

/** Field names never worth a dynamic entry: they change on every request or are sensitive. */
const NOT_INDEXED = new Set([
  ":path",
  "content-length",
  "date",
  "etag",
  "last-modified",
  "if-modified-since",
  "if-none-match",
  "age",
  "expires",
]);

/** Our encoder (see the module doc). */
export class QpackEncoder {
  readonly table: QpackDynamicTable = new QpackDynamicTable();
  readonly #maxEntries: number;
  readonly #huffman: boolean;
  /** Inserts the peer has acknowledged. */
  #knownReceived = 0;
  /** Unacknowledged sections per stream: their Required Insert Count and oldest reference. */
  readonly #sections = new Map<number, { ric: number; oldest: number }[]>();
  readonly #out: number[] = [];

  constructor(options: QpackEncoderOptions) {
    this.#maxEntries = Math.floor(options.peerMaxTableCapacity / 32);
    this.#huffman = options.huffman ?? true;
    const capacity = Math.min(options.capacity ?? 4_096, options.peerMaxTableCapacity);
    if (capacity > 0) {
      this.table.capacity = capacity;
      // Set Dynamic Table Capacity: 001 capacity(5).
      encodeInteger(capacity, 5, 0x20, this.#out);
    }
  }

  /** Inserts the peer has acknowledged (for tests and metrics). */
  get knownReceivedCount(): number {
    return this.#knownReceived;
  }

  /** The oldest entry a pending section references (evicting it or anything newer is not allowed). */
  #oldestReferenced(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const list of this.#sections.values()) for (const s of list) oldest = Math.min(oldest, s.oldest);
    return oldest;
  }

  /** Inserts a field for later sections if it fits without evicting a referenced entry. */
  #maybeInsert(name: string, value: string): void {
    const cap = this.table.capacity;
    const size = qpackEntrySize(name, value);
    if (cap === 0 || size > cap / 4 || NOT_INDEXED.has(name) || SENSITIVE.has(name)) return;
    if (this.table.find(name, value, this.table.oldest).exact >= 0) return;
    // Only sections awaiting acknowledgement constrain eviction (this one included: it is registered first).
    if (!this.table.evictTo(cap - size, this.#oldestReferenced())) return;
    const staticName = QPACK_STATIC_TABLE.findIndex(([n]) => n === name);
    if (staticName >= 0) {
      // Insert with Name Reference, static: 1 1 index(6), value.
      encodeInteger(staticName, 6, 0xc0, this.#out);
    } else {
      // Insert with Literal Name: 01 H namelen(5), name, value.
      encodeString(name, 5, 0x40, this.#huffman, this.#out);
    }
    encodeString(value, 7, 0x00, this.#huffman, this.#out);
    this.table.insert(name, value);
  }

  /** Encodes a field section for stream `streamId`; our encoder-stream bytes wait in {@linkcode takeEncoderStream}. */
  encodeSection(streamId: number, fields: readonly HeaderField[]): Uint8Array {
    const body: number[] = [];
    let ric = 0;
    let oldest = Number.POSITIVE_INFINITY;
    const refs: { field: HeaderField; abs: number; nameOnly: boolean }[] = [];
    const usable = (abs: number) => abs >= 0 && abs < this.#knownReceived;
    // First pass: choose a representation for each field; dynamic references only to acknowledged entries.
    const plan: (() => void)[] = [];
    const inserts: HeaderField[] = [];
    for (const field of fields) {
      const [name, value] = field;
      const sensitive = SENSITIVE.has(name);
      let exactStatic = -1, nameStatic = -1;
      for (let i = 0; i < QPACK_STATIC_TABLE.length; i++) {
        const e = QPACK_STATIC_TABLE[i] as HeaderField;
        if (e[0] !== name) continue;
        if (e[1] === value) {
          exactStatic = i;
          break;
        }
        if (nameStatic < 0) nameStatic = i;
      }
      const dyn = this.table.length > 0
        ? this.table.find(name, value, this.table.oldest)
        : { exact: -1, name: -1 };
      if (exactStatic >= 0 && !sensitive) {
        plan.push(() => encodeInteger(exactStatic, 6, 0xc0, body));
      } else if (usable(dyn.exact) && !sensitive) {
        refs.push({ field, abs: dyn.exact, nameOnly: false });
        const abs = dyn.exact;
        plan.push(() => encodeInteger(ric - 1 - abs, 6, 0x80, body));
      } else if (nameStatic >= 0 || exactStatic >= 0) {
        const index = nameStatic >= 0 ? nameStatic : exactStatic;
        plan.push(() => {
          encodeInteger(index, 4, 0x50 | (sensitive ? 0x20 : 0), body);
          encodeString(value, 7, 0x00, this.#huffman, body);
        });
        if (!sensitive) inserts.push(field);
      } else if (usable(dyn.name)) {
        refs.push({ field, abs: dyn.name, nameOnly: true });
        const abs = dyn.name;
        plan.push(() => {
          encodeInteger(ric - 1 - abs, 4, 0x40 | (sensitive ? 0x20 : 0), body);
          encodeString(value, 7, 0x00, this.#huffman, body);
        });
        if (!sensitive) inserts.push(field);
      } else {
        plan.push(() => {
          encodeString(name, 3, 0x20 | (sensitive ? 0x10 : 0), this.#huffman, body);
          encodeString(value, 7, 0x00, this.#huffman, body);
        });
        if (!sensitive) inserts.push(field);
      }
    }
    for (const r of refs) {
      ric = Math.max(ric, r.abs + 1);
      oldest = Math.min(oldest, r.abs);
    }
    for (const p of plan) p();
    const prefix: number[] = [];
    if (ric === 0) prefix.push(0x00, 0x00);
    else {
      // Encoded Required Insert Count (§4.5.1.1), Base = Required Insert Count (Sign 0, Delta Base 0).
      encodeInteger((ric % (2 * this.#maxEntries)) + 1, 8, 0x00, prefix);
      prefix.push(0x00);
      const list = this.#sections.get(streamId) ?? [];
      list.push({ ric, oldest });
      this.#sections.set(streamId, list);
    }
    // Inserts for later sections, after this section's references are pinned.
    for (const [name, value] of inserts) this.#maybeInsert(name, value);
    return Uint8Array.from([...prefix, ...body]);
  }

  /** Encoder-stream bytes to send before the sections encoded since the last call. */
  takeEncoderStream(): Uint8Array {
    const bytes = Uint8Array.from(this.#out);
    this.#out.length = 0;
    return bytes;
  }

  /** Bytes of the peer's decoder stream (§4.4). Throws QpackError QPACK_DECODER_STREAM_ERROR. */
  decoderStream(bytes: Uint8Array): void {
    const fail = (why: string): never => {
      throw new QpackError(`Decoder stream: ${why}`, QpackErrorCode.QPACK_DECODER_STREAM_ERROR);
    };
    const buf = this.#pendingDecoder.length === 0 ? bytes : concatBytes(this.#pendingDecoder, bytes);
    let at = 0;
    while (at < buf.length) {
      const b = buf[at] ?? 0;
      const prefix = (b & 0x80) !== 0 ? 7 : 6;
      let value: number, next: number;
      try {
        [value, next] = integer(buf, at, prefix);
      } catch (error) {
        if (truncated(error) && buf.length - at < 16) break;
        return fail(error instanceof Error ? error.message : String(error));
      }
      if ((b & 0x80) !== 0) {
        // Section Acknowledgment: the oldest unacknowledged section of that stream.
        const list = this.#sections.get(value);
        const first = list?.shift();
        if (first === undefined) fail(`acknowledgment for stream ${value}, which has no section pending`);
        if (list?.length === 0) this.#sections.delete(value);
        this.#knownReceived = Math.max(this.#knownReceived, (first as { ric: number }).ric);
      } else if ((b & 0x40) !== 0) {
        // Stream Cancellation.
        this.#sections.delete(value);
      } else {
        // Insert Count Increment.
        if (value === 0 || this.#knownReceived + value > this.table.insertCount) {
          fail(`Insert Count Increment of ${value} beyond the ${this.table.insertCount} inserts sent`);
        }
        this.#knownReceived += value;
      }
      at = next;
    }
    this.#pendingDecoder = buf.slice(at);
  }
  #pendingDecoder: Uint8Array = new Uint8Array(0);
}
