/**
 * Worker entry of the `bridge` service: GhostBridge over QUIC plus the local gRPC ingress, run by the supervisor
 * in a worker whose permissions are its listen, ingress, peer and upstream addresses, and its data directory
 * (node key). Reads `config.bridge` (see bridge/config.ts and README "Configuration").
 *
 * @module
 */
import { runServiceWorker } from "../supervisor/worker_runtime.ts";
import { formatHostPort } from "../supervisor/config.ts";
import { MetricsRegistry } from "../transport/mod.ts";
import { GhostBridge, GrpcIngress, identityFromSeed, loadOrCreateNodeKey, parseBridgeConfig } from "./mod.ts";
import { fromHex } from "./node_identity.ts";

runServiceWorker(async (ctx) => {
  // `config.bridge` is added to the central Config by the supervisor; until then it is read untyped.
  const cfg = parseBridgeConfig((ctx.config as unknown as { readonly bridge?: unknown }).bridge);
  const seed = cfg.nodeKey !== "" ? fromHex(cfg.nodeKey) : undefined;
  const identity = seed
    ? await identityFromSeed(seed)
    : await loadOrCreateNodeKey(cfg.nodeKeyFile !== "" ? cfg.nodeKeyFile : `${ctx.dataDir}/node.key`);
  const registry = new MetricsRegistry();
  const bridge = new GhostBridge({
    identity,
    cert: ctx.tls.certPem,
    key: ctx.tls.keyPem,
    caCerts: [ctx.tls.caPem],
    hostname: cfg.listen.hostname,
    port: cfg.listen.port,
    allowList: cfg.allowList,
    peers: cfg.peers.map((p) => ({
      hostname: p.hostname,
      port: p.port,
      ...(p.serverName ? { serverName: p.serverName } : {}),
      ...(p.publicKey ? { publicKey: fromHex(p.publicKey) ?? new Uint8Array(0) } : {}),
    })),
    healthIntervalMs: cfg.healthIntervalMs,
    healthTimeoutMs: cfg.healthTimeoutMs,
    unhealthyThreshold: cfg.unhealthyThreshold,
    healthyThreshold: cfg.healthyThreshold,
    balancer: cfg.balancer,
    maxAttempts: cfg.maxAttempts,
    connectTimeoutMs: cfg.connectTimeoutMs,
    limits: { maxMessageBytes: cfg.maxMessageBytes },
    serverLimits: {
      maxConnections: cfg.maxConnections,
      maxConcurrentBidiStreams: cfg.maxStreamsPerConnection,
      idleTimeoutMs: cfg.idleTimeoutMs,
      drainTimeoutMs: Math.max(100, ctx.config.supervisor.drainTimeoutMs - 500),
    },
    metrics: registry,
    onEvent: (event, fields) => ctx.log.info(event, fields),
  });
  for (const u of cfg.upstreams) {
    bridge.registerUpstream({ service: u.service, version: "", endpoint: u.endpoint });
  }
  void bridge.startHealthChecks();
  const endpoints = [{
    name: "quic",
    transport: "quic",
    addr: formatHostPort({ hostname: bridge.addr.hostname, port: bridge.addr.port }),
    alpn: ["ghostbridge/1"],
  }];
  let ingress: GrpcIngress | undefined;
  if (cfg.grpcEnabled) {
    ingress = new GrpcIngress(bridge, {
      hostname: cfg.grpcListen.hostname,
      port: cfg.grpcListen.port,
      maxMessageBytes: cfg.maxMessageBytes,
      idempotentMethods: cfg.idempotentMethods,
      health: (s) => bridge.health(s),
    });
    const a = await ingress.listen();
    endpoints.push({ name: "grpc", transport: "tcp", addr: formatHostPort(a), alpn: ["h2"] });
  }
  ctx.log.info("listening", { node: bridge.nodeId, endpoints: endpoints.map((e) => e.addr) });
  return {
    endpoints,
    metrics: () => registry.snapshot(),
    drain: async () => {
      await ingress?.close();
      await bridge.close();
    },
  };
});
