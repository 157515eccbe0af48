/**
 * The service catalog: every service the supervisor can run, its worker entry and its permission set.
 * Each later service adds one entry here.
 *
 * @module
 */
import { cnsNetPermissions } from "../cns/config.ts";
import { bridgeNetPermissions } from "../bridge/config.ts";
import type { Config } from "./config.ts";
import { netEntry, type PermissionSet, permissionSet, serviceDataDir } from "./permissions.ts";

/** One runnable service. */
export interface ServiceDef {
  readonly name: string;
  readonly summary: string;
  /** The module run inside the service's worker (calls `runServiceWorker`). */
  readonly entry: URL;
  /** The narrowest permissions that work, derived from the config. */
  permissions(config: Config): PermissionSet;
}

/** Services that exist in this build, in start order. */
export const SERVICES: readonly ServiceDef[] = [
  {
    name: "cns",
    summary:
      "DNS server: UDP, TCP, DNS-over-QUIC (RFC 9250) and DNS-over-HTTPS (RFC 8484), cache, forwarding",
    entry: new URL("../cns/worker.ts", import.meta.url),
    // Listen addresses, upstreams, and the wildcard of each upstream's family (random source ports).
    permissions: (config) => permissionSet({ net: cnsNetPermissions(config.cns) }),
  },
  {
    name: "bridge",
    summary: "GhostBridge: gRPC relayed between services over QUIC (ALPN ghostbridge/1), registry, health",
    entry: new URL("../bridge/worker.ts", import.meta.url),
    // Its QUIC and gRPC listeners, peers and upstreams; its data dir holds the node key.
    permissions: (config) => {
      const dir = serviceDataDir(config, "bridge");
      const keyFile = config.bridge.nodeKeyFile;
      const files = keyFile !== "" && !keyFile.startsWith(dir + "/") ? [dir, keyFile] : [dir];
      return permissionSet({ net: bridgeNetPermissions(config.bridge), read: files, write: [dir] });
    },
  },
  {
    name: "ping",
    summary: "transport diagnostic QUIC endpoint (ALPN ghost-ping/1): liveness and round-trip probes",
    entry: new URL("../transport/worker.ts", import.meta.url),
    // Stateless: its listen address and nothing else (TLS material arrives in the start message).
    permissions: (config) => permissionSet({ net: [netEntry(config.ping.listen)] }),
  },
];

/** Services of the architecture that have not landed in this build yet. */
export const PLANNED_SERVICES: readonly string[] = ["wraith", "chain", "wallet", "vm"];

/** Looks a service up by name. */
export function findService(name: string): ServiceDef | undefined {
  return SERVICES.find((s) => s.name === name);
}
