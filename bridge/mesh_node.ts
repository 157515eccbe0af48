/**
 * A service's own GhostBridge node in the service mesh: it serves the service's in-process handlers to the
 * peers allowed to call it, and calls the services it needs through their nodes, over QUIC. Every call between
 * two services (wallet -> chain, cns -> chain, ingress -> either) therefore crosses two bridges as GhostBridge
 * frames, exactly like a call between two machines.
 *
 * @module
 */
import type { MetricsRegistry } from "../core/mod.ts";
import { GhostBridge } from "./ghost_bridge.ts";
import type { ServiceHandlers } from "./handlers.ts";
import { fromHex, identityFromSeed } from "./node_identity.ts";

/** One node this service calls, pinned to its key. */
export interface MeshNodePeer {
  readonly hostname: string;
  readonly port: number;
  /** Hex Ed25519 public key the peer must prove on the connection. */
  readonly publicKey: string;
}

/** Options of {@linkcode startMeshNode}; the supervisor's mesh assignment has this shape. */
export interface MeshNodeOptions {
  /** Hex Ed25519 seed of the node key. */
  readonly seed: string;
  /** Listen address. */
  readonly listen: { readonly hostname: string; readonly port: number };
  /** Nodes this service calls. */
  readonly peers: readonly MeshNodePeer[];
  /** Hex public keys allowed to call this node. */
  readonly allowList: readonly string[];
  /** TLS of the listener and the CA that peers' certificates chain to. */
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
  /** Services this node serves, by fully qualified name. */
  readonly services?: Readonly<Record<string, ServiceHandlers>>;
  /** Milliseconds between peer discovery rounds. Default 2,000 (services find each other quickly). */
  readonly discoveryIntervalMs?: number;
  /** Largest message in either direction. Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** Transport and bridge metrics. */
  readonly metrics?: MetricsRegistry;
  /** Structured events (auth refusals, health changes) for logs. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * Starts the node: listens, registers `services`, and begins discovering what its peers serve.
 *
 * @example
 * ```ts ignore
 * const node = await startMeshNode({ ...ctx.mesh, tls: ctx.tls, services: { [CHAIN_SERVICE_NAME]: handlers } });
 * const status = await node.unary(CHAIN_SERVICE_NAME, "GetStatus", new Uint8Array(0), { timeoutMs: 5_000 });
 * ```
 */
export async function startMeshNode(opts: MeshNodeOptions): Promise<GhostBridge> {
  const seed = fromHex(opts.seed);
  if (seed === undefined || seed.length !== 32) {
    throw new TypeError("Cannot start mesh node: the seed is not 64 hex characters");
  }
  const identity = await identityFromSeed(seed);
  seed.fill(0);
  const bridge = new GhostBridge({
    identity,
    cert: opts.tls.certPem,
    key: opts.tls.keyPem,
    caCerts: [opts.tls.caPem],
    hostname: opts.listen.hostname,
    port: opts.listen.port,
    allowList: opts.allowList,
    peers: opts.peers.map((p) => {
      const key = fromHex(p.publicKey);
      if (key === undefined || key.length !== 32) {
        throw new TypeError(`Cannot pin mesh peer ${p.hostname}:${p.port}: the key is not 64 hex characters`);
      }
      return { hostname: p.hostname, port: p.port, publicKey: key };
    }),
    healthIntervalMs: opts.discoveryIntervalMs ?? 2_000,
    ...(opts.maxMessageBytes !== undefined ? { limits: { maxMessageBytes: opts.maxMessageBytes } } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
  for (const [name, handlers] of Object.entries(opts.services ?? {})) bridge.register(name, handlers);
  void bridge.startHealthChecks();
  return bridge;
}
