/**
 * Linux `sockaddr_in` / `sockaddr_in6` as bytes, pure (no FFI): what the batched UDP listener reads from
 * `recvmmsg` and writes for `bind`. Layouts are the kernel's (`include/uapi/linux/in.h`, `in6.h`): family in
 * host order (little-endian here), port and addresses in network order.
 *
 * @module
 */

/** `AF_INET` on Linux. */
export const AF_INET = 2;
/** `AF_INET6` on Linux. */
export const AF_INET6 = 10;
/** Bytes of `sockaddr_in6`, the larger of the two (what a receive slot holds). */
export const SOCKADDR_MAX = 28;

/** A decoded socket address: `hostname` as text (IPv4-mapped IPv6 as plain IPv4), `port`. */
export interface SockAddr {
  readonly hostname: string;
  readonly port: number;
}

/** Encodes an address (4 or 16 bytes, as `parseIp` gives) and `port`. */
export function encodeSockaddr(ip: Uint8Array, port: number): Uint8Array {
  if (ip.length === 4) {
    const out = new Uint8Array(16);
    out[0] = AF_INET;
    out[2] = port >>> 8;
    out[3] = port & 0xff;
    out.set(ip, 4);
    return out;
  }
  if (ip.length !== 16) throw new RangeError(`Cannot encode a socket address of ${ip.length} address bytes`);
  const out = new Uint8Array(28);
  out[0] = AF_INET6;
  out[2] = port >>> 8;
  out[3] = port & 0xff;
  out.set(ip, 8);
  return out;
}

/** The IPv4 text of `b[at..at+4]`. */
function v4Text(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * Decodes `len` bytes at `b[at]`; undefined for a family or length that is not IPv4/IPv6. IPv6 is written as
 * eight hex groups (not compressed: it is a key for rate limits and allow-lists, which parse either form).
 */
export function decodeSockaddr(b: Uint8Array, at: number, len: number): SockAddr | undefined {
  const family = (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
  const port = ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0);
  if (family === AF_INET && len >= 16) return { hostname: v4Text(b, at + 4), port };
  if (family !== AF_INET6 || len < 24) return undefined;
  const a = at + 8;
  let mapped = b[a + 10] === 0xff && b[a + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[a + i] === 0;
  if (mapped) return { hostname: v4Text(b, a + 12), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[a + i] ?? 0) << 8) | (b[a + i + 1] ?? 0)).toString(16));
  return { hostname: groups.join(":"), port };
}
