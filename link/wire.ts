/**
 * ghostlink's control messages on QUIC streams, pure. A frame is a type (u8), a length (u16, big-endian) and a
 * body; bodies are fixed fields and u8-length-prefixed strings. Decoding is bounded and never throws past
 * {@linkcode WireError}.
 *
 * | type | message      | body                                   | direction                        |
 * | ---- | ------------ | -------------------------------------- | -------------------------------- |
 * | 1    | HELLO_INIT   | handshake INIT                         | dialer -> listener               |
 * | 2    | HELLO_RESP   | handshake RESP, observed address text  | listener -> dialer (identify)    |
 * | 3    | HELLO_FIN    | handshake FIN, purpose (u8)            | dialer -> listener               |
 * | 4    | REKEYED      | (empty): new keys in use from here on  | listener -> dialer, on a link    |
 * | 10   | CONNECT_REQ  | target identity key                    | peer -> rendezvous               |
 * | 11   | CONNECT      | peer identity key, its address text    | rendezvous -> both ("" = unknown)|
 * | 12   | REFUSED      | reason text                            | either way                       |
 * | 13   | DIALBACK_REQ | (empty)                                | member -> rendezvous             |
 * | 14   | DIALBACK     | reachable (u8: 0 or 1)                 | rendezvous -> member             |
 * | 20   | RELAY_OPEN   | target identity key                    | peer -> relay, on a new stream   |
 * | 21   | RELAY_IN     | the opener's identity key              | relay -> target, on a new stream |
 * | 30   | DATA         | a sealed session message               | peer <-> peer                    |
 * | 31   | PACKET       | a sealed IP packet (relayed links)     | peer <-> peer                    |
 * | 40   | FIND_NODE    | target DHT key, serving (u8: 0 or 1)   | DHT query                        |
 * | 41   | NODES        | count (u8), then key + address text    | DHT answer: the nearest servers  |
 * | 42   | PUT_RECORD   | a signed peer record (dht.ts)          | DHT store                        |
 * | 43   | STORED       | stored (u8: 0 or 1)                    | DHT answer                       |
 * | 44   | GET_RECORD   | the peer's identity key                | DHT query                        |
 * | 45   | RECORD       | a signed peer record, or empty         | DHT answer                       |
 *
 * @module
 */

import { concatBytes } from "../core/mod.ts";

/** Frame types. */
export const FrameType = {
  HELLO_INIT: 1,
  HELLO_RESP: 2,
  HELLO_FIN: 3,
  REKEYED: 4,
  CONNECT_REQ: 10,
  CONNECT: 11,
  REFUSED: 12,
  DIALBACK_REQ: 13,
  DIALBACK: 14,
  RELAY_OPEN: 20,
  RELAY_IN: 21,
  DATA: 30,
  PACKET: 31,
  FIND_NODE: 40,
  NODES: 41,
  PUT_RECORD: 42,
  STORED: 43,
  GET_RECORD: 44,
  RECORD: 45,
} as const;

/** Contacts in one NODES frame. */
export const MAX_NODES = 20;

/**
 * Why a connection was opened: 0 control (a rendezvous' member), 1 data (a link), 2 a punch (opened, then
 * closed), 3 DHT queries.
 */
export type Purpose = 0 | 1 | 2 | 3;

/** Largest frame body. */
export const MAX_FRAME_BODY = 0xffff;

/** A decoded frame. */
export type LinkFrame =
  | { readonly type: 1; readonly init: Uint8Array }
  | { readonly type: 2; readonly resp: Uint8Array; readonly observed: string }
  | { readonly type: 3; readonly fin: Uint8Array; readonly purpose: Purpose }
  | { readonly type: 4 }
  | { readonly type: 10; readonly target: Uint8Array }
  | { readonly type: 11; readonly peer: Uint8Array; readonly addr: string }
  | { readonly type: 12; readonly reason: string }
  | { readonly type: 13 }
  | { readonly type: 14; readonly reachable: boolean }
  | { readonly type: 20; readonly target: Uint8Array }
  | { readonly type: 21; readonly from: Uint8Array }
  | { readonly type: 30 | 31; readonly packet: Uint8Array }
  | { readonly type: 40; readonly target: Uint8Array; readonly serving: boolean }
  | { readonly type: 41; readonly nodes: readonly { readonly key: Uint8Array; readonly addr: string }[] }
  | { readonly type: 42; readonly record: Uint8Array }
  | { readonly type: 43; readonly stored: boolean }
  | { readonly type: 44; readonly key: Uint8Array }
  | { readonly type: 45; readonly record: Uint8Array };

/** A frame that cannot be read. */
export class WireError extends Error {
  override readonly name = "WireError";
}

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });

function text(s: string): Uint8Array {
  const b = te.encode(s);
  if (b.length > 255) throw new RangeError(`Cannot encode text of ${b.length} bytes (max 255)`);
  return Uint8Array.of(b.length, ...b);
}

/** Encodes one frame. */
export function encodeFrame(f: LinkFrame): Uint8Array {
  let body: Uint8Array;
  switch (f.type) {
    case 1:
      body = f.init;
      break;
    case 2:
      body = concatBytes(f.resp, text(f.observed));
      break;
    case 3:
      body = concatBytes(f.fin, Uint8Array.of(f.purpose));
      break;
    case 4:
      body = new Uint8Array(0);
      break;
    case 10:
      body = key(f.target);
      break;
    case 11:
      body = concatBytes(key(f.peer), text(f.addr));
      break;
    case 12:
      body = text(f.reason.slice(0, 200));
      break;
    case 13:
      body = new Uint8Array(0);
      break;
    case 14:
      body = Uint8Array.of(f.reachable ? 1 : 0);
      break;
    case 20:
      body = key(f.target);
      break;
    case 21:
      body = key(f.from);
      break;
    case 30:
    case 31:
      body = f.packet;
      break;
    case 40:
      body = concatBytes(key(f.target), Uint8Array.of(f.serving ? 1 : 0));
      break;
    case 41:
      if (f.nodes.length > MAX_NODES) throw new RangeError(`Cannot encode more than ${MAX_NODES} nodes`);
      body = concatBytes(
        Uint8Array.of(f.nodes.length),
        ...f.nodes.flatMap((n) => [key(n.key), text(n.addr)]),
      );
      break;
    case 42:
    case 45:
      body = f.record;
      break;
    case 43:
      body = Uint8Array.of(f.stored ? 1 : 0);
      break;
    case 44:
      body = key(f.key);
      break;
  }
  if (body.length > MAX_FRAME_BODY) {
    throw new RangeError(`Cannot encode a frame body of ${body.length} bytes`);
  }
  const out = new Uint8Array(3 + body.length);
  out[0] = f.type;
  out[1] = body.length >>> 8;
  out[2] = body.length & 0xff;
  out.set(body, 3);
  return out;
}

function key(k: Uint8Array): Uint8Array {
  if (k.length !== 32) throw new RangeError(`Cannot encode an identity key of ${k.length} bytes`);
  return k;
}

function readText(b: Uint8Array, at: number, what: string): string {
  const n = b[at];
  if (n === undefined || at + 1 + n !== b.length) throw new WireError(`Bad ${what}: length does not match`);
  try {
    return td.decode(b.subarray(at + 1, at + 1 + n));
  } catch {
    throw new WireError(`Bad ${what}: not UTF-8`);
  }
}

/** A body that is exactly one 32-byte identity key, copied. */
function readKey(body: Uint8Array, what: string): Uint8Array {
  if (body.length !== 32) throw new WireError(`Bad ${what}: the key is not 32 bytes`);
  return body.slice();
}

/** A body that is exactly one byte, 0 or 1. */
function readFlag(body: Uint8Array, what: string): boolean {
  if (body.length !== 1 || (body[0] !== 0 && body[0] !== 1)) throw new WireError(`Bad ${what}: want 0 or 1`);
  return body[0] === 1;
}

/** Decodes one frame body of `type`. */
export function decodeFrame(type: number, body: Uint8Array): LinkFrame {
  switch (type) {
    case 1:
      return { type, init: body.slice() };
    case 2:
      if (body.length < 128) throw new WireError("Bad HELLO_RESP: too short");
      return { type, resp: body.slice(0, 128), observed: readText(body, 128, "HELLO_RESP address") };
    case 3: {
      const purpose = body[64];
      if (body.length !== 65 || (purpose !== 0 && purpose !== 1 && purpose !== 2 && purpose !== 3)) {
        throw new WireError("Bad HELLO_FIN: want a 64-byte signature and a purpose of 0 to 3");
      }
      return { type, fin: body.slice(0, 64), purpose };
    }
    case 4:
      if (body.length !== 0) throw new WireError("Bad REKEYED: it has no body");
      return { type };
    case 10:
      return { type, target: readKey(body, "CONNECT_REQ") };
    case 11:
      if (body.length < 33) throw new WireError("Bad CONNECT: too short");
      return { type, peer: body.slice(0, 32), addr: readText(body, 32, "CONNECT address") };
    case 12:
      return { type, reason: readText(body, 0, "REFUSED reason") };
    case 13:
      if (body.length !== 0) throw new WireError("Bad DIALBACK_REQ: it has no body");
      return { type };
    case 14:
      return { type, reachable: readFlag(body, "DIALBACK") };
    case 20:
      return { type, target: readKey(body, "RELAY_OPEN") };
    case 21:
      return { type, from: readKey(body, "RELAY_IN") };
    case 30:
    case 31:
      return { type, packet: body.slice() };
    case 40:
      if (body.length !== 33 || (body[32] !== 0 && body[32] !== 1)) {
        throw new WireError("Bad FIND_NODE: want a 32-byte key and 0 or 1");
      }
      return { type, target: body.slice(0, 32), serving: body[32] === 1 };
    case 41: {
      const n = body[0];
      if (n === undefined || n > MAX_NODES) throw new WireError(`Bad NODES: at most ${MAX_NODES}`);
      const nodes: { key: Uint8Array; addr: string }[] = [];
      let at = 1;
      for (let i = 0; i < n; i++) {
        const len = body[at + 32];
        if (len === undefined || at + 33 + len > body.length) throw new WireError("Bad NODES: truncated");
        nodes.push({
          key: body.slice(at, at + 32),
          addr: readText(body.subarray(0, at + 33 + len), at + 32, "NODES address"),
        });
        at += 33 + len;
      }
      if (at !== body.length) throw new WireError("Bad NODES: bytes after the last node");
      return { type, nodes };
    }
    case 42:
    case 45:
      return { type, record: body.slice() };
    case 43:
      return { type, stored: readFlag(body, "STORED") };
    case 44:
      return { type, key: readKey(body, "GET_RECORD") };
    default:
      throw new WireError(`Unknown frame type ${type}`);
  }
}

/** Splits a byte stream into frames (bounded: a frame body is at most 65,535 bytes). */
export class FrameDecoder {
  #buf = new Uint8Array(0);
  /** Decode one frame only and keep the rest as bytes (a relay reads its header, then forwards raw). */
  stopAfterFirst = false;

  /** The bytes held past the frames returned so far (taken: the decoder is left empty). */
  takeRest(): Uint8Array {
    const r = this.#buf;
    this.#buf = new Uint8Array(0);
    return r;
  }

  /** Bytes held, not yet a whole frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Feeds bytes; returns every whole frame (throws WireError on a bad one). */
  push(chunk: Uint8Array): LinkFrame[] {
    const b = this.#buf.length === 0 ? chunk : concatBytes(this.#buf, chunk);
    const out: LinkFrame[] = [];
    let at = 0;
    while (b.length - at >= 3 && !(this.stopAfterFirst && out.length === 1)) {
      const len = ((b[at + 1] ?? 0) << 8) | (b[at + 2] ?? 0);
      if (b.length - at - 3 < len) break;
      out.push(decodeFrame(b[at] ?? 0, b.subarray(at + 3, at + 3 + len)));
      at += 3 + len;
    }
    this.#buf = b.slice(at);
    return out;
  }
}
