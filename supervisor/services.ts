/**
 * The service catalog: every service the supervisor can run, its worker entry and its permission set.
 * Each later service adds one entry here.
 *
 * @module
 */
import { cnsNetPermissions } from "../cns/config.ts";
import { bridgeNetPermissions } from "../bridge/config.ts";
import { chainNetPermissions } from "../chain/config.ts";
import type { Config } from "./config.ts";
import { type MeshMember, meshNet } from "./mesh.ts";
import { CODE_ROOT, netEntry, type PermissionSet, permissionSet, serviceDataDir } from "./permissions.ts";

/** One runnable service. */
export interface ServiceDef {
  readonly name: string;
  readonly summary: string;
  /** The module run inside the service's worker (calls `runServiceWorker`). */
  readonly entry: URL;
  /** The narrowest permissions that work, derived from the config. */
  permissions(config: Config): PermissionSet;
}

/** A service's own net entries plus its mesh node's (its listener and the nodes it calls). */
function withMesh(net: readonly string[] | true, config: Config, member: MeshMember): string[] | true {
  if (net === true) return true;
  return [...new Set([...net, ...meshNet(config, member)])];
}

/** Services that exist in this build, in start order. */
export const SERVICES: readonly ServiceDef[] = [
  {
    name: "cns",
    summary:
      "DNS server: UDP, TCP, DNS-over-QUIC (RFC 9250) and DNS-over-HTTPS (RFC 8484), cache, forwarding",
    entry: new URL("../cns/worker.ts", import.meta.url),
    // Listen addresses, upstreams, and the wildcard of each upstream's family (random source ports).
    // Its mesh node and the chain's (the .ghost/.zns zones follow the chain through the bridge).
    permissions: (config) => permissionSet({ net: withMesh(cnsNetPermissions(config.cns), config, "cns") }),
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
      return permissionSet({
        net: withMesh(bridgeNetPermissions(config.bridge), config, "bridge"),
        read: files,
        write: [dir],
      });
    },
  },
  {
    name: "chain",
    summary:
      "GhostChain node (ghostd): blocks, state on Deno KV, names, mempool, PoA producer, follower sync over QUIC",
    entry: new URL("../chain/worker.ts", import.meta.url),
    // Its sync listener and peers; its data dir (KV store, genesis, node key) and any file configured elsewhere.
    permissions: (config) => {
      const dir = serviceDataDir(config, "chain");
      const extra = [config.chain.genesisFile, config.chain.nodeKeyFile].filter((f) =>
        f !== "" && !f.startsWith(dir + "/")
      );
      // The node's signature checks run in the wallet's verifier Worker pool; starting a Worker needs read
      // access to its module graph, which lives in wallet/.
      const code = `${CODE_ROOT}/wallet`;
      return permissionSet({
        net: withMesh(chainNetPermissions(config.chain), config, "chain"),
        read: [dir, code, ...extra],
        write: [dir],
      });
    },
  },
  {
    name: "wallet",
    summary:
      "walletd: WalletService (keystore, accounts, signing, multisig), served and calling the chain through the bridge",
    entry: new URL("../wallet/worker.ts", import.meta.url),
    // Its keystore directory and its mesh node (listen + the chain's node); no env, run or ffi.
    permissions: (config) => {
      const dir = serviceDataDir(config, "wallet");
      return permissionSet({ net: meshNet(config, "wallet"), read: [dir], write: [dir] });
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
// vm/ is a library the chain calls, not a service of its own.
export const PLANNED_SERVICES: readonly string[] = ["wraith"];

/** Looks a service up by name. */
export function findService(name: string): ServiceDef | undefined {
  return SERVICES.find((s) => s.name === name);
}
