/**
 * Worker entry of the `wraith` service: the reverse proxy, run by the supervisor in a worker whose only
 * permission is `net` for its listeners and its backends ({@linkcode wraithNetPermissions}). TLS arrives in the
 * start message: the certificate it serves and the CA it trusts for TLS backends.
 *
 * @module
 */
import { MetricsRegistry, runServiceWorker } from "../core/mod.ts";
import type { WraithConfig } from "./config.ts";
import { WraithProxy } from "./proxy.ts";
import { startWraithServer } from "./server.ts";
import { DiskCache } from "./deno_cache_disk.ts";
import { type GhostBridge, startMeshNode } from "../bridge/mod.ts";
import { BlockchainClient, chainFeedFromClient, ChainNameIndex } from "../chain/mod.ts";

runServiceWorker<WraithConfig>(async (ctx) => {
  const registry = new MetricsRegistry();
  const proxy = new WraithProxy(ctx.config, {
    caCerts: ctx.tls.caPem !== "" ? [ctx.tls.caPem] : [],
    metrics: registry,
    log: (level, message, fields) => ctx.log[level](message, fields),
  });
  if (ctx.config.cacheDiskBytes > 0 && ctx.config.cacheMaxBytes > 0) {
    const disk = await DiskCache.open(`${ctx.dataDir}/cache`, ctx.config.cacheDiskBytes);
    proxy.useDisk(disk);
    ctx.log.info("cache disk tier", {
      dir: disk.dir,
      entries: disk.entries,
      bytes: disk.bytes,
      torn_removed: disk.torn,
    });
  }
  // .ghost sites: the chain's name registry, mirrored through this worker's mesh node.
  let mesh: GhostBridge | undefined;
  let index: ChainNameIndex | undefined;
  if (ctx.config.ghostSites) {
    if (ctx.mesh === undefined) {
      throw new Error("ghost_sites needs the service mesh (the chain through the bridge)");
    }
    mesh = await startMeshNode({ ...ctx.mesh, tls: ctx.tls, onEvent: (e, f) => ctx.log.debug(e, f) });
    const client = new BlockchainClient(mesh, { timeoutMs: ctx.mesh.callTimeoutMs });
    const names = new ChainNameIndex(chainFeedFromClient(client), { onEvent: (e, f) => ctx.log.info(e, f) });
    names.start();
    index = names;
    proxy.useGhostSites((name) => {
      const n = names.get(name);
      return n === undefined
        ? undefined
        : { txt: n.records.txt, ...(n.owner !== undefined ? { owner: n.owner } : {}) };
    }, ctx.config.ghostSiteHosts);
  }
  const server = await startWraithServer(ctx.config, proxy, ctx.tls, {
    metrics: registry,
    onError: (message, fields) => ctx.log.debug(message, fields),
  }).catch((error) => {
    proxy.close();
    throw error;
  });
  // .ghost sites get certificates as they appear on chain: the supervisor's dev CA mints one leaf for every
  // site name, and the listeners take it for new connections (open ones keep theirs). A name that is not on chain
  // is in no certificate, so its TLS handshake fails.
  let certTimer: ReturnType<typeof setInterval> | undefined;
  if (index !== undefined) {
    const names = index;
    let certified = "";
    let busy = false;
    certTimer = setInterval(async () => {
      if (busy || !names.ready) return;
      const sites = names.names().filter((n) =>
        n.endsWith(".ghost") && (names.get(n)?.records.txt ?? []).some((t) => t.startsWith("ghost-backend="))
      ).sort();
      const key = sites.join(",");
      if (sites.length === 0 || key === certified) return;
      busy = true;
      try {
        const cert = await ctx.requestCertificate(sites);
        server.setCertificate(cert.certPem, cert.keyPem);
        ctx.log.info("certificate for .ghost sites", { names: sites.length });
      } catch (error) {
        ctx.log.warn("no certificate for .ghost sites", {
          error: error instanceof Error ? error.message : String(error),
        });
      } finally {
        certified = key;
        busy = false;
      }
    }, 1_000);
  }
  const status = proxy.status();
  for (const e of server.endpoints) ctx.log.info("listening", { name: e.name, addr: e.addr });
  for (const r of status.routes) ctx.log.info("route", { route: r });
  if (status.routes.length === 0) {
    ctx.log.warn("no routes: every request gets 404; set --upstream URL or [wraith] routes and pools", {});
  }
  return {
    endpoints: server.endpoints.map((e) => ({
      name: e.name,
      transport: e.transport,
      addr: e.addr,
      alpn: e.alpn,
    })),
    metrics: () => {
      proxy.publishStatus();
      return registry.snapshot();
    },
    reload: (next) => {
      proxy.reload(next as WraithConfig);
      return Promise.resolve();
    },
    drain: async (deadlineMs) => {
      clearInterval(certTimer);
      await server.close(deadlineMs - 200);
      proxy.close();
      await index?.close();
      await mesh?.close();
    },
  };
});
