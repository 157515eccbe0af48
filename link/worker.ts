/**
 * Worker entry of the `link` service (ghostlink): one `LinkNode` on `link.listen`, registered with
 * `link.rendezvous` when set (and a rendezvous and relay for others in any case), and with `link.mesh` set the
 * VPN mesh: a TUN interface through libc, given its key-derived address, `link.mtu` (1,280) and brought up through
 * ioctls, with IP packets to and from the members. Members come from `link.members` and, with
 * `link.members_name`, from that name's TXT records on chain (followed live through the bridge).
 *
 * Its permissions: `net` (peers are wherever the rendezvous says they are), its data directory (the identity
 * key, the status file `mod.ts link status` reads), and FFI only with a mesh (the TUN device). Every 2 s it writes
 * `<data_dir>/link/status.json`.
 *
 * @module
 */
import {
  formatIp,
  fromHex,
  MetricsRegistry,
  runServiceWorker,
  type ServiceContext,
  toHex,
  writeFileAtomic,
} from "../core/mod.ts";
import type { LinkConfig } from "./config.ts";
import { linkIdentity } from "./handshake.ts";
import { LINK_ALPN, LinkNode } from "./node.ts";
import { Mesh } from "./mesh.ts";
import { Tun } from "./tun.ts";
import { meshAddress, peerIdOf } from "./peer.ts";
import { linkKeyPath, type LinkStatus, loadOrCreateLinkKey, membersFromTxt } from "./status.ts";
import { type GhostBridge, startMeshNode } from "../bridge/mod.ts";
import { BlockchainClient, chainFeedFromClient, ChainNameIndex } from "../chain/mod.ts";

runServiceWorker<LinkConfig>(async (ctx: ServiceContext<LinkConfig>) => {
  const config = ctx.config;
  const keyFile = linkKeyPath(config, ctx.dataDir);
  const seed = await loadOrCreateLinkKey(keyFile);
  const identity = linkIdentity(seed);
  const registry = new MetricsRegistry();
  // Whether strangers can reach this node (AutoNAT), asked each time it registers with its rendezvous.
  let reachable: boolean | undefined;
  const checkReachability = (): void => {
    node?.reachable().then((r) => {
      reachable = r;
      ctx.log.info("reachability", { reachable: r });
      // Reachable nodes serve the DHT: say so to the servers near this node.
      if (r) node?.refresh().catch(() => {});
    }, () => {});
  };
  // deno-lint-ignore prefer-const
  let node: LinkNode | undefined;
  node = await LinkNode.start({
    identity,
    hostname: config.listen.hostname,
    port: config.listen.port,
    cert: ctx.tls.certPem,
    key: ctx.tls.keyPem,
    caCerts: ctx.tls.caPem !== "" ? [ctx.tls.caPem] : [],
    serverName: config.serverName,
    ...(config.rendezvous
      ? {
        rendezvous: {
          hostname: config.rendezvous.hostname,
          port: config.rendezvous.port,
          publicKey: fromHex(config.rendezvous.key),
        },
      }
      : {}),
    ...(config.dialBackPort !== 0 ? { dialBackPort: config.dialBackPort } : {}),
    maxConnections: config.maxConnections,
    relayBytesPerSecond: config.relayBytesPerSecond,
    relayCircuits: config.relayCircuits,
    relayCircuitsPerMember: config.relayCircuitsPerMember,
    rekeyAfterMs: config.rekeyAfterS * 1000,
    retryRendezvous: true,
    seeds: config.seeds.map((p) => ({
      key: fromHex(p.key),
      addr: p.hostname.includes(":") ? `[${p.hostname}]:${p.port}` : `${p.hostname}:${p.port}`,
    })),
    onEvent: (e, f) => {
      if (e === "rendezvous joined") {
        ctx.log.info(e, f);
        checkReachability();
      } else ctx.log.warn(e, f);
    },
  });
  ctx.log.info("link node", {
    peer_id: peerIdOf(identity.publicKey),
    identity: toHex(identity.publicKey),
    listen: `${node.addr.hostname}:${node.addr.port}`,
    ...(config.rendezvous ? { observed: node.observed } : {}),
  });
  if (config.rendezvous && node.joined) checkReachability();

  let tun: Tun | undefined;
  let mesh: Mesh | undefined;
  let bridge: GhostBridge | undefined;
  let names: ChainNameIndex | undefined;
  let fromChain: Uint8Array[] = [];
  let configured = config.members.map((k) => fromHex(k));
  const setMembers = (): void => mesh?.setMembers([...configured, ...fromChain]);
  try {
    if (config.mesh !== "") {
      tun = new Tun(config.interface, config.libc);
      const address = meshAddress(config.mesh, identity.publicKey);
      tun.configure({ address, prefixLength: 48, mtu: config.mtu });
      mesh = Mesh.start({
        node,
        tun,
        meshName: config.mesh,
        members: configured,
        upgradeEveryMs: config.upgradeEveryS * 1000,
        onEvent: (e, f) => ctx.log.info(e, f),
      });
      ctx.log.info("mesh up", { mesh: config.mesh, interface: config.interface, address: formatIp(address) });
    }
    if (config.membersName !== "") {
      if (ctx.mesh === undefined) {
        throw new Error("link.members_name needs the chain through the service mesh");
      }
      bridge = await startMeshNode({ ...ctx.mesh, tls: ctx.tls, onEvent: (e, f) => ctx.log.debug(e, f) });
      const client = new BlockchainClient(bridge, { timeoutMs: ctx.mesh.callTimeoutMs });
      names = new ChainNameIndex(chainFeedFromClient(client), { onEvent: (e, f) => ctx.log.debug(e, f) });
      names.start();
    }
  } catch (error) {
    mesh?.close();
    tun?.close();
    node.close();
    await bridge?.close();
    throw error;
  }

  const links = registry.gauge(
    "ghost_link_links",
    "Mesh members by the path of their link (direct, relayed, down)",
    [
      "path",
    ],
  );
  const packets = registry.counter("ghost_link_packets_total", "Mesh packets, by result", ["result"]);
  const joined = registry.gauge("ghost_link_rendezvous_joined", "1 while registered with the rendezvous");
  const rdvMembers = registry.gauge("ghost_link_rendezvous_members", "As a rendezvous: members registered");
  const relayed = registry.gauge("ghost_link_relayed_links", "As a relay: links relayed now");
  const upgrades = registry.counter(
    "ghost_link_upgrades_total",
    "Relayed mesh links replaced by direct ones",
  );
  let seen = { packetsOut: 0, packetsIn: 0, noRoute: 0, spoofed: 0, upgrades: 0 };
  let namesVersion = -1;
  const statusFile = `${ctx.dataDir}/status.json`;

  const tick = async (): Promise<void> => {
    if (names !== undefined && names.version !== namesVersion) {
      namesVersion = names.version;
      const txt = names.get(config.membersName)?.records.txt ?? [];
      fromChain = membersFromTxt(txt);
      setMembers();
    }
    const members = mesh?.members() ?? [];
    for (const path of ["direct", "relayed", "down"]) {
      links.set(members.filter((m) => m.path === path).length, { path });
    }
    if (mesh !== undefined) {
      const s = mesh.stats;
      packets.inc(s.packetsOut - seen.packetsOut, { result: "out" });
      packets.inc(s.packetsIn - seen.packetsIn, { result: "in" });
      packets.inc(s.noRoute - seen.noRoute, { result: "no_route" });
      packets.inc(s.spoofed - seen.spoofed, { result: "spoofed" });
      upgrades.inc(s.upgrades - seen.upgrades);
      seen = { ...s };
    }
    joined.set(node.joined ? 1 : 0);
    const rs = node.rendezvousStats;
    rdvMembers.set(rs.members);
    relayed.set(rs.relayedLinks);
    const status: LinkStatus = {
      updated: new Date().toISOString(),
      pid: Deno.pid,
      key: toHex(identity.publicKey),
      peer_id: peerIdOf(identity.publicKey),
      listen: `${node.addr.hostname}:${node.addr.port}`,
      rendezvous: config.rendezvous
        ? { joined: node.joined, observed: node.observed, ...(reachable !== undefined ? { reachable } : {}) }
        : null,
      serving: { members: rs.members, relayed_links: rs.relayedLinks },
      dht: node.dhtStats,
      mesh: mesh === undefined ? null : {
        name: config.mesh,
        interface: config.interface,
        address: formatIp(mesh.address),
        members: members.map((m) => ({
          key: m.key,
          address: formatIp(m.address),
          path: m.path,
          remote: m.remote,
          rekeys: m.rekeys,
        })),
        packets: {
          out: mesh.stats.packetsOut,
          in: mesh.stats.packetsIn,
          no_route: mesh.stats.noRoute,
          spoofed: mesh.stats.spoofed,
        },
        upgrades: mesh.stats.upgrades,
      },
    };
    await writeFileAtomic(statusFile, JSON.stringify(status, null, 2) + "\n", { mode: 0o644 });
  };
  await tick();
  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    tick().catch((error) => ctx.log.warn("status not written", { error: String(error) })).finally(() =>
      ticking = false
    );
  }, 2000);

  return {
    endpoints: [{
      name: "link",
      transport: "quic",
      addr: node.addr.hostname.includes(":")
        ? `[${node.addr.hostname}]:${node.addr.port}`
        : `${node.addr.hostname}:${node.addr.port}`,
      alpn: [LINK_ALPN],
    }],
    metrics: () => registry.snapshot(),
    // Live reload: the member list applies in place (new members get links, removed ones lose theirs, the
    // others' links are not touched); any other change needs a restart.
    reload: (next) => {
      const n = next as LinkConfig;
      const changed = (Object.keys(n) as (keyof LinkConfig)[]).filter((k) =>
        k !== "members" && JSON.stringify(n[k]) !== JSON.stringify(config[k])
      );
      if (changed.length > 0) {
        return Promise.reject(
          new Error(`link applies only members live; restart for: ${changed.join(", ")}`),
        );
      }
      configured = n.members.map((k) => fromHex(k));
      setMembers();
      ctx.log.info("members reloaded", { members: n.members.length });
      return Promise.resolve();
    },
    drain: async () => {
      clearInterval(timer);
      mesh?.close();
      tun?.close();
      node.close();
      await names?.close();
      await bridge?.close();
      await Deno.remove(statusFile).catch(() => {});
    },
  };
});
