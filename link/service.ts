/**
 * The `link` service's descriptor (ghostlink): P2P links by key and the VPN mesh. It is not part of `mod.ts up`
 * unless `link.enabled` is set: its mesh creates a network interface, which needs root. Its permissions: `net`
 * unscoped (peers are at whatever addresses the rendezvous introduces), its data directory (the identity key and
 * the status file) and the key file's path when it is elsewhere, and FFI only with a mesh: the TUN device goes
 * through libc, and Deno's pointer operations need the unscoped permission.
 *
 * @module
 */
import { permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { LINK_CONFIG, type LinkConfig } from "./config.ts";

/** The `link` service. */
export const linkService: ServiceDescriptor<LinkConfig> = {
  name: "link",
  summary: "ghostlink: P2P links by key, hole punching with relay fallback, a VPN mesh over QUIC datagrams",
  config: LINK_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  tls: "server",
  // Mesh members listed by a .ghost name's records come from the chain through the bridge.
  mesh: { calls: ["chain"], listen: "127.0.0.1:4455" },
  inUp: (config) => config.enabled,
  flags: {
    "--rendezvous": { key: "rendezvous", help: "KEYHEX@host:port of the rendezvous and relay" },
    "--mesh": { key: "mesh", help: "join the VPN mesh of this name (a TUN interface: root)" },
  },
  examples: [
    "# a rendezvous and relay on a public host (prints its key: mod.ts link id)",
    "deno run -A mod.ts link up",
    "# a member behind NAT, in mesh office with two other members (root: it makes the TUN interface)",
    "sudo GHOST_LINK_MEMBERS=KEYHEX1,KEYHEX2 deno run -A mod.ts link up --rendezvous KEYHEX@203.0.113.7:4490 \\",
    "  --mesh office",
    "deno run -A mod.ts link status",
  ],
  permissions: (config, ctx) => {
    const keyDir = config.keyFile !== "" && !config.keyFile.startsWith(ctx.dataDir + "/")
      ? [config.keyFile.slice(0, Math.max(1, config.keyFile.lastIndexOf("/")))]
      : [];
    return permissionSet({
      net: true,
      read: [ctx.dataDir, ...keyDir],
      write: [ctx.dataDir, ...keyDir],
      ffi: config.mesh !== "" ? true : [],
    });
  },
  tool: {
    summary: "ghostlink's tool: up (run), status, id (see link --help)",
    runs: ["up"],
    load: async () => {
      const { linkCli } = await import("./cli.ts");
      return (args, ctx) => linkCli(args, ctx);
    },
  },
};
