/**
 * DNS message values as cns handles them: the shape npm:dns-packet decodes to and encodes from, narrowed to the
 * fields we read, plus the spec constants (RFC 1035 §4.1, RFC 6895 registries) we need.
 *
 * @module
 */

/** RCODEs (RFC 1035 §4.1.1, RFC 6891 §9 for BADVERS). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended RCODE 16: the upper 8 bits (1) travel in the OPT record. */
  BADVERS: 16,
} as const;

/** RCODE names as dns-packet spells them, by value (0..15). */
export const RCODE_NAMES: readonly string[] = [
  "NOERROR",
  "FORMERR",
  "SERVFAIL",
  "NXDOMAIN",
  "NOTIMP",
  "REFUSED",
  "YXDOMAIN",
  "YXRRSET",
  "NXRRSET",
  "NOTAUTH",
  "NOTZONE",
  "RCODE_11",
  "RCODE_12",
  "RCODE_13",
  "RCODE_14",
  "RCODE_15",
];

/** Header flag bits within the 16-bit flags word (RFC 1035 §4.1.1). */
export const FLAG = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** OPCODE QUERY (RFC 1035 §4.1.1). */
export const OPCODE_QUERY = 0;

/** TYPE values cns treats specially. */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** RFC 1035 §2.3.4: a UDP message without EDNS is at most 512 bytes. */
export const CLASSIC_UDP_SIZE = 512;

/** A question as decoded: `type` like `"A"` or `"UNKNOWN_65280"`, `class` like `"IN"`. */
export interface DnsQuestion {
  readonly name: string;
  readonly type: string;
  readonly class?: string;
}

/** An EDNS option (RFC 6891 §6.1.2) as dns-packet decodes it. */
export interface DnsOption {
  readonly code: number | string;
  readonly data?: Uint8Array;
  readonly [key: string]: unknown;
}

/** A resource record. `data` depends on the type (string for A/AAAA/CNAME/NS/PTR, objects for MX/SRV/SOA...). */
export interface DnsRecord {
  readonly name: string;
  readonly type: string;
  readonly class?: string;
  readonly ttl?: number;
  readonly data?: unknown;
  readonly flush?: boolean;
  // OPT pseudo-record fields (RFC 6891 §6.1.3).
  readonly udpPayloadSize?: number;
  readonly extendedRcode?: number;
  readonly ednsVersion?: number;
  readonly flags?: number;
  readonly options?: readonly DnsOption[];
}

/** A whole message. `flags` is the header's 16-bit word without QR (dns-packet's convention). */
export interface DnsMessage {
  readonly id?: number;
  readonly type?: "query" | "response";
  readonly flags?: number;
  readonly questions?: readonly DnsQuestion[];
  readonly answers?: readonly DnsRecord[];
  readonly authorities?: readonly DnsRecord[];
  readonly additionals?: readonly DnsRecord[];
}

/** The header's OPCODE field. */
export function opcodeOf(flags: number): number {
  return (flags >>> 11) & 0xf;
}

/** The header's 4-bit RCODE field. */
export function rcodeOf(flags: number): number {
  return flags & 0xf;
}

/** A record's TTL, 0 when absent. */
export function ttlOf(record: DnsRecord): number {
  return record.ttl ?? 0;
}
