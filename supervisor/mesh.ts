/**
 * The service mesh: which service calls which (from each descriptor's mesh role), over GhostBridge.
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
import {
  loadOrCreateSeed,
  type MeshAssignment,
  type MeshPeer,
  parseSeedText,
  type ServiceDescriptor,
  toHex,
} from "../core/mod.ts";
import { identityFromSeed } from "../bridge/mod.ts";
import { type Config, formatHostPort, type HostPort } from "./config.ts";
import { SERVICES } from "./services.ts";

export type { MeshAssignment, MeshPeer };

/** A mesh key: the Ed25519 seed and its public key, both hex. */
export interface MeshKey {
  readonly seed: string;
  readonly publicKey: string;
}

/** The services that take part in the mesh: those whose descriptor has a mesh role. */
export function meshMembers(services: readonly ServiceDescriptor[] = SERVICES): ServiceDescriptor[] {
  return services.filter((s) => s.mesh !== undefined);
}

/** Whether a service name is a mesh member. */
export function isMeshMember(name: string, services: readonly ServiceDescriptor[] = SERVICES): boolean {
  return meshMembers(services).some((s) => s.name === name);
}

function member(name: string, services: readonly ServiceDescriptor[]): ServiceDescriptor {
  const m = meshMembers(services).find((s) => s.name === name);
  if (m === undefined) throw new RangeError(`Service ${name} is not a mesh member`);
  return m;
}

/** The QUIC address of a member's node: its own listener (the central bridge) or its `mesh.<name>` key. */
export function meshAddress(
  config: Config,
  name: string,
  services: readonly ServiceDescriptor[] = SERVICES,
): HostPort {
  const svc = member(name, services);
  const own = svc.mesh?.address?.(config.services[name]);
  if (own !== undefined) return own;
  const addr = config.mesh.addresses[name];
  if (addr === undefined) throw new RangeError(`No mesh address for service ${name}`);
  return addr;
}

/** Net permission entries a member's node needs: its own listener and every node it calls. */
export function meshNet(
  config: Config,
  name: string,
  services: readonly ServiceDescriptor[] = SERVICES,
): string[] {
  const calls = member(name, services).mesh?.calls ?? [];
  return [name, ...calls].map((m) => formatHostPort(meshAddress(config, m, services)));
}

/** Every member's assignment from the config and the members' keys. Pure. */
export function planMesh(
  config: Config,
  keys: Readonly<Record<string, MeshKey>>,
  services: readonly ServiceDescriptor[] = SERVICES,
): Record<string, MeshAssignment> {
  const members = meshMembers(services);
  const keyOf = (name: string): MeshKey => {
    const k = keys[name];
    if (k === undefined) throw new RangeError(`No mesh key for service ${name}`);
    return k;
  };
  // Records members ask the chain's devnet genesis to publish (cns's DNSSEC trust anchors).
  const anchors = members.flatMap((m) => m.mesh?.anchors?.(keyOf(m.name).seed) ?? []);
  const out: Record<string, MeshAssignment> = {};
  for (const m of members) {
    const callers = members.filter((c) => c.mesh?.calls.includes(m.name));
    out[m.name] = {
      seed: keyOf(m.name).seed,
      publicKey: keyOf(m.name).publicKey,
      listen: meshAddress(config, m.name, services),
      peers: (m.mesh?.calls ?? []).map((name) => {
        const addr = meshAddress(config, name, services);
        return { name, hostname: addr.hostname, port: addr.port, publicKey: keyOf(name).publicKey };
      }),
      allowList: callers.map((c) => keyOf(c.name).publicKey),
      callTimeoutMs: config.mesh.callTimeoutMs,
      ...(anchors.length > 0 ? { dnsAnchors: anchors } : {}),
    };
  }
  return out;
}

/** The file holding a member's mesh key: one its descriptor configures, else `<data_dir>/mesh/<name>.key`. */
export function meshKeyPath(
  config: Config,
  name: string,
  services: readonly ServiceDescriptor[] = SERVICES,
): string {
  const svc = member(name, services);
  return svc.mesh?.keyFile?.(config.services[name], `${config.dataDir}/${name}`) ??
    `${config.dataDir}/mesh/${name}.key`;
}

/**
 * Reads every member's key, creating missing ones (0600, written atomically). Adapter: needs read/write of
 * `<data_dir>/mesh` and the bridge's key file. A key given inline in a service's config (the bridge's `node_key`) wins over the file.
 */
export async function loadMeshKeys(
  config: Config,
  services: readonly ServiceDescriptor[] = SERVICES,
): Promise<Record<string, MeshKey>> {
  const out: Record<string, MeshKey> = {};
  for (const svc of meshMembers(services)) {
    const path = meshKeyPath(config, svc.name, services);
    const inline = svc.mesh?.inlineKey?.(config.services[svc.name]) ?? "";
    const seed = inline !== ""
      ? parseSeedText(inline, "mesh key", `${svc.name}.node_key`)
      : await loadOrCreateSeed(path, "mesh key");
    const identity = await identityFromSeed(seed);
    out[svc.name] = { seed: toHex(seed), publicKey: toHex(identity.publicKey) };
    seed.fill(0);
  }
  return out;
}
