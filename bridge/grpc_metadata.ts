/**
 * gRPC over HTTP/2 header conversions, pure: metadata to and from HTTP/2 headers (`-bin` values base64), the
 * `grpc-timeout` header, and the percent-encoding of `grpc-message` (grpc/grpc `doc/PROTOCOL-HTTP2.md`).
 *
 * @module
 */

import { isAsciiValue, isMetadataKey, type Metadata } from "./frame_payloads.ts";

/** Headers that belong to HTTP/2 or gRPC itself and never travel as metadata. */
const RESERVED = new Set([
  "content-type",
  "te",
  "user-agent",
  "content-length",
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "date",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
]);

/** True for headers the bridge regenerates rather than relays. */
export function isReservedHeader(name: string): boolean {
  return name.startsWith(":") || RESERVED.has(name);
}

type HeaderValue = string | string[] | number | undefined;

/** HTTP/2 headers as a record (repeated names as arrays) to metadata; reserved and invalid entries are dropped. */
export function headersToMetadata(headers: Readonly<Record<string, HeaderValue>>): Metadata {
  const out: Array<readonly [string, Uint8Array]> = [];
  const te = new TextEncoder();
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (isReservedHeader(name) || !isMetadataKey(name) || value === undefined) continue;
    const values = Array.isArray(value) ? value : [String(value)];
    for (const v of values) {
      if (name.endsWith("-bin")) {
        // gRPC: binary values are base64, possibly comma-joined, padding optional.
        for (const part of v.split(",")) {
          const bytes = fromBase64(part.trim());
          if (bytes) out.push([name, bytes]);
        }
      } else {
        const bytes = te.encode(v);
        if (isAsciiValue(bytes)) out.push([name, bytes]);
      }
    }
  }
  return out;
}

/** HTTP/2 header fields (name, value pairs) to metadata; reserved headers and invalid entries are dropped. */
export function fieldsToMetadata(fields: readonly (readonly [string, string])[]): Metadata {
  const record: Record<string, string[]> = {};
  for (const [name, value] of fields) (record[name] ??= []).push(value);
  return headersToMetadata(record);
}

/** Metadata to HTTP/2 header fields (`-bin` values base64). */
export function metadataToFields(md: Metadata): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(metadataToHeaders(md))) {
    for (const value of Array.isArray(v) ? v : [v]) out.push([k, value]);
  }
  return out;
}

/** Metadata to header records (repeated keys become arrays; `-bin` values base64). */
export function metadataToHeaders(md: Metadata): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const td = new TextDecoder();
  for (const [k, v] of md) {
    if (isReservedHeader(k)) continue;
    const text = k.endsWith("-bin") ? toBase64(v) : td.decode(v);
    const prev = out[k];
    out[k] = prev === undefined ? text : Array.isArray(prev) ? [...prev, text] : [prev, text];
  }
  return out;
}

const UNITS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** Parses `grpc-timeout` (`1-8 digits` + `H M S m u n`) to milliseconds; `undefined` when malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (UNITS[m[2] ?? "m"] ?? 1);
  return Math.max(1, Math.ceil(ms)); // a sub-millisecond timeout is still a deadline
}

/** Formats milliseconds as `grpc-timeout` (at most 8 digits). */
export function formatGrpcTimeout(ms: number): string {
  const v = Math.max(1, Math.ceil(ms));
  if (v < 1e8) return `${v}m`;
  if (v / 1000 < 1e8) return `${Math.ceil(v / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(v / 60_000))}M`;
}

/** Percent-encodes a status message for `grpc-message` (everything outside 0x20-0x7E and `%`). */
export function encodeGrpcMessage(text: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(text)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Decodes `grpc-message`; malformed escapes are kept as they are. */
export function decodeGrpcMessage(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/=+$/, "");
}

function fromBase64(s: string): Uint8Array | undefined {
  try {
    const padded = s.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
