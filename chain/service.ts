/**
 * The `chain` service's descriptor: the GhostChain node (ghostd). Its permissions are its sync listener, its
 * peers and its mesh node, read/write of its data directory (KV store, genesis, node key) and any file configured
 * elsewhere, and read access to `crypto/` (its signature checks run in the Ed25519 verifier's Worker pool, and
 * starting a Worker needs read access to that Worker's module graph).
 *
 * @module
 */
import { permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { CHAIN_CONFIG, type ChainConfig, chainNetPermissions } from "./config.ts";

/** The `chain` service. */
export const chainService: ServiceDescriptor<ChainConfig> = {
  name: "chain",
  summary:
    "GhostChain node (ghostd): blocks, state on Deno KV, names, mempool, PoA producer, follower sync over QUIC",
  config: CHAIN_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  // The node's signature checks run in the Ed25519 verifier's Worker pool.
  nestedWorkers: [new URL("../crypto/ed25519_verify_worker.ts", import.meta.url)],
  tls: "server",
  // Serves BlockchainService on its mesh node; calls no other service.
  mesh: { calls: [], listen: "127.0.0.1:4451" },
  permissions: (config, ctx) => {
    const extra = [config.genesisFile, config.nodeKeyFile].filter((f) =>
      f !== "" && !f.startsWith(ctx.dataDir + "/")
    );
    return permissionSet({
      net: [...new Set([...chainNetPermissions(config), ...ctx.meshNet])],
      read: [ctx.dataDir, `${ctx.codeRoot}/crypto`, `${ctx.codeRoot}/core`, ...extra],
      write: [ctx.dataDir],
    });
  },
  tool: {
    summary: "the node's own tool: status, block, tx, account, resolve, send, run (see chain --help)",
    load: async () => {
      const { chainCli } = await import("./cli.ts");
      return (args, ctx) => chainCli(args, ctx);
    },
  },
};
