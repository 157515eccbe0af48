/**
 * The `[cns]` configuration section: {@linkcode CNS_CONFIG} (schema with defaults, env names and help) and
 * {@linkcode parseCnsConfig} for a raw table. Errors are `ConfigError`s carrying the key as data.
 *
 * @module
 */

import {
  bool,
  type ConfigSection,
  ConfigValueError,
  custom,
  defineSection,
  formatHostPort,
  type HostPort,
  int,
  INVALID,
  listOf,
  oneOf,
  optional,
  parseHostPort,
  string,
  strings,
} from "../core/mod.ts";
import { parseCidr, parseIp } from "./proto/ip_prefix.ts";
import { parseDomainName } from "./proto/name.ts";
import { parseRecordText } from "./proto/record_text.ts";

/** A host and port. IPv6 literals are kept without brackets. */
export type CnsHostPort = HostPort;

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
  /** Also serve DoH over HTTP/3 on the DoH port (UDP) and advertise it with Alt-Svc. */
  readonly dohH3: boolean;
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
  /** Whole authoritative responses kept for reuse (keyed by query bytes); 0 disables. */
  readonly answerCacheEntries: number;
  /** How UDP is read and written: Deno's sockets, or batches through libc (`recvmmsg`/`sendmmsg`). */
  readonly udpIo: "deno" | "ffi";
  /** libc's path for `udpIo = "ffi"`. */
  readonly udpFfiLibc: string;
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

const DAY_MS = 86_400_000;

/** Wraps a parser that throws into a kind that reports its message as the config error's detail. */
function checked<T>(describe: string, parse: (text: string) => T): ReturnType<typeof custom<T>> {
  return custom(describe, (raw) => {
    if (typeof raw !== "string") return INVALID;
    try {
      return parse(raw);
    } catch (error) {
      throw new ConfigValueError(error instanceof Error ? error.message : String(error));
    }
  });
}

/** An IP literal and port: listeners and upstreams are bound and dialled without a resolver. */
const ipPort = custom("IP:port or [IPv6]:port", (raw) => {
  if (typeof raw !== "string" || !/^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/.test(raw.trim())) return INVALID;
  const hp = parseHostPort(raw);
  return hp !== undefined && parseIp(hp.hostname) !== undefined ? hp : INVALID;
}, formatHostPort);
const ipPorts = listOf(ipPort, "a list of IP:port or [IPv6]:port");

/** The `[cns]` schema (the README table comes from this). */
export const CNS_CONFIG: ConfigSection<CnsConfig> = defineSection("cns", {
  listen: { kind: ipPorts, default: ["[::1]:5353"], help: "UDP+TCP listen addresses" },
  doq_listen: {
    kind: optional(ipPort),
    default: "[::1]:8853",
    help: "DoQ (RFC 9250) address; empty disables",
  },
  doh_listen: {
    kind: optional(ipPort),
    default: "[::1]:8443",
    help: "DoH (RFC 8484) address; empty disables",
  },
  doh_path: {
    kind: string({
      allowEmpty: false,
      pattern: /^\/[A-Za-z0-9._~\/-]*$/,
      what: "a URL path starting with /",
    }),
    default: "/dns-query",
    help: "DoH URL path",
  },
  doh_h3: {
    kind: bool(),
    default: true,
    help: "also serve DoH over HTTP/3 on the DoH port (UDP), advertised with Alt-Svc",
  },
  upstreams: { kind: ipPorts, default: [], help: "upstream resolvers, IP:port; empty refuses" },
  upstream_timeout_ms: { kind: int(50, 60_000), default: 2000, help: "per exchange" },
  upstream_attempts: { kind: int(1, 10), default: 3, help: "exchanges per question" },
  recursion_allow: {
    kind: listOf(checked("a CIDR", (t) => (parseCidr(t), t)), "a list of CIDRs"),
    default: ["127.0.0.0/8", "::1/128"],
    help: "CIDRs allowed to recurse",
  },
  cache_max_entries: { kind: int(0, 10_000_000), default: 10_000, help: "0 disables" },
  udp_io: {
    kind: oneOf(["deno", "ffi"]),
    default: "deno",
    help:
      'UDP I/O: "deno" sockets, or "ffi": recvmmsg/sendmmsg batches through libc (Linux; grants this worker ffi)',
  },
  udp_ffi_libc: {
    kind: string({ allowEmpty: false, pattern: /^\/\S+$/, what: "an absolute path" }),
    default: Deno.build.arch === "aarch64"
      ? "/lib/aarch64-linux-gnu/libc.so.6"
      : "/lib/x86_64-linux-gnu/libc.so.6",
    help: 'libc for udp_io = "ffi"',
  },
  answer_cache_entries: {
    kind: int(0, 1_000_000),
    default: 10_000,
    help: "whole authoritative answers reused by query bytes; 0 disables",
  },
  cache_max_ttl_s: { kind: int(1, 604_800), default: 86_400, help: "TTL cap" },
  cache_negative_max_ttl_s: { kind: int(0, 86_400), default: 3600, help: "RFC 2308 cap" },
  serve_stale_max_s: { kind: int(0, 604_800), default: 0, help: "RFC 8767; 0 disables" },
  rrl_responses_per_second: { kind: int(0, 1_000_000), default: 50, help: "0 disables" },
  rrl_slip: { kind: int(0, 10), default: 2, help: "every n-th limited answer TC=1" },
  edns_udp_max: { kind: int(512, 4096), default: 1232, help: "largest UDP answer" },
  tcp_idle_timeout_ms: { kind: int(100, DAY_MS), default: 10_000, help: "RFC 7766" },
  tcp_max_connections: { kind: int(1, 1_000_000), default: 1000, help: "total" },
  max_connections_per_client: { kind: int(1, 100_000), default: 20, help: "TCP and DoQ" },
  tcp_max_inflight: { kind: int(1, 1000), default: 16, help: "pipelined queries" },
  doq_max_connections: { kind: int(1, 1_000_000), default: 1000, help: "total" },
  doq_max_streams: { kind: int(1, 10_000), default: 100, help: "per connection" },
  doq_streams_per_second: {
    kind: int(10, 1_000_000),
    default: 20_000,
    help: "queries/s per DoQ connection before it is closed",
  },
  doq_idle_timeout_ms: { kind: int(1000, DAY_MS), default: 30_000, help: "QUIC idle" },
  local_zones: {
    kind: listOf(checked("a domain name", parseDomainName), "a list of domain names"),
    default: [],
    help: "authoritative zone names",
  },
  records: { kind: strings(), default: [], help: "zone-file lines: name ttl [IN] type rdata" },
  ens_rpc_url: {
    kind: string({
      pattern: /^https?:\/\/[^\s/?#]+(\/[^\s]*)?$/,
      what: "an http:// or https:// URL, or empty",
    }),
    default: "",
    help: "Ethereum JSON-RPC URL for .eth (ENS); empty disables",
  },
  ens_registry: {
    kind: string({ allowEmpty: false, pattern: /^0x[0-9a-fA-F]{40}$/, what: "0x and 40 hex digits" }),
    default: "0x00000000000C2E074eC69A0bFb2997BA6C7d2e1e",
    help: "ENS registry address",
  },
  ens_timeout_ms: { kind: int(100, 60_000), default: 2000, help: "per JSON-RPC call" },
  ens_ttl_s: { kind: int(1, 86_400), default: 300, help: ".eth TTL when ENS sets none" },
}, {
  // Every static record must parse and sit inside a local zone.
  check: (c, fail) => {
    for (const line of c.records) {
      let name: string;
      try {
        name = parseRecordText(line).name.toLowerCase().replace(/\.$/, "");
      } catch (error) {
        return fail("records", error instanceof Error ? error.message : String(error));
      }
      if (!c.localZones.some((z) => z === "" || name === z || name.endsWith("." + z))) {
        fail("records", `record "${line}" is outside every local zone (${c.localZones.join(", ")})`);
      }
    }
  },
});

/** The fields of `[cns]`, for docs. */
export const CNS_CONFIG_FIELDS = CNS_CONFIG.fields;

/** Parses a raw `[cns]` table (snake_case keys as in TOML). Missing keys take defaults; unknown keys fail. */
export function parseCnsConfig(table: Readonly<Record<string, unknown>> = {}): CnsConfig {
  return CNS_CONFIG.parse({ file: { path: "[cns]", table } });
}

/** `host:port` or `[v6]:port`, for display and net permissions. */
export const formatCnsHostPort: (hp: CnsHostPort) => string = formatHostPort;

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
