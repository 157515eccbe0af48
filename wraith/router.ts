/**
 * Route matching, sans-IO: a request's authority, path and headers in, the first configured route that matches
 * out. Matching runs on the normalized path (dot-segments resolved, as the WHATWG URL parser does, `%2e` included)
 * so `/public/../admin/` cannot reach a route the prefix `/admin/` guards through another route; wraith forwards
 * that same normalized path.
 *
 * @module
 */
import type { RouteSpec } from "./config.ts";

/** What a route is matched against. */
export interface RouteInput {
  /** `:authority` or `Host`, as sent. */
  readonly authority: string;
  /** The normalized path, without the query. */
  readonly path: string;
  /** Lowercase name -> values. */
  header(name: string): string | null;
}

/** The host of an authority: lowercase, without port or trailing dot, IPv6 without brackets. */
export function hostOf(authority: string): string {
  let host = authority.toLowerCase();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(":");
  if (colon >= 0) host = host.slice(0, colon);
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

function hostMatches(route: string, authority: string): boolean {
  if (route === "") return true;
  // A route host with a port compares the whole authority.
  if (/:\d+$/.test(route)) return route === authority.toLowerCase();
  const host = hostOf(authority);
  if (route.startsWith("*.")) return host.endsWith(route.slice(1)) && host.length > route.length - 1;
  return host === route;
}

/** `/api/` matches below it; `/api` matches `/api` itself and below `/api/`, not `/apix`. */
export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || prefix.endsWith("/")) return path.startsWith(prefix);
  return path === prefix || path.startsWith(prefix + "/");
}

/** The first route that matches, or `undefined`. */
export function matchRoute(routes: readonly RouteSpec[], input: RouteInput): RouteSpec | undefined {
  for (const r of routes) {
    if (!hostMatches(r.host, input.authority) || !pathMatches(r.pathPrefix, input.path)) continue;
    if (r.headers.every((h) => input.header(h.name) === h.value)) return r;
  }
  return undefined;
}

/**
 * The path and query of a request target, with dot-segments removed; `undefined` for a target that is not
 * origin-form (`/...`) or `*`.
 */
export function normalizeTarget(target: string): { path: string; query: string } | undefined {
  if (target === "*") return { path: "*", query: "" };
  if (!target.startsWith("/") || target.startsWith("//")) return undefined;
  let url: URL;
  try {
    url = new URL(target, "http://x");
  } catch {
    return undefined;
  }
  return { path: url.pathname, query: url.search };
}
