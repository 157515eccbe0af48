/**
 * The metric families cns records, on a transport `MetricsRegistry`. Label values are bounded: query types
 * outside a fixed list are counted as `OTHER`, so a client cannot grow the series without limit.
 *
 * @module
 */

import { type Counter, type Gauge, type Histogram, latencyBuckets, MetricsRegistry } from "../../core/mod.ts";
import { RCODE_NAMES } from "../proto/message.ts";

/** Query types that get their own label value. */
const QTYPES = new Set([
  "A",
  "AAAA",
  "CNAME",
  "MX",
  "NS",
  "PTR",
  "SOA",
  "SRV",
  "TXT",
  "ANY",
  "CAA",
  "DS",
  "DNSKEY",
  "HTTPS",
  "SVCB",
  "NAPTR",
  "AXFR",
  "IXFR",
]);

/** Buckets for upstream latency, seconds: 0.25 ms .. 5 s. */
export const UPSTREAM_BUCKETS: readonly number[] = latencyBuckets(0.00025, 5);

/** The cns metric families. */
export interface CnsMetrics {
  readonly registry: MetricsRegistry;
  /** `cns_queries_total{transport,qtype,rcode}`: answered queries. */
  readonly queries: Counter;
  /** `ghost_cns_query_seconds{transport}`: time from a query's bytes to its answer's (in the handler). */
  readonly querySeconds: Histogram;
  /** `cns_cache_lookups_total{result}`: hit, miss, stale. */
  readonly cache: Counter;
  /** `ghost_cns_answer_cache_total{result}`: authoritative answers served whole from the answer cache (hit) or stored. */
  readonly answerCache: Counter;
  /** `cns_upstream_seconds{result}`: one upstream exchange. */
  readonly upstreamSeconds: Histogram;
  /** `cns_rate_limited_total{action}`: slip or drop. */
  readonly rateLimited: Counter;
  /** `cns_dropped_total{transport,reason}`: queries answered with nothing. */
  readonly dropped: Counter;
  /** `cns_connections{transport}`: open TCP/DoQ connections. */
  readonly connections: Gauge;
  /** `cns_connections_refused_total{transport}`: over a connection limit. */
  readonly connectionsRefused: Counter;
}

/** Creates (or finds) the families on `registry`. */
export function cnsMetrics(registry: MetricsRegistry = new MetricsRegistry()): CnsMetrics {
  return {
    registry,
    queries: registry.counter("ghost_cns_queries_total", "DNS queries answered", [
      "transport",
      "qtype",
      "rcode",
    ]),
    querySeconds: registry.histogram("ghost_cns_query_seconds", "Time to answer a query, by transport", {
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      labelNames: ["transport"],
    }),
    cache: registry.counter("ghost_cns_cache_lookups_total", "Answer cache lookups", ["result"]),
    answerCache: registry.counter(
      "ghost_cns_answer_cache_total",
      "Authoritative answers served whole from the answer cache (hit) or stored in it (stored)",
      ["result"],
    ),
    upstreamSeconds: registry.histogram("ghost_cns_upstream_seconds", "Upstream exchange time", {
      buckets: UPSTREAM_BUCKETS,
      labelNames: ["result"],
    }),
    rateLimited: registry.counter("ghost_cns_rate_limited_total", "UDP responses limited by RRL", ["action"]),
    dropped: registry.counter("ghost_cns_dropped_total", "Queries dropped without an answer", [
      "transport",
      "reason",
    ]),
    connections: registry.gauge("ghost_cns_connections", "Open stream connections", ["transport"]),
    connectionsRefused: registry.counter(
      "ghost_cns_connections_refused_total",
      "Connections refused by a limit",
      ["transport"],
    ),
  };
}

/** A bounded label value for a query type. */
export function qtypeLabel(type: string): string {
  const t = type.toUpperCase();
  return QTYPES.has(t) ? t : "OTHER";
}

/** The label value of an RCODE (extended ones by number). */
export function rcodeLabel(rcode: number): string {
  return RCODE_NAMES[rcode] ?? (rcode === 16 ? "BADVERS" : String(rcode));
}
