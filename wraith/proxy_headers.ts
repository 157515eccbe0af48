/**
 * What a proxy does to header fields (RFC 9110 §7.6), sans-IO:
 *
 * - hop-by-hop fields are removed both ways: `connection` and every field it names, `keep-alive`,
 *   `proxy-connection`, `transfer-encoding`, `upgrade`, `proxy-authorization`, and `te` except `te: trailers`
 *   (which gRPC needs end to end);
 * - `via` gets this hop (`1.1 wraith`, `2 wraith`, `3 wraith` by the client's protocol version);
 * - `forwarded` (RFC 7239) and `x-forwarded-for` / `-proto` / `-host` describe the client; what a client sent
 *   under those names is dropped unless `trustForwarded` (then this hop is appended);
 * - wraith's own request fields (`ghost-backend`) are consumed here and never reach a backend.
 *
 * @module
 */
import type { HeaderField } from "../transport/http/mod.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "te",
  "host",
]);

const FORWARDED = new Set(["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"]);

/**
 * Request fields wraith reads and removes (the seed's `:ghost-*` pseudo-headers, as regular fields), and
 * `ghost-identity`, which only wraith may set: a client's copy never reaches a backend.
 */
export const GHOST_REQUEST_FIELDS: ReadonlySet<string> = new Set(["ghost-backend", "ghost-identity"]);

/** The fields named by `connection` (lowercase). */
function connectionNamed(fields: Iterable<HeaderField>): Set<string> {
  const out = new Set<string>();
  for (const [name, value] of fields) {
    if (name !== "connection") continue;
    for (const t of value.split(",")) if (t.trim() !== "") out.add(t.trim().toLowerCase());
  }
  return out;
}

/** `fields` without hop-by-hop fields; `te: trailers` is kept when `keepTeTrailers`. */
export function withoutHopByHop(fields: readonly HeaderField[], keepTeTrailers = false): HeaderField[] {
  const named = connectionNamed(fields);
  const out: HeaderField[] = [];
  for (const f of fields) {
    const [name, value] = f;
    if (
      name === "te" && keepTeTrailers && value.split(",").some((t) => t.trim().toLowerCase() === "trailers")
    ) {
      out.push(["te", "trailers"]);
      continue;
    }
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out.push(f);
  }
  return out;
}

/** A `for=` / `by=` node of RFC 7239: IPv6 in brackets and quotes. */
export function forwardedNode(ip: string): string {
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/** What a request's forwarding fields say. */
export interface ForwardInput {
  /** Request fields, lowercase names (pseudo-headers excluded). */
  readonly fields: readonly HeaderField[];
  /** The client's IP. */
  readonly client: string;
  /** The host the client asked for. */
  readonly host: string;
  /** `https` (wraith serves TLS and QUIC only). */
  readonly proto: string;
  /** The client's HTTP version: `1.1`, `2`, `3`. */
  readonly version: string;
  /** The `via` pseudonym. */
  readonly pseudonym: string;
  readonly trustForwarded: boolean;
}

/** The fields sent to a backend (see the module doc). */
export function forwardRequestFields(input: ForwardInput): HeaderField[] {
  const out: HeaderField[] = [];
  let via: string | undefined;
  let xff: string | undefined;
  let fwd: string | undefined;
  for (const f of withoutHopByHop(input.fields, true)) {
    const [name, value] = f;
    if (GHOST_REQUEST_FIELDS.has(name)) continue;
    if (name === "via") {
      via = via === undefined ? value : `${via}, ${value}`;
      continue;
    }
    if (FORWARDED.has(name)) {
      if (!input.trustForwarded) continue;
      if (name === "x-forwarded-for") xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (name === "forwarded") fwd = fwd === undefined ? value : `${fwd}, ${value}`;
      else out.push(f);
      continue;
    }
    out.push(f);
  }
  const hop = `${input.version} ${input.pseudonym}`;
  out.push(["via", via === undefined ? hop : `${via}, ${hop}`]);
  const element = `for=${forwardedNode(input.client)};host="${
    input.host.replace(/["\\]/g, "")
  }";proto=${input.proto}`;
  out.push(["forwarded", fwd === undefined ? element : `${fwd}, ${element}`]);
  out.push(["x-forwarded-for", xff === undefined ? input.client : `${xff}, ${input.client}`]);
  if (!input.trustForwarded || !out.some(([n]) => n === "x-forwarded-proto")) {
    out.push(["x-forwarded-proto", input.proto]);
  }
  if (!input.trustForwarded || !out.some(([n]) => n === "x-forwarded-host")) {
    out.push(["x-forwarded-host", input.host]);
  }
  return out;
}

/** The fields sent to the client: hop-by-hop removed, this hop added to `via`. */
export function forwardResponseFields(
  fields: readonly HeaderField[],
  version: string,
  pseudonym: string,
): HeaderField[] {
  const out = withoutHopByHop(fields).filter(([n]) => n !== "via");
  const prior = fields.filter(([n]) => n === "via").map(([, v]) => v);
  out.push(["via", [...prior, `${version} ${pseudonym}`].join(", ")]);
  return out;
}
