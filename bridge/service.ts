/**
 * The `bridge` service's descriptor: GhostBridge (gRPC relayed between services over QUIC) and its local gRPC
 * ingress. Its permissions are its QUIC and gRPC listeners, peers and upstreams, the mesh nodes it dials, and its
 * data directory (node key) plus a node key file configured elsewhere.
 *
 * @module
 */
import { permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { BRIDGE_CONFIG, type BridgeConfig, bridgeNetPermissions } from "./config.ts";

/** The `bridge` service. */
export const bridgeService: ServiceDescriptor<BridgeConfig> = {
  name: "bridge",
  summary: "GhostBridge: gRPC relayed between services over QUIC (ALPN ghostbridge/1), registry, health",
  config: BRIDGE_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  tls: "server",
  examples: [
    "# put any gRPC server behind the bridge; call it through the ingress on 127.0.0.1:50051",
    "GHOST_BRIDGE_UPSTREAMS=helloworld.Greeter=http://127.0.0.1:50100 deno run -A --unstable-net mod.ts bridge",
    '# the same in ghost.toml: [bridge] upstreams = ["helloworld.Greeter=http://127.0.0.1:50100"]',
  ],
  // The central bridge dials every serving service so outside gRPC clients reach them through its ingress; its
  // mesh node is its own QUIC listener and its key is its configured node key.
  mesh: {
    calls: ["chain", "wallet"],
    address: (config) => config.listen,
    keyFile: (config, dataDir) => (config.nodeKeyFile !== "" ? config.nodeKeyFile : `${dataDir}/node.key`),
    inlineKey: (config) => config.nodeKey,
  },
  permissions: (config, ctx) => {
    const keyFile = config.nodeKeyFile;
    const files = keyFile !== "" && !keyFile.startsWith(ctx.dataDir + "/")
      ? [ctx.dataDir, keyFile]
      : [ctx.dataDir];
    return permissionSet({
      net: [...new Set([...bridgeNetPermissions(config), ...ctx.meshNet])],
      read: files,
      write: [ctx.dataDir],
    });
  },
};
