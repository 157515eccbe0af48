/**
 * A hand-written walk over a DNS message's raw bytes, run before npm:dns-packet sees them. It checks what
 * dns-packet does not (trailing garbage, record data that does not fill its RDLENGTH, label bytes it cannot
 * represent) and what it must never get wrong (compression loops, forward pointers, label and name lengths),
 * and returns where each question and record starts so the codec can decode them one by one.
 *
 * Pure, allocation-bounded: it allocates one small object per record, and the record count is capped by the
 * limits before anything is walked.
 *
 * @module
 */

import { DnsFormatError, type HeaderInfo } from "../errors.ts";
import { TYPE } from "./message.ts";

/** Limits of the wire walk. */
export interface WireLimits {
  /** Largest message accepted (65,535 for TCP/DoQ/DoH, the socket buffer for UDP). */
  readonly maxMessageBytes: number;
  /** Largest QDCOUNT + ANCOUNT + NSCOUNT + ARCOUNT accepted. */
  readonly maxRecords: number;
}

/** Defaults of {@linkcode WireLimits}: one TCP message, 1,000 records. */
export const DEFAULT_WIRE_LIMITS: WireLimits = { maxMessageBytes: 65_535, maxRecords: 1000 };

/** RFC 1035 §2.3.4: a name is at most 255 bytes on the wire, a label at most 63. */
export const MAX_NAME_BYTES = 255;
/** RFC 1035 §2.3.4. */
export const MAX_LABEL_BYTES = 63;
/** A DNS header is 12 bytes (RFC 1035 §4.1.1). */
export const HEADER_BYTES = 12;

/** Where one record starts and ends. */
export interface RecordSpan {
  readonly offset: number;
  readonly end: number;
  readonly type: number;
}

/** The layout of a well-formed message. */
export interface WireLayout {
  readonly header: HeaderInfo;
  /** Offsets where each question starts, and where the question section ends. */
  readonly questions: readonly RecordSpan[];
  readonly answers: readonly RecordSpan[];
  readonly authorities: readonly RecordSpan[];
  readonly additionals: readonly RecordSpan[];
}

/** Reads the 12-byte header, or `undefined` when fewer bytes arrived. */
export function readHeader(bytes: Uint8Array): HeaderInfo | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  return { id: u16(bytes, 0), flags: u16(bytes, 2) };
}

/**
 * Walks a whole message and returns its layout.
 *
 * @throws {DnsFormatError} for anything malformed; `header` is set when the first 12 bytes were there
 */
export function readWireLayout(bytes: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): WireLayout {
  if (bytes.length > limits.maxMessageBytes) {
    throw new DnsFormatError(
      `Cannot decode message: length ${bytes.length} exceeds ${limits.maxMessageBytes}`,
      header(bytes),
    );
  }
  const h = readHeader(bytes);
  if (h === undefined) {
    throw new DnsFormatError(`Cannot decode message: ${bytes.length} bytes is shorter than a header`, {
      offset: 0,
    });
  }
  const counts = [u16(bytes, 4), u16(bytes, 6), u16(bytes, 8), u16(bytes, 10)] as const;
  const total = counts[0] + counts[1] + counts[2] + counts[3];
  if (total > limits.maxRecords) {
    throw new DnsFormatError(`Cannot decode message: ${total} records exceed ${limits.maxRecords}`, {
      offset: 4,
      header: h,
    });
  }
  const fail = (message: string, offset: number): never => {
    throw new DnsFormatError(message, { offset, header: h });
  };
  let off = HEADER_BYTES;
  const questions: RecordSpan[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const start = off;
    off = walkName(bytes, off, fail);
    if (off + 4 > bytes.length) {
      fail(`Cannot decode question ${i}: ends after ${bytes.length - off} bytes`, off);
    }
    questions.push({ offset: start, end: off + 4, type: u16(bytes, off) });
    off += 4;
  }
  const sections: RecordSpan[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    const list = sections[s] as RecordSpan[];
    const count = counts[s + 1] ?? 0;
    for (let i = 0; i < count; i++) {
      const start = off;
      off = walkName(bytes, off, fail);
      if (off + 10 > bytes.length) fail(`Cannot decode record at offset ${start}: fixed fields cut off`, off);
      const type = u16(bytes, off);
      const rdlength = u16(bytes, off + 8);
      const rdata = off + 10;
      const end = rdata + rdlength;
      if (end > bytes.length) {
        fail(`Cannot decode record at offset ${start}: RDLENGTH ${rdlength} runs past the end`, off + 8);
      }
      checkRdata(bytes, type, rdata, end, fail);
      list.push({ offset: start, end, type });
      off = end;
    }
  }
  if (off !== bytes.length) {
    fail(`Cannot decode message: ${bytes.length - off} bytes of trailing garbage`, off);
  }
  return {
    header: h,
    questions,
    answers: sections[0] as RecordSpan[],
    authorities: sections[1] as RecordSpan[],
    additionals: sections[2] as RecordSpan[],
  };
}

type Fail = (message: string, offset: number) => never;

/**
 * Walks one (possibly compressed) name starting at `start` and returns the offset just after it in place.
 *
 * RFC 1035 §4.1.4: a pointer replaces the rest of a name with a prior occurrence. We accept only pointers to
 * bytes before the start of the labels being read, so every jump goes strictly backwards and the walk ends:
 * loops and forward pointers are both rejected (dns-packet applies the same rule).
 */
export function walkName(bytes: Uint8Array, start: number, fail: Fail): number {
  let pos = start;
  let segment = start;
  let end = -1;
  let length = 1; // the root label's length byte
  while (true) {
    if (pos >= bytes.length) return fail(`Cannot decode name at offset ${start}: cut off`, pos);
    const b = bytes[pos] ?? 0;
    if (b === 0) {
      return end < 0 ? pos + 1 : end;
    }
    const kind = b & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= bytes.length) return fail(`Cannot decode name at offset ${start}: pointer cut off`, pos);
      const target = ((b & 0x3f) << 8) | (bytes[pos + 1] ?? 0);
      if (target >= segment) {
        return fail(
          `Cannot decode name at offset ${start}: pointer at offset ${pos} to ${target} does not point backwards`,
          pos,
        );
      }
      if (end < 0) end = pos + 2;
      segment = target;
      pos = target;
      continue;
    }
    if (kind !== 0) {
      // RFC 6891 §5 retired extended label types (0x40); 0x80 is reserved.
      return fail(`Cannot decode name at offset ${start}: unsupported label type 0x${b.toString(16)}`, pos);
    }
    // b <= 63 here: RFC 1035 §2.3.4 label length.
    if (pos + 1 + b > bytes.length) return fail(`Cannot decode name at offset ${start}: label cut off`, pos);
    length += b + 1;
    if (length > MAX_NAME_BYTES) {
      return fail(`Cannot decode name at offset ${start}: longer than ${MAX_NAME_BYTES} bytes`, pos);
    }
    for (let i = pos + 1; i <= pos + b; i++) {
      const c = bytes[i] ?? 0;
      // dns-packet turns labels into dotted UTF-8 text without escapes: a '.' inside a label or a byte that is
      // not ASCII would not survive the round trip, so such names are refused rather than silently changed.
      if (c === 0x2e || c >= 0x80) {
        return fail(
          `Cannot decode name at offset ${start}: label byte 0x${c.toString(16)} is not supported`,
          i,
        );
      }
    }
    pos += 1 + b;
  }
}

/** Checks that a record's data has the shape dns-packet will read for its type, and fills RDLENGTH exactly. */
function checkRdata(bytes: Uint8Array, type: number, start: number, end: number, fail: Fail): void {
  const len = end - start;
  const exact = (n: number): void => {
    if (len !== n) fail(`Cannot decode record data of type ${type}: length ${len}, expected ${n}`, start);
  };
  const nameAt = (off: number): number => {
    if (off >= end) return fail(`Cannot decode record data of type ${type}: name cut off`, off);
    const next = walkName(bytes, off, fail);
    if (next > end) fail(`Cannot decode record data of type ${type}: name runs past RDLENGTH`, off);
    return next;
  };
  const filled = (off: number): void => {
    if (off !== end) fail(`Cannot decode record data of type ${type}: ${end - off} bytes left over`, off);
  };
  switch (type) {
    case TYPE.A:
      return exact(4);
    case TYPE.AAAA:
      return exact(16);
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
    case TYPE.DNAME:
      return filled(nameAt(start));
    case TYPE.MX:
      if (len < 3) fail(`Cannot decode record data of type ${type}: length ${len} too short`, start);
      return filled(nameAt(start + 2));
    case TYPE.SRV:
      if (len < 7) fail(`Cannot decode record data of type ${type}: length ${len} too short`, start);
      return filled(nameAt(start + 6));
    case TYPE.SOA: {
      const afterRname = nameAt(nameAt(start));
      return filled(afterRname + 20);
    }
    case TYPE.TXT: {
      // RFC 1035 §3.3.14: one or more <character-string>s filling RDATA.
      if (len === 0) fail(`Cannot decode record data of type ${type}: empty`, start);
      let off = start;
      while (off < end) off += 1 + (bytes[off] ?? 0);
      return filled(off);
    }
    case TYPE.OPT: {
      // RFC 6891 §6.1.2: {code u16, length u16, data} options filling RDATA.
      let off = start;
      while (off < end) {
        if (off + 4 > end) fail(`Cannot decode EDNS option at offset ${off}: cut off`, off);
        const code = u16(bytes, off);
        const olen = u16(bytes, off + 2);
        // dns-packet parses ECS (8) itself and misreads a body shorter than its 4-byte fixed part.
        if (code === 8 && (olen < 4 || olen > 20)) {
          fail(`Cannot decode EDNS client subnet option: length ${olen}`, off);
        }
        off += 4 + olen;
      }
      return filled(off);
    }
  }
}

function header(bytes: Uint8Array): { header?: HeaderInfo } {
  const h = readHeader(bytes);
  return h === undefined ? {} : { header: h };
}

function u16(bytes: Uint8Array, off: number): number {
  return ((bytes[off] ?? 0) << 8) | (bytes[off + 1] ?? 0);
}
