// Private test helpers: a fake upstream transport and query builders.
import { Buffer } from "node:buffer";
import { optRecord } from "./proto/edns.ts";
import type { UpstreamTarget, UpstreamTransport } from "./resolver/forwarder.ts";
import { type DnsMessage, type DnsRecord, FLAG } from "./proto/message.ts";
import { type DecodedMessage, decodeMessage, encodeMessage } from "./proto/message_codec.ts";

/** Builds query bytes. */
export function query(
  name: string,
  type = "A",
  options: {
    id?: number;
    rd?: boolean;
    udpSize?: number;
    ednsVersion?: number;
    flags?: number;
    /** Octets of EDNS(0) Padding (RFC 7830); needs `udpSize`. */
    padding?: number;
  } = {},
): Uint8Array {
  const additionals: DnsRecord[] = [];
  if (options.udpSize !== undefined) {
    additionals.push({
      ...optRecord(options.udpSize, 0, false, options.padding),
      ednsVersion: options.ednsVersion ?? 0,
    });
  }
  return encodeMessage({
    id: options.id ?? 0x4242,
    type: "query",
    flags: (options.flags ?? 0) | (options.rd === false ? 0 : FLAG.RD),
    questions: [{ name, type, class: "IN" }],
    additionals,
  });
}

/** Decodes response bytes (test side). */
export function decode(bytes: Uint8Array | null): DecodedMessage {
  if (bytes === null) throw new Error("expected a response, got null");
  return decodeMessage(bytes);
}

/** A response to `q` built by an upstream script. */
export function answer(q: Uint8Array, build: (m: DecodedMessage) => Partial<DnsMessage>): Uint8Array {
  const m = decodeMessage(q);
  return encodeMessage({
    id: m.id,
    type: "response",
    flags: FLAG.RD | FLAG.RA,
    questions: m.questions,
    ...build(m),
  });
}

/** What the fake upstream does with one query: datagrams to deliver in order (undefined: silence). */
export type Script = (
  query: Uint8Array,
  target: UpstreamTarget,
  via: "udp" | "tcp",
) => Uint8Array[] | undefined;

/** A fake transport; records every exchange. */
export class FakeTransport implements UpstreamTransport {
  readonly log: { target: UpstreamTarget; via: "udp" | "tcp"; query: Uint8Array }[] = [];
  constructor(readonly script: Script) {}

  udp(
    target: UpstreamTarget,
    q: Uint8Array,
    options: { timeoutMs: number; accept: (b: Uint8Array) => boolean },
  ): Promise<Uint8Array | undefined> {
    this.log.push({ target, via: "udp", query: q });
    for (const d of this.script(q, target, "udp") ?? []) if (options.accept(d)) return Promise.resolve(d);
    return Promise.resolve(undefined);
  }

  tcp(target: UpstreamTarget, q: Uint8Array): Promise<Uint8Array | undefined> {
    this.log.push({ target, via: "tcp", query: q });
    return Promise.resolve(this.script(q, target, "tcp")?.[0]);
  }
}

/** TXT data as text. */
export function txt(r: DnsRecord | undefined): string {
  const d = r?.data;
  return Array.isArray(d) ? d.map((b) => Buffer.from(b as Uint8Array).toString()).join("") : "";
}
