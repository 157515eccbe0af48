/**
 * Worker entry of the `wallet` service (walletd). The supervisor runs it in a worker whose only permissions are
 * read and write of its data directory (the keystore directory) and `net` for its GhostBridge mesh node: its own
 * listener and the chain's node. It builds the {@linkcode WalletService} over that directory, serves it as
 * `ghostchain.wallet.v1.WalletService` on the mesh node, reads balances from the chain through the bridge,
 * counts calls by method and status, and locks idle unlock sessions on a timer.
 *
 * @module
 */
import { formatHostPort, runServiceWorker } from "../core/mod.ts";
import { MetricsRegistry } from "../core/mod.ts";
import {
  BRIDGE_ALPN,
  BridgeError,
  type GhostBridge,
  type MethodHandler,
  type ServiceHandlers,
  startMeshNode,
  unary,
} from "../bridge/mod.ts";
import { BlockchainClient, ChainError } from "../chain/mod.ts";
import type { WalletConfig } from "./config.ts";
import { DenoWalletStore } from "./deno_wallet_store.ts";
import { WalletServiceError, WalletStatus, type WalletStatusName } from "./errors.ts";
import { createWalletCallHandler, WALLET_METHODS, WALLET_SERVICE_NAME } from "./wallet_rpc.ts";
import { type ChainClient, WalletService } from "./wallet_service.ts";

/** The wallet's view of the chain, through a BlockchainClient on its mesh node. */
function chainClientOver(client: BlockchainClient): ChainClient {
  const wrap = (error: unknown): WalletServiceError => {
    if (!(error instanceof ChainError)) return new WalletServiceError("UNAVAILABLE", "Chain unreachable");
    const status: WalletStatusName = error.status in WalletStatus
      ? error.status as WalletStatusName
      : "UNAVAILABLE";
    return new WalletServiceError(status, `Chain: ${error.message}`, { reason: error.reason });
  };
  return {
    getBalance: async (address, signal) => {
      try {
        const a = await client.account(address, signal);
        return { balance: a.balance, nonce: a.nonce };
      } catch (error) {
        throw wrap(error);
      }
    },
    submitTransaction: async (tx, signal) => {
      try {
        return await client.submit(tx, signal);
      } catch (error) {
        throw wrap(error);
      }
    },
  };
}

runServiceWorker<WalletConfig>(async (ctx) => {
  const cfg = ctx.config;
  const registry = new MetricsRegistry();
  const calls = registry.counter("ghost_wallet_calls_total", "Wallet service calls by method and status", [
    "method",
    "code",
  ]);
  const sessions = registry.gauge("ghost_wallet_unlocked_wallets", "Wallets with an open unlock session");
  // The mesh node comes first so the service can be given its chain client; it serves nothing until registered.
  let mesh: GhostBridge | undefined;
  if (ctx.mesh) {
    mesh = await startMeshNode({
      ...ctx.mesh,
      tls: ctx.tls,
      maxMessageBytes: cfg.maxMessageBytes,
      metrics: registry,
      onEvent: (event, fields) => ctx.log.info(event, fields),
    });
  }
  const service = new WalletService({
    store: new DenoWalletStore(ctx.dataDir),
    idleTimeoutMs: cfg.unlockIdleTimeoutMs,
    ...(mesh
      ? {
        chain: chainClientOver(new BlockchainClient(mesh, { timeoutMs: ctx.mesh?.callTimeoutMs ?? 10_000 })),
      }
      : {}),
  });
  const handle = createWalletCallHandler(service, {
    maxRequestBytes: cfg.maxMessageBytes,
    maxResponseBytes: cfg.maxMessageBytes,
    onCall: (method, code) => calls.inc(1, { method, code }),
  });
  const handlers: Record<string, MethodHandler> = {};
  for (const method of WALLET_METHODS) {
    handlers[method] = unary(async (request) => {
      try {
        return await handle(method, request);
      } catch (error) {
        if (error instanceof WalletServiceError) {
          throw new BridgeError(error.code as BridgeError["code"], error.message, { reason: error.reason });
        }
        throw error;
      }
    });
  }
  mesh?.register(WALLET_SERVICE_NAME, handlers as ServiceHandlers);
  const sweep = setInterval(() => {
    const locked = service.lockExpired();
    if (locked > 0) ctx.log.info("auto-locked", { wallets: locked });
    sessions.set(service.unlockedWallets().length);
  }, Math.min(10_000, cfg.unlockIdleTimeoutMs));
  const endpoints = ctx.mesh
    ? [{ name: "mesh", transport: "quic", addr: formatHostPort(ctx.mesh.listen), alpn: [BRIDGE_ALPN] }]
    : [];
  ctx.log.info("ready", {
    keystoreDir: ctx.dataDir,
    endpoints: endpoints.map((e) => e.addr).join(",") || "none",
  });
  return {
    endpoints,
    metrics: () => registry.snapshot(),
    drain: async () => {
      clearInterval(sweep);
      service.lockAll();
      sessions.set(0);
      await mesh?.close();
    },
  };
});
