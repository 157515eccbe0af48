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
