/**
 * HTTP caching rules for a shared cache (RFC 9111), sans-IO: Cache-Control parsing, whether a response may be
 * stored (§3, §3.5 for `authorization`), its freshness lifetime (§4.2.1, with the §4.2.2 heuristic), its current
 * age (§4.2.3), whether a stored response may answer a request now (§4, with `stale-while-revalidate` and
 * `stale-if-error` of RFC 5861), the conditional request that revalidates it (§4.3.1) and the headers a 304
 * updates (§4.3.4). Time is passed in (seconds).
 *
 * @module
 */
import type { HeaderField } from "../transport/http/mod.ts";

/** Cache-Control directives, as far as a shared cache uses them. */
export interface CacheControl {
  readonly maxAge?: number;
  readonly sMaxAge?: number;
  readonly noStore: boolean;
  /** `no-cache` (with or without field names: a shared cache treats both as "revalidate every time"). */
  readonly noCache: boolean;
  /** `private` (unqualified or with fields: a shared cache stores neither). */
  readonly private: boolean;
  readonly public: boolean;
  readonly mustRevalidate: boolean;
  readonly proxyRevalidate: boolean;
  readonly staleWhileRevalidate?: number;
  readonly staleIfError?: number;
  /** Request: `max-stale` (true for "any"). */
  readonly maxStale?: number | true;
  /** Request: `min-fresh`. */
  readonly minFresh?: number;
  /** Request: `only-if-cached`. */
  readonly onlyIfCached: boolean;
}

/** Parses Cache-Control field values (all lines joined); unknown directives are ignored (§5.2.3). */
export function parseCacheControl(value: string | null): CacheControl {
  const out: Record<string, unknown> = {
    noStore: false,
    noCache: false,
    private: false,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    onlyIfCached: false,
  };
  if (value === null) return out as unknown as CacheControl;
  // Split on commas outside quoted strings.
  const parts = value.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const seconds = (v: string | undefined): number | undefined => {
    const t = v?.replace(/^"|"$/g, "");
    // §1.2.2: delta-seconds; a value too large to hold is taken as 2^31.
    return t !== undefined && /^\d+$/.test(t) ? Math.min(Number(t), 2 ** 31) : undefined;
  };
  for (const raw of parts) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? undefined : part.slice(eq + 1).trim();
    switch (name) {
      case "max-age": {
        const s = seconds(arg);
        // A malformed max-age makes the response stale (§4.2.1): treat it as 0.
        out.maxAge = s ?? 0;
        break;
      }
      case "s-maxage":
        out.sMaxAge = seconds(arg) ?? 0;
        break;
      case "no-store":
        out.noStore = true;
        break;
      case "no-cache":
        out.noCache = true;
        break;
      case "private":
        out.private = true;
        break;
      case "public":
        out.public = true;
        break;
      case "must-revalidate":
        out.mustRevalidate = true;
        break;
      case "proxy-revalidate":
        out.proxyRevalidate = true;
        break;
      case "stale-while-revalidate":
        if (seconds(arg) !== undefined) out.staleWhileRevalidate = seconds(arg);
        break;
      case "stale-if-error":
        if (seconds(arg) !== undefined) out.staleIfError = seconds(arg);
        break;
      case "max-stale":
        out.maxStale = arg === undefined ? true : seconds(arg) ?? true;
        break;
      case "min-fresh":
        if (seconds(arg) !== undefined) out.minFresh = seconds(arg);
        break;
      case "only-if-cached":
        out.onlyIfCached = true;
        break;
    }
  }
  return out as unknown as CacheControl;
}

/** An HTTP-date (RFC 9110 §5.6.7, the three formats) as seconds since the epoch; `undefined` if invalid. */
export function parseHttpDate(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** Field lookup over a field list (lowercase names), repeated fields joined with ", ". */
export function fieldValue(fields: readonly HeaderField[], name: string): string | null {
  let out: string | null = null;
  for (const [n, v] of fields) if (n === name) out = out === null ? v : `${out}, ${v}`;
  return out;
}

/** Statuses a cache may store without explicit freshness (RFC 9110 §15.1 "heuristically cacheable"). */
const HEURISTIC = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Statuses this cache stores at all (206 needs range handling it does not do). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 451, 501]);

/** Why a response was or was not stored. */
export type StoreDecision = { readonly store: true } | { readonly store: false; readonly reason: string };

/** Whether a shared cache may store this response to this request (RFC 9111 §3, §3.5). */
export function mayStore(
  method: string,
  requestFields: readonly HeaderField[],
  status: number,
  responseFields: readonly HeaderField[],
): StoreDecision {
  if (method !== "GET") return { store: false, reason: "method" };
  if (!UNDERSTOOD.has(status)) return { store: false, reason: `status ${status}` };
  const req = parseCacheControl(fieldValue(requestFields, "cache-control"));
  const res = parseCacheControl(fieldValue(responseFields, "cache-control"));
  if (req.noStore || res.noStore) return { store: false, reason: "no-store" };
  if (res.private) return { store: false, reason: "private" };
  if ((fieldValue(responseFields, "vary") ?? "").split(",").some((v) => v.trim() === "*")) {
    return { store: false, reason: "vary *" };
  }
  // A response that sets cookies is someone's own; a shared cache does not hand it to others.
  if (fieldValue(responseFields, "set-cookie") !== null) return { store: false, reason: "set-cookie" };
  // §3.5: a request with credentials only if the response says shared caching is fine.
  if (
    fieldValue(requestFields, "authorization") !== null && !res.public && !res.mustRevalidate &&
    res.sMaxAge === undefined
  ) {
    return { store: false, reason: "authorization" };
  }
  const explicit = res.sMaxAge !== undefined || res.maxAge !== undefined ||
    fieldValue(responseFields, "expires") !== null || res.public;
  if (!explicit && !HEURISTIC.has(status)) return { store: false, reason: "no freshness information" };
  return { store: true };
}

/** Freshness lifetime in seconds (§4.2.1; §4.2.2 heuristic: 10% of the time since Last-Modified, at most a day). */
export function freshnessLifetime(status: number, fields: readonly HeaderField[]): number {
  const cc = parseCacheControl(fieldValue(fields, "cache-control"));
  if (cc.sMaxAge !== undefined) return cc.sMaxAge;
  if (cc.maxAge !== undefined) return cc.maxAge;
  const expiresText = fieldValue(fields, "expires");
  if (expiresText !== null) {
    const expires = parseHttpDate(expiresText);
    const date = parseHttpDate(fieldValue(fields, "date"));
    // An invalid Expires (such as "0") means already expired (§5.3).
    if (expires === undefined || date === undefined) return 0;
    return Math.max(0, expires - date);
  }
  if (!HEURISTIC.has(status) && !cc.public) return 0;
  const lastModified = parseHttpDate(fieldValue(fields, "last-modified"));
  const date = parseHttpDate(fieldValue(fields, "date"));
  if (lastModified === undefined || date === undefined || lastModified > date) return 0;
  return Math.min(86_400, Math.floor((date - lastModified) / 10));
}

/** What a stored response keeps to compute its age (§4.2.3). */
export interface StoredTimes {
  /** When the request that got it was sent, seconds. */
  readonly requestTime: number;
  /** When the response was received, seconds. */
  readonly responseTime: number;
  readonly fields: readonly HeaderField[];
}

/** Current age of a stored response (§4.2.3), seconds. */
export function currentAge(stored: StoredTimes, now: number): number {
  const date = parseHttpDate(fieldValue(stored.fields, "date")) ?? stored.responseTime;
  const ageValue = Number(fieldValue(stored.fields, "age")?.split(",")[0]?.trim() ?? "0");
  const apparentAge = Math.max(0, stored.responseTime - date);
  const responseDelay = stored.responseTime - stored.requestTime;
  const correctedAgeValue = (Number.isFinite(ageValue) ? ageValue : 0) + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  return correctedInitialAge + Math.max(0, now - stored.responseTime);
}

/** How a stored response may answer a request now. */
export type Reuse =
  /** Fresh: answer with it. */
  | { readonly kind: "fresh"; readonly age: number; readonly ttl: number }
  /** Stale within stale-while-revalidate: answer with it and revalidate in the background. */
  | { readonly kind: "stale-while-revalidate"; readonly age: number }
  /** Must be revalidated (or fetched) before use; `staleIfError` says how long it may still serve on failure. */
  | { readonly kind: "revalidate"; readonly age: number; readonly staleIfError: boolean };

/** Whether and how `stored` may answer a request with `requestFields` at `now` (§4.2, §4.2.4, RFC 5861). */
export function reuse(
  stored: StoredTimes & { readonly status: number },
  requestFields: readonly HeaderField[],
  now: number,
): Reuse {
  const res = parseCacheControl(fieldValue(stored.fields, "cache-control"));
  const req = parseCacheControl(fieldValue(requestFields, "cache-control"));
  const age = currentAge(stored, now);
  const lifetime = freshnessLifetime(stored.status, stored.fields);
  const staleFor = age - lifetime;
  const noStale = res.mustRevalidate || res.proxyRevalidate || res.sMaxAge !== undefined || res.noCache;
  const staleIfError = !noStale && res.staleIfError !== undefined && staleFor <= res.staleIfError;
  // The request asks to revalidate (no-cache, or a max-age it is older than): §5.2.1.
  const pragmaNoCache = req.noCache ||
    (fieldValue(requestFields, "pragma") ?? "").toLowerCase().includes("no-cache") &&
      fieldValue(requestFields, "cache-control") === null;
  if (pragmaNoCache || (req.maxAge !== undefined && age > req.maxAge) || res.noCache) {
    return { kind: "revalidate", age, staleIfError };
  }
  const minFresh = req.minFresh ?? 0;
  if (age + minFresh < lifetime) return { kind: "fresh", age, ttl: lifetime - age };
  if (!noStale) {
    // max-stale in the request allows a stale answer (§5.2.1.2).
    if (req.maxStale === true || (req.maxStale !== undefined && staleFor <= req.maxStale)) {
      return { kind: "fresh", age, ttl: lifetime - age };
    }
    if (res.staleWhileRevalidate !== undefined && staleFor <= res.staleWhileRevalidate) {
      return { kind: "stale-while-revalidate", age };
    }
  }
  return { kind: "revalidate", age, staleIfError };
}

/** The validators to revalidate a stored response with (§4.3.1): If-None-Match and If-Modified-Since. */
export function conditionalFields(stored: readonly HeaderField[]): HeaderField[] {
  const out: HeaderField[] = [];
  const etag = fieldValue(stored, "etag");
  if (etag !== null) out.push(["if-none-match", etag]);
  const lastModified = fieldValue(stored, "last-modified");
  if (lastModified !== null) out.push(["if-modified-since", lastModified]);
  return out;
}

/** Fields a 304 does not update (§4.3.4 lets a cache keep its own framing). */
const NOT_UPDATED = new Set(["content-length", "content-encoding", "transfer-encoding", "content-range"]);

/** The stored fields updated with a 304's fields (§4.3.4): each field the 304 carries replaces the stored one. */
export function updateFromNotModified(
  stored: readonly HeaderField[],
  notModified: readonly HeaderField[],
): HeaderField[] {
  const replaced = new Set(notModified.map(([n]) => n).filter((n) => !NOT_UPDATED.has(n)));
  return [
    ...stored.filter(([n]) => !replaced.has(n)),
    ...notModified.filter(([n]) => replaced.has(n)),
  ];
}

/** The request fields a stored response's Vary names, with their values (absent fields as null). */
export function varyValues(
  responseFields: readonly HeaderField[],
  requestFields: readonly HeaderField[],
): [string, string | null][] {
  const names = (fieldValue(responseFields, "vary") ?? "").split(",").map((v) => v.trim().toLowerCase())
    .filter((v) => v !== "");
  return [...new Set(names)].sort().map((n) => [n, fieldValue(requestFields, n)]);
}
