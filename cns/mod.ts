/**
 * cns: the GhostChain Edge DNS server. Listeners for DNS over UDP and TCP (RFC 1035, RFC 7766, EDNS(0) per
 * RFC 6891), DNS over QUIC (RFC 9250, on `transport/`'s QUIC server) and DNS over HTTPS (RFC 8484); a
 * sans-IO core with pluggable resolvers: in-memory authoritative zones and a caching forwarder (random IDs and
 * source ports, answer matching, TCP fallback, RFC 2308 negative caching, RFC 8767 serve-stale), with
 * response rate limiting and per-client connection limits. A chain-backed `.ghost`/`.zns` zone and an ENS
 * resolver plug in through {@linkcode Zone} and {@linkcode Resolver}.
 *
 * @example
 * ```ts
 * import { parseCnsConfig, startCnsServer } from "./mod.ts";
 *
 * const server = await startCnsServer({
 *   config: parseCnsConfig({
 *     listen: ["127.0.0.1:0"],
 *     doq_listen: "",
 *     doh_listen: "",
 *     local_zones: ["example.test"],
 *     records: ["www.example.test 300 A 192.0.2.10"],
 *   }),
 * });
 * console.log(server.endpoints.map((e) => `${e.name} ${e.addr}`).join("\n"));
 * await server.close();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./proto/message.ts";
export * from "./proto/message_codec.ts";
export * from "./proto/wire_layout.ts";
export * from "./proto/name.ts";
export * from "./proto/edns.ts";
export * from "./proto/ip_prefix.ts";
export * from "./proto/record_text.ts";
export * from "./resolver/resolver.ts";
export * from "./resolver/zone.ts";
export * from "./resolver/memory_zone.ts";
export * from "./resolver/dns_cache.ts";
export * from "./resolver/forwarder.ts";
export * from "./resolver/rate_limiter.ts";
export * from "./resolver/connection_limiter.ts";
export * from "./resolver/cns_metrics.ts";
export * from "./resolver/query_handler.ts";
export * from "./resolver/answer_cache.ts";
export * from "./proto/doq_codec.ts";
export * from "./server/doh_handler.ts";
export * from "./config.ts";
export * from "./server/deno_udp_listener.ts";
export * from "./server/ffi_udp_listener.ts";
export * from "./server/sockaddr.ts";
export * from "./server/deno_tcp_listener.ts";
export * from "./server/deno_doq_listener.ts";
export * from "./server/deno_upstream.ts";
export * from "./server/cns_server.ts";
export * from "./resolver/chain_zone.ts";
export * from "./eth/ens_name.ts";
export * from "./eth/eth_abi.ts";
export * from "./eth/ens_resolver.ts";
export * from "./resolver/dnssec.ts";
