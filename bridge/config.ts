/**
 * The bridge's configuration: {@linkcode BridgeConfig}, its defaults, and {@linkcode parseBridgeConfig}, which
 * turns the `[bridge]` table (snake_case keys as in the TOML file, or the camelCase the supervisor's typed config
 * uses; host:port strings or `{hostname, port}`) into a typed, frozen value or throws a TypeError naming the
 * key, the value and what is allowed.
 *
 * @module
 */

import { fromHex } from "./node_identity.ts";

/** A host and port. */
export interface HostPort {
  readonly hostname: string;
  readonly port: number;
}

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

/** Defaults of {@linkcode BridgeConfig}. */
export const DEFAULT_BRIDGE_CONFIG: BridgeConfig = Object.freeze({
  listen: { hostname: "127.0.0.1", port: 4450 },
  grpcListen: { hostname: "127.0.0.1", port: 50051 },
  grpcEnabled: true,
  nodeKeyFile: "",
  nodeKey: "",
  allowList: [],
  peers: [],
  upstreams: [],
  idempotentMethods: [],
  healthIntervalMs: 5000,
  healthTimeoutMs: 2000,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  balancer: "least_outstanding",
  maxAttempts: 3,
  maxMessageBytes: 4 * 1024 * 1024,
  maxConnections: 10_000,
  maxStreamsPerConnection: 2048,
  idleTimeoutMs: 30_000,
  connectTimeoutMs: 2000,
});

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

function fail(key: string, value: unknown, allowed: string): never {
  throw new TypeError(
    `Invalid config bridge.${snake(key)}: got ${JSON.stringify(value)}, expected ${allowed}`,
  );
}

function hostPort(key: string, v: unknown): HostPort {
  if (typeof v === "object" && v !== null && "hostname" in v && "port" in v) {
    const { hostname, port } = v as { hostname: unknown; port: unknown };
    if (
      typeof hostname === "string" && typeof port === "number" && Number.isInteger(port) && port >= 0 &&
      port <= 65535
    ) {
      return { hostname, port };
    }
  }
  if (typeof v === "string") {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v.trim());
    const port = Number(m?.[3]);
    const hostname = m?.[1] ?? m?.[2];
    if (m && hostname && port <= 65535) return { hostname, port };
  }
  return fail(key, v, "host:port or [ipv6]:port");
}

function int(key: string, v: unknown, min: number, max: number): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  return fail(key, v, `an integer from ${min} to ${max}`);
}

function strings(key: string, v: unknown): string[] {
  if (Array.isArray(v) && v.every((s) => typeof s === "string")) return [...v];
  return fail(key, v, "a list of strings");
}

function publicKeyHex(key: string, v: string): string {
  const b = fromHex(v);
  if (!b || b.length !== 32) fail(key, v, "a 32-byte Ed25519 public key as 64 hex characters");
  return v.toLowerCase();
}

/** Parses `[<pubkey-hex>@]host:port[#server-name]`. */
function peer(key: string, v: unknown): PeerConfig {
  if (typeof v !== "string") return fail(key, v, "a peer as [pubkey@]host:port[#server-name]");
  const m = /^(?:([0-9a-fA-F]{64})@)?([^#@]+?)(?:#([A-Za-z0-9.-]+))?$/.exec(v.trim());
  if (!m) return fail(key, v, "a peer as [pubkey@]host:port[#server-name]");
  const hp = hostPort(key, m[2]);
  return {
    ...hp,
    ...(m[1] ? { publicKey: publicKeyHex(key, m[1]) } : {}),
    ...(m[3] ? { serverName: m[3] } : {}),
  };
}

function upstream(key: string, v: unknown): UpstreamConfig {
  const m = typeof v === "string" ? /^([A-Za-z0-9_.]+)=(https?:\/\/[^/\s]+)$/.exec(v.trim()) : null;
  if (!m || !m[1] || !m[2]) return fail(key, v, "service=http://host:port");
  return { service: m[1], endpoint: m[2] };
}

/** Parses the `[bridge]` table; missing keys take {@linkcode DEFAULT_BRIDGE_CONFIG}; unknown keys are refused. */
export function parseBridgeConfig(raw: unknown): BridgeConfig {
  if (raw === undefined || raw === null) return DEFAULT_BRIDGE_CONFIG;
  if (typeof raw !== "object" || Array.isArray(raw)) fail("", raw, "a [bridge] table");
  const src = raw as Record<string, unknown>;
  const known = Object.keys(DEFAULT_BRIDGE_CONFIG);
  for (const k of Object.keys(src)) {
    const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!known.includes(camel)) {
      throw new TypeError(
        `Invalid config bridge.${k}: unknown key; [bridge] accepts ${known.map(snake).join(", ")}`,
      );
    }
  }
  const get = (k: keyof BridgeConfig): unknown => src[k] ?? src[snake(k)];
  const d = DEFAULT_BRIDGE_CONFIG;
  const val = <T>(k: keyof BridgeConfig, parse: (v: unknown) => T, def: T): T => {
    const v = get(k);
    return v === undefined ? def : parse(v);
  };
  const nodeKey = val("nodeKey", (v) => {
    if (typeof v !== "string" || (v !== "" && fromHex(v)?.length !== 32)) {
      fail("nodeKey", "<redacted>", '64 hex characters or ""');
    }
    return v;
  }, d.nodeKey);
  const balancer = val("balancer", (v) => {
    if (v !== "round_robin" && v !== "least_outstanding") {
      fail("balancer", v, "round_robin or least_outstanding");
    }
    return v;
  }, d.balancer);
  return Object.freeze({
    listen: val("listen", (v) => hostPort("listen", v), d.listen),
    grpcListen: val("grpcListen", (v) => hostPort("grpcListen", v), d.grpcListen),
    grpcEnabled: val(
      "grpcEnabled",
      (v) => (typeof v === "boolean" ? v : fail("grpcEnabled", v, "true or false")),
      d.grpcEnabled,
    ),
    nodeKeyFile: val(
      "nodeKeyFile",
      (v) => (typeof v === "string" ? v : fail("nodeKeyFile", v, "a path")),
      d.nodeKeyFile,
    ),
    nodeKey,
    allowList: val(
      "allowList",
      (v) => strings("allowList", v).map((k) => publicKeyHex("allowList", k)),
      d.allowList,
    ),
    peers: val("peers", (v) => strings("peers", v).map((p) => peer("peers", p)), d.peers),
    upstreams: val(
      "upstreams",
      (v) => strings("upstreams", v).map((u) => upstream("upstreams", u)),
      d.upstreams,
    ),
    idempotentMethods: val("idempotentMethods", (v) => strings("idempotentMethods", v), d.idempotentMethods),
    healthIntervalMs: val(
      "healthIntervalMs",
      (v) => int("healthIntervalMs", v, 100, 3_600_000),
      d.healthIntervalMs,
    ),
    healthTimeoutMs: val("healthTimeoutMs", (v) => int("healthTimeoutMs", v, 50, 600_000), d.healthTimeoutMs),
    unhealthyThreshold: val(
      "unhealthyThreshold",
      (v) => int("unhealthyThreshold", v, 1, 100),
      d.unhealthyThreshold,
    ),
    healthyThreshold: val("healthyThreshold", (v) => int("healthyThreshold", v, 1, 100), d.healthyThreshold),
    balancer,
    maxAttempts: val("maxAttempts", (v) => int("maxAttempts", v, 1, 10), d.maxAttempts),
    maxMessageBytes: val(
      "maxMessageBytes",
      (v) => int("maxMessageBytes", v, 1024, 64 * 1024 * 1024),
      d.maxMessageBytes,
    ),
    maxConnections: val("maxConnections", (v) => int("maxConnections", v, 1, 1_000_000), d.maxConnections),
    maxStreamsPerConnection: val(
      "maxStreamsPerConnection",
      (v) => int("maxStreamsPerConnection", v, 1, 100_000),
      d.maxStreamsPerConnection,
    ),
    idleTimeoutMs: val("idleTimeoutMs", (v) => int("idleTimeoutMs", v, 1000, 86_400_000), d.idleTimeoutMs),
    connectTimeoutMs: val(
      "connectTimeoutMs",
      (v) => int("connectTimeoutMs", v, 100, 600_000),
      d.connectTimeoutMs,
    ),
  });
}

/** The bridge worker's `net` permission entries: its listeners, peer bridges and gRPC upstreams. */
export function bridgeNetPermissions(config: BridgeConfig): string[] {
  const fmt = (
    hp: HostPort,
  ): string => (hp.hostname.includes(":") ? `[${hp.hostname}]:${hp.port}` : `${hp.hostname}:${hp.port}`);
  const out = new Set<string>([fmt(config.listen)]);
  if (config.grpcEnabled) out.add(fmt(config.grpcListen));
  for (const p of config.peers) out.add(fmt(p));
  for (const u of config.upstreams) out.add(new URL(u.endpoint).host);
  return [...out];
}
