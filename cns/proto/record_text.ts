/**
 * Records written as zone-file lines (RFC 1035 §5.1), the form static records take in configuration:
 * `name ttl [IN] type rdata...`, e.g. `www.example.test. 300 IN A 192.0.2.10`. Names are absolute (the
 * trailing dot is optional). Supported types: A, AAAA, CNAME, NS, PTR, MX, SRV, TXT, SOA.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { DnsRecord } from "./message.ts";
import { parseDomainName } from "./name.ts";
import { parseIp } from "./ip_prefix.ts";

/** RFC 2181 §8: TTLs are 0..2^31-1. */
export const MAX_TTL = 2_147_483_647;

/** Splits a line into fields, keeping "quoted strings" (with \" and \\ escapes) together. */
function fields(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    if (m[1] !== undefined) out.push("\u0000" + m[1].replace(/\\(.)/g, "$1"));
    else if (m[2] !== undefined) out.push(m[2]);
  }
  return out;
}

function int(text: string | undefined, what: string, max: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) {
    throw new RangeError(`${what} must be an integer 0..${max}, got ${JSON.stringify(text ?? "")}`);
  }
  return Number(text);
}

function plain(text: string | undefined, what: string): string {
  if (text === undefined || text.startsWith("\u0000")) throw new RangeError(`${what} is missing`);
  return text;
}

/**
 * Parses one record line.
 *
 * @throws {RangeError} naming the line and the problem
 */
export function parseRecordText(line: string): DnsRecord {
  try {
    return parse(line);
  } catch (error) {
    throw new RangeError(
      `Cannot parse record "${line}": ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function parse(line: string): DnsRecord {
  const f = fields(line);
  const name = parseDomainName(plain(f[0], "name"));
  const ttl = int(f[1], "TTL", MAX_TTL);
  let i = 2;
  if ((f[i] ?? "").toUpperCase() === "IN") i++;
  const type = plain(f[i++], "type").toUpperCase();
  const rest = f.slice(i);
  const base = { name: name === "" ? "." : name, type, class: "IN", ttl };
  const domain = (t: string | undefined, what: string): string => {
    const n = parseDomainName(plain(t, what));
    return n === "" ? "." : n;
  };
  const arity = (n: number): void => {
    if (rest.length !== n) throw new RangeError(`${type} takes ${n} fields, got ${rest.length}`);
  };
  switch (type) {
    case "A":
    case "AAAA": {
      arity(1);
      const ip = parseIp(plain(rest[0], "address"));
      if (
        !ip || ip.length !== (type === "A" ? 4 : 16) || (type === "AAAA" && !(rest[0] ?? "").includes(":"))
      ) {
        throw new RangeError(
          `${JSON.stringify(rest[0])} is not an ${type === "A" ? "IPv4" : "IPv6"} address`,
        );
      }
      return { ...base, data: rest[0] };
    }
    case "CNAME":
    case "NS":
    case "PTR":
      arity(1);
      return { ...base, data: domain(rest[0], "target") };
    case "MX":
      arity(2);
      return {
        ...base,
        data: { preference: int(rest[0], "preference", 0xffff), exchange: domain(rest[1], "exchange") },
      };
    case "SRV":
      arity(4);
      return {
        ...base,
        data: {
          priority: int(rest[0], "priority", 0xffff),
          weight: int(rest[1], "weight", 0xffff),
          port: int(rest[2], "port", 0xffff),
          target: domain(rest[3], "target"),
        },
      };
    case "TXT": {
      if (rest.length === 0) throw new RangeError("TXT needs at least one string");
      const strings = rest.map((s) => Buffer.from(s.startsWith("\u0000") ? s.slice(1) : s));
      for (const s of strings) {
        // RFC 1035 §3.3: a <character-string> is at most 255 bytes.
        if (s.length > 255) throw new RangeError("a TXT string is longer than 255 bytes");
      }
      return { ...base, data: strings };
    }
    case "SOA":
      arity(7);
      return {
        ...base,
        data: {
          mname: domain(rest[0], "mname"),
          rname: domain(rest[1], "rname"),
          serial: int(rest[2], "serial", 0xffff_ffff),
          refresh: int(rest[3], "refresh", MAX_TTL),
          retry: int(rest[4], "retry", MAX_TTL),
          expire: int(rest[5], "expire", MAX_TTL),
          minimum: int(rest[6], "minimum", MAX_TTL),
        },
      };
    default:
      throw new RangeError(`type ${type} is not supported; use A, AAAA, CNAME, NS, PTR, MX, SRV, TXT or SOA`);
  }
}
