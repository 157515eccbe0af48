// Private: the typed face of npm:dns-packet. The package ships no types of its own and @types/dns-packet lacks
// the per-record decoders we use, so the few functions we call are declared here, once. Every call into the
// package goes through this file, so its quirks are handled in one place (see message_codec.ts).

import * as raw from "dns-packet";
import type { Buffer } from "node:buffer";
import type { DnsMessage, DnsQuestion, DnsRecord } from "./message.ts";

interface Sized {
  /** Bytes consumed by the last decode call. */
  bytes: number;
}

interface DnsPacketLib {
  encode(message: DnsMessage): Buffer;
  encodingLength(message: DnsMessage): number;
  decode: ((buf: Buffer, offset?: number) => DnsMessage) & Sized;
  question: { decode: ((buf: Buffer, offset: number) => DnsQuestion) & Sized };
  answer: {
    decode: ((buf: Buffer, offset: number) => DnsRecord) & Sized;
    encode(record: DnsRecord): Buffer;
    encodingLength(record: DnsRecord): number;
  };
}

function load(): DnsPacketLib {
  // CommonJS interop: the functions live on the default export.
  const mod = raw as unknown as { default?: unknown };
  return (mod.default ?? raw) as DnsPacketLib;
}

/** The dns-packet functions cns uses. */
export const dnsPacket: DnsPacketLib = load();
