/**
 * Worker entry of the `cns` service: the DNS server (UDP, TCP, DoQ, DoH) run by the supervisor in a worker whose
 * only permissions are `net` for its listen addresses, its upstreams and the upstream bind address (see
 * {@linkcode cnsNetPermissions}). TLS arrives in the start message; nothing is read from disk or env.
 *
 * @module
 */
import { runServiceWorker } from "../supervisor/worker_runtime.ts";
import { MetricsRegistry } from "../transport/mod.ts";
import { isCnsConfig, parseCnsConfig } from "./config.ts";
import { startCnsServer } from "./cns_server.ts";

runServiceWorker(async (ctx) => {
  // The supervisor's Config carries `cns` either as the raw [cns] table or as an already parsed CnsConfig.
  const raw = (ctx.config as unknown as { cns?: unknown }).cns;
  const config = isCnsConfig(raw) ? raw : parseCnsConfig(raw ?? {});
  const registry = new MetricsRegistry();
  const server = await startCnsServer({
    config,
    tls: ctx.tls,
    registry,
    // Per-peer noise stays at debug; a permission refusal means the deployment is misconfigured.
    onError: (message, fields) =>
      fields.reason === "not_capable" ? ctx.log.warn(message, fields) : ctx.log.debug(message, fields),
  });
  for (const e of server.endpoints) ctx.log.info("listening", { name: e.name, addr: e.addr });
  return {
    endpoints: server.endpoints.map((e) => ({
      name: e.name,
      transport: e.transport,
      addr: e.addr,
      ...(e.alpn ? { alpn: e.alpn } : {}),
    })),
    metrics: () => registry.snapshot(),
    drain: (deadlineMs) => server.close(deadlineMs - 200),
  };
});
