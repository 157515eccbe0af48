/**
 * EDNS(0) (RFC 6891): what a query's OPT record says, the UDP response size it allows, and our OPT record.
 *
 * @module
 */

import { CLASSIC_UDP_SIZE, type DnsMessage, type DnsRecord } from "./message.ts";

/** What the client's OPT record says; `present` false when it sent none. */
export interface EdnsInfo {
  readonly present: boolean;
  /** Advertised UDP payload size (RFC 6891 §6.2.5: values below 512 are treated as 512). */
  readonly udpSize: number;
  readonly version: number;
  /** DNSSEC OK (RFC 3225). */
  readonly dnssecOk: boolean;
  /** The query carried an EDNS(0) Padding option (RFC 7830). */
  readonly padded: boolean;
}

/** RFC 7830 §3: the option code of EDNS(0) Padding. */
export const EDNS_PADDING = 12;

/**
 * RFC 8467 §4.1 (Block-Length Padding, the recommended policy): a server pads each response to a multiple of 468
 * octets, a client pads each query to a multiple of 128.
 */
export const RESPONSE_PADDING_BLOCK = 468;

/** Reads the EDNS information of a decoded query. */
export function ednsOf(message: DnsMessage): EdnsInfo {
  const opt = message.additionals?.find((r) => r.type === "OPT");
  if (!opt) return { present: false, udpSize: CLASSIC_UDP_SIZE, version: 0, dnssecOk: false, padded: false };
  return {
    present: true,
    udpSize: Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize ?? CLASSIC_UDP_SIZE),
    version: opt.ednsVersion ?? 0,
    dnssecOk: ((opt.flags ?? 0) & 0x8000) !== 0,
    padded: opt.options?.some((o) => o.code === EDNS_PADDING || o.code === "PADDING") ?? false,
  };
}

/**
 * The largest UDP response we send: 512 without EDNS (RFC 1035 §4.2.1), else the client's size capped at our
 * own maximum (RFC 6891 §6.2.5; 1232 by default, the DNS Flag Day 2020 value that avoids IP fragmentation).
 */
export function udpResponseLimit(edns: EdnsInfo, ourMax: number): number {
  return edns.present ? Math.max(CLASSIC_UDP_SIZE, Math.min(edns.udpSize, ourMax)) : CLASSIC_UDP_SIZE;
}

/** Our OPT record: the UDP size we accept, EDNS version 0, the upper 8 bits of an extended RCODE. */
export function optRecord(udpSize: number, extendedRcode = 0, dnssecOk = false, padding?: number): DnsRecord {
  return {
    name: ".",
    type: "OPT",
    udpPayloadSize: udpSize,
    extendedRcode,
    ednsVersion: 0,
    flags: dnssecOk ? 0x8000 : 0,
    options: padding === undefined ? [] : [{ code: EDNS_PADDING, length: padding }],
  };
}

/**
 * How many zero octets the Padding option must hold so that a message of `unpaddedLength` octets (already counting
 * the option's own 4-octet code and length) becomes a multiple of `block` (RFC 8467 §4.1). The result is never
 * more than `block - 1`, and 0 when the message already fits a block boundary.
 */
export function paddingLength(unpaddedLength: number, block = RESPONSE_PADDING_BLOCK): number {
  return (block - (unpaddedLength % block)) % block;
}
