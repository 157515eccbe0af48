/**
 * The reverse proxy: a web `Request` in (from the HTTP/3, HTTP/2 or HTTP/1.1 front), a `Response` out. It
 * checks the request against the limits, picks a route and a backend of the route's pool, forwards the request
 * with proxy semantics (`proxy_headers.ts`), and retries when that is safe:
 *
 * - a try that failed before anything reached the backend (connect refused or timed out, a refused stream) is
 *   retried for any method;
 * - a try that failed after sending (reset, timeout, a 502/503/504 answer) is retried only for idempotent
 *   methods (RFC 9110 §9.2.2) whose body wraith still has (none, or buffered because it was small);
 * - every retry goes to another backend while one is left, within `retries` and the retry budget, and before
 *   `total_timeout_ms`.
 *
 * Errors of its own are answered with 502 (bad or no answer), 503 (no backend), 504 (timeout), 404 (no route),
 * 413, 431 and 400, each with a `proxy-status` field (RFC 9209) naming what went wrong.
 *
 * @module
 */
import {
  concatBytes,
  endSpan,
  extractContext,
  latencyBuckets,
  type MetricsRegistry,
  SpanKind,
  startSpan,
  traceHeaders,
  withSpan,
} from "../core/mod.ts";
import type { HeaderField } from "../transport/http/mod.ts";
import { attachTrailers, trailersOf } from "../transport/http/mod.ts";
import { type Backend, hashKeyOf, type HealthPolicy, Pool } from "./balancer.ts";
import {
  type AuthPolicy,
  type BackendSpec,
  effectivePools,
  effectiveRoutes,
  parseBackend,
  type RouteSpec,
  type WraithConfig,
} from "./config.ts";
import { forwardRequestFields, forwardResponseFields, withoutHopByHop } from "./proxy_headers.ts";
import {
  conditionalFields,
  currentAge,
  fieldValue,
  mayStore,
  parseCacheControl,
  reuse,
  updateFromNotModified,
  varyValues,
} from "./cache_policy.ts";
import { type CacheEntry, cacheKey, ResponseCache } from "./cache_store.ts";
import type { DiskCache } from "./deno_cache_disk.ts";
import { addressPrefix, formatRatePolicy, Gcra, rateLimitFields } from "./rate_limit.ts";
import { NonceCache, verifyRequestSignature } from "../transport/http/mod.ts";
import { RetryBudget } from "./retry_budget.ts";
import { hostOf, matchRoute } from "./router.ts";
import { type UpstreamClient, upstreamClient, UpstreamError, type UpstreamResponse } from "./upstream.ts";

/** Methods whose retry cannot do harm twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
/** Bodies up to this size are buffered so an idempotent request with a body can be retried. */
const REPLAY_BUFFER = 64 * 1024;
const UNAVAILABLE = new Set([502, 503, 504]);

/** What the front tells the proxy about a request besides the request. */
export interface ClientInfo {
  /** The client's IP. */
  readonly client: string;
  /** `1.1`, `2` or `3`. */
  readonly version: string;
}

/** What forwarding one request needs. */
interface ForwardContext {
  readonly request: Request;
  readonly info: ClientInfo;
  readonly url: URL;
  /** The request's fields, lowercase. */
  readonly fields: readonly HeaderField[];
  readonly live: LivePool;
  readonly name: string;
  readonly pinned: Backend | undefined;
  /** The verified signer (ghost-auth), sent on as `ghost-identity`. */
  readonly identity?: string;
  /** The request body when it was read whole already (a signed request's, for its digest). */
  readonly bodyBytes?: Uint8Array;
}

/** The outcome of forwarding: a response head (call `finish` when its body is done), or the error answer. */
type Forwarded =
  | { readonly ok: true; readonly res: UpstreamResponse; readonly finish: () => void }
  | { readonly ok: false; readonly response: Response };

/** A pool and its backends' clients. */
interface LivePool {
  readonly pool: Pool;
  readonly clients: Map<Backend, UpstreamClient>;
}

/** Status of the proxy for `mod.ts status`. */
export interface WraithStatus {
  readonly routes: readonly string[];
  readonly pools: readonly {
    readonly name: string;
    readonly balance: string;
    readonly healthy: number;
    readonly backends: readonly {
      readonly url: string;
      readonly weight: number;
      readonly state: "up" | "down" | "ejected" | "draining";
      readonly active: number;
      readonly requests: number;
      readonly failures: number;
      readonly connections: number;
    }[];
  }[];
}

function text(status: number, message: string, proxyStatus: string): Response {
  return new Response(`${message}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "proxy-status": proxyStatus },
  });
}

/** The error a try ended with, as RFC 9209 proxy-status error type. */
function proxyError(error: UpstreamError): string {
  switch (error.kind) {
    case "connect":
      if (/refused/i.test(error.message)) return "connection_refused";
      if (/timed out|timeout/i.test(error.message)) return "connection_timeout";
      if (/certificate|handshake|crypto|tls/i.test(error.message)) return "tls_protocol_error";
      return "connection_terminated";
    case "timeout":
      return "http_response_timeout";
    case "refused":
    case "reset":
      return "http_protocol_error";
    case "protocol":
      return "http_response_incomplete";
  }
}

/** The proxy (see the module doc). */
export class WraithProxy {
  #config: WraithConfig;
  #routes: RouteSpec[];
  #pools = new Map<string, LivePool>();
  readonly #budget: RetryBudget;
  #cache: ResponseCache | undefined;
  #disk: DiskCache | undefined;
  #sites:
    | {
      lookup: (name: string) => { readonly txt: readonly string[]; readonly owner?: string } | undefined;
      hosts: Set<string>;
    }
    | undefined;
  readonly #sitePools = new Map<string, LivePool>();
  #limits: Gcra[];
  #auth: Map<string, AuthPolicy>;
  readonly #nonces = new NonceCache();
  #timers: ReturnType<typeof setInterval>[] = [];
  readonly #log: (level: "info" | "warn" | "debug", message: string, fields: Record<string, unknown>) => void;
  readonly #make: (spec: BackendSpec, config: WraithConfig) => UpstreamClient;
  readonly #m;

  constructor(
    config: WraithConfig,
    opts: {
      caCerts: readonly string[];
      metrics: MetricsRegistry;
      log?: (level: "info" | "warn" | "debug", message: string, fields: Record<string, unknown>) => void;
      /** Makes a backend's client (default: by its protocol, `upstreamClient`); tests and benches swap it. */
      clients?: (spec: BackendSpec) => UpstreamClient;
    },
  ) {
    this.#config = config;
    this.#budget = new RetryBudget(config.retryBudgetPercent, config.retryBudgetMinPerS);
    this.#log = opts.log ?? (() => {});
    const custom = opts.clients;
    this.#make = custom !== undefined ? (spec) => custom(spec) : (spec, c) =>
      upstreamClient(spec, {
        caCerts: opts.caCerts,
        connectTimeoutMs: c.connectTimeoutMs,
        maxIdle: c.upstreamMaxIdlePerBackend,
      });
    this.#routes = [];
    this.#limits = [];
    this.#auth = new Map();
    this.#cache = undefined;
    this.#build(config, undefined);
    const r = opts.metrics;
    this.#m = {
      requests: r.counter(
        "ghost_wraith_requests_total",
        "Requests answered, by route pool, status class and protocol",
        [
          "pool",
          "code",
          "proto",
        ],
      ),
      seconds: r.histogram("ghost_wraith_request_seconds", "Request time to the response head", {
        buckets: latencyBuckets(0.0005, 60),
      }),
      upstreamSeconds: r.histogram(
        "ghost_wraith_upstream_seconds",
        "Backend time to the response head, by pool",
        {
          labelNames: ["pool"],
          buckets: latencyBuckets(0.0005, 60),
        },
      ),
      tries: r.counter("ghost_wraith_upstream_tries_total", "Tries sent to backends, by pool and outcome", [
        "pool",
        "outcome",
      ]),
      retries: r.counter("ghost_wraith_retries_total", "Retries, by pool", ["pool"]),
      budgetRefused: r.counter("ghost_wraith_retry_budget_exhausted_total", "Retries the budget refused", [
        "pool",
      ]),
      ejections: r.counter("ghost_wraith_backend_ejections_total", "Backends taken out (passive or active)", [
        "pool",
        "reason",
      ]),
      healthy: r.gauge("ghost_wraith_backends_healthy", "Backends taking requests, by pool", ["pool"]),
      active: r.gauge("ghost_wraith_requests_active", "Requests in flight"),
      cache: r.counter(
        "ghost_wraith_cache_requests_total",
        "GET/HEAD answers through the cache, by result (hit, stale, revalidated, stale_if_error, miss, expired)",
        ["result"],
      ),
      cacheBytes: r.gauge("ghost_wraith_cache_bytes", "Bytes held by the response cache"),
      auth: r.counter("ghost_wraith_signed_requests_total", "Requests to signed routes, by outcome", [
        "outcome",
      ]),
      limited: r.counter(
        "ghost_wraith_rate_limited_total",
        "Requests refused with 429, by rate limit policy",
        [
          "policy",
        ],
      ),
      routeInfo: r.gauge("ghost_wraith_route_info", "Configured routes in match order (value 1)", ["route"]),
      backendInfo: r.gauge(
        "ghost_wraith_backend_info",
        "Backends and their state: 1 for the current state, 0 for the others",
        ["pool", "backend", "state"],
      ),
    };
    this.#updateHealthGauge();
    for (const live of this.#pools.values()) this.#startHealthChecks(live);
  }

  /**
   * Builds routes, pools, limits, auth and cache from `config`. On a reload (`previous` given) a pool whose spec did
   * not change is kept whole (backend health, connections); a changed pool keeps the clients of backends it still
   * lists; clients of removed backends are closed once their requests are done (connection draining); counters of
   * unchanged rate limits and the cache (when its sizes did not change) are kept.
   */
  #build(config: WraithConfig, previous: WraithConfig | undefined): void {
    const policy = healthPolicy(config);
    // Backends keep their state and connections only when nothing about health or connecting changed.
    const healthSame = previous !== undefined &&
      JSON.stringify(healthPolicy(previous)) === JSON.stringify(policy) &&
      previous.connectTimeoutMs === config.connectTimeoutMs &&
      previous.upstreamMaxIdlePerBackend === config.upstreamMaxIdlePerBackend;
    const old = this.#pools;
    const pools = new Map<string, LivePool>();
    const kept = new Set<UpstreamClient>();
    for (const spec of effectivePools(config)) {
      const before = old.get(spec.name);
      if (before !== undefined && healthSame && JSON.stringify(before.pool.spec) === JSON.stringify(spec)) {
        pools.set(spec.name, before);
        for (const c of before.clients.values()) kept.add(c);
        continue;
      }
      const pool = new Pool(spec, policy);
      const reuse = new Map<string, UpstreamClient>();
      if (before !== undefined && healthSame) {
        for (const [b, c] of before.clients) reuse.set(b.spec.url, c);
      }
      const clients = new Map(pool.backends.map((b) => {
        const c = reuse.get(b.spec.url) ?? this.#make(b.spec, config);
        kept.add(c);
        return [b, c] as const;
      }));
      pools.set(spec.name, { pool, clients });
    }
    // Connection draining: a removed backend takes no new requests; its connections close as they finish.
    const drainMs = config.totalTimeoutMs;
    for (const live of old.values()) {
      for (const [b, c] of live.clients) {
        if (kept.has(c)) continue;
        live.pool.drain(b);
        // HTTP/1.1 pools close idle connections now and busy ones when done; HTTP/2 sends GOAWAY and closes
        // when its streams end. An HTTP/3 connection closes at once, so it is given the requests' time first.
        if (c.spec.protocol === "h3") setTimeout(() => c.close(), drainMs);
        else c.close();
      }
    }
    const oldLimits = new Map(this.#limits.map((g) => [formatRatePolicy(g.policy), g]));
    this.#limits = config.rateLimits.map((p) => oldLimits.get(formatRatePolicy(p)) ?? new Gcra(p));
    this.#auth = new Map(config.auth.map((a) => [a.pool, a]));
    const cacheSame = previous !== undefined && previous.cacheMaxBytes === config.cacheMaxBytes &&
      previous.cacheMaxObjectBytes === config.cacheMaxObjectBytes;
    if (!cacheSame) {
      this.#cache = config.cacheMaxBytes > 0
        ? new ResponseCache(config.cacheMaxBytes, Math.min(config.cacheMaxObjectBytes, config.cacheMaxBytes))
        : undefined;
    }
    this.#routes = effectiveRoutes(config);
    this.#pools = pools;
    this.#config = config;
  }

  /**
   * Live reload: applies a new `[wraith]` section without dropping connections or requests in flight. Listener
   * settings (addresses, HTTP/3, client limits and timeouts) are bound to the sockets: changing them is refused
   * (restart wraith); so is any change while the config does not parse (the supervisor already checked it).
   */
  reload(next: WraithConfig): void {
    const fixed = [
      "listen",
      "http3",
      "altSvcMaxAgeS",
      "maxHeaderBytes",
      "maxHeaders",
      "headerTimeoutMs",
      "idleTimeoutMs",
      "maxConnections",
      "maxStreamsPerConnection",
      "requestsPerSecondPerConnection",
    ];
    const changed = fixed.filter((k) =>
      JSON.stringify((this.#config as Record<string, unknown>)[k]) !==
        JSON.stringify((next as Record<string, unknown>)[k])
    );
    if (changed.length > 0) {
      throw new Error(`${changed.join(", ")} belong to the listeners: restart wraith to change them`);
    }
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#build(next, this.#config);
    this.#updateHealthGauge();
    for (const live of this.#pools.values()) this.#startHealthChecks(live);
    this.#log("info", "config reloaded", { routes: this.#routes.length, pools: this.#pools.size });
  }

  #updateHealthGauge(): void {
    for (const [name, live] of this.#pools) this.#m.healthy.set(live.pool.healthy, { pool: name });
  }

  #startHealthChecks(live: LivePool): void {
    const path = live.pool.spec.healthPath;
    if (path === "") return;
    const check = async (b: Backend, client: UpstreamClient) => {
      let ok = false;
      try {
        const res = await client.request({
          method: "GET",
          authority: `${
            b.spec.hostname.includes(":") ? `[${b.spec.hostname}]` : b.spec.hostname
          }:${b.spec.port}`,
          target: path,
          fields: [["user-agent", "wraith-health-check"]],
          body: null,
          signal: AbortSignal.timeout(this.#config.healthTimeoutMs),
        });
        await res.body?.cancel().catch(() => {});
        const [lo, hi] = live.pool.spec.expect;
        ok = res.status >= lo && res.status <= hi;
      } catch {
        ok = false;
      }
      const change = live.pool.checked(b, ok);
      if (change !== undefined) {
        this.#log(change === "down" ? "warn" : "info", `backend ${change}`, {
          pool: live.pool.spec.name,
          backend: b.spec.url,
          via: "health check",
        });
        if (change === "down") {
          this.#m.ejections.inc(1, { pool: live.pool.spec.name, reason: "health_check" });
        }
        this.#updateHealthGauge();
      }
    };
    const run = () => {
      for (const [b, client] of live.clients) if (!b.draining) void check(b, client);
    };
    run();
    this.#timers.push(setInterval(run, this.#config.healthIntervalMs));
  }

  /** Serves one request. Never throws: every failure is a response. */
  async handle(request: Request, info: ClientInfo): Promise<Response> {
    const started = performance.now();
    this.#m.active.inc();
    let pool = "-";
    let response: Response;
    // One server span per request (under OTEL_DENO=true), a child of the client's `traceparent`; the tries
    // to backends carry its own.
    const span = startSpan("wraith", request.method, {
      kind: SpanKind.SERVER,
      parent: extractContext((name) => request.headers.get(name) ?? undefined),
      attributes: { "http.request.method": request.method, "network.protocol.version": info.version },
    });
    try {
      [pool, response] = await withSpan(span, () => this.#handle(request, info));
    } catch (error) {
      this.#log("warn", "proxy error", { error: String(error) });
      response = text(502, "Bad gateway", `${this.#config.via}; error=proxy_internal_error`);
    } finally {
      this.#m.active.dec();
    }
    this.#m.requests.inc(1, { pool, code: `${Math.floor(response.status / 100)}xx`, proto: info.version });
    this.#m.seconds.observe((performance.now() - started) / 1000);
    if (span !== undefined) {
      span.updateName(`${request.method} ${pool}`);
      span.setAttribute("http.response.status_code", response.status);
      span.setAttribute("ghost.wraith.pool", pool);
      endSpan(span, response.status >= 500 ? `HTTP ${response.status}` : undefined);
    }
    return response;
  }

  async #handle(request: Request, info: ClientInfo): Promise<[string, Response]> {
    const via = this.#config.via;
    const url = new URL(request.url);
    // Limits on the head (the fronts bound it too; these are the documented ones).
    let count = 0, bytes = 0;
    const fields: HeaderField[] = [];
    for (const [name, value] of request.headers) {
      count++;
      bytes += name.length + value.length + 32;
      fields.push([name, value]);
    }
    if (count > this.#config.maxHeaders || bytes > this.#config.maxHeaderBytes) {
      return ["-", text(431, "Request header fields too large", `${via}; error=http_request_error`)];
    }
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > this.#config.maxBodyBytes) {
      return ["-", text(413, "Content too large", `${via}; error=http_request_error`)];
    }
    if (url.pathname === "/.well-known/wraith/purge") return ["-", await this.#purge(request, url)];
    let live: LivePool | undefined;
    let name: string;
    const host = hostOf(url.host);
    if (this.#sites !== undefined && host.endsWith(".ghost")) {
      // A .ghost site: the backend its on-chain records name (TXT ghost-backend=URL).
      const site = this.#site(host);
      if ("error" in site) return [`site`, site.error];
      live = site.live;
      name = site.live.pool.spec.name;
    } else {
      const route = matchRoute(this.#routes, {
        authority: url.host,
        path: url.pathname,
        header: (n) => request.headers.get(n),
      });
      if (route === undefined) return ["-", text(404, "No route", `${via}; error=destination_not_found`)];
      live = this.#pools.get(route.pool);
      if (live === undefined) {
        return ["-", text(500, "Route to a missing pool", `${via}; error=proxy_configuration_error`)];
      }
      name = route.pool;
    }

    // ghost-backend: a backend of this route's pool only.
    let pinned: Backend | undefined;
    const wanted = request.headers.get("ghost-backend");
    if (wanted !== null) {
      pinned = live.pool.backends.find((b) =>
        b.spec.url === wanted || `${b.spec.hostname}:${b.spec.port}` === wanted ||
        `[${b.spec.hostname}]:${b.spec.port}` === wanted
      );
      if (pinned === undefined) {
        return [
          name,
          text(
            400,
            "ghost-backend names no backend of this route's pool",
            `${via}; error=http_request_error`,
          ),
        ];
      }
    }

    // ghost-auth: a signed route admits only requests signed by a wallet identity (allowed ones, if listed).
    let identity: string | undefined;
    let bodyBytes: Uint8Array | undefined;
    const policy = this.#auth.get(name);
    if (policy !== undefined) {
      const hasBody = request.body !== null;
      if (hasBody) {
        if (declared !== null && Number(declared) > this.#config.signedBodyMaxBytes) {
          this.#m.auth.inc(1, { outcome: "too_large" });
          return [name, text(413, "Signed request body too large", `${via}; error=http_request_error`)];
        }
        try {
          bodyBytes = await readBounded(request.body, this.#config.signedBodyMaxBytes);
        } catch {
          this.#m.auth.inc(1, { outcome: "too_large" });
          return [name, text(413, "Signed request body too large", `${via}; error=http_request_error`)];
        }
      }
      try {
        const who = await verifyRequestSignature({
          method: request.method,
          targetUri: url.href,
          field: (n) => request.headers.get(n),
        }, {
          windowS: this.#config.signatureWindowS,
          nonces: this.#nonces,
          now: Date.now() / 1000,
          body: bodyBytes ?? null,
        });
        const listed = policy.allow.length > 0 || policy.allowHolders.length > 0;
        const holder = policy.allowHolders.some((n) => this.#sites?.lookup(n)?.owner === who.address);
        if (listed && !policy.allow.includes(who.address) && !holder) {
          this.#m.auth.inc(1, { outcome: "forbidden" });
          return [
            name,
            text(403, `${who.address} is not allowed on this route`, `${via}; error=http_request_denied`),
          ];
        }
        identity = who.address;
        this.#m.auth.inc(1, { outcome: "verified" });
      } catch (error) {
        this.#m.auth.inc(1, { outcome: "refused" });
        const res = text(
          401,
          `Signature required: ${error instanceof Error ? error.message : String(error)}`,
          `${via}; error=http_request_denied`,
        );
        res.headers.set(
          "accept-signature",
          'sig1=("@method" "@target-uri" "@authority" "content-digest");alg="ed25519";keyid;created;nonce',
        );
        return [name, res];
      }
    }
    // Rate limits of this route (before the cache: a cache hit counts too).
    let quota: [string, string][] = [];
    if (this.#limits.length > 0) {
      const now = Date.now();
      let tightest: { remaining: number; fields: [string, string][] } | undefined;
      for (const g of this.#limits) {
        const p = g.policy;
        if (p.pool !== undefined && p.pool !== name) continue;
        // identity: the verified caller once signed requests are required on the route; until then the client.
        const key = p.scope === "route"
          ? name
          : p.scope === "identity" && identity !== undefined
          ? `id:${identity}`
          : addressPrefix(info.client, p.prefix4, p.prefix6);
        const d = g.check(key, now);
        if (!d.allowed) {
          this.#m.limited.inc(1, { policy: p.name });
          const res = text(429, "Too many requests", `${via}; error=http_request_denied`);
          res.headers.set("retry-after", String(d.retryAfterS));
          for (const [n, v] of rateLimitFields(p, d)) res.headers.set(n, v);
          return [name, res];
        }
        if (tightest === undefined || d.remaining < tightest.remaining) {
          tightest = { remaining: d.remaining, fields: rateLimitFields(p, d) };
        }
      }
      quota = tightest?.fields ?? [];
    }
    const ctx: ForwardContext = {
      request,
      info,
      url,
      fields,
      live,
      name,
      pinned,
      ...(identity !== undefined ? { identity } : {}),
      ...(bodyBytes !== undefined ? { bodyBytes } : {}),
    };
    if (quota.length > 0) {
      const [answered, response] = await this.#route(ctx);
      for (const [n, v] of quota) response.headers.set(n, v);
      return [answered, response];
    }
    return await this.#route(ctx);
  }

  /** The route's answer: through the cache for GET/HEAD when it is on, else straight from a backend. */
  async #route(ctx: ForwardContext): Promise<[string, Response]> {
    const { request, info, name } = ctx;
    const cache = this.#cache;
    // Signed routes answer someone in particular: they are not cached.
    if (
      cache !== undefined && ctx.identity === undefined &&
      (request.method === "GET" || request.method === "HEAD")
    ) {
      const bypass = (request.headers.get("ghost-cache") ?? "").toLowerCase().split(",").some((d) =>
        d.trim() === "bypass"
      );
      if (!bypass && !parseCacheControl(request.headers.get("cache-control")).noStore) {
        return [name, await this.#viaCache(ctx, cache)];
      }
    }
    const f = await this.#forward(ctx);
    if (!f.ok) return [name, f.response];
    const response = this.#respond(f.res, info, f.finish);
    if (cache !== undefined) response.headers.set("cache-status", `${this.#config.via}; fwd=bypass`);
    return [name, response];
  }

  /**
   * Sends the request to a backend of the route's pool with retries (see the module doc); `extra` fields are
   * added (a revalidation's validators). Returns the response head, or the error answer when no try succeeded.
   */
  async #forward(ctx: ForwardContext, extra: readonly HeaderField[] = []): Promise<Forwarded> {
    const { request, info, url, fields, live, name, pinned } = ctx;
    const via = this.#config.via;
    const declared = request.headers.get("content-length");
    if (ctx.identity !== undefined) extra = [...extra, ["ghost-identity", ctx.identity]];
    // The body: counted against the limit; small bodies of idempotent requests are buffered for retries.
    let body: ReadableStream<Uint8Array> | Uint8Array | null = ctx.bodyBytes ?? request.body;
    const idempotent = IDEMPOTENT.has(request.method);
    if (body instanceof Uint8Array) {
      // Read whole already.
    } else if (body !== null && idempotent && declared !== null && Number(declared) <= REPLAY_BUFFER) {
      body = new Uint8Array(await request.arrayBuffer());
    } else if (body !== null) {
      body = limitBody(body, this.#config.maxBodyBytes);
    }
    const replayable = body === null || body instanceof Uint8Array;
    let streamTouched = false;
    const touch = (b: typeof body): typeof body => {
      if (b === null || b instanceof Uint8Array) return b;
      // A stream is sent once; mark when a try starts reading it.
      const reader = b.getReader();
      return new ReadableStream<Uint8Array>({
        async pull(c) {
          streamTouched = true;
          const { value, done } = await reader.read();
          if (done) c.close();
          else c.enqueue(value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      }, { highWaterMark: 0 });
    };
    const upstreamBody = touch(body);

    const fwd = [
      ...forwardRequestFields({
        fields,
        client: info.client,
        host: url.host,
        proto: "https",
        version: info.version,
        pseudonym: via,
        trustForwarded: this.#config.trustForwarded,
      }),
      ...extra,
    ];
    // Under tracing the backend sees this request's span as its parent, not the client's.
    const trace = traceHeaders();
    if (trace.length > 0) {
      fwd.splice(0, fwd.length, ...fwd.filter(([n]) => n !== "traceparent" && n !== "tracestate"), ...trace);
    }
    const target = url.pathname + url.search;
    const requestTrailers = trailersOf(request);
    const deadline = Date.now() + this.#config.totalTimeoutMs;
    const tried = new Set<Backend>();
    const key = hashKeyOf(live.pool.spec.hashOn, {
      header: (n) => request.headers.get(n),
      client: info.client,
    });
    this.#budget.request();
    let last: Response | undefined;
    for (let attempt = 0;; attempt++) {
      const backend = pinned ?? live.pool.pick({ key, exclude: tried });
      if (backend === undefined) {
        return {
          ok: false,
          response: last ?? text(503, "No backend available", `${via}; error=destination_unavailable`),
        };
      }
      tried.add(backend);
      const client = live.clients.get(backend);
      if (client === undefined) {
        return {
          ok: false,
          response: text(500, "Backend without a client", `${via}; error=proxy_internal_error`),
        };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        return {
          ok: false,
          response: last ?? text(504, "Gateway timeout", `${via}; error=http_response_timeout`),
        };
      }
      // The try ends at its timeout (to the response head), or when the client goes away (a reset reaches the
      // backend as a cancel). The timer is cleared as soon as the head is in: thousands of requests a second must
      // not leave thousands of pending timers behind.
      const tryAbort = new AbortController();
      const timer = setTimeout(
        () => tryAbort.abort(new DOMException("the try timed out", "TimeoutError")),
        Math.min(this.#config.tryTimeoutMs, remaining),
      );
      const onClientGone = () => tryAbort.abort(request.signal.reason);
      if (request.signal.aborted) onClientGone();
      else request.signal.addEventListener("abort", onClientGone, { once: true });
      const signal = tryAbort.signal;
      live.pool.begin(backend);
      const t0 = performance.now();
      let res: UpstreamResponse;
      try {
        res = await client.request({
          method: request.method,
          authority: url.host,
          target,
          fields: fwd,
          body: upstreamBody,
          ...(requestTrailers ? { trailers: requestTrailers } : {}),
          signal,
        });
      } catch (error) {
        request.signal.removeEventListener("abort", onClientGone);
        clearTimeout(timer);
        const e = error instanceof UpstreamError
          ? error
          : new UpstreamError("protocol", false, String(error));
        this.#finish(live, backend, false);
        this.#m.tries.inc(1, { pool: name, outcome: e.kind });
        this.#log("debug", "upstream try failed", {
          pool: name,
          backend: backend.spec.url,
          error: e.message,
        });
        const safe = e.sentNothing && !streamTouched || (idempotent && (replayable || !streamTouched));
        const status = e.kind === "timeout" ? 504 : 502;
        last = text(
          status,
          status === 504 ? "Gateway timeout" : "Bad gateway",
          `${via}; error=${proxyError(e)}`,
        );
        if (pinned !== undefined || !safe || !this.#mayRetry(name, attempt)) {
          return { ok: false, response: last };
        }
        continue;
      }
      clearTimeout(timer);
      this.#m.upstreamSeconds.observe((performance.now() - t0) / 1000, { pool: name });
      const failed = UNAVAILABLE.has(res.status);
      this.#m.tries.inc(1, { pool: name, outcome: failed ? `status_${res.status}` : "ok" });
      if (
        failed && pinned === undefined && idempotent && (replayable || !streamTouched) &&
        this.#mayRetry(name, attempt)
      ) {
        request.signal.removeEventListener("abort", onClientGone);
        this.#finish(live, backend, false);
        await res.body?.cancel().catch(() => {});
        last = undefined;
        continue;
      }
      return {
        ok: true,
        res,
        finish: () => {
          request.signal.removeEventListener("abort", onClientGone);
          this.#finish(live, backend, !failed);
        },
      };
    }
  }

  /** Answers a GET or HEAD through the cache (RFC 9111; see wraith/README.md "Cache"). */
  async #viaCache(ctx: ForwardContext, cache: ResponseCache): Promise<Response> {
    const { request } = ctx;
    const key = cacheKey(ctx.url);
    const field = (n: string) => request.headers.get(n);
    // Concurrent misses of one key wait for the first one's fetch, then look again (at most twice).
    for (let round = 0; round < 3; round++) {
      let entry = cache.get(key, field);
      if (entry === undefined && this.#disk !== undefined) {
        // The disk tier: a hit there comes back into memory.
        entry = await this.#disk.get(key, field);
        if (entry !== undefined) cache.put(entry);
      }
      if (entry !== undefined) {
        const r = reuse(entry, ctx.fields, Date.now() / 1000);
        if (r.kind === "fresh") {
          this.#m.cache.inc(1, { result: "hit" });
          return this.#fromCache(entry, ctx, r.age, `hit; ttl=${Math.max(0, Math.floor(r.ttl))}`);
        }
        if (r.kind === "stale-while-revalidate") {
          this.#m.cache.inc(1, { result: "stale" });
          const j = cache.join(key);
          if (j.leader) {
            // The stale answer goes out now; one background request refreshes the entry.
            void this.#fetchAndStore(ctx, cache, key, entry).then((res) => res.body?.cancel(), () => {})
              .finally(j.done);
          }
          return this.#fromCache(entry, ctx, r.age, "hit; detail=stale-while-revalidate");
        }
      } else if (parseCacheControl(request.headers.get("cache-control")).onlyIfCached) {
        return text(
          504,
          "Not in the cache (only-if-cached)",
          `${this.#config.via}; error=http_response_timeout`,
        );
      }
      if (round === 2) return await this.#fetchAndStore(ctx, cache, key, entry);
      const j = cache.join(key);
      if (!j.leader) {
        await j.wait;
        continue;
      }
      try {
        return await this.#fetchAndStore(ctx, cache, key, entry);
      } finally {
        j.done();
      }
    }
    return text(502, "Bad gateway", `${this.#config.via}; error=proxy_internal_error`);
  }

  /** Fetches (or revalidates `entry`), stores what may be stored, and answers. */
  async #fetchAndStore(
    ctx: ForwardContext,
    cache: ResponseCache,
    key: string,
    entry: CacheEntry | undefined,
  ): Promise<Response> {
    const { request, fields } = ctx;
    const via = this.#config.via;
    const clientConditional = fields.some(([n]) => n.startsWith("if-"));
    const validators = entry !== undefined && !clientConditional ? conditionalFields(entry.fields) : [];
    const staleOnError = () => {
      if (entry === undefined) return false;
      const r = reuse(entry, fields, Date.now() / 1000);
      return r.kind !== "fresh" && r.kind !== "stale-while-revalidate" ? r.staleIfError : true;
    };
    const requestTime = Date.now() / 1000;
    const f = await this.#forward(ctx, validators);
    if (!f.ok) {
      if (entry !== undefined && staleOnError()) {
        this.#m.cache.inc(1, { result: "stale_if_error" });
        return this.#fromCache(
          entry,
          ctx,
          currentAge(entry, Date.now() / 1000),
          `fwd=stale; fwd-status=${f.response.status}; detail=stale-if-error`,
        );
      }
      this.#m.cache.inc(1, { result: "miss" });
      f.response.headers.set("cache-status", `${via}; fwd=${entry ? "stale" : "miss"}; detail=no-backend`);
      return f.response;
    }
    const res = f.res;
    const responseTime = Date.now() / 1000;
    const stored = withoutHopByHop(res.fields);
    if (entry !== undefined && res.status === 304 && validators.length > 0) {
      await res.body?.cancel().catch(() => {});
      f.finish();
      entry.fields = updateFromNotModified(entry.fields, stored);
      entry.requestTime = requestTime;
      entry.responseTime = responseTime;
      void this.#disk?.put(entry).catch(() => {});
      this.#m.cache.inc(1, { result: "revalidated" });
      return this.#fromCache(entry, ctx, currentAge(entry, Date.now() / 1000), "fwd=stale; fwd-status=304");
    }
    if (entry !== undefined && UNAVAILABLE.has(res.status) && staleOnError()) {
      await res.body?.cancel().catch(() => {});
      f.finish();
      this.#m.cache.inc(1, { result: "stale_if_error" });
      return this.#fromCache(
        entry,
        ctx,
        currentAge(entry, Date.now() / 1000),
        `fwd=stale; fwd-status=${res.status}; detail=stale-if-error`,
      );
    }
    this.#m.cache.inc(1, { result: entry === undefined ? "miss" : "expired" });
    const fwd = `fwd=${entry === undefined ? "miss" : "stale"}; fwd-status=${res.status}`;
    const length = Number(fieldValue(res.fields, "content-length") ?? Number.NaN);
    const decision = request.method === "GET" ? mayStore("GET", fields, res.status, res.fields) : undefined;
    if (
      decision?.store === true &&
      (res.body === null || (Number.isFinite(length) && length <= cache.maxObjectBytes))
    ) {
      let body: Uint8Array;
      try {
        body = res.body === null
          ? new Uint8Array(0)
          : new Uint8Array(await new Response(res.body).arrayBuffer());
      } catch {
        f.finish();
        return text(502, "Bad gateway: the response body failed", `${via}; error=http_response_incomplete`);
      }
      f.finish();
      const vary = varyValues(stored, fields);
      const fresh: CacheEntry = {
        key,
        status: res.status,
        fields: stored,
        body,
        requestTime,
        responseTime,
        vary,
        size: ResponseCache.sizeOf(stored, body, key),
      };
      const put = cache.put(fresh);
      if (put) void this.#disk?.put(fresh).catch(() => {});
      this.#m.cacheBytes.set(cache.stats.bytes);
      const headers = new Headers();
      for (const [n, v] of forwardResponseFields(stored, ctx.info.version, via)) appendSafe(headers, n, v);
      headers.set("cache-status", `${via}; ${fwd}${put ? "; stored" : ""}`);
      const nullBody = res.status === 204 || res.status === 304 || request.method === "HEAD";
      return new Response(nullBody ? null : body.slice(), { status: res.status, headers });
    }
    const response = this.#respond(res, ctx.info, f.finish);
    response.headers.set(
      "cache-status",
      `${via}; ${fwd}${
        decision?.store === false ? `; detail=${decision.reason.replace(/[^a-z0-9-]+/gi, "-")}` : ""
      }`,
    );
    return response;
  }

  /** A stored response as an answer: Age, Cache-Status, and 304 for a matching If-None-Match. */
  #fromCache(entry: CacheEntry, ctx: ForwardContext, age: number, status: string): Response {
    const via = this.#config.via;
    const headers = new Headers();
    for (const [n, v] of forwardResponseFields(entry.fields, ctx.info.version, via)) {
      appendSafe(headers, n, v);
    }
    headers.set("age", String(Math.max(0, Math.floor(age))));
    headers.set("cache-status", `${via}; ${status}`);
    const inm = ctx.request.headers.get("if-none-match");
    const etag = fieldValue(entry.fields, "etag");
    if (inm !== null && etag !== null && entry.status === 200) {
      const weak = (t: string) => t.trim().replace(/^W\//, "");
      if (inm.trim() === "*" || inm.split(",").some((t) => weak(t) === weak(etag))) {
        headers.delete("content-length");
        return new Response(null, { status: 304, headers });
      }
    }
    const nullBody = entry.status === 204 || entry.status === 304 || ctx.request.method === "HEAD";
    return new Response(nullBody ? null : entry.body.slice(), { status: entry.status, headers });
  }

  /** `POST /.well-known/wraith/purge?url=URL` or `?prefix=URL`, with `authorization: Bearer <admin_token>`. */
  async #purge(request: Request, url: URL): Promise<Response> {
    const via = this.#config.via;
    const token = this.#config.adminToken;
    if (token === "") return text(404, "No route", `${via}; error=destination_not_found`);
    if (request.method !== "POST" && request.method !== "PURGE") {
      return new Response("Use POST\n", { status: 405, headers: { allow: "POST, PURGE" } });
    }
    const given = request.headers.get("authorization") ?? "";
    if (!timingSafeEqual(given, `Bearer ${token}`)) {
      return new Response("Unauthorized\n", {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="wraith"' },
      });
    }
    const cache = this.#cache;
    const target = url.searchParams.get("url") ?? url.searchParams.get("prefix");
    if (cache === undefined) return Response.json({ purged: 0, cache: "off" });
    if (target === null) return new Response("Give ?url=URL or ?prefix=URL\n", { status: 400 });
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      return new Response("Not a URL\n", { status: 400 });
    }
    const k = cacheKey(parsed);
    const purged = url.searchParams.has("url") ? cache.delete(k) : cache.deletePrefix(k);
    const disk = this.#disk === undefined
      ? undefined
      : await this.#disk.delete(k, !url.searchParams.has("url"));
    this.#m.cacheBytes.set(cache.stats.bytes);
    this.#log("info", "cache purged", { target, purged });
    return Response.json(disk === undefined ? { purged } : { purged, disk });
  }

  #mayRetry(pool: string, attempt: number): boolean {
    if (attempt >= this.#config.retries) return false;
    if (!this.#budget.tryRetry()) {
      this.#m.budgetRefused.inc(1, { pool });
      return false;
    }
    this.#m.retries.inc(1, { pool });
    return true;
  }

  #finish(live: LivePool, backend: Backend, ok: boolean): void {
    if (live.pool.end(backend, ok) === "ejected") {
      this.#m.ejections.inc(1, { pool: live.pool.spec.name, reason: "consecutive_errors" });
      this.#log("warn", "backend ejected", {
        pool: live.pool.spec.name,
        backend: backend.spec.url,
        for_ms: this.#config.ejectMs,
      });
    }
    this.#updateHealthGauge();
  }

  #respond(res: UpstreamResponse, info: ClientInfo, done: () => void): Response {
    const headers = new Headers();
    for (const [name, value] of forwardResponseFields(res.fields, info.version, this.#config.via)) {
      try {
        headers.append(name, value);
      } catch {
        // A field a web Headers cannot carry is dropped rather than failing the response.
      }
    }
    let finished = false;
    const end = () => {
      if (finished) return;
      finished = true;
      done();
    };
    const nullBody = res.status === 204 || res.status === 304 || (res.status >= 100 && res.status < 200);
    if (res.body === null || nullBody) {
      void res.body?.cancel().catch(() => {});
      end();
      return attachTrailers(new Response(null, { status: res.status, headers }), res.trailers);
    }
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          const { value, done } = await reader.read();
          if (done) {
            end();
            c.close();
          } else c.enqueue(value);
        } catch (error) {
          end();
          c.error(error);
        }
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return attachTrailers(new Response(body, { status: res.status, headers }), res.trailers);
  }

  /** Routes, pools and backend health. */
  status(): WraithStatus {
    const now = Date.now();
    return {
      routes: this.#routes.map((r) => r.text),
      pools: [...this.#pools.values()].map(({ pool, clients }) => ({
        name: pool.spec.name,
        balance: pool.spec.balance,
        healthy: pool.healthy,
        backends: pool.backends.map((b) => ({
          url: b.spec.url,
          weight: b.spec.weight,
          state: b.draining ? "draining" : b.down ? "down" : b.ejectedUntil > now ? "ejected" : "up",
          active: b.active,
          requests: b.requests,
          failures: b.failures,
          connections: clients.get(b)?.connections ?? 0,
        })),
      })),
    };
  }

  /**
   * Serves `.ghost` names from the chain: `lookup(name)` gives a live name's TXT records (from the chain's name
   * index), whose `ghost-backend=URL` names the site's backend; `hosts` are the backend hosts the worker may reach.
   */
  useGhostSites(
    lookup: (name: string) => { readonly txt: readonly string[]; readonly owner?: string } | undefined,
    hosts: readonly string[],
  ): void {
    this.#sites = { lookup, hosts: new Set(hosts.map((h) => h.toLowerCase())) };
  }

  #site(host: string): { live: LivePool } | { error: Response } {
    const via = this.#config.via;
    const sites = this.#sites;
    const txt = sites?.lookup(host)?.txt;
    if (sites === undefined || txt === undefined) {
      return { error: text(404, `${host} is not a registered name`, `${via}; error=destination_not_found`) };
    }
    const record = txt.map((t) => /^ghost-backend=(.+)$/.exec(t.trim())?.[1]).find((u) => u !== undefined);
    if (record === undefined) {
      return {
        error: text(
          404,
          `${host} names no backend (TXT ghost-backend=URL)`,
          `${via}; error=destination_not_found`,
        ),
      };
    }
    let spec: BackendSpec;
    try {
      spec = parseBackend(record);
    } catch (error) {
      return {
        error: text(
          502,
          `${host}: bad ghost-backend record: ${error instanceof Error ? error.message : error}`,
          `${via}; error=proxy_configuration_error`,
        ),
      };
    }
    if (!sites.hosts.has(spec.hostname.toLowerCase())) {
      return {
        error: text(
          502,
          `${host}: backend host ${spec.hostname} is not in ghost_site_hosts`,
          `${via}; error=destination_ip_prohibited`,
        ),
      };
    }
    const key = `${host} ${spec.url}`;
    let live = this.#sitePools.get(key);
    if (live === undefined) {
      // A record that changed leaves its old pool behind: drop the pools of this name that no longer match.
      for (const [k, old] of this.#sitePools) {
        if (k.startsWith(`${host} `)) {
          for (const c of old.clients.values()) c.close();
          this.#sitePools.delete(k);
        }
      }
      if (this.#sitePools.size >= 1_000) {
        const [k, old] = this.#sitePools.entries().next().value ?? [];
        if (k !== undefined && old !== undefined) {
          for (const c of old.clients.values()) c.close();
          this.#sitePools.delete(k);
        }
      }
      const pool = new Pool({
        name: `site-${host}`,
        backends: [spec],
        balance: "round_robin",
        hashOn: { kind: "client" },
        healthPath: "",
        expect: [200, 399],
      }, healthPolicy(this.#config));
      live = {
        pool,
        clients: new Map(pool.backends.map((b) => [b, this.#make(b.spec, this.#config)] as const)),
      };
      this.#sitePools.set(key, live);
    }
    return { live };
  }

  /** Adds the cache's disk tier: memory misses are looked up there, stored entries written there. */
  useDisk(disk: DiskCache): void {
    this.#disk = disk;
  }

  /** Writes routes and backend states into the info gauges (read by `mod.ts status`). */
  publishStatus(): void {
    for (const r of this.#routes) this.#m.routeInfo.set(1, { route: r.text });
    for (const p of this.status().pools) {
      for (const b of p.backends) {
        for (const state of ["up", "down", "ejected", "draining"]) {
          this.#m.backendInfo.set(b.state === state ? 1 : 0, { pool: p.name, backend: b.url, state });
        }
      }
    }
  }

  /** Stops health checks and closes upstream connections. */
  close(): void {
    for (const t of this.#timers) clearInterval(t);
    for (const { clients } of this.#pools.values()) for (const c of clients.values()) c.close();
    for (const { clients } of this.#sitePools.values()) for (const c of clients.values()) c.close();
  }
}

/** The health knobs of every pool, from the config. */
function healthPolicy(config: WraithConfig): HealthPolicy {
  return {
    ejectConsecutiveErrors: config.ejectConsecutiveErrors,
    ejectMs: config.ejectMs,
    healthyThreshold: config.healthyThreshold,
    unhealthyThreshold: config.unhealthyThreshold,
  };
}

/** Reads a body whole, failing once it passes `max` bytes. */
async function readBounded(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) throw new RangeError(`body above ${max} bytes`);
    parts.push(chunk);
  }
  return concatBytes(...parts);
}

/** Appends a field a web Headers can carry; others are dropped rather than failing the response. */
function appendSafe(headers: Headers, name: string, value: string): void {
  try {
    headers.append(name, value);
  } catch {
    // not representable
  }
}

/** Compares two strings in time that depends only on their lengths. */
function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Passes `body` through, failing it once more than `max` bytes went by (413 is too late by then). */
function limitBody(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        seen += chunk.length;
        if (seen > max) c.error(new RangeError(`request body above ${max} bytes`));
        else c.enqueue(chunk);
      },
    }),
  );
}
