/**
 * Worker entry of the `ping` service: the transport's diagnostic QUIC endpoint (ALPN `ghost-ping/1`), run by
 * the supervisor in a worker whose only permission is its listen address.
 *
 * @module
 */
import { formatHostPort, MetricsRegistry, runServiceWorker } from "../core/mod.ts";
import type { PingConfig } from "./config.ts";
import { PING_ALPN, pingHandler, QuicServer } from "./mod.ts";

runServiceWorker<PingConfig>((ctx) => {
  const cfg = ctx.config;
  const registry = new MetricsRegistry();
  const server = new QuicServer({
    hostname: cfg.listen.hostname,
    port: cfg.listen.port,
    cert: ctx.tls.certPem,
    key: ctx.tls.keyPem,
    handlers: { [PING_ALPN]: pingHandler() },
    limits: {
      maxConnections: cfg.maxConnections,
      idleTimeoutMs: cfg.idleTimeoutMs,
      // Leave the supervisor's deadline a margin to report `drained`.
      drainTimeoutMs: Math.max(100, ctx.drainTimeoutMs - 500),
    },
    metrics: registry,
    onError: (error, where) =>
      ctx.log.debug("connection error", { code: error.code, error: error.message, remote: where.remote }),
  });
  const addr = formatHostPort({ hostname: server.addr.hostname, port: server.addr.port });
  ctx.log.info("listening", { addr, alpn: PING_ALPN });
  return Promise.resolve({
    endpoints: [{ name: "quic", transport: "quic", addr, alpn: [PING_ALPN] }],
    metrics: () => registry.snapshot(),
    drain: () => server.close(),
  });
});
