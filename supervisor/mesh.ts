/**
 * The service mesh: which service calls which, over GhostBridge.
 *
 * Services never call each other directly. Every service that serves or calls another one runs a GhostBridge
 * node (QUIC, ALPN `ghostbridge/1`) inside its own worker: the chain registers BlockchainService there, the
 * wallet registers WalletService. A caller's node dials the server's node as a peer bridge, proves its Ed25519
 * mesh key on the connection, and the call travels as GhostBridge frames. The central `bridge` service dials
 * every serving node too, so its gRPC ingress reaches all of them.
 *
 * The plan is pure ({@linkcode planMesh}); {@linkcode loadMeshKeys} is the adapter that reads or creates the
 * keys (`<data_dir>/mesh/<service>.key`, 64 hex characters, mode 0600). The supervisor hands each worker its
 * own key seed, listen address, pinned peers and allow-list in the start message, so workers read no key files.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { identityFromSeed, toHex } from "../bridge/mod.ts";
import { CHAIN_ZONES, zoneKeySeed } from "../cns/mod.ts";
import { writeFileAtomic } from "../transport/mod.ts";
import { type Config, formatHostPort, type HostPort } from "./config.ts";

/** Services that take part in the mesh. */
export const MESH_MEMBERS = ["bridge", "chain", "wallet", "cns"] as const;
/** One of {@linkcode MESH_MEMBERS}. */
export type MeshMember = typeof MESH_MEMBERS[number];

/**
 * Who calls whom. A caller's node dials each callee's node; a callee allows exactly its callers' keys.
 * The central bridge calls every serving service so that outside gRPC clients reach them through its ingress.
 */
export const MESH_CALLS: Readonly<Record<MeshMember, readonly MeshMember[]>> = {
  bridge: ["chain", "wallet"],
  wallet: ["chain"],
  cns: ["chain"],
  chain: [],
};

/** A mesh key: the Ed25519 seed and its public key, both hex. */
export interface MeshKey {
  readonly seed: string;
  readonly publicKey: string;
}

/** A peer node a service dials, pinned to its public key. */
export interface MeshPeer {
  readonly name: MeshMember;
  readonly hostname: string;
  readonly port: number;
  /** Hex Ed25519 public key the peer must prove. */
  readonly publicKey: string;
}

/** What one service needs to run its mesh node; structured-cloneable (it travels in the start message). */
export interface MeshAssignment {
  /** Hex Ed25519 seed of this service's mesh node key (a secret: never logged). */
  readonly seed: string;
  /** Hex public key of that seed. */
  readonly publicKey: string;
  /** Where this service's node listens. */
  readonly listen: HostPort;
  /** The nodes this service calls. */
  readonly peers: readonly MeshPeer[];
  /** Hex public keys allowed to call this service's node. */
  readonly allowList: readonly string[];
  /** Deadline of one unary call to a peer service. */
  readonly callTimeoutMs: number;
  /**
   * For the chain: the DNSSEC trust anchors of cns's zones (`<zone>-dnskey=<base64 Ed25519 key>`), which a new
   * devnet genesis publishes as TXT records of `dns.ghost`.
   */
  readonly dnsAnchors?: readonly string[];
}

/** Whether a service name is a mesh member. */
export function isMeshMember(name: string): name is MeshMember {
  return (MESH_MEMBERS as readonly string[]).includes(name);
}

/** The QUIC address of a member's node (the central bridge's is its own `bridge.listen`). */
export function meshAddress(config: Config, member: MeshMember): HostPort {
  return member === "bridge" ? config.bridge.listen : config.mesh[member];
}

/** Net permission entries a member's node needs: its own listener and every node it calls. */
export function meshNet(config: Config, member: MeshMember): string[] {
  return [member, ...MESH_CALLS[member]].map((m) => formatHostPort(meshAddress(config, m)));
}

/** Every member's assignment from the config and the members' keys. Pure. */
export function planMesh(
  config: Config,
  keys: Readonly<Record<MeshMember, MeshKey>>,
): Record<MeshMember, MeshAssignment> {
  const out = {} as Record<MeshMember, MeshAssignment>;
  for (const member of MESH_MEMBERS) {
    const callers = MESH_MEMBERS.filter((m) => MESH_CALLS[m].includes(member));
    out[member] = {
      seed: keys[member].seed,
      publicKey: keys[member].publicKey,
      listen: meshAddress(config, member),
      peers: MESH_CALLS[member].map((name) => {
        const addr = meshAddress(config, name);
        return { name, hostname: addr.hostname, port: addr.port, publicKey: keys[name].publicKey };
      }),
      allowList: callers.map((m) => keys[m].publicKey),
      callTimeoutMs: config.mesh.callTimeoutMs,
      ...(member === "chain" ? { dnsAnchors: dnsAnchors(keys.cns.seed) } : {}),
    };
  }
  return out;
}

/** The TXT anchors of cns's chain zones, derived from cns's mesh key the way cns derives its zone keys. */
export function dnsAnchors(cnsSeedHex: string): string[] {
  return CHAIN_ZONES.map((zone) => {
    const pub = ed25519.getPublicKey(zoneKeySeed(cnsSeedHex, zone));
    return `${zone}-dnskey=${btoa(String.fromCharCode(...pub))}`;
  });
}

/** The file holding a member's mesh key. The central bridge keeps its configured node key. */
export function meshKeyPath(config: Config, member: MeshMember): string {
  if (member === "bridge") {
    return config.bridge.nodeKeyFile !== "" ? config.bridge.nodeKeyFile : `${config.dataDir}/bridge/node.key`;
  }
  return `${config.dataDir}/mesh/${member}.key`;
}

function parseSeed(text: string, path: string): Uint8Array {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError(`Cannot read mesh key ${path}: expected 64 hex characters`);
  }
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/**
 * Reads every member's key, creating missing ones (0600, written atomically). Adapter: needs read/write of
 * `<data_dir>/mesh` and the bridge's key file. An inline `bridge.node_key` wins over the file.
 */
export async function loadMeshKeys(config: Config): Promise<Record<MeshMember, MeshKey>> {
  const out = {} as Record<MeshMember, MeshKey>;
  for (const member of MESH_MEMBERS) {
    let seed: Uint8Array;
    const path = meshKeyPath(config, member);
    if (member === "bridge" && config.bridge.nodeKey !== "") {
      seed = parseSeed(config.bridge.nodeKey, "bridge.node_key");
    } else {
      let text: string | undefined;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if (text !== undefined) {
        seed = parseSeed(text, path);
      } else {
        seed = crypto.getRandomValues(new Uint8Array(32));
        const dir = path.slice(0, Math.max(0, path.lastIndexOf("/")));
        if (dir !== "") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFileAtomic(path, new TextEncoder().encode(toHex(seed) + "\n"), { mode: 0o600 });
      }
    }
    const identity = await identityFromSeed(seed);
    out[member] = { seed: toHex(seed), publicKey: toHex(identity.publicKey) };
    seed.fill(0);
  }
  return out;
}
