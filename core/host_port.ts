/**
 * Host and port values, the one parser and formatter every config section and permission set uses.
 *
 * @module
 */

/** A host and port to listen on or connect to. IPv6 literals are kept without brackets. */
export interface HostPort {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses `host:port` or `[v6]:port`; hostnames are letters, digits, dots and dashes; `undefined` when the text is
 * not one.
 */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  const hostname = m[1] ?? m[2];
  if (hostname === undefined || hostname === "") return undefined;
  return { hostname, port };
}

/** Formats a {@link HostPort} for display and for Deno net permissions (`[::1]:53`). */
export function formatHostPort(hp: HostPort): string {
  return hp.hostname.includes(":") ? `[${hp.hostname}]:${hp.port}` : `${hp.hostname}:${hp.port}`;
}

/** Whether `v` is a `{hostname, port}` value (e.g. after a structured clone). */
export function isHostPort(v: unknown): v is HostPort {
  if (typeof v !== "object" || v === null) return false;
  const { hostname, port } = v as { hostname?: unknown; port?: unknown };
  return typeof hostname === "string" && typeof port === "number" && Number.isInteger(port) && port >= 0 &&
    port <= 65_535;
}

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address as text; IPv6 in RFC 5952 form (lowercase, longest zero run as `::`). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) throw new RangeError(`Cannot format an IP address of ${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2: the longest run of two or more zero groups (the first on a tie) becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
