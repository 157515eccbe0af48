/**
 * Worker entry of the `wallet` service (walletd). The supervisor runs it in a worker whose only permissions are
 * read and write of its data directory, which is the keystore directory. It builds the {@linkcode WalletService}
 * over that directory and its bytes-in/bytes-out dispatcher, counts calls by method and status, and locks idle
 * unlock sessions on a timer.
 *
 * It exposes no network endpoint yet: the service becomes reachable when the bridge registers the dispatcher
 * (`ghostchain.wallet.v1.WalletService`). Until then it holds no secrets (nothing can unlock a wallet).
 *
 * @module
 */
import { runServiceWorker } from "../supervisor/worker_runtime.ts";
import { MetricsRegistry } from "../transport/mod.ts";
import { parseWalletConfig } from "./config.ts";
import { DenoWalletStore } from "./deno_wallet_store.ts";
import { createWalletCallHandler, type WalletCallHandler } from "./wallet_rpc.ts";
import { WalletService } from "./wallet_service.ts";

runServiceWorker((ctx) => {
  const cfg = parseWalletConfig((ctx.config as unknown as { readonly wallet?: unknown }).wallet);
  const registry = new MetricsRegistry();
  const calls = registry.counter("ghost_wallet_calls_total", "Wallet service calls by method and status", [
    "method",
    "code",
  ]);
  const sessions = registry.gauge("ghost_wallet_unlocked_wallets", "Wallets with an open unlock session");
  const service = new WalletService({
    store: new DenoWalletStore(ctx.dataDir),
    idleTimeoutMs: cfg.unlockIdleTimeoutMs,
  });
  // The dispatcher the bridge will register; nothing calls it until then.
  const _handleWalletCall: WalletCallHandler = createWalletCallHandler(service, {
    maxRequestBytes: cfg.maxMessageBytes,
    maxResponseBytes: cfg.maxMessageBytes,
    onCall: (method, code) => calls.inc(1, { method, code }),
  });
  const sweep = setInterval(() => {
    const locked = service.lockExpired();
    if (locked > 0) ctx.log.info("auto-locked", { wallets: locked });
    sessions.set(service.unlockedWallets().length);
  }, Math.min(10_000, cfg.unlockIdleTimeoutMs));
  ctx.log.info("ready", {
    keystoreDir: ctx.dataDir,
    endpoints: "none until the bridge registers the service",
  });
  return Promise.resolve({
    endpoints: [],
    metrics: () => registry.snapshot(),
    drain: () => {
      clearInterval(sweep);
      service.lockAll();
      sessions.set(0);
      return Promise.resolve();
    },
  });
});
