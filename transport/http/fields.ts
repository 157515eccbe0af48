/**
 * The field rules HTTP/2 (RFC 9113 §8.2-§8.3) and HTTP/3 (RFC 9114 §4.2-§4.3) share: lowercase names, no
 * connection-specific fields, pseudo-headers first, known and never repeated, the required request and response
 * pseudo-headers, and a Content-Length that the DATA frames must match. Each protocol turns a problem into its own
 * error (h2 PROTOCOL_ERROR, h3 H3_MESSAGE_ERROR); this module only says what is wrong.
 *
 * @module
 */

/** A decoded field: lowercase name, value. */
export type HeaderField = readonly [name: string, value: string];

/** What a field section is: the request head, the response head, or trailers. */
export type FieldSectionKind = "request" | "response" | "trailers";

/** Fields that are about one connection and never travel in HTTP/2 or HTTP/3 (RFC 9113 §8.2.2, RFC 9114 §4.2). */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);
const REQUEST_PSEUDO = new Set([":method", ":scheme", ":path", ":authority", ":protocol"]);
/** Schemes whose URIs require an authority (RFC 9110 §4.2): their requests need `:authority` or `host`. */
const AUTHORITY_SCHEMES = new Set(["http", "https"]);

/**
 * Checks one field section.
 *
 * @returns why the message is malformed, or `undefined` when it is well formed
 */
export function fieldSectionProblem(
  fields: readonly HeaderField[],
  kind: FieldSectionKind,
): string | undefined {
  let regular = false;
  const seen = new Map<string, string>();
  let host = false;
  for (const [name, value] of fields) {
    if (name === "" || name !== name.toLowerCase()) {
      return `field name ${JSON.stringify(name.slice(0, 40))} is not lowercase`;
    }
    if (/[\0\r\n]/.test(value) || /[\0\r\n:\s]/.test(name.slice(1))) {
      return `field ${name.slice(0, 40)} has forbidden characters`;
    }
    if (name.startsWith(":")) {
      if (kind === "trailers") return "pseudo-header in trailers";
      if (regular) return `pseudo-header ${name} after a regular field`;
      const allowed = kind === "request" ? REQUEST_PSEUDO.has(name) : name === ":status";
      if (!allowed) return `unknown pseudo-header ${name}`;
      if (seen.has(name)) return `${name} repeated`;
      seen.set(name, value);
    } else {
      regular = true;
      if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
      if (name === "te" && value !== "trailers") return "te other than trailers";
      if (name === "host") host = true;
    }
  }
  if (kind === "request") {
    const method = seen.get(":method");
    if (method === undefined) return ":method missing";
    if (method === "CONNECT" && !seen.has(":protocol")) {
      // RFC 9113 §8.5 / RFC 9114 §4.4: plain CONNECT has only :method and :authority.
      if (!seen.has(":authority")) return "CONNECT without :authority";
      if (seen.has(":scheme") || seen.has(":path")) return "CONNECT with :scheme or :path";
      return undefined;
    }
    if (seen.has(":protocol") && method !== "CONNECT") return ":protocol outside extended CONNECT";
    if (!seen.has(":scheme") || !seen.has(":path")) return ":scheme or :path missing";
    if (seen.get(":path") === "") return ":path empty";
    const scheme = seen.get(":scheme")?.toLowerCase() ?? "";
    if (AUTHORITY_SCHEMES.has(scheme) && !seen.has(":authority") && !host) {
      return ":authority and host missing";
    }
  }
  if (kind === "response") {
    const status = seen.get(":status");
    if (status === undefined) return ":status missing";
    if (!/^[1-5]\d\d$/.test(status)) {
      return `:status ${JSON.stringify(status.slice(0, 10))} is not a 3-digit code`;
    }
  }
  return undefined;
}

/**
 * The Content-Length a field section declares: `undefined` when absent, `null` when it is not one non-negative
 * integer (repeated values must agree, RFC 9110 §8.6).
 */
export function declaredContentLength(fields: readonly HeaderField[]): number | undefined | null {
  let length: number | undefined;
  for (const [name, value] of fields) {
    if (name !== "content-length") continue;
    for (const part of value.split(",")) {
      const v = part.trim();
      if (!/^\d{1,15}$/.test(v)) return null;
      const n = Number(v);
      if (length !== undefined && length !== n) return null;
      length = n;
    }
  }
  return length;
}
