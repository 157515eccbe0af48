/**
 * The `[bridge]` section: {@linkcode BRIDGE_CONFIG} (the schema, with defaults, env names and help),
 * {@linkcode BridgeConfig} (the typed value) and {@linkcode parseBridgeConfig} for a raw table. Errors are
 * `ConfigError`s carrying the key, the value's origin and what is allowed.
 *
 * @module
 */

import {
  bool,
  type ConfigSection,
  custom,
  defineSection,
  formatHostPort,
  type HostPort,
  hostPort,
  int,
  INVALID,
  listOf,
  oneOf,
  parseHostPort,
  string,
  strings,
  tryFromHex,
} from "../core/mod.ts";

export type { HostPort };

/** A configured peer bridge. */
export interface PeerConfig extends HostPort {
  /** Its Ed25519 public key (hex), when pinned. */
  readonly publicKey?: string;
  /** TLS server name. Defaults to `hostname`. */
  readonly serverName?: string;
}

/** A gRPC upstream served by this bridge. */
export interface UpstreamConfig {
  readonly service: string;
  /** `http://host:port`. */
  readonly endpoint: string;
}

/** The bridge service's configuration. */
export interface BridgeConfig {
  /** QUIC listen address (ALPN ghostbridge/1). */
  readonly listen: HostPort;
  /** Local gRPC ingress (HTTP/2 h2c); port 0 picks one. `enabled = false` turns it off. */
  readonly grpcListen: HostPort;
  readonly grpcEnabled: boolean;
  /** Node key file (64 hex chars); "" = `<data dir>/node.key`, created on first start. */
  readonly nodeKeyFile: string;
  /** Node key seed as 64 hex characters; when set, the file is not used. */
  readonly nodeKey: string;
  /** Ed25519 public keys (hex) allowed to register and call. */
  readonly allowList: readonly string[];
  /** Peer bridges. */
  readonly peers: readonly PeerConfig[];
  /** gRPC upstreams this bridge serves. */
  readonly upstreams: readonly UpstreamConfig[];
  /** Method paths (or `/pkg.Service/*`) treated as idempotent for failover. */
  readonly idempotentMethods: readonly string[];
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly balancer: "round_robin" | "least_outstanding";
  readonly maxAttempts: number;
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly maxStreamsPerConnection: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

const PEER_TEXT = "a peer as [pubkey@]host:port[#server-name]";

function publicKeyHex(v: unknown): string | typeof INVALID {
  if (typeof v !== "string" || tryFromHex(v)?.length !== 32) return INVALID;
  return v.toLowerCase();
}

/** `[<pubkey-hex>@]host:port[#server-name]`. */
function parsePeer(v: unknown): PeerConfig | typeof INVALID {
  if (typeof v !== "string") return INVALID;
  const m = /^(?:([0-9a-fA-F]{64})@)?([^#@]+?)(?:#([A-Za-z0-9.-]+))?$/.exec(v.trim());
  const hp = m?.[2] !== undefined ? parseHostPort(m[2]) : undefined;
  if (!m || hp === undefined) return INVALID;
  return {
    ...hp,
    ...(m[1] ? { publicKey: m[1].toLowerCase() } : {}),
    ...(m[3] ? { serverName: m[3] } : {}),
  };
}

function formatPeer(p: PeerConfig): string {
  return `${p.publicKey !== undefined ? `${p.publicKey}@` : ""}${formatHostPort(p)}${
    p.serverName !== undefined ? `#${p.serverName}` : ""
  }`;
}

function parseUpstream(v: unknown): UpstreamConfig | typeof INVALID {
  const m = typeof v === "string" ? /^([A-Za-z0-9_.]+)=(https?:\/\/[^/\s]+)$/.exec(v.trim()) : null;
  if (!m || !m[1] || !m[2]) return INVALID;
  return { service: m[1], endpoint: m[2] };
}

/** The `[bridge]` schema: every key with its kind, default and meaning. */
export const BRIDGE_CONFIG: ConfigSection<BridgeConfig> = defineSection("bridge", {
  listen: { kind: hostPort(), default: "127.0.0.1:4450", help: "QUIC listen address (ALPN ghostbridge/1)" },
  grpc_listen: {
    kind: hostPort(),
    default: "127.0.0.1:50051",
    help: "local gRPC ingress (h2c); port 0 picks one",
  },
  grpc_enabled: { kind: bool(), default: true, help: "run the gRPC ingress" },
  node_key_file: { kind: string(), default: "", help: 'node key file (64 hex); "" = <data dir>/node.key' },
  node_key: {
    kind: custom(
      '64 hex characters or ""',
      (v) => (v === "" || (typeof v === "string" && tryFromHex(v)?.length === 32) ? v as string : INVALID),
    ),
    default: "",
    help: "node key seed inline (wins over the file)",
    secret: true,
  },
  allow_list: {
    kind: listOf(
      custom("a 32-byte Ed25519 public key as 64 hex characters", publicKeyHex),
      "a list of 32-byte Ed25519 public keys as 64 hex characters",
    ),
    default: [],
    help: "public keys allowed to register and call",
  },
  peers: {
    kind: listOf(custom(PEER_TEXT, parsePeer, formatPeer), `a list of ${PEER_TEXT}s`),
    default: [],
    help: "peer bridges",
  },
  upstreams: {
    kind: listOf(
      custom("service=http://host:port", parseUpstream, (u) => `${u.service}=${u.endpoint}`),
      "a list of service=http://host:port",
    ),
    default: [],
    help: "gRPC upstreams this bridge serves",
  },
  idempotent_methods: {
    kind: strings(),
    default: [],
    help: "methods (or /pkg.Service/*) safe to retry on failover",
  },
  health_interval_ms: { kind: int(100, 3_600_000), default: 5000, help: "health check interval" },
  health_timeout_ms: { kind: int(50, 600_000), default: 2000, help: "health check timeout" },
  unhealthy_threshold: { kind: int(1, 100), default: 2, help: "failed checks before unhealthy" },
  healthy_threshold: { kind: int(1, 100), default: 1, help: "passed checks before healthy again" },
  balancer: {
    kind: oneOf(["round_robin", "least_outstanding"] as const),
    default: "least_outstanding",
    help: "load balancing",
  },
  max_attempts: { kind: int(1, 10), default: 3, help: "attempts of an idempotent call" },
  max_message_bytes: {
    kind: int(1024, 64 * 1024 * 1024),
    default: 4 * 1024 * 1024,
    help: "largest gRPC message",
  },
  max_connections: { kind: int(1, 1_000_000), default: 10_000, help: "concurrent QUIC connections" },
  max_streams_per_connection: {
    kind: int(1, 100_000),
    default: 2048,
    help: "concurrent streams per connection",
  },
  idle_timeout_ms: { kind: int(1000, 86_400_000), default: 30_000, help: "QUIC idle timeout" },
  connect_timeout_ms: { kind: int(100, 600_000), default: 2000, help: "dial timeout" },
});

/** Defaults of {@linkcode BridgeConfig}. */
export const DEFAULT_BRIDGE_CONFIG: BridgeConfig = BRIDGE_CONFIG.parse();

/** Parses a raw `[bridge]` table (snake_case keys as in TOML); missing keys take defaults. */
export function parseBridgeConfig(table: Readonly<Record<string, unknown>> = {}): BridgeConfig {
  return BRIDGE_CONFIG.parse({ file: { path: "[bridge]", table } });
}

/** The bridge worker's `net` permission entries: its listeners, peer bridges and gRPC upstreams. */
export function bridgeNetPermissions(config: BridgeConfig): string[] {
  const out = new Set<string>([formatHostPort(config.listen)]);
  if (config.grpcEnabled) out.add(formatHostPort(config.grpcListen));
  for (const p of config.peers) out.add(formatHostPort(p));
  for (const u of config.upstreams) out.add(new URL(u.endpoint).host);
  return [...out];
}
