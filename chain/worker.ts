/**
 * Worker entry of the `chain` service: a GhostChain node run by the supervisor in a worker whose only
 * permissions are `net` for its listen address and peers ({@linkcode chainNetPermissions}) and read/write of
 * its data directory (KV database, node key, genesis, dev key). TLS arrives in the start message.
 *
 * @module
 */
import { runServiceWorker } from "../supervisor/worker_runtime.ts";
import { isChainConfig, parseChainConfig } from "./config.ts";
import { formatChainHostPort } from "./config.ts";
import { runChainNode } from "./deno_node.ts";
import { CHAIN_SYNC_ALPN } from "./sync.ts";

runServiceWorker(async (ctx) => {
  // The supervisor's Config carries `chain` as the raw [chain] table or an already parsed ChainConfig.
  const raw = (ctx.config as unknown as { chain?: unknown }).chain;
  const config = isChainConfig(raw) ? raw : parseChainConfig(raw ?? {});
  const running = await runChainNode(config, {
    dataDir: ctx.dataDir,
    tls: ctx.tls,
    log: (level, message, fields) => ctx.log[level](message, fields ?? {}),
  });
  return {
    endpoints: [{
      name: "sync",
      transport: "quic",
      addr: formatChainHostPort(running.addr),
      alpn: [CHAIN_SYNC_ALPN],
    }],
    metrics: () => running.metrics.snapshot(),
    drain: () => running.close(),
  };
});
