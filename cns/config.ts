/**
 * The `[cns]` configuration section: typed, with defaults, parsed once from raw TOML-shaped values by
 * {@linkcode parseCnsConfig}. Errors name the key, the value and what is allowed.
 *
 * @module
 */

import { parseCidr } from "./ip_prefix.ts";
import { parseIp } from "./ip_prefix.ts";
import { parseDomainName } from "./name.ts";
import { parseRecordText } from "./record_text.ts";

/** A host and port. IPv6 literals are kept without brackets. */
export interface CnsHostPort {
  readonly hostname: string;
  readonly port: number;
}

/** The cns configuration. */
export interface CnsConfig {
  /** UDP and TCP listen addresses (both protocols on each). */
  readonly listen: readonly CnsHostPort[];
  /** DNS-over-QUIC listen address; `undefined` disables DoQ. */
  readonly doqListen: CnsHostPort | undefined;
  /** DNS-over-HTTPS listen address; `undefined` disables DoH. */
  readonly dohListen: CnsHostPort | undefined;
  /** DoH URL path. */
  readonly dohPath: string;
  /** Upstream resolvers (IP literals with port). Empty: non-local names are REFUSED. */
  readonly upstreams: readonly CnsHostPort[];
  /** One upstream exchange's timeout. */
  readonly upstreamTimeoutMs: number;
  /** Exchanges per question, rotating over upstreams. */
  readonly upstreamAttempts: number;
  /** Clients allowed to recurse (CIDRs). */
  readonly recursionAllow: readonly string[];
  /** Answer cache entries; 0 disables the cache. */
  readonly cacheMaxEntries: number;
  /** Cap on cached TTLs, seconds. */
  readonly cacheMaxTtlS: number;
  /** Cap on negative-cache TTLs, seconds. */
  readonly cacheNegativeMaxTtlS: number;
  /** Serve stale answers when upstreams fail (RFC 8767), for up to `staleMaxS` past expiry; 0 disables. */
  readonly serveStaleMaxS: number;
  /** UDP responses per second per client prefix; 0 disables RRL. */
  readonly rrlResponsesPerSecond: number;
  /** Every n-th limited response slips as TC=1. */
  readonly rrlSlip: number;
  /** Largest UDP response and our advertised EDNS size. */
  readonly ednsUdpMax: number;
  /** TCP idle timeout. */
  readonly tcpIdleTimeoutMs: number;
  /** TCP connections in total. */
  readonly tcpMaxConnections: number;
  /** TCP connections per client address (also applied to DoQ). */
  readonly maxConnectionsPerClient: number;
  /** Queries in flight per TCP connection. */
  readonly tcpMaxInflight: number;
  /** DoQ connections in total. */
  readonly doqMaxConnections: number;
  /** Concurrent streams per DoQ connection. */
  readonly doqMaxStreams: number;
  /** Queries (streams) per second one DoQ connection may open before it is closed as a flood. */
  readonly doqStreamsPerSecond: number;
  /** DoQ QUIC idle timeout. */
  readonly doqIdleTimeoutMs: number;
  /** Zones we are authoritative for (a SOA is made up for each unless a record gives one). */
  readonly localZones: readonly string[];
  /** Static records as zone-file lines; each must be inside a local zone. */
  readonly records: readonly string[];
  /** Ethereum JSON-RPC endpoint for `.eth` (ENS); empty disables `.eth`. */
  readonly ensRpcUrl: string;
  /** The ENS registry address, `0x` + 40 hex. */
  readonly ensRegistry: string;
  /** One JSON-RPC call's timeout. */
  readonly ensTimeoutMs: number;
  /** TTL of `.eth` answers when the registry sets none, seconds. */
  readonly ensTtlS: number;
}

/** A config problem: names the key, the value and what is allowed. */
export class CnsConfigError extends TypeError {
  /** Dotted key, e.g. `cns.upstreams`. */
  readonly key: string;

  /** Creates an error for `cns.<key>`. */
  constructor(key: string, message: string) {
    super(`Invalid config cns.${key}: ${message}`);
    this.name = "CnsConfigError";
    this.key = `cns.${key}`;
  }
}

interface Field {
  readonly key: string;
  readonly kind: "int" | "hostports" | "hostport?" | "strings" | "path" | "url?" | "address";
  readonly default: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
}

const DAY_MS = 86_400_000;

/** Every key of the `[cns]` section with its default and meaning (the README table comes from this). */
export const CNS_CONFIG_FIELDS: readonly Field[] = [
  { key: "listen", kind: "hostports", default: ["[::1]:5353"], help: "UDP+TCP listen addresses" },
  {
    key: "doq_listen",
    kind: "hostport?",
    default: "[::1]:8853",
    help: "DoQ (RFC 9250) address; empty disables",
  },
  {
    key: "doh_listen",
    kind: "hostport?",
    default: "[::1]:8443",
    help: "DoH (RFC 8484) address; empty disables",
  },
  { key: "doh_path", kind: "path", default: "/dns-query", help: "DoH URL path" },
  { key: "upstreams", kind: "hostports", default: [], help: "upstream resolvers, IP:port; empty refuses" },
  { key: "upstream_timeout_ms", kind: "int", default: 2000, min: 50, max: 60_000, help: "per exchange" },
  { key: "upstream_attempts", kind: "int", default: 3, min: 1, max: 10, help: "exchanges per question" },
  {
    key: "recursion_allow",
    kind: "strings",
    default: ["127.0.0.0/8", "::1/128"],
    help: "CIDRs allowed to recurse",
  },
  { key: "cache_max_entries", kind: "int", default: 10_000, min: 0, max: 10_000_000, help: "0 disables" },
  { key: "cache_max_ttl_s", kind: "int", default: 86_400, min: 1, max: 604_800, help: "TTL cap" },
  { key: "cache_negative_max_ttl_s", kind: "int", default: 3600, min: 0, max: 86_400, help: "RFC 2308 cap" },
  { key: "serve_stale_max_s", kind: "int", default: 0, min: 0, max: 604_800, help: "RFC 8767; 0 disables" },
  { key: "rrl_responses_per_second", kind: "int", default: 50, min: 0, max: 1_000_000, help: "0 disables" },
  { key: "rrl_slip", kind: "int", default: 2, min: 0, max: 10, help: "every n-th limited answer TC=1" },
  { key: "edns_udp_max", kind: "int", default: 1232, min: 512, max: 4096, help: "largest UDP answer" },
  { key: "tcp_idle_timeout_ms", kind: "int", default: 10_000, min: 100, max: DAY_MS, help: "RFC 7766" },
  { key: "tcp_max_connections", kind: "int", default: 1000, min: 1, max: 1_000_000, help: "total" },
  { key: "max_connections_per_client", kind: "int", default: 20, min: 1, max: 100_000, help: "TCP and DoQ" },
  { key: "tcp_max_inflight", kind: "int", default: 16, min: 1, max: 1000, help: "pipelined queries" },
  { key: "doq_max_connections", kind: "int", default: 1000, min: 1, max: 1_000_000, help: "total" },
  { key: "doq_max_streams", kind: "int", default: 100, min: 1, max: 10_000, help: "per connection" },
  {
    key: "doq_streams_per_second",
    kind: "int",
    default: 20_000,
    min: 10,
    max: 1_000_000,
    help: "queries/s per DoQ connection before it is closed",
  },
  { key: "doq_idle_timeout_ms", kind: "int", default: 30_000, min: 1000, max: DAY_MS, help: "QUIC idle" },
  { key: "local_zones", kind: "strings", default: [], help: "authoritative zone names" },
  { key: "records", kind: "strings", default: [], help: "zone-file lines: name ttl [IN] type rdata" },
  {
    key: "ens_rpc_url",
    kind: "url?",
    default: "",
    help: "Ethereum JSON-RPC URL for .eth (ENS); empty disables",
  },
  {
    key: "ens_registry",
    kind: "address",
    default: "0x00000000000C2E074eC69A0bFb2997BA6C7d2e1e",
    help: "ENS registry address",
  },
  { key: "ens_timeout_ms", kind: "int", default: 2000, min: 100, max: 60_000, help: "per JSON-RPC call" },
  { key: "ens_ttl_s", kind: "int", default: 300, min: 1, max: 86_400, help: ".eth TTL when ENS sets none" },
];

function parseHostPort(text: string): CnsHostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const hostname = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (port > 65_535 || !parseIp(hostname)) return undefined;
  return { hostname, port };
}

/** `host:port` or `[v6]:port`, for display and net permissions. */
export function formatCnsHostPort(hp: CnsHostPort): string {
  return hp.hostname.includes(":") ? `[${hp.hostname}]:${hp.port}` : `${hp.hostname}:${hp.port}`;
}

/**
 * Parses the raw `[cns]` table (snake_case keys as in TOML). Missing keys take defaults; unknown keys fail.
 *
 * @throws {CnsConfigError} naming the key, the value and what is allowed
 */
export function parseCnsConfig(raw: unknown = {}): CnsConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CnsConfigError("", `got ${JSON.stringify(raw)}, expected a [cns] table`);
  }
  const table = raw as Record<string, unknown>;
  const known = new Set(CNS_CONFIG_FIELDS.map((f) => f.key));
  for (const k of Object.keys(table)) {
    if (!known.has(k)) throw new CnsConfigError(k, `unknown key; [cns] accepts ${[...known].join(", ")}`);
  }
  const v: Record<string, unknown> = {};
  for (const f of CNS_CONFIG_FIELDS) {
    const value = table[f.key] ?? f.default;
    const bad = (what: string): never => {
      throw new CnsConfigError(f.key, `got ${JSON.stringify(value)}, expected ${what}`);
    };
    switch (f.kind) {
      case "int":
        if (
          typeof value !== "number" || !Number.isInteger(value) || value < (f.min ?? 0) ||
          value > (f.max ?? 0)
        ) {
          bad(`an integer from ${f.min} to ${f.max}`);
        }
        v[f.key] = value;
        break;
      case "hostports": {
        const list = typeof value === "string" ? [value] : value;
        if (!Array.isArray(list)) return bad("a list of IP:port or [IPv6]:port");
        v[f.key] = list.map((x) =>
          (typeof x === "string" ? parseHostPort(x) : undefined) ?? bad("a list of IP:port or [IPv6]:port")
        );
        break;
      }
      case "hostport?":
        if (value === "" || value === false) v[f.key] = undefined;
        else {v[f.key] = (typeof value === "string" ? parseHostPort(value) : undefined) ??
            bad("IP:port, [IPv6]:port or empty to disable");}
        break;
      case "path":
        if (typeof value !== "string" || !/^\/[A-Za-z0-9._~\/-]*$/.test(value)) {
          bad("a URL path starting with /");
        }
        v[f.key] = value;
        break;
      case "strings":
        if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) bad("a list of strings");
        v[f.key] = value;
        break;
      case "url?":
        if (value !== "" && (typeof value !== "string" || !/^https?:\/\/[^\s/?#]+(\/[^\s]*)?$/.test(value))) {
          bad("an http:// or https:// URL, or empty");
        }
        v[f.key] = value;
        break;
      case "address":
        if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) bad("0x and 40 hex digits");
        v[f.key] = value;
        break;
    }
  }
  const strings = (k: string): string[] => v[k] as string[];
  for (const c of strings("recursion_allow")) {
    try {
      parseCidr(c);
    } catch (error) {
      throw new CnsConfigError("recursion_allow", (error as Error).message);
    }
  }
  const zones = strings("local_zones").map((z) => {
    try {
      return parseDomainName(z);
    } catch (error) {
      throw new CnsConfigError("local_zones", (error as Error).message);
    }
  });
  for (const line of strings("records")) {
    let name: string;
    try {
      name = parseRecordText(line).name.toLowerCase().replace(/\.$/, "");
    } catch (error) {
      throw new CnsConfigError("records", (error as Error).message);
    }
    if (!zones.some((z) => z === "" || name === z || name.endsWith("." + z))) {
      throw new CnsConfigError(
        "records",
        `record "${line}" is outside every local zone (${zones.join(", ")})`,
      );
    }
  }
  return Object.freeze({
    listen: v["listen"] as CnsHostPort[],
    doqListen: v["doq_listen"] as CnsHostPort | undefined,
    dohListen: v["doh_listen"] as CnsHostPort | undefined,
    dohPath: v["doh_path"] as string,
    upstreams: v["upstreams"] as CnsHostPort[],
    upstreamTimeoutMs: v["upstream_timeout_ms"] as number,
    upstreamAttempts: v["upstream_attempts"] as number,
    recursionAllow: strings("recursion_allow"),
    cacheMaxEntries: v["cache_max_entries"] as number,
    cacheMaxTtlS: v["cache_max_ttl_s"] as number,
    cacheNegativeMaxTtlS: v["cache_negative_max_ttl_s"] as number,
    serveStaleMaxS: v["serve_stale_max_s"] as number,
    rrlResponsesPerSecond: v["rrl_responses_per_second"] as number,
    rrlSlip: v["rrl_slip"] as number,
    ednsUdpMax: v["edns_udp_max"] as number,
    tcpIdleTimeoutMs: v["tcp_idle_timeout_ms"] as number,
    tcpMaxConnections: v["tcp_max_connections"] as number,
    maxConnectionsPerClient: v["max_connections_per_client"] as number,
    tcpMaxInflight: v["tcp_max_inflight"] as number,
    doqMaxConnections: v["doq_max_connections"] as number,
    doqMaxStreams: v["doq_max_streams"] as number,
    doqStreamsPerSecond: v["doq_streams_per_second"] as number,
    doqIdleTimeoutMs: v["doq_idle_timeout_ms"] as number,
    localZones: zones,
    records: strings("records"),
    ensRpcUrl: v["ens_rpc_url"] as string,
    ensRegistry: v["ens_registry"] as string,
    ensTimeoutMs: v["ens_timeout_ms"] as number,
    ensTtlS: v["ens_ttl_s"] as number,
  });
}

/**
 * The cns worker's `net` permission: its listeners, upstreams and upstream bind wildcards, plus the hosts it
 * must answer over UDP. `true` (all hosts) when a UDP listener is not on loopback.
 */
export function cnsNetPermissions(config: CnsConfig): string[] | true {
  const out = new Set<string>();
  for (const l of config.listen) {
    out.add(formatCnsHostPort(l));
    // Deno checks a UDP send against its destination, so answering a client needs net access to the client.
    // A loopback listener only ever hears loopback clients (any port); any other listener answers the world.
    if (!isLoopback(l.hostname)) return true;
    out.add(l.hostname.includes(":") ? `[${l.hostname}]` : l.hostname);
  }
  if (config.doqListen) out.add(formatCnsHostPort(config.doqListen));
  if (config.dohListen) out.add(formatCnsHostPort(config.dohListen));
  for (const u of config.upstreams) {
    out.add(formatCnsHostPort(u));
    // Per-query sockets bind the wildcard address of the upstream's family on a random port.
    out.add(u.hostname.includes(":") ? "[::]" : "0.0.0.0");
  }
  if (config.ensRpcUrl !== "") {
    // The ENS JSON-RPC endpoint's host:port (fetch is checked against it).
    const u = new URL(config.ensRpcUrl);
    out.add(`${u.hostname}:${u.port !== "" ? u.port : u.protocol === "https:" ? "443" : "80"}`);
  }
  return [...out];
}

function isLoopback(ip: string): boolean {
  return ip === "::1" || /^127\./.test(ip);
}

/** True for a value {@linkcode parseCnsConfig} produced (e.g. after a structured clone into a worker). */
export function isCnsConfig(value: unknown): value is CnsConfig {
  return typeof value === "object" && value !== null && "ednsUdpMax" in value && "listen" in value &&
    Array.isArray((value as { listen: unknown }).listen);
}
