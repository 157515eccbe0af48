/**
 * The transport's metric families, registered in a shared {@linkcode MetricsRegistry}.
 *
 * @module
 */

import { type Counter, type Gauge, type Histogram, latencyBuckets, MetricsRegistry } from "../core/mod.ts";

/** Which end of a connection we are. */
export type Role = "client" | "server";

/** Handshake time buckets in seconds: 0.25 ms .. 5 s. */
export const HANDSHAKE_BUCKETS: readonly number[] = latencyBuckets(0.00025, 5);

/**
 * Transport metric families. Create one per registry with {@linkcode transportMetrics}; the server, the client
 * pool and the stream helpers record into it.
 */
export interface TransportMetrics {
  /** The registry holding these families. */
  readonly registry: MetricsRegistry;
  /** `ghost_transport_connections_opened_total{alpn}`: client connections established. */
  readonly connectionsOpened: Counter;
  /** `ghost_transport_connections_accepted_total{alpn}`: server connections established. */
  readonly connectionsAccepted: Counter;
  /** `ghost_transport_connections_failed_total{role,reason}`: handshakes that failed, timed out or were refused. */
  readonly connectionsFailed: Counter;
  /** `ghost_transport_connections_open{role}`: connections currently open. */
  readonly connectionsOpen: Gauge;
  /** `ghost_transport_streams_opened_total{role,kind}`: streams we opened. */
  readonly streamsOpened: Counter;
  /** `ghost_transport_streams_accepted_total{role,kind}`: streams the peer opened and we accepted. */
  readonly streamsAccepted: Counter;
  /** `ghost_transport_bytes_received_total{role}`: payload bytes read through the stream helpers. */
  readonly bytesIn: Counter;
  /** `ghost_transport_bytes_sent_total{role}`: payload bytes written through the stream helpers. */
  readonly bytesOut: Counter;
  /** `ghost_transport_handshake_seconds{role}`: time from start to established. */
  readonly handshakeSeconds: Histogram;
  /** `ghost_transport_limit_violations_total{code}`: connections closed for breaking a limit, by code name. */
  readonly limitViolations: Counter;
}

const cache = new WeakMap<MetricsRegistry, TransportMetrics>();

/**
 * The registry used when a server, pool or connection is given none: one per process (per worker), so that
 * metrics of unconfigured users accumulate instead of being lost (and a connect does not build a registry).
 */
export const defaultMetricsRegistry: MetricsRegistry = new MetricsRegistry();

/** Registers (once per registry) and returns the transport metric families. */
export function transportMetrics(registry: MetricsRegistry = defaultMetricsRegistry): TransportMetrics {
  const cached = cache.get(registry);
  if (cached) return cached;
  const m: TransportMetrics = {
    registry,
    connectionsOpened: registry.counter(
      "ghost_transport_connections_opened_total",
      "QUIC client connections established",
      ["alpn"],
    ),
    connectionsAccepted: registry.counter(
      "ghost_transport_connections_accepted_total",
      "QUIC server connections established",
      ["alpn"],
    ),
    connectionsFailed: registry.counter(
      "ghost_transport_connections_failed_total",
      "QUIC connections that failed, timed out or were refused before being established",
      ["role", "reason"],
    ),
    connectionsOpen: registry.gauge("ghost_transport_connections_open", "QUIC connections currently open", [
      "role",
    ]),
    streamsOpened: registry.counter("ghost_transport_streams_opened_total", "QUIC streams opened locally", [
      "role",
      "kind",
    ]),
    streamsAccepted: registry.counter(
      "ghost_transport_streams_accepted_total",
      "QUIC streams opened by the peer and accepted",
      ["role", "kind"],
    ),
    bytesIn: registry.counter("ghost_transport_bytes_received_total", "Payload bytes received", ["role"]),
    bytesOut: registry.counter("ghost_transport_bytes_sent_total", "Payload bytes sent", ["role"]),
    handshakeSeconds: registry.histogram("ghost_transport_handshake_seconds", "QUIC handshake duration", {
      buckets: HANDSHAKE_BUCKETS,
      labelNames: ["role"],
    }),
    limitViolations: registry.counter(
      "ghost_transport_limit_violations_total",
      "Connections closed for breaking a transport limit",
      ["code"],
    ),
  };
  cache.set(registry, m);
  return m;
}
