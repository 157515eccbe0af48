/**
 * The `[link]` configuration section (ghostlink): {@linkcode LINK_CONFIG} with its defaults, `GHOST_LINK_*`
 * names and help, and {@linkcode parseRendezvous} / {@linkcode parsePeerKey} for the values it holds. Pure.
 *
 * @module
 */

import {
  bool,
  type ConfigSection,
  custom,
  defineSection,
  fromHex,
  type HostPort,
  hostPort,
  int,
  INVALID,
  parseHostPort,
  string,
} from "../core/mod.ts";

/** A rendezvous (and relay) peer: its identity key and where it listens. */
export interface RendezvousPeer {
  /** Its identity key, 64 hex (text: a config value is frozen, and typed arrays cannot be). */
  readonly key: string;
  readonly hostname: string;
  readonly port: number;
}

/** The link configuration. */
export interface LinkConfig {
  /** Started by `mod.ts up` too (`mod.ts link up` always starts it). */
  readonly enabled: boolean;
  /** UDP address of the node's one QUIC endpoint (listens and dials). */
  readonly listen: HostPort;
  /** The rendezvous this node registers with; `undefined`: none (this node may serve as one). */
  readonly rendezvous: RendezvousPeer | undefined;
  /** DHT servers to start from, besides the rendezvous. */
  readonly seeds: readonly RendezvousPeer[];
  /** As a rendezvous: UDP port of the dial-back endpoint (AutoNAT); 0 for none. */
  readonly dialBackPort: number;
  /** The identity key's file (hex seed); empty: `<data_dir>/link/node.key`. */
  readonly keyFile: string;
  /** TLS server name peers ask for (their certificates must carry it). */
  readonly serverName: string;
  /** The VPN mesh's name; empty: no interface, links only. */
  readonly mesh: string;
  /** The TUN interface's name. */
  readonly interface: string;
  /** The interface's MTU: 1,280 fits one QUIC datagram; larger packets are cut into up to 8. */
  readonly mtu: number;
  /** Members of the mesh by identity key (64 hex). */
  readonly members: readonly string[];
  /** A .ghost/.zns name whose TXT records `ghostlink=<key hex>` list more members (read from the chain). */
  readonly membersName: string;
  /** libc, for the TUN device. */
  readonly libc: string;
  /** Connections accepted at once. */
  readonly maxConnections: number;
  /** As a relay: bytes per second per relayed link and direction. */
  readonly relayBytesPerSecond: number;
  /** As a relay: relayed links at once in all, and per member. */
  readonly relayCircuits: number;
  readonly relayCircuitsPerMember: number;
  /** New session keys on every link after this many seconds (the link stays up). */
  readonly rekeyAfterS: number;
  /** How often a relayed mesh link tries a direct path again, seconds. */
  readonly upgradeEveryS: number;
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** Parses a 64-hex Ed25519 public key; `undefined` when the text is not one. */
export function parsePeerKey(text: string): Uint8Array | undefined {
  const t = text.trim();
  return HEX_KEY.test(t) ? fromHex(t.toLowerCase()) : undefined;
}

/** Parses `KEYHEX@host:port`; `undefined` when the text is not one. */
export function parseRendezvous(text: string): RendezvousPeer | undefined {
  const at = text.indexOf("@");
  if (at < 0) return undefined;
  const key = text.slice(0, at).trim().toLowerCase();
  const hp = parseHostPort(text.slice(at + 1).trim());
  if (!HEX_KEY.test(key) || hp === undefined || hp.port === 0) return undefined;
  return { key, hostname: hp.hostname, port: hp.port };
}

const rendezvousKind = custom<RendezvousPeer | undefined>(
  "KEYHEX@host:port (the rendezvous's identity key, 64 hex, and its address), or empty",
  (raw) => {
    if (raw === "" || raw === undefined) return undefined;
    return typeof raw === "string" ? parseRendezvous(raw) ?? INVALID : INVALID;
  },
  (v) => {
    if (v === undefined) return "";
    const host = v.hostname.includes(":") ? `[${v.hostname}]` : v.hostname;
    return `${v.key}@${host}:${v.port}`;
  },
);

const seedList = custom<readonly RendezvousPeer[]>(
  "a list of KEYHEX@host:port (DHT servers' identity keys and addresses)",
  (raw) => {
    const list = typeof raw === "string" ? raw.split(",").map((x) => x.trim()).filter((x) => x !== "") : raw;
    if (!Array.isArray(list) || list.length > 64) return INVALID;
    const out: RendezvousPeer[] = [];
    for (const t of list) {
      const p = typeof t === "string" ? parseRendezvous(t) : undefined;
      if (p === undefined) return INVALID;
      out.push(p);
    }
    return out;
  },
  (v) => v.map((p) => `${p.key}@${p.hostname.includes(":") ? `[${p.hostname}]` : p.hostname}:${p.port}`),
  (text) => text,
);

const memberKeys = custom<readonly string[]>(
  "a list of identity keys (64 hex characters each)",
  (raw) => {
    const list = typeof raw === "string" ? raw.split(",").map((s) => s.trim()).filter((s) => s !== "") : raw;
    if (!Array.isArray(list) || list.length > 4096) return INVALID;
    if (!list.every((k) => typeof k === "string" && HEX_KEY.test(k))) return INVALID;
    return list.map((k: string) => k.toLowerCase());
  },
  (v) => v,
  (text) => text,
);

/** The `[link]` section. */
export const LINK_CONFIG: ConfigSection<LinkConfig> = defineSection("link", {
  enabled: {
    kind: bool(),
    default: false,
    help: "also start ghostlink with `mod.ts up` (`mod.ts link up` always starts it; the mesh needs root)",
  },
  listen: {
    kind: hostPort({ ipOnly: true }),
    default: "0.0.0.0:4490",
    help: "UDP address of the node's QUIC endpoint, which both listens and dials",
  },
  rendezvous: {
    kind: rendezvousKind,
    default: "",
    help: "KEYHEX@host:port of the rendezvous and relay; empty: none (others may use this node as theirs)",
  },
  seeds: {
    kind: seedList,
    default: [],
    help:
      "DHT servers to start from (KEYHEX@host:port), besides the rendezvous: peers elsewhere are found by key",
  },
  dial_back_port: {
    kind: int(0, 65535),
    default: 0,
    help: "as a rendezvous: UDP port that dials members back to tell them if they are reachable; 0: none",
  },
  key_file: {
    kind: string(),
    default: "",
    help:
      "the node's identity key (hex seed, made on first start, mode 0600); empty: <data_dir>/link/node.key",
  },
  server_name: {
    kind: string({ allowEmpty: false, pattern: /^[A-Za-z0-9.-]{1,253}$/, what: "a DNS name" }),
    default: "localhost",
    help: "TLS name the peers' certificates carry (the handshake inside proves who is who)",
  },
  mesh: {
    kind: string({ pattern: /^[A-Za-z0-9._-]{0,64}$/, what: "up to 64 letters, digits, dots, dashes" }),
    default: "",
    help: "the VPN mesh's name (it fixes the fdXX::/48 prefix); empty: links only, no interface",
  },
  interface: {
    kind: string({ allowEmpty: false, pattern: /^[A-Za-z0-9_-]{1,15}$/, what: "an interface name (1-15)" }),
    default: "ghost0",
    help: "the mesh's TUN interface",
  },
  mtu: {
    kind: int(1280, 8000),
    default: 1280,
    help:
      "the mesh interface's MTU; above 1,280 a packet spans several QUIC datagrams and is lost with any of them",
  },
  members: { kind: memberKeys, default: [], help: "mesh members' identity keys (64 hex each)" },
  members_name: {
    kind: string({ pattern: /^$|^[A-Za-z0-9.-]+\.(ghost|zns)$/, what: "a .ghost or .zns name, or empty" }),
    default: "",
    help: "a name whose on-chain TXT records `ghostlink=KEYHEX` list more members (followed live)",
  },
  libc: {
    kind: string({ allowEmpty: false }),
    default: Deno.build.arch === "aarch64"
      ? "/lib/aarch64-linux-gnu/libc.so.6"
      : "/lib/x86_64-linux-gnu/libc.so.6",
    help: "libc, for the TUN device",
  },
  max_connections: { kind: int(1, 1_000_000), default: 1000, help: "connections accepted at once" },
  relay_bytes_per_second: {
    kind: int(1024, 1 << 30),
    default: 1 << 20,
    help: "as a relay: bytes per second per relayed link and direction",
  },
  relay_circuits: { kind: int(0, 100_000), default: 64, help: "as a relay: relayed links at once" },
  relay_circuits_per_member: {
    kind: int(0, 10_000),
    default: 8,
    help: "as a relay: relayed links per member",
  },
  rekey_after_s: {
    kind: int(10, 86_400),
    default: 120,
    help: "fresh session keys on every link after this many seconds, without dropping it",
  },
  upgrade_every_s: {
    kind: int(1, 3600),
    default: 30,
    help: "how often a relayed mesh link tries a direct path again (a NAT may allow it now)",
  },
}, {
  check(v, fail) {
    if (v.membersName !== "" && v.mesh === "") fail("members_name", "needs a mesh name (link.mesh)");
    if (v.dialBackPort !== 0 && v.dialBackPort === v.listen.port) {
      fail("dial_back_port", "must differ from the listen port");
    }
  },
});

/** Parses a raw `[link]` table (tests, tools). */
export function parseLinkConfig(table: Readonly<Record<string, unknown>> = {}): LinkConfig {
  return LINK_CONFIG.parse({ file: { path: "test", table } });
}
