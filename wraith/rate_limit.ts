/**
 * Rate limiting, sans-IO: the Generic Cell Rate Algorithm (GCRA, a token bucket kept as one "theoretical arrival
 * time" per key) over keys made from the client address prefix, the route, or the caller's identity; and the
 * `RateLimit` / `RateLimit-Policy` fields of the IETF httpapi draft (structured fields: `"name";q=100;w=1` and
 * `"name";r=42;t=1`). Time comes in as milliseconds.
 *
 * A policy string: `NAME SCOPE LIMIT/WINDOW [burst=N] [pool=POOL] [prefix4=BITS] [prefix6=BITS]`, for example
 * `"per-client client 100/1s burst=200"` or `"api-total route 1000/1s pool=api"`. SCOPE is `client` (the client
 * address, masked to `prefix4` / `prefix6` bits, default 32 / 64), `route` (everyone on the route's pool
 * together) or `identity` (the verified caller, when a route requires signed requests; others share one key).
 *
 * @module
 */
import { ConfigValueError } from "../core/mod.ts";

/** What a limit is counted per. */
export type RateScope = "client" | "route" | "identity";

/** One configured limit. */
export interface RatePolicy {
  readonly name: string;
  readonly scope: RateScope;
  /** Requests allowed per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Requests allowed at once (default: `limit`). */
  readonly burst: number;
  /** Only requests routed to this pool (default: all). */
  readonly pool: string | undefined;
  readonly prefix4: number;
  readonly prefix6: number;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a policy string (see the module doc). */
export function parseRatePolicy(text: string): RatePolicy {
  const [name, scope, rate, ...opts] = text.trim().split(/\s+/);
  const bad = (why: string): never => {
    throw new ConfigValueError(`rate limit ${JSON.stringify(text)}: ${why}`);
  };
  if (name === undefined || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    bad("starts with its name (a-z, 0-9, _ and -)");
  }
  if (scope !== "client" && scope !== "route" && scope !== "identity") {
    bad("scope must be client, route or identity");
  }
  const m = /^(\d{1,9})\/(\d{0,9})(ms|s|m|h)$/.exec(rate ?? "");
  if (m === null) bad("rate must be LIMIT/WINDOW like 100/1s, 10/500ms or 6000/1m");
  const limit = Number(m?.[1]);
  const windowMs = Number(m?.[2] === "" ? 1 : m?.[2]) * (UNITS[m?.[3] ?? "s"] ?? 1_000);
  if (limit < 1 || windowMs < 1) bad("limit and window must be at least 1");
  let burst = limit, pool: string | undefined, prefix4 = 32, prefix6 = 64;
  for (const o of opts) {
    const [k, v = ""] = o.split("=", 2);
    if (k === "burst" && /^\d{1,9}$/.test(v) && Number(v) >= 1) burst = Number(v);
    else if (k === "pool" && /^[a-z0-9][a-z0-9_-]*$/.test(v)) pool = v;
    else if (k === "prefix4" && /^\d{1,2}$/.test(v) && Number(v) <= 32) prefix4 = Number(v);
    else if (k === "prefix6" && /^\d{1,3}$/.test(v) && Number(v) <= 128) prefix6 = Number(v);
    else bad(`${o} is not burst=N, pool=POOL, prefix4=0-32 or prefix6=0-128`);
  }
  return { name: name as string, scope: scope as RateScope, limit, windowMs, burst, pool, prefix4, prefix6 };
}

/** The policy as its string. */
export function formatRatePolicy(p: RatePolicy): string {
  const window = p.windowMs % 1_000 === 0 ? `${p.windowMs / 1_000}s` : `${p.windowMs}ms`;
  return [
    p.name,
    p.scope,
    `${p.limit}/${window}`,
    ...(p.burst !== p.limit ? [`burst=${p.burst}`] : []),
    ...(p.pool !== undefined ? [`pool=${p.pool}`] : []),
    ...(p.prefix4 !== 32 ? [`prefix4=${p.prefix4}`] : []),
    ...(p.prefix6 !== 64 ? [`prefix6=${p.prefix6}`] : []),
  ].join(" ");
}

/** An IP address masked to its first `bits4` (IPv4) or `bits6` (IPv6) bits, as a key. */
export function addressPrefix(ip: string, bits4: number, bits6: number): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const mask = (bytes: number[], bits: number) =>
    bytes.map((b, i) => {
      const keep = Math.max(0, Math.min(8, bits - i * 8));
      return b & (0xff << (8 - keep)) & 0xff;
    });
  if (v4 !== null) return `${mask(v4.slice(1).map(Number), bits4).join(".")}/${bits4}`;
  // IPv6: expand "::", read 8 groups (an IPv4-mapped tail counts as two).
  let text = ip.replace(/^\[|\]$/g, "").toLowerCase().replace(/%.*$/, "");
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail !== null) {
    const b = (tail[1] ?? "").split(".").map(Number);
    text = text.slice(0, -(tail[1] ?? "").length) +
      `${((b[0] ?? 0) << 8 | (b[1] ?? 0)).toString(16)}:${((b[2] ?? 0) << 8 | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const h = head === "" ? [] : head.split(":");
  const r = rest === undefined || rest === "" ? [] : rest.split(":");
  const groups = rest === undefined
    ? h
    : [...h, ...new Array(Math.max(0, 8 - h.length - r.length)).fill("0"), ...r];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return `other:${ip}`;
  const bytes = groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
  return `${mask(bytes, bits6).map((b) => b.toString(16).padStart(2, "0")).join("")}/${bits6}`;
}

/** What a check says. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Requests still allowed right now. */
  readonly remaining: number;
  /** Seconds until the quota is whole again (the `t` of the RateLimit field). */
  readonly resetS: number;
  /** Seconds to wait before a retry (0 when allowed). */
  readonly retryAfterS: number;
}

/** GCRA state for one policy: a theoretical arrival time per key, bounded in keys. */
export class Gcra {
  readonly policy: RatePolicy;
  readonly #interval: number;
  readonly #tolerance: number;
  readonly #tat = new Map<string, number>();
  readonly #maxKeys: number;
  /** Requests this policy refused. */
  limited = 0;

  constructor(policy: RatePolicy, maxKeys = 100_000) {
    this.policy = policy;
    this.#interval = policy.windowMs / policy.limit;
    this.#tolerance = this.#interval * (policy.burst - 1);
    this.#maxKeys = maxKeys;
  }

  /** Counts a request for `key` at `now` (ms) if the policy allows it. */
  check(key: string, now: number): RateDecision {
    const tat = Math.max(this.#tat.get(key) ?? now, now);
    const next = tat + this.#interval;
    const allowAt = next - this.#tolerance - this.#interval;
    if (now < allowAt) {
      this.limited++;
      return {
        allowed: false,
        remaining: 0,
        resetS: Math.ceil((tat - now) / 1000),
        retryAfterS: Math.max(1, Math.ceil((allowAt - now) / 1000)),
      };
    }
    this.#tat.delete(key);
    this.#tat.set(key, next);
    if (this.#tat.size > this.#maxKeys) this.#sweep(now);
    const remaining = Math.max(
      0,
      Math.floor((now - (next - this.#tolerance - this.#interval)) / this.#interval),
    );
    return { allowed: true, remaining, resetS: Math.ceil((next - now) / 1000), retryAfterS: 0 };
  }

  /** Drops keys whose quota is whole again (they behave exactly like unseen keys), oldest first. */
  #sweep(now: number): void {
    for (const [key, tat] of this.#tat) {
      if (tat <= now || this.#tat.size > this.#maxKeys) this.#tat.delete(key);
      else break;
    }
  }

  /** Keys tracked now. */
  get keys(): number {
    return this.#tat.size;
  }
}

/** `RateLimit-Policy` and `RateLimit` field values (draft-ietf-httpapi-ratelimit-headers, structured fields). */
export function rateLimitFields(policy: RatePolicy, d: RateDecision): [string, string][] {
  return [
    [
      "ratelimit-policy",
      `"${policy.name}";q=${policy.limit};w=${Math.max(1, Math.round(policy.windowMs / 1000))}`,
    ],
    ["ratelimit", `"${policy.name}";r=${d.remaining};t=${d.resetS}`],
  ];
}
