/**
 * The `[wraith]` configuration section: listeners, the default upstream, routes and upstream pools written as
 * short strings (so the same value works in `ghost.toml`, in `GHOST_WRAITH_*` and as a flag), and every limit.
 *
 * A pool: `"NAME URL[*WEIGHT] URL... [balance=ALGO] [hash_on=header:NAME|cookie:NAME|client] [health=/PATH]
 * [expect=LOW-HIGH] [sni=NAME]"`. A backend URL's scheme picks the protocol wraith speaks to it: `http://` and `https://`
 * HTTP/1.1, `h2c://` HTTP/2 in cleartext with prior knowledge, `h2://` HTTP/2 over TLS (ALPN h2), `h3://` HTTP/3.
 *
 * A route: `"[HOST][/PREFIX] [header:NAME=VALUE]... -> POOL"`; the first route that matches wins. `HOST` may start
 * with `*.`; a route with no host matches every host. The `upstream` list is the pool `default`, and the route
 * `/ -> default` is appended after the configured routes when it is not empty.
 *
 * @module
 */
import {
  bool,
  ConfigValueError,
  custom,
  defineSection,
  formatHostPort,
  hostPorts,
  int,
  INVALID,
  type Kind,
  oneOf,
  string,
  strings,
} from "../core/mod.ts";
import { formatRatePolicy, parseRatePolicy } from "./rate_limit.ts";

/** How a pool picks a backend. */
export type BalanceAlgorithm = "round_robin" | "least_requests" | "hash";

/** What `hash` balancing hashes. */
export type HashKey =
  | { readonly kind: "header"; readonly name: string }
  | { readonly kind: "cookie"; readonly name: string }
  | { readonly kind: "client" };

/** The protocol wraith speaks to a backend. */
export type UpstreamProtocol = "h1" | "h2" | "h3";

/** One backend of a pool. */
export interface BackendSpec {
  /** As configured, without the weight: `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly protocol: UpstreamProtocol;
  /** TLS (https, h2, h3) or cleartext (http, h2c). */
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  /** Relative weight, 1-1000. */
  readonly weight: number;
  /** TLS server name (SNI and the name the certificate must carry), when not the URL's host (pool `sni=`). */
  readonly serverName?: string;
}

/** A pool of backends and how traffic is spread over them. */
export interface PoolSpec {
  readonly name: string;
  readonly backends: readonly BackendSpec[];
  readonly balance: BalanceAlgorithm;
  /** For `hash`: what is hashed (default: the client address). */
  readonly hashOn: HashKey;
  /** Active health check path; `""` leaves only passive ejection. */
  readonly healthPath: string;
  /** Statuses a health check accepts, inclusive. */
  readonly expect: readonly [number, number];
}

/** A header a route requires. */
export interface HeaderMatch {
  readonly name: string;
  readonly value: string;
}

/** One route: what it matches and the pool it sends to. */
export interface RouteSpec {
  /** As configured (for status and logs). */
  readonly text: string;
  /** Lowercase host, `*.suffix`, or `""` for any host. */
  readonly host: string;
  /** Path prefix, starting with `/`. */
  readonly pathPrefix: string;
  readonly headers: readonly HeaderMatch[];
  readonly pool: string;
}

const SCHEMES: Readonly<Record<string, { protocol: UpstreamProtocol; tls: boolean; port: number }>> = {
  "http:": { protocol: "h1", tls: false, port: 80 },
  "https:": { protocol: "h1", tls: true, port: 443 },
  "h2c:": { protocol: "h2", tls: false, port: 80 },
  "h2:": { protocol: "h2", tls: true, port: 443 },
  "h3:": { protocol: "h3", tls: true, port: 443 },
};

/** Parses one backend, `URL[*WEIGHT]`; throws ConfigValueError with what is wrong. */
export function parseBackend(text: string): BackendSpec {
  const m = /^(.*?)(?:\*(\d+))?$/.exec(text.trim());
  const raw = m?.[1] ?? "";
  const weight = m?.[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isInteger(weight) || weight < 1 || weight > 1000) {
    throw new ConfigValueError(`backend ${text}: weight must be 1-1000`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigValueError(
      `backend ${text}: not a URL (http://host:port, h2c://, h2://, https://, h3://)`,
    );
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) {
    throw new ConfigValueError(
      `backend ${text}: scheme ${url.protocol} is not one of http, https, h2c, h2, h3`,
    );
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new ConfigValueError(`backend ${text}: only scheme://host:port is allowed`);
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    throw new ConfigValueError(`backend ${text}: a backend has no path; routes keep the request's path`);
  }
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? scheme.port : Number(url.port);
  const shown = `${url.protocol}//${url.host}`;
  return { url: shown, protocol: scheme.protocol, tls: scheme.tls, hostname, port, weight };
}

const ALGOS: readonly BalanceAlgorithm[] = ["round_robin", "least_requests", "hash"];
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function parseHashKey(text: string): HashKey {
  if (text === "client") return { kind: "client" };
  const m = /^(header|cookie):(.+)$/.exec(text);
  const [, kind = "", name = ""] = m ?? [];
  if (m === null || !TOKEN.test(name.toLowerCase())) {
    throw new ConfigValueError(`hash_on=${text}: expected header:NAME, cookie:NAME or client`);
  }
  return kind === "header" ? { kind: "header", name: name.toLowerCase() } : { kind: "cookie", name };
}

function parseRange(text: string): readonly [number, number] {
  const m = /^(\d{3})(?:-(\d{3}))?$/.exec(text);
  const lo = Number(m?.[1]), hi = Number(m?.[2] ?? m?.[1]);
  if (m === null || lo < 100 || hi > 599 || lo > hi) {
    throw new ConfigValueError(`expect=${text}: expected a status or a range like 200-399`);
  }
  return [lo, hi];
}

/** A pool as configured: `balance` and `healthPath` left out fall back to the section's. */
export type PoolConfig = Omit<PoolSpec, "balance"> & { readonly balance: BalanceAlgorithm | undefined };

/** Parses a pool string (see the module doc). */
export function parsePool(text: string): PoolConfig {
  const [name, ...tokens] = text.trim().split(/\s+/);
  if (name === undefined || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    throw new ConfigValueError(`pool ${JSON.stringify(text)}: starts with its name (a-z, 0-9, _ and -)`);
  }
  const backends: BackendSpec[] = [];
  let balance: BalanceAlgorithm | undefined;
  let hashOn: HashKey = { kind: "client" };
  let healthPath = "";
  let expect: readonly [number, number] = [200, 399];
  let sni: string | undefined;
  for (const token of tokens) {
    const eq = token.indexOf("=");
    if (token.includes("://") && (eq < 0 || eq > token.indexOf("://"))) {
      backends.push(parseBackend(token));
      continue;
    }
    const key = token.slice(0, eq), value = token.slice(eq + 1);
    if (key === "balance" && (ALGOS as readonly string[]).includes(value)) {
      balance = value as BalanceAlgorithm;
    } else if (key === "hash_on") hashOn = parseHashKey(value);
    else if (key === "health" && (value === "" || /^\/[\x21-\x7e]*$/.test(value))) healthPath = value;
    else if (key === "expect") expect = parseRange(value);
    else if (key === "sni" && /^[a-z0-9]([a-z0-9.-]{0,252})$/i.test(value)) sni = value.toLowerCase();
    else {
      throw new ConfigValueError(
        `pool ${name}: ${JSON.stringify(token)} is not a backend URL or balance=${
          ALGOS.join("|")
        }, hash_on=, health=/PATH, expect=, sni=NAME`,
      );
    }
  }
  if (backends.length === 0) throw new ConfigValueError(`pool ${name}: no backends`);
  if (sni !== undefined) {
    backends.splice(0, backends.length, ...backends.map((b) => ({ ...b, serverName: sni })));
  }
  const seen = new Set<string>();
  for (const b of backends) {
    if (seen.has(b.url)) throw new ConfigValueError(`pool ${name}: backend ${b.url} is listed twice`);
    seen.add(b.url);
  }
  return { name, backends, balance, hashOn, healthPath, expect };
}

/** A route policy of `auth`: the pool's requests must be signed, optionally by one of `allow`. */
export interface AuthPolicy {
  readonly pool: string;
  readonly allow: readonly string[];
  /** .ghost names whose current owners are allowed too (with ghost_sites on). */
  readonly allowHolders: readonly string[];
}

/** Parses `POOL signed [allow=ghost1...,ghost1...]`. */
export function parseAuthPolicy(text: string): AuthPolicy {
  const [pool, kind, ...opts] = text.trim().split(/\s+/);
  const bad = (why: string): never => {
    throw new ConfigValueError(`auth ${JSON.stringify(text)}: ${why}`);
  };
  // A pool of the config, or `site-NAME.ghost` for a .ghost site.
  if (pool === undefined || !/^(?:[a-z0-9][a-z0-9_-]*|site-[a-z0-9][a-z0-9.-]*\.ghost)$/.test(pool)) {
    bad("starts with a pool name (or site-NAME.ghost)");
  }
  if (kind !== "signed") bad('the policy is "signed"');
  let allow: string[] = [];
  let allowHolders: string[] = [];
  for (const o of opts) {
    const m = /^(allow|allow_holders)=(.+)$/.exec(o);
    if (m === null) bad(`${o} is not allow=ghost1...,ghost1... or allow_holders=NAME.ghost,...`);
    const list = (m?.[2] ?? "").split(",").filter((a) => a !== "");
    if (m?.[1] === "allow") {
      allow = list;
      if (!allow.every((a) => /^ghost1[02-9ac-hj-np-z]{38}$/.test(a))) bad("allow lists ghost1 addresses");
    } else {
      allowHolders = list.map((n) => n.toLowerCase());
      if (!allowHolders.every((n) => /^[a-z0-9][a-z0-9.-]*\.ghost$/.test(n))) {
        bad("allow_holders lists .ghost names");
      }
    }
  }
  return { pool: pool as string, allow, allowHolders };
}

/** Parses a route string (see the module doc). */
export function parseRoute(text: string): RouteSpec {
  const m = /^(.*?)\s*->\s*([a-z0-9][a-z0-9_-]*)\s*$/.exec(text.trim());
  if (m === null) {
    throw new ConfigValueError(`route ${JSON.stringify(text)}: expected "[HOST][/PREFIX] -> POOL"`);
  }
  const [, matchers0 = "", pool = ""] = m;
  const [first = "", ...rest] = matchers0.split(/\s+/).filter((t) => t !== "");
  let host = "", pathPrefix = "/";
  const headers: HeaderMatch[] = [];
  const matchers = first.startsWith("header:") ? [first, ...rest] : rest;
  if (!first.startsWith("header:") && first !== "") {
    const slash = first.indexOf("/");
    host = (slash < 0 ? first : first.slice(0, slash)).toLowerCase();
    pathPrefix = slash < 0 ? "/" : first.slice(slash);
    if (host !== "" && !/^(?:\*\.)?[a-z0-9.-]+(?::\d{1,5})?$/.test(host)) {
      throw new ConfigValueError(`route ${JSON.stringify(text)}: bad host ${host}`);
    }
    if (!/^\/[\x21-\x7e]*$/.test(pathPrefix)) {
      throw new ConfigValueError(`route ${JSON.stringify(text)}: bad path prefix ${pathPrefix}`);
    }
  }
  for (const t of matchers) {
    const h = /^header:([^=]+)=(.*)$/.exec(t);
    const [, hname = "", hvalue = ""] = h ?? [];
    if (h === null || !TOKEN.test(hname.toLowerCase())) {
      throw new ConfigValueError(`route ${JSON.stringify(text)}: ${t} is not header:NAME=VALUE`);
    }
    headers.push({ name: hname.toLowerCase(), value: hvalue });
  }
  return { text: text.trim(), host, pathPrefix, headers, pool };
}

/** A list of strings each checked by `check`; env and flags separate items with `;` (commas live in URLs). */
function checkedList<T>(
  describe: string,
  check: (text: string) => T,
  show: (value: T) => string,
): Kind<readonly T[]> {
  return custom<readonly T[]>(
    describe,
    (raw) => {
      const list = typeof raw === "string" ? (raw === "" ? [] : [raw]) : raw;
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return INVALID;
      return list.map((x) => check(x));
    },
    (v) => v.map(show),
    (text) => text.split(";").map((s) => s.trim()).filter((s) => s !== ""),
  );
}

const backendList = custom<readonly BackendSpec[]>(
  "a list of backend URLs (http://, https://, h2c://, h2://, h3://; URL*WEIGHT)",
  (raw) => {
    const list = typeof raw === "string" ? (raw === "" ? [] : [raw]) : raw;
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return INVALID;
    return list.map(parseBackend);
  },
  (v) => v.map((b) => (b.weight === 1 ? b.url : `${b.url}*${b.weight}`)),
  (text) => text.split(/[\s,;]+/).filter((s) => s !== ""),
);

function showPool(p: PoolConfig): string {
  const parts = [p.name, ...p.backends.map((b) => (b.weight === 1 ? b.url : `${b.url}*${b.weight}`))];
  if (p.balance !== undefined) parts.push(`balance=${p.balance}`);
  if (p.balance === "hash") {
    parts.push(`hash_on=${p.hashOn.kind === "client" ? "client" : `${p.hashOn.kind}:${p.hashOn.name}`}`);
  }
  if (p.healthPath !== "") parts.push(`health=${p.healthPath}`);
  const sni = p.backends[0]?.serverName;
  if (sni !== undefined) parts.push(`sni=${sni}`);
  parts.push(`expect=${p.expect[0]}-${p.expect[1]}`);
  return parts.join(" ");
}

/** The `[wraith]` schema (the README table comes from this). */
export const WRAITH_CONFIG = defineSection("wraith", {
  listen: {
    kind: hostPorts({ ipOnly: true }),
    default: ["[::1]:4443", "127.0.0.1:4443"],
    help:
      "Addresses to serve on: HTTP/3 on UDP and HTTP/1.1 + HTTP/2 (TLS, ALPN) on TCP, same port (flag --listen)",
  },
  upstream: {
    kind: backendList,
    default: [],
    help: "Backends of the pool `default`, served by the route `/ -> default` (flag --upstream)",
  },
  pools: {
    kind: checkedList(
      "a list of pools: NAME URL[*W]... [balance=] [hash_on=] [health=] [expect=]",
      parsePool,
      showPool,
    ),
    default: [],
    help: "Upstream pools (wraith/README.md)",
  },
  routes: {
    kind: checkedList("a list of routes: [HOST][/PREFIX] [header:N=V]... -> POOL", parseRoute, (r) => r.text),
    default: [],
    help: "Routes, first match wins (wraith/README.md)",
  },
  balance: {
    kind: oneOf(ALGOS),
    default: "round_robin",
    help: "Balancing of the default pool and of pools that do not set balance=",
  },
  http3: { kind: bool(), default: true, help: "Serve HTTP/3 on UDP and advertise it with Alt-Svc" },
  alt_svc_max_age_s: {
    kind: int(0, 31_536_000),
    default: 86_400,
    help: "Alt-Svc ma= of the h3 advertisement",
  },
  connect_timeout_ms: { kind: int(10, 600_000), default: 3_000, help: "Connecting to a backend" },
  try_timeout_ms: {
    kind: int(10, 3_600_000),
    default: 30_000,
    help: "One try: from sending to a backend to its response head",
  },
  total_timeout_ms: {
    kind: int(10, 3_600_000),
    default: 60_000,
    help: "A request's tries together, until the response head",
  },
  retries: { kind: int(0, 10), default: 2, help: "Tries after the first, only for safe requests (README)" },
  retry_budget_percent: {
    kind: int(0, 100),
    default: 20,
    help: "Retries allowed as a share of requests (over 10 s), above retry_budget_min_per_s",
  },
  retry_budget_min_per_s: { kind: int(0, 100_000), default: 10, help: "Retries per second always allowed" },
  health_path: {
    kind: string(),
    default: "",
    help: "Active health check path of pools that do not set health=",
  },
  health_interval_ms: { kind: int(100, 3_600_000), default: 5_000, help: "Between active health checks" },
  health_timeout_ms: { kind: int(10, 600_000), default: 2_000, help: "One active health check" },
  healthy_threshold: { kind: int(1, 100), default: 2, help: "Passed checks that bring a backend back" },
  unhealthy_threshold: { kind: int(1, 100), default: 3, help: "Failed checks that take a backend out" },
  eject_consecutive_errors: {
    kind: int(0, 1000),
    default: 5,
    help: "Consecutive errors (connect failures, timeouts, 502/503/504) that eject a backend; 0 off",
  },
  eject_ms: {
    kind: int(100, 3_600_000),
    default: 10_000,
    help: "How long a passively ejected backend stays out",
  },
  max_header_bytes: {
    kind: int(1024, 1_048_576),
    default: 65_536,
    help: "Request head size (names + values + 32 per field): 431 above it",
  },
  max_headers: { kind: int(8, 10_000), default: 100, help: "Request header fields: 431 above it" },
  max_body_bytes: {
    kind: int(0, 2 ** 40),
    default: 64 * 1024 * 1024,
    help: "Request body: 413 above it (0: no body allowed)",
  },
  header_timeout_ms: {
    kind: int(100, 600_000),
    default: 10_000,
    help: "A client's time to send a request head",
  },
  idle_timeout_ms: {
    kind: int(1_000, 3_600_000),
    default: 60_000,
    help: "Idle client connections are closed",
  },
  max_connections: {
    kind: int(1, 1_000_000),
    default: 10_000,
    help: "Client connections (each of QUIC and TCP)",
  },
  max_streams_per_connection: {
    kind: int(1, 10_000),
    default: 100,
    help: "Concurrent requests on one HTTP/2 or HTTP/3 connection",
  },
  requests_per_second_per_connection: {
    kind: int(1, 1_000_000),
    default: 20_000,
    help:
      "HTTP/3 requests one connection may start per second (burst the same) before it is closed as a flood",
  },
  upstream_max_idle_per_backend: {
    kind: int(0, 10_000),
    default: 64,
    help: "Idle keep-alive connections kept per HTTP/1.1 backend",
  },
  auth: {
    kind: checkedList(
      "a list of route policies: POOL signed [allow=ghost1...,...] [allow_holders=NAME.ghost,...]",
      parseAuthPolicy,
      (a) =>
        [
          a.pool,
          "signed",
          ...(a.allow.length > 0 ? [`allow=${a.allow.join(",")}`] : []),
          ...(a.allowHolders.length > 0 ? [`allow_holders=${a.allowHolders.join(",")}`] : []),
        ].join(" "),
    ),
    default: [],
    help:
      "Routes (by pool) that admit only requests signed by wallet identities (ghost-auth, wraith/README.md)",
  },
  signature_window_s: {
    kind: int(1, 86_400),
    default: 300,
    help: "How far a signature's created time may be from now, seconds (also how long nonces are remembered)",
  },
  signed_body_max_bytes: {
    kind: int(0, 64 * 1024 * 1024),
    default: 1_048_576,
    help: "Largest body of a signed request (it is read whole to check its Content-Digest): 413 above it",
  },
  rate_limits: {
    kind: checkedList(
      "a list of rate limits: NAME client|route|identity LIMIT/WINDOW [burst=N] [pool=POOL] [prefix4=] [prefix6=]",
      parseRatePolicy,
      formatRatePolicy,
    ),
    default: [],
    help: "Rate limits (GCRA), each counted per client prefix, per route or per identity (wraith/README.md)",
  },
  ghost_sites: {
    kind: bool(),
    default: false,
    help: "Serve https://NAME.ghost/ from the backend the name's on-chain TXT ghost-backend=URL names",
  },
  ghost_site_hosts: {
    kind: strings(),
    default: ["127.0.0.1", "::1"],
    help: "Hosts .ghost site backends may be on (the worker's net permission covers them, any port)",
  },
  reload_hosts: {
    kind: strings(),
    default: [],
    help: "Extra backend hosts (names or IPs) the worker may reach, so a live reload can add backends there",
  },
  cache_max_bytes: {
    kind: int(0, 2 ** 40),
    default: 0,
    help: "Response cache (RFC 9111, shared) size in bytes, LRU; 0 turns the cache off",
  },
  cache_disk_bytes: {
    kind: int(0, 2 ** 44),
    default: 0,
    help:
      "Disk tier of the cache under wraith's data dir (survives restarts), bytes; 0 keeps the cache in memory",
  },
  cache_max_object_bytes: {
    kind: int(0, 2 ** 40),
    default: 1_048_576,
    help: "Largest response the cache stores (a larger or unknown-length one streams through)",
  },
  admin_token: {
    kind: string(),
    default: "",
    secret: true,
    help: "Bearer token of POST /.well-known/wraith/purge; empty turns purging off",
  },
  trust_forwarded: {
    kind: bool(),
    default: false,
    help: "Keep the client's Forwarded/X-Forwarded-* and append to them (only behind a trusted proxy)",
  },
  via: {
    kind: string({ allowEmpty: false, pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/ }),
    default: "wraith",
    help: "Pseudonym in Via",
  },
}, {
  check: (v, fail) => {
    const pools = new Set(v.pools.map((p) => p.name));
    if (pools.size !== v.pools.length) fail("pools", "two pools have the same name");
    if (v.upstream.length > 0 && pools.has("default")) {
      fail("pools", "the pool `default` is made from `upstream`; name this pool differently");
    }
    if (v.upstream.length > 0) pools.add("default");
    for (const r of v.routes) {
      if (!pools.has(r.pool)) {
        fail("routes", `route ${JSON.stringify(r.text)} sends to unknown pool ${r.pool}`);
      }
    }
    for (const a of v.auth) {
      if (!pools.has(a.pool) && !a.pool.startsWith("site-")) {
        fail("auth", `auth names unknown pool ${a.pool}`);
      }
    }
    for (const r of v.rateLimits) {
      if (r.pool !== undefined && !pools.has(r.pool)) {
        fail("rate_limits", `rate limit ${r.name} names unknown pool ${r.pool}`);
      }
    }
    if (new Set(v.rateLimits.map((r) => r.name)).size !== v.rateLimits.length) {
      fail("rate_limits", "two rate limits have the same name");
    }
    if (v.healthPath !== "" && !/^\/[\x21-\x7e]*$/.test(v.healthPath)) {
      fail("health_path", "must start with /");
    }
    if (v.tryTimeoutMs > v.totalTimeoutMs) fail("try_timeout_ms", "is above total_timeout_ms");
  },
});

/** The parsed `[wraith]` section. */
export type WraithConfig = ReturnType<typeof WRAITH_CONFIG.parse>;

/** The pools of a config: the configured ones (with the section's defaults) and `default` from `upstream`. */
export function effectivePools(config: WraithConfig): PoolSpec[] {
  const pools: PoolSpec[] = config.pools.map((p) => ({
    ...p,
    balance: p.balance ?? config.balance,
    healthPath: p.healthPath === "" ? config.healthPath : p.healthPath,
  }));
  if (config.upstream.length > 0) {
    pools.push({
      name: "default",
      backends: config.upstream,
      balance: config.balance,
      hashOn: { kind: "client" },
      healthPath: config.healthPath,
      expect: [200, 399],
    });
  }
  return pools;
}

/** The routes of a config: the configured ones, then `/ -> default` when `upstream` is set. */
export function effectiveRoutes(config: WraithConfig): RouteSpec[] {
  const routes = [...config.routes];
  if (config.upstream.length > 0) routes.push(parseRoute("/ -> default"));
  return routes;
}

/** The `net` permission entries wraith needs: its listeners and every backend. */
export function wraithNetPermissions(config: WraithConfig): string[] {
  const out = new Set<string>();
  for (const l of config.listen) out.add(formatHostPort(l));
  // Backends by host, any port: a live reload may then move a route to another port of a host the worker
  // reaches already (a new host needs a restart, unless `reload_hosts` named it up front).
  const host = (h: string) => (h.includes(":") ? `[${h}]` : h);
  for (const p of effectivePools(config)) for (const b of p.backends) out.add(host(b.hostname));
  for (const h of config.reloadHosts) out.add(host(h));
  if (config.ghostSites) { for (const h of config.ghostSiteHosts) out.add(host(h)); }
  return [...out];
}
