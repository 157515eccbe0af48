/**
 * QUIC transport for GhostChain Edge, over Deno's built-in `Deno.QuicEndpoint` / `Deno.connectQuic` (quinn and
 * rustls underneath): a server with ALPN dispatch and limits, a client pool, length-prefixed message streams,
 * sans-IO framing (QUIC varints, u16/u32 length prefixes, a generic push decoder), a dev PKI, a metrics registry
 * with Prometheus output, the `ghost-ping/1` diagnostic protocol, and the seed's ZQUIC operations as functions.
 *
 * Needs `--unstable-net` (set in deno.json) and `net` permission for the listen and peer addresses.
 *
 * @example
 * ```ts
 * import { ensureDevPki, ping, PING_ALPN, pingHandler, QuicClientPool, QuicServer } from "./mod.ts";
 *
 * const pki = await ensureDevPki({ dir: await Deno.makeTempDir() });
 * const server = new QuicServer({ cert: pki.certPem, key: pki.keyPem, handlers: { [PING_ALPN]: pingHandler() } });
 * const pool = new QuicClientPool({ caCerts: [pki.caPem] });
 * const conn = await pool.get({ hostname: "127.0.0.1", port: server.addr.port, serverName: "localhost", alpn: PING_ALPN });
 * const { rttMs } = await ping(conn, new TextEncoder().encode("hello"));
 * console.log(`ping ${rttMs.toFixed(2)} ms`);
 * await pool.close();
 * await server.close();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./framing.ts";
export * from "./stream.ts";
export * from "./connection.ts";
export * from "./server.ts";
export * from "./pool.ts";
export * from "./ping.ts";
export * from "./transport_metrics.ts";
export * from "./rate_limit.ts";
export * from "./dev_pki.ts";
export * from "./tls_files.ts";
export * as zquic from "./zquic.ts";
export * from "./config.ts";
