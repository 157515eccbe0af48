/**
 * The chain service's configuration: {@linkcode ChainConfig}, {@linkcode DEFAULT_CHAIN_CONFIG} and
 * {@linkcode parseChainConfig}, which turns the `[chain]` table (snake_case keys as in TOML, or camelCase)
 * into a typed, frozen value or throws a TypeError naming the key, the value and what is allowed.
 *
 * @module
 */

/** A host and port. */
export interface ChainHostPort {
  readonly hostname: string;
  readonly port: number;
}

/** The chain service's configuration. */
export interface ChainConfig {
  /** QUIC listen address of `ghostchain-sync/1`. */
  readonly listen: ChainHostPort;
  /** `validator` produces blocks when it is the proposer; `follower` only follows `peers`. */
  readonly role: "validator" | "follower";
  /** Peers to follow (`host:port` of their `ghostchain-sync/1` listener). */
  readonly peers: readonly ChainHostPort[];
  /** TLS server name to verify peers against. */
  readonly peerServerName: string;
  /** Genesis file; "" = `<data dir>/genesis.json` (a devnet genesis is written there on first start). */
  readonly genesisFile: string;
  /** Write a devnet genesis (this node's key as the validator, a funded dev account) when none exists. */
  readonly devnet: boolean;
  /** Node key file (64 hex chars); "" = `<data dir>/node.key`, created on first start. */
  readonly nodeKeyFile: string;
  /** Time between block production attempts. */
  readonly blockIntervalMs: number;
  /** Produce blocks even when the mempool is empty. */
  readonly produceEmptyBlocks: boolean;
  readonly mempoolMaxCount: number;
  readonly mempoolMaxBytes: number;
  /** Concurrent sync/query connections. */
  readonly maxConnections: number;
}

/** Defaults of {@linkcode ChainConfig}. */
export const DEFAULT_CHAIN_CONFIG: ChainConfig = Object.freeze({
  listen: { hostname: "127.0.0.1", port: 4460 },
  role: "validator",
  peers: [],
  peerServerName: "localhost",
  genesisFile: "",
  devnet: true,
  nodeKeyFile: "",
  blockIntervalMs: 200,
  produceEmptyBlocks: false,
  mempoolMaxCount: 50_000,
  mempoolMaxBytes: 64 << 20,
  maxConnections: 1_000,
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bad(key: string, value: unknown, allowed: string): TypeError {
  return new TypeError(`Invalid config chain.${key}: ${JSON.stringify(value)}; ${allowed}`);
}

/** Parses `host:port`, `[v6]:port` or `{hostname, port}`. */
export function parseChainHostPort(v: unknown, key: string): ChainHostPort {
  if (isRecord(v) && typeof v.hostname === "string" && typeof v.port === "number") {
    if (!Number.isInteger(v.port) || v.port < 0 || v.port > 65535) throw bad(key, v, "port must be 0..65535");
    return { hostname: v.hostname, port: v.port };
  }
  if (typeof v === "string") {
    const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[3]) : -1;
    if (m !== null && port <= 65535) return { hostname: (m[1] ?? m[2]) as string, port };
  }
  throw bad(key, v, "expected host:port or [ipv6]:port");
}

/** Formats a host and port. */
export function formatChainHostPort(hp: ChainHostPort): string {
  return hp.hostname.includes(":") ? `[${hp.hostname}]:${hp.port}` : `${hp.hostname}:${hp.port}`;
}

/** Parses the `[chain]` table. Unknown keys are refused. */
export function parseChainConfig(raw: unknown = {}): ChainConfig {
  if (!isRecord(raw)) throw bad("", raw, "expected a table");
  const d = DEFAULT_CHAIN_CONFIG;
  const norm = new Map<string, unknown>();
  for (const [k, v] of Object.entries(raw)) {
    norm.set(k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v);
  }
  for (const k of norm.keys()) {
    if (!(k in d)) throw bad(k, norm.get(k), `unknown key; known: ${Object.keys(d).join(", ")}`);
  }
  const get = <T>(k: keyof ChainConfig, check: (v: unknown) => v is T, allowed: string): T => {
    const v = norm.has(k) ? norm.get(k) : d[k];
    if (!check(v)) throw bad(k, v, allowed);
    return v;
  };
  const int = (k: keyof ChainConfig, min: number, max: number): number =>
    get(
      k,
      (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max,
      `an integer in ${min}..${max}`,
    );
  const str = (k: keyof ChainConfig): string => get(k, (v): v is string => typeof v === "string", "a string");
  const bool = (k: keyof ChainConfig): boolean =>
    get(k, (v): v is boolean => typeof v === "boolean", "true or false");
  const role = get(
    "role",
    (v): v is "validator" | "follower" => v === "validator" || v === "follower",
    "validator or follower",
  );
  const peersRaw = norm.has("peers") ? norm.get("peers") : d.peers;
  const peerList = typeof peersRaw === "string"
    ? peersRaw.split(",").map((s) => s.trim()).filter((s) => s !== "")
    : peersRaw;
  if (!Array.isArray(peerList)) throw bad("peers", peersRaw, "a list of host:port");
  return Object.freeze({
    listen: parseChainHostPort(norm.has("listen") ? norm.get("listen") : d.listen, "listen"),
    role,
    peers: Object.freeze(peerList.map((p, i) => parseChainHostPort(p, `peers[${i}]`))),
    peerServerName: str("peerServerName"),
    genesisFile: str("genesisFile"),
    devnet: bool("devnet"),
    nodeKeyFile: str("nodeKeyFile"),
    blockIntervalMs: int("blockIntervalMs", 1, 600_000),
    produceEmptyBlocks: bool("produceEmptyBlocks"),
    mempoolMaxCount: int("mempoolMaxCount", 1, 10_000_000),
    mempoolMaxBytes: int("mempoolMaxBytes", 1024, 2 ** 32),
    maxConnections: int("maxConnections", 1, 1_000_000),
  });
}

/** Whether `v` is an already parsed config. */
export function isChainConfig(v: unknown): v is ChainConfig {
  return isRecord(v) && isRecord(v.listen) && Array.isArray(v.peers) && typeof v.blockIntervalMs === "number";
}

/** The `net` permissions the chain worker needs: its listen address and its peers. */
export function chainNetPermissions(config: ChainConfig): string[] {
  return [...new Set([formatChainHostPort(config.listen), ...config.peers.map(formatChainHostPort)])];
}
