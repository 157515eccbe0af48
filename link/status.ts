/**
 * What the `link` service and its command line share: where the identity key lives (made once, mode 0600,
 * written atomically), the members a `.ghost` name's TXT records list, and the status file the worker
 * writes every 2 s and `mod.ts link status` reads.
 *
 * @module
 */
import { fromHex, loadOrCreateSeed } from "../core/mod.ts";
import type { LinkConfig } from "./config.ts";

/** `<data_dir>/link/status.json`: what the running node reports. */
export interface LinkStatus {
  /** When it was written (ISO 8601); older than {@linkcode STATUS_STALE_MS} means the node is gone. */
  readonly updated: string;
  readonly pid: number;
  /** Identity key (hex) and its peer id (`ghost1...`). */
  readonly key: string;
  readonly peer_id: string;
  readonly listen: string;
  readonly rendezvous: { joined: boolean; observed: string; reachable?: boolean } | null;
  /** As a rendezvous and relay for others. */
  readonly serving: { members: number; relayed_links: number };
  /** The DHT: servers this node knows, records it keeps for others. */
  readonly dht: { contacts: number; records: number };
  readonly mesh: {
    name: string;
    interface: string;
    address: string;
    members: { key: string; address: string; path: string; remote: string; rekeys: number }[];
    packets: { out: number; in: number; no_route: number; spoofed: number };
    upgrades: number;
  } | null;
}

/** A status older than this is from a node that stopped without cleaning up. */
export const STATUS_STALE_MS = 10_000;

/** The identity key's file: `link.key_file`, or `<data dir of link>/node.key`. */
export function linkKeyPath(config: Pick<LinkConfig, "keyFile">, serviceDataDir: string): string {
  return config.keyFile !== "" ? config.keyFile : `${serviceDataDir}/node.key`;
}

/** Reads the identity seed (64 hex), making one first if the file does not exist (mode 0600). */
export function loadOrCreateLinkKey(path: string): Promise<Uint8Array> {
  return loadOrCreateSeed(path, "link key");
}

/** Member keys from TXT records `ghostlink=KEYHEX` (other records and bad keys are skipped; at most 4,096). */
export function membersFromTxt(txt: readonly string[]): Uint8Array[] {
  const out = new Map<string, Uint8Array>();
  for (const t of txt) {
    const m = /^ghostlink=([0-9a-fA-F]{64})$/.exec(t.trim());
    if (m?.[1] === undefined) continue;
    const hex = m[1].toLowerCase();
    if (!out.has(hex) && out.size < 4096) out.set(hex, fromHex(hex));
  }
  return [...out.values()];
}
