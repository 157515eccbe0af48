/**
 * The DNS message codec: bytes <-> {@linkcode DnsMessage}. Decoding runs our own wire walk first
 * (wire_layout.ts), then lets npm:dns-packet decode each question and record at the offsets we found and checks
 * it consumed exactly those bytes. Whatever goes wrong surfaces as one error type, {@linkcode DnsFormatError}.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { dnsPacket } from "./_dns_packet.ts";
import { DnsFormatError } from "../errors.ts";
import type { DnsMessage, DnsQuestion, DnsRecord } from "./message.ts";
import { readWireLayout, type RecordSpan, type WireLayout, type WireLimits } from "./wire_layout.ts";
export { DEFAULT_WIRE_LIMITS, readHeader, type WireLimits } from "./wire_layout.ts";

/** A decoded message: the values plus the header word exactly as received. */
export interface DecodedMessage extends DnsMessage {
  readonly id: number;
  readonly type: "query" | "response";
  /** The flags word without QR, as dns-packet keeps it. */
  readonly flags: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/**
 * Decodes one DNS message.
 *
 * @throws {DnsFormatError} for any malformed input (never anything else for any byte string)
 */
export function decodeMessage(bytes: Uint8Array, limits?: WireLimits): DecodedMessage {
  const layout: WireLayout = readWireLayout(bytes, limits);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = layout.header;
  const piece = <T>(span: RecordSpan, decoder: ((b: Buffer, o: number) => T) & { bytes: number }): T => {
    let value: T;
    try {
      value = decoder(buf, span.offset);
    } catch (error) {
      throw new DnsFormatError(
        `Cannot decode record at offset ${span.offset}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { offset: span.offset, header: h, cause: error },
      );
    }
    if (decoder.bytes !== span.end - span.offset) {
      throw new DnsFormatError(
        `Cannot decode record at offset ${span.offset}: data does not match its length`,
        { offset: span.offset, header: h },
      );
    }
    return value;
  };
  const records = (spans: readonly RecordSpan[]): DnsRecord[] =>
    spans.map((s) => piece(s, dnsPacket.answer.decode));
  const additionals = records(layout.additionals);
  // RFC 6891 §6.1.1: more than one OPT record is a FORMERR; its owner must be the root.
  const opts = additionals.filter((r) => r.type === "OPT");
  if (opts.length > 1 || (opts.length === 1 && opts[0]?.name !== ".")) {
    throw new DnsFormatError("Cannot decode message: bad or repeated OPT record", { header: h });
  }
  return {
    id: h.id,
    type: (h.flags & 0x8000) !== 0 ? "response" : "query",
    flags: h.flags & 0x7fff,
    questions: layout.questions.map((s) => piece(s, dnsPacket.question.decode)),
    answers: records(layout.answers),
    authorities: records(layout.authorities),
    additionals,
  };
}

/**
 * Encodes a message we built.
 *
 * @throws {RangeError} when the message cannot be encoded (a bug on our side, never peer input)
 */
export function encodeMessage(message: DnsMessage): Uint8Array {
  try {
    const buf = dnsPacket.encode(message);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (error) {
    throw new RangeError(
      `Cannot encode DNS message: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}
