/**
 * Worker entry of the `cns` service: the DNS server (UDP, TCP, DoQ, DoH) run by the supervisor in a worker whose
 * only permissions are `net` for its listen addresses, its upstreams and the upstream bind address (see
 * {@linkcode cnsNetPermissions}) plus its GhostBridge mesh node and the chain's. TLS and the mesh key arrive in
 * the start message; nothing is read from disk or env. `.ghost` and `.zns` are answered from an in-memory index
 * of the chain's name registry, fed through the bridge ({@linkcode ChainNameIndex}).
 *
 * @module
 */
import { MetricsRegistry, runServiceWorker } from "../core/mod.ts";
import type { CnsConfig } from "./config.ts";
import { startCnsServer } from "./server/cns_server.ts";
import { type GhostBridge, startMeshNode } from "../bridge/mod.ts";
import { BlockchainClient } from "../chain/mod.ts";
import { chainFeedFromClient, ChainNameIndex, ChainZone } from "./resolver/chain_zone.ts";
import { EnsResolver, jsonRpcEthCall } from "./eth/ens_resolver.ts";
import { anchoredOnChain, DNS_ANCHOR_NAME, zoneKeySeed, ZoneSigner } from "./resolver/dnssec.ts";

runServiceWorker<CnsConfig>(async (ctx) => {
  const config = ctx.config;
  const registry = new MetricsRegistry();
  // .ghost and .zns come from the chain through the cns worker's GhostBridge node (supervisor "Service mesh"):
  // an in-memory index fed by StreamBlocks. A zone configured locally with the same origin wins.
  let mesh: GhostBridge | undefined;
  let index: ChainNameIndex | undefined;
  let gauges: ReturnType<typeof setInterval> | undefined;
  const chainOrigins = (["ghost", "zns"] as const).filter((o) => !config.localZones.includes(o));
  // Each chain zone is DNSSEC-signed online (Ed25519, RFC 8080) with a key derived from this service's mesh key
  // (cns/README.md "Trust chain"); the trust anchors are logged at start.
  const signers = new Map<string, ZoneSigner>();
  if (ctx.mesh) {
    for (const origin of chainOrigins) {
      const signer = new ZoneSigner(origin, zoneKeySeed(ctx.mesh.seed, origin));
      signers.set(origin, signer);
      const ds = signer.ds();
      ctx.log.info("dnssec zone key", {
        zone: origin,
        key_tag: ds.keyTag,
        ds: `${origin}. DS ${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${ds.digest}`,
        trust_anchor: signer.trustAnchor(),
      });
    }
  }
  if (ctx.mesh && chainOrigins.length > 0) {
    mesh = await startMeshNode({ ...ctx.mesh, tls: ctx.tls, onEvent: (e, f) => ctx.log.debug(e, f) });
    const client = new BlockchainClient(mesh, { timeoutMs: ctx.mesh.callTimeoutMs });
    index = new ChainNameIndex(chainFeedFromClient(client), {
      onEvent: (event, fields) => ctx.log.info(event, fields),
    });
    index.start();
    const names = registry.gauge("ghost_cns_chain_names", "Names in the chain-fed .ghost/.zns index");
    const height = registry.gauge("ghost_cns_chain_height", "Chain height the .ghost/.zns answers come from");
    const anchored = registry.gauge(
      "ghost_cns_dnssec_anchored",
      "1 when the zone's DNSSEC key is the one published on chain (TXT of dns.ghost)",
      ["zone"],
    );
    const live = index;
    const lastAnchor = new Map<string, boolean>();
    gauges = setInterval(() => {
      names.set(live.size);
      height.set(live.height);
      if (!live.ready) return;
      // Trust chain: a validator that trusts the chain takes the zone key from dns.ghost (cns/README.md).
      const txt = live.get(DNS_ANCHOR_NAME)?.records.txt ?? [];
      for (const [zone, signer] of signers) {
        const ok = anchoredOnChain(signer, txt);
        anchored.set(ok ? 1 : 0, { zone });
        if (lastAnchor.get(zone) !== ok) {
          lastAnchor.set(zone, ok);
          if (ok) ctx.log.info("dnssec key anchored on chain", { zone, name: DNS_ANCHOR_NAME });
          else ctx.log.warn("dnssec key not anchored on chain", { zone, name: DNS_ANCHOR_NAME });
        }
      }
    }, 1_000);
  }
  // .eth through ENS over the configured Ethereum JSON-RPC endpoint.
  const ens = config.ensRpcUrl === "" ? undefined : new EnsResolver({
    call: jsonRpcEthCall(config.ensRpcUrl, { timeoutMs: config.ensTimeoutMs }),
    registry: Uint8Array.from(config.ensRegistry.slice(2).match(/../g) ?? [], (b) => parseInt(b, 16)),
    ttlS: config.ensTtlS,
  });
  const server = await startCnsServer({
    config,
    tls: ctx.tls,
    registry,
    ...(ens ? { resolvers: [ens] } : {}),
    ...(index ? { zones: chainOrigins.map((o) => new ChainZone(o, index, signers.get(o))) } : {}),
    // Per-peer noise stays at debug; a permission refusal means the deployment is misconfigured.
    onError: (message, fields) =>
      fields.reason === "not_capable" ? ctx.log.warn(message, fields) : ctx.log.debug(message, fields),
  });
  for (const e of server.endpoints) ctx.log.info("listening", { name: e.name, addr: e.addr });
  return {
    endpoints: server.endpoints.map((e) => ({
      name: e.name,
      transport: e.transport,
      addr: e.addr,
      ...(e.alpn ? { alpn: e.alpn } : {}),
    })),
    metrics: () => registry.snapshot(),
    drain: async (deadlineMs) => {
      await server.close(deadlineMs - 200);
      clearInterval(gauges);
      await index?.close();
      await mesh?.close();
    },
  };
});
