/**
 * The `wraith` service's descriptor: the HTTP/3 reverse proxy. Its permissions are `net` for its listeners and
 * its backends' hosts, and its data directory only when the cache has a disk tier.
 *
 * @module
 */
import { permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { WRAITH_CONFIG, type WraithConfig, wraithNetPermissions } from "./config.ts";

/** The `wraith` service. */
export const wraithService: ServiceDescriptor<WraithConfig> = {
  name: "wraith",
  summary:
    "reverse proxy: HTTP/3 (QUIC), HTTP/2 and HTTP/1.1 in; balancing, health checks, retries, cache, rate limits, signed requests, .ghost sites",
  config: WRAITH_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  tls: "server",
  // .ghost sites (ghost_sites) follow the chain's name registry through the bridge.
  mesh: { calls: ["chain"], listen: "127.0.0.1:4454" },
  flags: {
    "--upstream": { key: "upstream", help: "backend URL(s) of the default route, comma-separated" },
    "--listen": {
      key: "listen",
      help: "listen address(es), comma-separated (default [::1]:4443,127.0.0.1:4443)",
    },
  },
  examples: [
    "# one origin behind HTTP/3, HTTP/2 and HTTP/1.1 on [::1]:4443 and 127.0.0.1:4443",
    "deno run -A --unstable-net mod.ts wraith --upstream http://127.0.0.1:8080",
    "curl --cacert data/tls/ca.pem https://localhost:4443/",
    "# two backends, least requests, active health checks",
    "deno run -A --unstable-net mod.ts wraith --upstream http://127.0.0.1:8081,http://127.0.0.1:8082 \\",
    "  --listen 127.0.0.1:8443  # with GHOST_WRAITH_BALANCE=least_requests GHOST_WRAITH_HEALTH_PATH=/healthz",
  ],
  // The cache's disk tier (cache_disk_bytes) is the only use of the disk: its data dir, nothing else.
  permissions: (config, ctx) =>
    permissionSet({
      net: [...new Set([...wraithNetPermissions(config), ...(config.ghostSites ? ctx.meshNet : [])])],
      ...(config.cacheDiskBytes > 0 && config.cacheMaxBytes > 0
        ? { read: [ctx.dataDir], write: [ctx.dataDir] }
        : {}),
    }),
};
