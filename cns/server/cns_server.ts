/**
 * Composition: builds the resolvers, cache, rate limiter and core from a {@linkcode CnsConfig} and starts the
 * listeners (UDP and TCP on each `listen` address, DoQ and DoH when configured and TLS material is given).
 * The worker, the tests and the benchmark all start the server through {@linkcode startCnsServer}.
 *
 * @module
 */

import { MetricsRegistry } from "../../core/mod.ts";
import { type CnsMetrics, cnsMetrics } from "../resolver/cns_metrics.ts";
import { type CnsConfig, type CnsHostPort, formatCnsHostPort } from "../config.ts";
import { DenoUpstreamTransport } from "./deno_upstream.ts";
import { DoqListener } from "./deno_doq_listener.ts";
import { DohHandler } from "./doh_handler.ts";
import { H3_ALPN, Http3Server } from "../../transport/http3/mod.ts";
import { DnsCache } from "../resolver/dns_cache.ts";
import { AnswerCache } from "../resolver/answer_cache.ts";
import { DOQ_ALPN } from "../proto/doq_codec.ts";
import { Forwarder, type UpstreamTransport } from "../resolver/forwarder.ts";
import { AllowList } from "../proto/ip_prefix.ts";
import { MemoryZone } from "../resolver/memory_zone.ts";
import { QueryHandler } from "../resolver/query_handler.ts";
import { ResponseRateLimiter } from "../resolver/rate_limiter.ts";
import type { Resolver } from "../resolver/resolver.ts";
import { TcpListener } from "./deno_tcp_listener.ts";
import { UdpListener } from "./deno_udp_listener.ts";
import { FfiUdpListener } from "./ffi_udp_listener.ts";
import { type Zone, ZoneResolver } from "../resolver/zone.ts";

/** TLS material for DoQ and DoH. */
export interface CnsTls {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of {@linkcode startCnsServer}. */
export interface CnsServerOptions {
  readonly config: CnsConfig;
  /** Needed for DoQ and DoH; without it those listeners are not started. */
  readonly tls?: CnsTls;
  /** Extra zones (e.g. the chain-backed `.ghost` zone), beside the configured local ones. */
  readonly zones?: readonly Zone[];
  /** Extra authoritative resolvers (e.g. ENS for `.eth`), asked after the zones. */
  readonly resolvers?: readonly Resolver[];
  /** Upstream transport; defaults to real sockets. */
  readonly upstreamTransport?: UpstreamTransport;
  /** Registry for all metrics. */
  readonly registry?: MetricsRegistry;
  /** Told about errors worth a log line. */
  readonly onError?: (message: string, fields: Record<string, unknown>) => void;
}

/** A listening endpoint. */
export interface CnsEndpoint {
  readonly name: "udp" | "tcp" | "doq" | "doh" | "doh3";
  readonly transport: "udp" | "tcp" | "quic" | "https";
  readonly hostname: string;
  readonly port: number;
  /** `host:port` as bound. */
  readonly addr: string;
  readonly alpn?: readonly string[];
}

/** A running server. */
export interface CnsServer {
  readonly endpoints: readonly CnsEndpoint[];
  readonly core: QueryHandler;
  readonly metrics: CnsMetrics;
  readonly registry: MetricsRegistry;
  /** Stops accepting, finishes in-flight work before `deadlineMs` (epoch ms), closes everything. */
  close(deadlineMs?: number): Promise<void>;
}

/** Starts every configured listener. If one fails to bind, the ones already started are closed. */
export async function startCnsServer(options: CnsServerOptions): Promise<CnsServer> {
  const cfg = options.config;
  const registry = options.registry ?? new MetricsRegistry();
  const metrics = cnsMetrics(registry);
  const report = options.onError ?? (() => {});
  const localZones = cfg.localZones.map((origin) => {
    const inZone = (line: string): boolean => {
      const name = (line.trim().split(/\s+/)[0] ?? "").toLowerCase().replace(/\.$/, "");
      // A record goes to the most specific local zone containing it.
      const best = cfg.localZones
        .filter((z) => z === "" || name === z || name.endsWith("." + z))
        .sort((a, b) => b.length - a.length)[0];
      return best === origin;
    };
    return new MemoryZone({ origin, records: cfg.records.filter(inZone) });
  });
  const zones = new ZoneResolver([...localZones, ...(options.zones ?? [])]);
  const cache = cfg.cacheMaxEntries > 0
    ? new DnsCache({
      maxEntries: cfg.cacheMaxEntries,
      maxTtlS: cfg.cacheMaxTtlS,
      maxNegativeTtlS: cfg.cacheNegativeMaxTtlS,
      staleMaxS: cfg.serveStaleMaxS,
    })
    : undefined;
  const forwarder = new Forwarder({
    upstreams: cfg.upstreams,
    transport: options.upstreamTransport ?? new DenoUpstreamTransport(),
    ...(cache ? { cache } : {}),
    timeoutMs: cfg.upstreamTimeoutMs,
    attempts: cfg.upstreamAttempts,
    serveStale: cfg.serveStaleMaxS > 0,
    udpSize: cfg.ednsUdpMax,
    metrics,
  });
  const core = new QueryHandler({
    authoritative: [zones, ...(options.resolvers ?? [])],
    recursive: forwarder,
    recursionAllow: new AllowList(cfg.recursionAllow),
    ednsUdpMax: cfg.ednsUdpMax,
    ...(cfg.rrlResponsesPerSecond > 0
      ? {
        rateLimiter: new ResponseRateLimiter({
          responsesPerSecond: cfg.rrlResponsesPerSecond,
          slip: cfg.rrlSlip,
        }),
      }
      : {}),
    metrics,
    ...(cfg.answerCacheEntries > 0
      ? { answerCache: new AnswerCache({ maxEntries: cfg.answerCacheEntries }) }
      : {}),
    onError: (error, client) =>
      report("query failed", {
        error: error instanceof Error ? error.message : String(error),
        client: client.address,
        transport: client.transport,
      }),
  });

  const closers: ((deadlineMs: number) => Promise<void>)[] = [];
  const endpoints: CnsEndpoint[] = [];
  const ep = (
    name: CnsEndpoint["name"],
    transport: CnsEndpoint["transport"],
    addr: Deno.NetAddr,
    alpn?: readonly string[],
  ): CnsEndpoint => {
    const hp: CnsHostPort = { hostname: addr.hostname, port: addr.port };
    return {
      name,
      transport,
      hostname: hp.hostname,
      port: hp.port,
      addr: formatCnsHostPort(hp),
      ...(alpn ? { alpn } : {}),
    };
  };
  const closeAll = async (deadlineMs: number): Promise<void> => {
    await Promise.all(closers.map((c) => c(deadlineMs).catch(() => {})));
  };
  try {
    for (const l of cfg.listen) {
      const tcpOptions = {
        idleTimeoutMs: cfg.tcpIdleTimeoutMs,
        maxConnections: cfg.tcpMaxConnections,
        maxConnectionsPerClient: cfg.maxConnectionsPerClient,
        maxInflight: cfg.tcpMaxInflight,
        metrics,
      };
      // Port 0 (tests): TCP takes the port UDP got, so one address serves both. Another process may hold that
      // TCP port already: then try another pair.
      let pair: { udp: UdpListener | FfiUdpListener; tcp: TcpListener } | undefined;
      for (let attempt = 0; pair === undefined; attempt++) {
        const udp = cfg.udpIo === "ffi"
          ? new FfiUdpListener(core, {
            hostname: l.hostname,
            port: l.port,
            libcPath: cfg.udpFfiLibc,
            metrics,
            onError: report,
          })
          : new UdpListener(core, { hostname: l.hostname, port: l.port, metrics, onError: report });
        try {
          const tcp = new TcpListener(core, {
            hostname: l.hostname,
            port: l.port === 0 ? udp.addr.port : l.port,
            ...tcpOptions,
          });
          pair = { udp, tcp };
        } catch (error) {
          await udp.close(Date.now());
          if (l.port !== 0 || !(error instanceof Deno.errors.AddrInUse) || attempt >= 20) throw error;
        }
      }
      const { udp, tcp } = pair;
      closers.push((d) => udp.close(d));
      endpoints.push(ep("udp", "udp", udp.addr));
      closers.push((d) => tcp.close(d));
      endpoints.push(ep("tcp", "tcp", tcp.addr));
    }
    if (cfg.doqListen && options.tls) {
      const doq = new DoqListener(core, {
        hostname: cfg.doqListen.hostname,
        port: cfg.doqListen.port,
        cert: options.tls.certPem,
        key: options.tls.keyPem,
        maxConnections: cfg.doqMaxConnections,
        maxConnectionsPerClient: cfg.maxConnectionsPerClient,
        maxStreams: cfg.doqMaxStreams,
        streamsPerSecond: cfg.doqStreamsPerSecond,
        idleTimeoutMs: cfg.doqIdleTimeoutMs,
        metrics,
        registry,
        onError: (error, remote) => report("doq connection error", { error: error.message, remote }),
      });
      closers.push(() => doq.close());
      endpoints.push(ep("doq", "quic", doq.addr, [DOQ_ALPN]));
    }
    if (cfg.dohListen && options.tls) {
      const doh = new DohHandler(core, { path: cfg.dohPath });
      const tls = options.tls;
      const listen = cfg.dohListen;
      const degraded = registry.gauge(
        "ghost_cns_doh_degraded",
        "1 while DoH cannot accept connections (e.g. out of file descriptors) and is restarting",
      );
      const failures = registry.counter(
        "ghost_cns_doh_accept_failures_total",
        "Times DoH's accept loop failed",
      );
      let server: Deno.HttpServer | undefined;
      let closing = false;
      let boundPort = listen.port;
      // RFC 7838: TCP answers advertise the HTTP/3 endpoint on the same port, once it is up.
      let altSvc: string | undefined;
      // Deno.serve's accept loop ends for good on an accept error such as EMFILE: `finished` rejects. Then the
      // listener is served again on the same address after a backoff, while UDP, TCP and DoQ keep answering.
      const serve = (port: number): Promise<Deno.NetAddr> => {
        const ready = Promise.withResolvers<Deno.NetAddr>();
        const s = Deno.serve({
          hostname: listen.hostname,
          port,
          cert: tls.certPem,
          key: tls.keyPem,
          onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
          onError: (error) => {
            report("doh request failed", { error: error instanceof Error ? error.message : String(error) });
            return new Response("Internal error", { status: 500 });
          },
        }, async (request, info) => {
          const response = await doh.handle(request, (info.remoteAddr as Deno.NetAddr).hostname);
          if (altSvc) response.headers.set("alt-svc", altSvc);
          return response;
        });
        server = s;
        s.finished.catch((error) => {
          if (closing) return;
          failures.inc();
          degraded.set(1);
          report("doh accept failing; restarting", {
            error: error instanceof Error ? error.message : String(error),
            reason: "accept_failed",
          });
          void (async () => {
            for (let wait = 50; !closing; wait = Math.min(wait * 2, 1_000)) {
              await new Promise((r) => setTimeout(r, wait));
              try {
                await serve(boundPort);
                degraded.set(0);
                report("doh accepting again", {});
                return;
              } catch {
                // still out of descriptors
              }
            }
          })();
        });
        return ready.promise;
      };
      const addr = await serve(listen.port);
      boundPort = addr.port;
      closers.push(async (deadlineMs) => {
        closing = true;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server?.shutdown().catch(() => {}),
          new Promise<void>((r) => timer = setTimeout(r, Math.max(0, deadlineMs - Date.now()))),
        ]);
        clearTimeout(timer);
      });
      endpoints.push(ep("doh", "https", addr, ["h2", "http/1.1"]));
      if (cfg.dohH3) {
        try {
          const h3 = new Http3Server((request, info) => doh.handle(request, info.remoteAddr.hostname), {
            hostname: listen.hostname,
            port: addr.port,
            cert: tls.certPem,
            key: tls.keyPem,
            limits: { maxConnections: cfg.doqMaxConnections, idleTimeoutMs: cfg.doqIdleTimeoutMs },
            metrics: registry,
            onError: (error, remote) => report("doh3 connection error", { error: error.message, remote }),
          });
          closers.push(() => h3.close());
          endpoints.push(ep("doh3", "quic", h3.addr, [H3_ALPN]));
          altSvc = `h3=":${h3.addr.port}"; ma=86400`;
        } catch (error) {
          // The UDP port may be taken while TCP was free: DoH over TCP still serves, without Alt-Svc.
          report("doh3 disabled: cannot bind UDP", {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
  } catch (error) {
    await closeAll(Date.now() + 500);
    throw error;
  }
  return {
    endpoints,
    core,
    metrics,
    registry,
    close: (deadlineMs = Date.now() + 2000) => closeAll(deadlineMs),
  };
}
