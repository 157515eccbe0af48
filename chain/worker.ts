/**
 * Worker entry of the `chain` service: a GhostChain node run by the supervisor in a worker whose only
 * permissions are `net` for its sync listener, its peers and its mesh node ({@linkcode chainNetPermissions}
 * plus the mesh address) and read/write of its data directory (KV database, node key, genesis, dev key). TLS
 * and the mesh key arrive in the start message.
 *
 * BlockchainService is served on the chain's GhostBridge mesh node: the wallet, cns and the central bridge's
 * gRPC ingress reach it only through GhostBridge over QUIC.
 *
 * @module
 */
import { formatHostPort, runServiceWorker } from "../core/mod.ts";
import { BRIDGE_ALPN, type GhostBridge, startMeshNode } from "../bridge/mod.ts";
import type { ChainConfig } from "./config.ts";
import { runChainNode } from "./deno_node.ts";
import { CHAIN_SYNC_ALPN } from "./sync.ts";
import { chainServiceHandlers } from "./bridge_service.ts";
import { CHAIN_SERVICE_NAME } from "./blockchain_service.ts";

runServiceWorker<ChainConfig>(async (ctx) => {
  const config = ctx.config;
  const log = (
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => ctx.log[level](message, fields ?? {});
  const running = await runChainNode(config, {
    dataDir: ctx.dataDir,
    tls: ctx.tls,
    log,
    ...(ctx.mesh?.dnsAnchors ? { dnsAnchors: ctx.mesh.dnsAnchors } : {}),
  });
  const endpoints = [{
    name: "sync",
    transport: "quic",
    addr: formatHostPort(running.addr),
    alpn: [CHAIN_SYNC_ALPN],
  }];
  let mesh: GhostBridge | undefined;
  if (ctx.mesh) {
    try {
      mesh = await startMeshNode({
        ...ctx.mesh,
        tls: ctx.tls,
        services: { [CHAIN_SERVICE_NAME]: chainServiceHandlers(running.service) },
        metrics: running.metrics,
        onEvent: (event, fields) => ctx.log.info(event, fields),
      });
    } catch (error) {
      await running.close();
      throw error;
    }
    endpoints.push({
      name: "mesh",
      transport: "quic",
      addr: formatHostPort(ctx.mesh.listen),
      alpn: [BRIDGE_ALPN],
    });
  }
  return {
    endpoints,
    metrics: () => running.metrics.snapshot(),
    drain: async () => {
      await mesh?.close();
      await running.close();
    },
  };
});
