// Private test helpers: a dev PKI, bridges on loopback wired as peers, a sleep.

import { type DevPki, ensureDevPki } from "../transport/mod.ts";
import { GhostBridge, type GhostBridgeOptions } from "./ghost_bridge.ts";
import { generateIdentity, type NodeIdentity, toHex } from "./node_identity.ts";

/** A dev PKI in a temp dir. */
export async function testPki(): Promise<DevPki & { cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "bridge_test_" });
  const pki = await ensureDevPki({ dir });
  return { ...pki, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** Options for a loopback bridge trusting `pki`. */
export function bridgeOptions(
  pki: DevPki,
  identity: NodeIdentity,
  extra: Partial<GhostBridgeOptions> = {},
): GhostBridgeOptions {
  return { identity, cert: pki.certPem, key: pki.keyPem, caCerts: [pki.caPem], allowList: [], ...extra };
}

/** Server bridges `servers` (allowing `client`'s key) and a client bridge peering with all of them. */
export async function bridgeMesh(
  pki: DevPki,
  servers: number,
  extra: Partial<GhostBridgeOptions> = {},
): Promise<{
  client: GhostBridge;
  servers: GhostBridge[];
  close(): Promise<void>;
}> {
  const clientId = await generateIdentity();
  const list: GhostBridge[] = [];
  for (let i = 0; i < servers; i++) {
    list.push(
      new GhostBridge(bridgeOptions(pki, await generateIdentity(), {
        allowList: [toHex(clientId.publicKey)],
        serverLimits: { drainTimeoutMs: 300 },
      })),
    );
  }
  const client = new GhostBridge(bridgeOptions(pki, clientId, {
    peers: list.map((b) => ({ hostname: "127.0.0.1", port: b.addr.port, serverName: "localhost" })),
    healthIntervalMs: 60_000,
    connectTimeoutMs: 500,
    ...extra,
  }));
  return {
    client,
    servers: list,
    close: async () => {
      await client.close();
      await Promise.all(list.map((b) => b.close()));
    },
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** String of bytes. */
export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
