/**
 * The `wallet` service's descriptor: walletd. Its permissions are read and write of its keystore directory and
 * `net` for its mesh node (its own listener and the chain's node); no env, run or ffi.
 *
 * @module
 */
import { permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { WALLET_CONFIG, type WalletConfig } from "./config.ts";

/** The `wallet` service. */
export const walletService: ServiceDescriptor<WalletConfig> = {
  name: "wallet",
  summary:
    "walletd: WalletService (keystore, accounts, signing, multisig), served and calling the chain through the bridge",
  config: WALLET_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  tls: "server",
  mesh: { calls: ["chain"], listen: "127.0.0.1:4452" },
  permissions: (_config, ctx) =>
    permissionSet({ net: [...ctx.meshNet], read: [ctx.dataDir], write: [ctx.dataDir] }),
  tool: {
    summary: "the wallet CLI: new, import, list, sign, verify, multisig, balance, send, name (wallet help)",
    load: async () => {
      const { walletCli, denoCliIo, WALLET_CHAIN_COMMANDS } = await import("./mod.ts");
      return (args, ctx) => {
        const io = denoCliIo();
        // Config keys (GHOST_DATA_DIR, GHOST_BRIDGE_GRPC_LISTEN ...) at their effective values, ghost.toml
        // included; other variables (the passphrase) from the environment.
        const env = (name: string): string | undefined => ctx.setting(name) ?? io.env(name);
        return walletCli([...args], { ...io, env }, WALLET_CHAIN_COMMANDS);
      };
    },
  },
};
