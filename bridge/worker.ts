/**
 * Worker entry of the `bridge` service: GhostBridge over QUIC plus the local gRPC ingress, run by the supervisor
 * in a worker whose permissions are its listen, ingress, peer and upstream addresses, and its data directory
 * (node key). Gets its `[bridge]` section only (bridge/config.ts).
 *
 * @module
 */
import {
  formatHostPort,
  GrpcStatus,
  grpcStatusName,
  MetricsRegistry,
  runServiceWorker,
} from "../core/mod.ts";
import type { BridgeConfig } from "./config.ts";
import { GhostBridge, GrpcIngress, identityFromSeed, loadOrCreateNodeKey } from "./mod.ts";
import { fromHex } from "./node_identity.ts";

runServiceWorker<BridgeConfig>(async (ctx) => {
  const cfg = ctx.config;
  // Under the supervisor the node key arrives with the mesh assignment (the supervisor read or made it, from
  // `node_key`, `node_key_file` or `<data dir>/node.key`); run alone, the worker loads it itself.
  const seed = ctx.mesh ? fromHex(ctx.mesh.seed) : cfg.nodeKey !== "" ? fromHex(cfg.nodeKey) : undefined;
  const identity = seed
    ? await identityFromSeed(seed)
    : await loadOrCreateNodeKey(cfg.nodeKeyFile !== "" ? cfg.nodeKeyFile : `${ctx.dataDir}/node.key`);
  seed?.fill(0);
  // The mesh nodes of the services this process runs (chain, wallet) are peers like any configured bridge,
  // pinned to their keys, so the ingress reaches BlockchainService and WalletService through them.
  const meshPeers = (ctx.mesh?.peers ?? []).map((p) => ({
    hostname: p.hostname,
    port: p.port,
    publicKey: fromHex(p.publicKey) ?? new Uint8Array(0),
  }));
  const registry = new MetricsRegistry();
  const bridge = new GhostBridge({
    identity,
    cert: ctx.tls.certPem,
    key: ctx.tls.keyPem,
    caCerts: [ctx.tls.caPem],
    hostname: cfg.listen.hostname,
    port: cfg.listen.port,
    allowList: [...cfg.allowList, ...(ctx.mesh?.allowList ?? [])],
    peers: [
      ...cfg.peers.map((p) => ({
        hostname: p.hostname,
        port: p.port,
        ...(p.serverName ? { serverName: p.serverName } : {}),
        ...(p.publicKey ? { publicKey: fromHex(p.publicKey) ?? new Uint8Array(0) } : {}),
      })),
      ...meshPeers,
    ],
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
      drainTimeoutMs: Math.max(100, ctx.drainTimeoutMs - 500),
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
  let stopGauges = (): void => {};
  if (cfg.grpcEnabled) {
    // Call metrics of the ingress: by service, method and gRPC code; latency; bytes; in flight.
    const calls = registry.counter("ghost_bridge_calls_total", "gRPC calls through the ingress", [
      "service",
      "method",
      "code",
    ]);
    const seconds = registry.histogram(
      "ghost_bridge_call_duration_seconds",
      "gRPC call latency at the ingress",
      {
        labelNames: ["service", "method"],
      },
    );
    const bytes = registry.counter(
      "ghost_bridge_call_bytes_total",
      "gRPC message bytes through the ingress",
      [
        "direction",
      ],
    );
    const inFlight = registry.gauge("ghost_bridge_calls_in_flight", "gRPC calls in progress at the ingress");
    const degraded = registry.gauge(
      "ghost_bridge_ingress_degraded",
      "1 while the ingress cannot accept connections (e.g. out of file descriptors)",
    );
    const acceptErrors = registry.gauge(
      "ghost_bridge_ingress_accept_errors",
      "Failed accepts of the ingress",
    );
    const refused = registry.gauge(
      "ghost_bridge_ingress_refused_connections",
      "Connections refused by a cap",
    );
    const g = ingress = new GrpcIngress(bridge, {
      hostname: cfg.grpcListen.hostname,
      port: cfg.grpcListen.port,
      maxMessageBytes: cfg.maxMessageBytes,
      idempotentMethods: cfg.idempotentMethods,
      health: (s) => bridge.health(s),
      // A service no instance registered, here or on any peer (all of them answered), is UNIMPLEMENTED; while a
      // peer is unreachable it may be there, so the answer stays UNAVAILABLE.
      knows: (service) =>
        !bridge.peersReachable() || bridge.registry.all().some((r) => r.info.service === service),
      maxConnections: cfg.maxConnections,
      idleTimeoutMs: cfg.idleTimeoutMs,
      onCall: (c) => {
        // Labels come from what clients send: a service no instance registered, or a method it does not have,
        // is counted as `_unknown` so made-up paths cannot grow the series.
        let [, service = "", method = ""] = c.path.split("/");
        if (!bridge.registry.all().some((r) => r.info.service === service)) service = method = "_unknown";
        else if (c.code === GrpcStatus.UNIMPLEMENTED) method = "_unknown";
        calls.inc(1, { service, method, code: grpcStatusName(c.code) });
        seconds.observe(c.ms / 1000, { service, method });
        bytes.inc(c.bytesIn, { direction: "in" });
        bytes.inc(c.bytesOut, { direction: "out" });
      },
      onEvent: (event, fields) => ctx.log.warn(event, fields),
    });
    const gauges = setInterval(() => {
      inFlight.set(g.stats.callsInFlight);
      degraded.set(g.stats.degraded ? 1 : 0);
      acceptErrors.set(g.stats.acceptErrors);
      refused.set(g.stats.refused);
    }, 1_000);
    stopGauges = () => clearInterval(gauges);
    const a = await ingress.listen();
    endpoints.push({ name: "grpc", transport: "tcp", addr: formatHostPort(a), alpn: ["h2"] });
  }
  ctx.log.info("listening", { node: bridge.nodeId, endpoints: endpoints.map((e) => e.addr) });
  return {
    endpoints,
    metrics: () => registry.snapshot(),
    drain: async (deadlineMs) => {
      stopGauges();
      await ingress?.close(deadlineMs - 500);
      await bridge.close();
    },
  };
});
