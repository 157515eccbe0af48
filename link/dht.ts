/**
 * ghostlink's Kademlia pieces, pure: a routing table of k-buckets over DHT keys (BLAKE3 of identity keys), and
 * signed peer records that say where a peer can be reached (its own address when strangers can reach it, else
 * the rendezvous it is registered with). A record is signed by the peer's identity key and carries a sequence
 * number (ms), so nobody can say a peer is somewhere it is not, and an older record never replaces a newer one.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { concatBytes, fromHex, toHex } from "../core/mod.ts";
import { bucketOf, dhtKeyOf, xorDistance } from "./peer.ts";

/** Bucket size and lookup width (Kademlia's k and alpha). */
export const K = 20, ALPHA = 3;

/** A node of the DHT: a peer that accepts connections at `addr`. */
export interface DhtContact {
  readonly key: Uint8Array;
  readonly addr: string;
}

interface Entry extends DhtContact {
  readonly id: Uint8Array;
  seen: number;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Contacts sorted by XOR distance of their DHT key to `target` (nearest first). */
export function byDistance<T extends { readonly key: Uint8Array }>(
  target: Uint8Array,
  xs: readonly T[],
): T[] {
  return xs.map((x) => ({ x, d: xorDistance(dhtKeyOf(x.key), target) }))
    .sort((p, q) => compare(p.d, q.d)).map((p) => p.x);
}

/** A Kademlia routing table: 256 buckets of at most {@linkcode K} contacts, least recently seen first. */
export class RoutingTable {
  readonly #self: Uint8Array;
  readonly #buckets: Entry[][] = Array.from({ length: 256 }, () => []);
  /** A full bucket replaces its least recently seen contact only when that one is older than this, ms. */
  readonly staleMs: number;

  constructor(selfKey: Uint8Array, staleMs = 15 * 60_000) {
    this.#self = dhtKeyOf(selfKey);
    this.staleMs = staleMs;
  }

  /** Contacts held. */
  get size(): number {
    return this.#buckets.reduce((n, b) => n + b.length, 0);
  }

  /** Adds or refreshes a contact; false when its bucket is full of fresh ones (or it is this node). */
  add(c: DhtContact, now: number): boolean {
    const id = dhtKeyOf(c.key);
    const b = bucketOf(this.#self, id);
    if (b < 0) return false;
    const bucket = this.#buckets[b] ?? [];
    const hex = toHex(c.key);
    const at = bucket.findIndex((e) => toHex(e.key) === hex);
    if (at >= 0) bucket.splice(at, 1);
    else if (bucket.length >= K) {
      const oldest = bucket[0];
      if (oldest === undefined || now - oldest.seen < this.staleMs) return false;
      bucket.shift();
    }
    bucket.push({ key: c.key, addr: c.addr, id, seen: now });
    return true;
  }

  /** Forgets a contact (it did not answer). */
  remove(key: Uint8Array): void {
    const b = bucketOf(this.#self, dhtKeyOf(key));
    const bucket = this.#buckets[b];
    if (bucket === undefined) return;
    const hex = toHex(key);
    const at = bucket.findIndex((e) => toHex(e.key) === hex);
    if (at >= 0) bucket.splice(at, 1);
  }

  /** The `n` contacts nearest to a DHT key. */
  closest(target: Uint8Array, n = K): DhtContact[] {
    const all = this.#buckets.flat().map((e) => ({ key: e.key, addr: e.addr }));
    return byDistance(target, all).slice(0, n);
  }
}

/** Where a peer can be reached: directly, or through the rendezvous it is registered with. */
export type PeerLocation =
  | { readonly direct: string }
  | { readonly rendezvous: { readonly key: Uint8Array; readonly addr: string } };

/** A peer's signed record. */
export interface PeerRecord {
  readonly key: Uint8Array;
  /** Milliseconds since the epoch when it was made; a higher one replaces a lower one. */
  readonly seq: number;
  readonly location: PeerLocation;
  readonly sig: Uint8Array;
}

const DOMAIN = new TextEncoder().encode("ghostlink peer record v1\0");
const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });

function locationText(l: PeerLocation): string {
  return "direct" in l ? `direct ${l.direct}` : `rdv ${toHex(l.rendezvous.key)}@${l.rendezvous.addr}`;
}

function parseLocation(text: string): PeerLocation | undefined {
  if (text.startsWith("direct ")) return { direct: text.slice(7) };
  const m = /^rdv ([0-9a-f]{64})@(.+)$/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { rendezvous: { key: fromHex(m[1]), addr: m[2] } };
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(seq));
  return b;
}

function signed(key: Uint8Array, seq: number, text: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN, key, seqBytes(seq), text);
}

/** Makes this node's record, signed with its identity's secret key. */
export function makePeerRecord(
  identity: { readonly secretKey: Uint8Array; readonly publicKey: Uint8Array },
  location: PeerLocation,
  seq: number,
): PeerRecord {
  const text = te.encode(locationText(location));
  if (text.length > 255) throw new RangeError("A peer record's location is too long");
  return {
    key: identity.publicKey,
    seq,
    location,
    sig: ed25519.sign(signed(identity.publicKey, seq, text), identity.secretKey),
  };
}

/** Encodes a record: key (32), seq (u64), location text (u8 length), signature (64). */
export function encodePeerRecord(r: PeerRecord): Uint8Array {
  const text = te.encode(locationText(r.location));
  return concatBytes(r.key, seqBytes(r.seq), Uint8Array.of(text.length), text, r.sig);
}

/** Decodes and verifies a record; `undefined` when it is malformed or its signature does not hold. */
export function decodePeerRecord(b: Uint8Array): PeerRecord | undefined {
  if (b.length < 32 + 8 + 1 + 64) return undefined;
  const n = b[40] ?? 0;
  if (b.length !== 41 + n + 64) return undefined;
  const key = b.slice(0, 32);
  const seqBig = new DataView(b.buffer, b.byteOffset + 32, 8).getBigUint64(0);
  if (seqBig > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const seq = Number(seqBig);
  const textBytes = b.subarray(41, 41 + n);
  let text: string;
  try {
    text = td.decode(textBytes);
  } catch {
    return undefined;
  }
  const location = parseLocation(text);
  const sig = b.slice(41 + n);
  if (location === undefined) return undefined;
  try {
    if (!ed25519.verify(sig, signed(key, seq, textBytes), key)) return undefined;
  } catch {
    return undefined;
  }
  return { key, seq, location, sig };
}

/** Records a DHT node keeps for others: bounded, newest per key, expired after `ttlMs`. */
export class RecordStore {
  readonly #records = new Map<string, { record: PeerRecord; stored: number }>();
  constructor(readonly max = 10_000, readonly ttlMs = 60 * 60_000) {}

  /** Keeps a verified record unless an equal or newer one is held, or the store is full. */
  put(r: PeerRecord, now: number): boolean {
    const hex = toHex(r.key);
    const held = this.#records.get(hex);
    if (held !== undefined && held.record.seq >= r.seq) return false;
    if (r.seq > now + 5 * 60_000 || r.seq < now - this.ttlMs) return false; // from the future, or stale
    if (held === undefined && this.#records.size >= this.max) {
      this.#expire(now);
      if (this.#records.size >= this.max) return false;
    }
    this.#records.set(hex, { record: r, stored: now });
    return true;
  }

  get(key: Uint8Array, now: number): PeerRecord | undefined {
    const held = this.#records.get(toHex(key));
    if (held === undefined) return undefined;
    if (now - held.stored > this.ttlMs) {
      this.#records.delete(toHex(key));
      return undefined;
    }
    return held.record;
  }

  get size(): number {
    return this.#records.size;
  }

  #expire(now: number): void {
    for (const [k, v] of this.#records) if (now - v.stored > this.ttlMs) this.#records.delete(k);
  }
}
