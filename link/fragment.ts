/**
 * IP packets in QUIC datagrams, pure: a datagram holds at most what the path allows (Deno reported 1,162 bytes
 * before path MTU discovery, 1,414 after on loopback), while IPv6 needs a link MTU of at least 1,280 (RFC 8200
 * §5). A packet that does not fit is cut into fragments and put back together at the other end, bounded in
 * memory and time; a lost fragment loses the packet, as IP expects of a link.
 *
 * Fragment header: packet id (u16), index (u8), count (u8); count 1 means a whole packet.
 *
 * @module
 */

/** Bytes of the fragment header. */
export const FRAGMENT_HEADER = 4;
/** Most fragments of one packet. */
export const MAX_FRAGMENTS = 8;

/** Cuts `packet` into fragments of at most `maxDatagram` bytes each (header included). */
export function fragment(packet: Uint8Array, id: number, maxDatagram: number): Uint8Array[] {
  const room = maxDatagram - FRAGMENT_HEADER;
  if (room <= 0) throw new RangeError(`Cannot fragment into datagrams of ${maxDatagram} bytes`);
  const count = Math.max(1, Math.ceil(packet.length / room));
  if (count > MAX_FRAGMENTS) {
    throw new RangeError(`Cannot send a ${packet.length}-byte packet: more than ${MAX_FRAGMENTS} fragments`);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = packet.subarray(i * room, Math.min(packet.length, (i + 1) * room));
    const f = new Uint8Array(FRAGMENT_HEADER + part.length);
    f[0] = (id >>> 8) & 0xff;
    f[1] = id & 0xff;
    f[2] = i;
    f[3] = count;
    f.set(part, FRAGMENT_HEADER);
    out.push(f);
  }
  return out;
}

interface Pending {
  readonly parts: (Uint8Array | undefined)[];
  got: number;
  readonly since: number;
}

/** Options of {@linkcode Reassembler}. */
export interface ReassemblerOptions {
  /** Packets being put together at once; the oldest is dropped past this. Default 64. */
  readonly maxPending?: number;
  /** How long an incomplete packet waits for its fragments, ms. Default 2,000. */
  readonly timeoutMs?: number;
}

/** Puts fragments back together (see the module doc). */
export class Reassembler {
  readonly #pending = new Map<number, Pending>();
  readonly #max: number;
  readonly #timeout: number;
  /** Fragments that were malformed, and incomplete packets dropped (full or too old). */
  malformed = 0;
  dropped = 0;

  /** An empty reassembler. */
  constructor(opts: ReassemblerOptions = {}) {
    this.#max = opts.maxPending ?? 64;
    this.#timeout = opts.timeoutMs ?? 2000;
  }

  /** Takes one fragment at monotonic time `now`; returns a whole packet once its last fragment arrived. */
  push(datagram: Uint8Array, now: number): Uint8Array | undefined {
    if (datagram.length < FRAGMENT_HEADER) return this.#bad();
    const id = ((datagram[0] ?? 0) << 8) | (datagram[1] ?? 0);
    const index = datagram[2] ?? 0, count = datagram[3] ?? 0;
    if (count === 0 || count > MAX_FRAGMENTS || index >= count) return this.#bad();
    const body = datagram.subarray(FRAGMENT_HEADER);
    if (count === 1) return body.slice();
    this.#expire(now);
    let p = this.#pending.get(id);
    if (p !== undefined && p.parts.length !== count) {
      // The id was reused with another count: the old packet is lost.
      this.#pending.delete(id);
      this.dropped++;
      p = undefined;
    }
    if (p === undefined) {
      if (this.#pending.size >= this.#max) {
        const oldest = this.#pending.keys().next().value;
        if (oldest !== undefined) this.#pending.delete(oldest);
        this.dropped++;
      }
      p = { parts: new Array<Uint8Array | undefined>(count).fill(undefined), got: 0, since: now };
      this.#pending.set(id, p);
    }
    if (p.parts[index] !== undefined) return undefined; // a duplicate fragment
    p.parts[index] = body.slice();
    p.got++;
    if (p.got < count) return undefined;
    this.#pending.delete(id);
    const total = p.parts.reduce((n, x) => n + (x?.length ?? 0), 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const x of p.parts) {
      if (x === undefined) continue;
      out.set(x, at);
      at += x.length;
    }
    return out;
  }

  #bad(): undefined {
    this.malformed++;
    return undefined;
  }

  #expire(now: number): void {
    for (const [id, p] of this.#pending) {
      if (now - p.since < this.#timeout) break; // insertion order = age order
      this.#pending.delete(id);
      this.dropped++;
    }
  }
}
