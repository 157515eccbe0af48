/**
 * IP addresses as bytes, client prefixes (the unit of rate limiting: /24 for IPv4, /56 for IPv6) and CIDR
 * allow-lists (who may use recursion).
 *
 * @module
 */

/** Parses an IPv4 or IPv6 literal to 4 or 16 bytes; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes 4 bytes. */
export function parseIp(text: string): Uint8Array | undefined {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseV4(t);
  if (v4) return v4;
  const v6 = parseV6(t.replace(/%.*$/, ""));
  if (!v6) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseV4(t: string): Uint8Array | undefined {
  const parts = t.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(t: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(t)) return undefined;
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? "";
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >>> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/**
 * The client's prefix as a map key: the first 24 bits of IPv4, the first 56 of IPv6 (the usual RRL defaults).
 * Unparseable addresses get their own key.
 */
export function clientPrefix(ip: string, v4Bits = 24, v6Bits = 56): string {
  const bytes = parseIp(ip);
  if (!bytes) return `?${ip}`;
  const bits = bytes.length === 4 ? v4Bits : v6Bits;
  return `${bytes.length === 4 ? 4 : 6}/${maskedHex(bytes, bits)}`;
}

function maskedHex(bytes: Uint8Array, bits: number): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const b = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
    s += b.toString(16).padStart(2, "0");
  }
  return s;
}

/** An address range such as `10.0.0.0/8` or `::1/128`. */
export interface Cidr {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly bits: number;
}

/**
 * Parses `addr/bits` (or a bare address: a host route).
 *
 * @throws {RangeError} naming the value and what is allowed
 */
export function parseCidr(text: string): Cidr {
  const [addr = "", bitsText] = text.trim().split("/");
  const bytes = parseIp(addr);
  if (!bytes) throw new RangeError(`Cannot use CIDR "${text}": "${addr}" is not an IP address`);
  // A mapped v6 range like ::ffff:10.0.0.0/104 is kept as v4 with its bits shifted.
  const mappedShift = bytes.length === 4 && addr.includes(":") ? 96 : 0;
  const max = bytes.length * 8;
  const bits = bitsText === undefined ? max : Number(bitsText) - mappedShift;
  if (
    !Number.isInteger(bits) || bits < 0 || bits > max || (bitsText !== undefined && !/^\d+$/.test(bitsText))
  ) {
    throw new RangeError(`Cannot use CIDR "${text}": prefix length must be 0..${max + mappedShift}`);
  }
  return { text: text.trim(), bytes, bits };
}

/** True when `ip` lies inside `cidr` (families must match). */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.max(0, Math.min(8, cidr.bits - i * 8));
    if (keep === 0) return true;
    const mask = (0xff << (8 - keep)) & 0xff;
    if (((ip[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** An allow-list of ranges. */
export class AllowList {
  readonly #ranges: readonly Cidr[];

  /** Builds the list; throws RangeError for a bad entry. */
  constructor(ranges: readonly string[]) {
    this.#ranges = ranges.map(parseCidr);
  }

  /** Recent answers by address text (bounded): a busy server asks about the same few clients again and again. */
  readonly #seen = new Map<string, boolean>();

  /** True when the address is in any range; unparseable addresses are never allowed. */
  allows(ip: string): boolean {
    const known = this.#seen.get(ip);
    if (known !== undefined) return known;
    const bytes = parseIp(ip);
    const ok = bytes !== undefined && this.#ranges.some((r) => cidrContains(r, bytes));
    if (this.#seen.size >= 4096) this.#seen.clear();
    this.#seen.set(ip, ok);
    return ok;
  }
}
