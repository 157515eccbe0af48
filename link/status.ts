/**
 * What the `link` service and its command line share: where the identity key lives (made once, mode 0600,
 * written atomically), the members a `.ghost` name's TXT records list, and the status file the worker
 * writes every 2 s and `mod.ts link status` reads.
 *
 * @module
 */
import { fromHex, toHex, writeFileAtomic } from "../core/mod.ts";
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

/** Reads the identity seed (64 hex), making one first if the file does not exist. */
export async function loadOrCreateLinkKey(path: string): Promise<Uint8Array> {
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== undefined) {
    const t = text.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(t)) throw new Error(`${path} is not a link key (64 hex characters)`);
    return fromHex(t.toLowerCase());
  }
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const dir = path.slice(0, Math.max(0, path.lastIndexOf("/")));
  if (dir !== "") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, toHex(seed) + "\n", { mode: 0o600 });
  return seed;
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
