/**
 * The `[chain]` section: {@linkcode CHAIN_CONFIG} (schema with defaults, env names and help),
 * {@linkcode ChainConfig} (the typed value) and {@linkcode parseChainConfig} for a raw table (snake_case keys as
 * in TOML; camelCase is accepted from programs). Errors are `ConfigError`s carrying the key as data.
 *
 * @module
 */
import {
  bool,
  type ConfigSection,
  defineSection,
  formatHostPort,
  type HostPort,
  hostPort,
  hostPorts,
  int,
  oneOf,
  parseHostPort,
  string,
} from "../core/mod.ts";

/** A host and port. */
export type ChainHostPort = HostPort;

/** The chain service's configuration. */
export interface ChainConfig {
  /** QUIC listen address of `ghostchain-sync/1`. */
  readonly listen: ChainHostPort;
  /** `validator` takes part in consensus with `peers`; `follower` only follows `peers`. */
  readonly role: "validator" | "follower";
  /** A validator's consensus peers, or the nodes a follower follows (`host:port` of their QUIC listener). */
  readonly peers: readonly ChainHostPort[];
  /** TLS server name to verify peers against. */
  readonly peerServerName: string;
  /** Genesis file; "" = `<data dir>/genesis.json` (a devnet genesis is written there on first start). */
  readonly genesisFile: string;
  /** Write a devnet genesis (this node's key as the validator, a funded dev account) when none exists. */
  readonly devnet: boolean;
  /** Node key file (64 hex chars); "" = `<data dir>/node.key`, created on first start. */
  readonly nodeKeyFile: string;
  /** Time after a commit before the next height starts (CometBFT's timeout_commit). */
  readonly blockIntervalMs: number;
  /** Produce blocks even when the mempool is empty (every `emptyBlockIntervalMs`). */
  readonly produceEmptyBlocks: boolean;
  /** With no transactions, time between empty blocks. */
  readonly emptyBlockIntervalMs: number;
  /** Consensus round timeouts: base and growth per round. */
  readonly timeoutProposeMs: number;
  readonly timeoutProposeDeltaMs: number;
  readonly timeoutVoteMs: number;
  readonly timeoutVoteDeltaMs: number;
  /** How often a validator sends its status and current votes again. */
  readonly gossipIntervalMs: number;
  readonly mempoolMaxCount: number;
  readonly mempoolMaxBytes: number;
  /** Concurrent sync/query connections. */
  readonly maxConnections: number;
}

/** The `[chain]` schema. */
export const CHAIN_CONFIG: ConfigSection<ChainConfig> = defineSection("chain", {
  listen: { kind: hostPort(), default: "127.0.0.1:4460", help: "QUIC listen address of ghostchain-sync/1" },
  role: {
    kind: oneOf(["validator", "follower"] as const),
    default: "validator",
    help: "validator or follower",
  },
  peers: {
    kind: hostPorts(),
    default: [],
    help: "a validator's consensus peers, or the nodes a follower follows (their QUIC listeners)",
  },
  peer_server_name: {
    kind: string({ allowEmpty: false }),
    default: "localhost",
    help: "TLS name peers are verified against",
  },
  genesis_file: { kind: string(), default: "", help: 'genesis file; "" = <data dir>/genesis.json' },
  devnet: { kind: bool(), default: true, help: "write a devnet genesis when none exists" },
  node_key_file: { kind: string(), default: "", help: 'node key file; "" = <data dir>/node.key' },
  block_interval_ms: {
    kind: int(0, 600_000),
    default: 200,
    help: "time after a commit before the next height starts",
  },
  produce_empty_blocks: { kind: bool(), default: true, help: "produce blocks with an empty mempool" },
  empty_block_interval_ms: {
    kind: int(1, 3_600_000),
    default: 1000,
    help: "with no transactions, time between empty blocks",
  },
  timeout_propose_ms: { kind: int(1, 600_000), default: 1000, help: "wait for a proposal in round 0" },
  timeout_propose_delta_ms: {
    kind: int(0, 600_000),
    default: 500,
    help: "added per round to the propose wait",
  },
  timeout_vote_ms: {
    kind: int(1, 600_000),
    default: 500,
    help: "wait for more votes once 2/3 have voted, round 0",
  },
  timeout_vote_delta_ms: { kind: int(0, 600_000), default: 250, help: "added per round to the vote wait" },
  gossip_interval_ms: {
    kind: int(10, 60_000),
    default: 200,
    help: "how often a validator sends its status and current votes again",
  },
  mempool_max_count: { kind: int(1, 10_000_000), default: 50_000, help: "transactions in the mempool" },
  mempool_max_bytes: { kind: int(1024, 2 ** 32), default: 64 << 20, help: "bytes in the mempool" },
  max_connections: { kind: int(1, 1_000_000), default: 1_000, help: "concurrent sync/query connections" },
});

/** Defaults of {@linkcode ChainConfig}. */
export const DEFAULT_CHAIN_CONFIG: ChainConfig = CHAIN_CONFIG.parse();

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** Parses a raw `[chain]` table; missing keys take defaults, unknown keys are refused. */
export function parseChainConfig(raw: Readonly<Record<string, unknown>> = {}): ChainConfig {
  const table: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) table[snakeCase(k)] = v;
  return CHAIN_CONFIG.parse({ file: { path: "[chain]", table } });
}

/** Parses `host:port` or `[v6]:port` (a `--peer` flag); throws a TypeError naming `what`. */
export function parseChainHostPort(text: string, what: string): ChainHostPort {
  const hp = parseHostPort(text);
  if (hp === undefined) {
    throw new TypeError(`Invalid ${what}: ${JSON.stringify(text)}; expected host:port or [ipv6]:port`);
  }
  return hp;
}

/** Formats a host and port. */
export const formatChainHostPort: (hp: ChainHostPort) => string = formatHostPort;

/** The `net` permissions the chain worker needs: its listen address and its peers. */
export function chainNetPermissions(config: ChainConfig): string[] {
  return [...new Set([formatHostPort(config.listen), ...config.peers.map(formatHostPort)])];
}
