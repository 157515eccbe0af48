/**
 * wraith's listeners: on each `listen` address, HTTP/3 on UDP ({@linkcode Http3Server}) and HTTP/1.1 + HTTP/2 on
 * TCP (TLS with ALPN), all serving one {@linkcode WraithProxy}. TCP answers advertise HTTP/3 with
 * `Alt-Svc: h3=":PORT"; ma=...` (RFC 7838) when HTTP/3 is on.
 *
 * @module
 */
import { formatHostPort, type MetricsRegistry } from "../core/mod.ts";
import { H3_ALPN, Http3Server } from "../transport/http3/mod.ts";
import type { WraithConfig } from "./config.ts";
import type { WraithProxy } from "./proxy.ts";
import { HttpsFront } from "./https_front.ts";

/** A bound listener. */
export interface WraithEndpoint {
  readonly name: "h3" | "https";
  readonly transport: "quic" | "tcp";
  readonly addr: string;
  readonly alpn: readonly string[];
}

/** Running listeners. */
export interface WraithServer {
  readonly endpoints: readonly WraithEndpoint[];
  /** Stops accepting, lets requests in flight finish until `deadlineMs` (epoch ms), closes. */
  close(deadlineMs: number): Promise<void>;
  /** New connections get this certificate (with `ghost_sites`, as names appear on chain); open ones keep theirs. */
  setCertificate(certPem: string, keyPem: string): void;
}

/** Starts every listener of `config`; if one cannot bind, the ones already bound are closed. */
export async function startWraithServer(
  config: WraithConfig,
  proxy: WraithProxy,
  tls: { certPem: string; keyPem: string },
  opts: { metrics: MetricsRegistry; onError?: (message: string, fields: Record<string, unknown>) => void },
): Promise<WraithServer> {
  const endpoints: WraithEndpoint[] = [];
  const closers: ((deadlineMs: number) => Promise<void>)[] = [];
  const swappers: ((cert: string, key: string) => void)[] = [];
  const report = opts.onError ?? (() => {});
  const closeAll = (deadlineMs: number) => Promise.all(closers.map((c) => c(deadlineMs).catch(() => {})));
  try {
    // One address: the TLS front over TCP, then HTTP/3 on the same port number over UDP.
    const bindOne = async (addr: (typeof config.listen)[number]): Promise<void> => {
      const front = new HttpsFront({
        hostname: addr.hostname,
        port: addr.port,
        cert: tls.certPem,
        key: tls.keyPem,
        handler: (request, info) => proxy.handle(request, info),
        limits: {
          maxHeaderBytes: config.maxHeaderBytes,
          maxHeaders: config.maxHeaders,
          headerTimeoutMs: config.headerTimeoutMs,
          idleTimeoutMs: config.idleTimeoutMs,
          maxConnections: config.maxConnections,
          maxStreamsPerConnection: config.maxStreamsPerConnection,
        },
        metrics: opts.metrics,
        swappableCertificate: config.ghostSites,
        onEvent: (event, fields) => report(event, fields),
      });
      const bound = await front.listen();
      if (config.ghostSites) swappers.push((c, k) => front.setCertificate(c, k));
      closers.push((deadline) => front.close(deadline));
      const port = bound.port;
      endpoints.push({
        name: "https",
        transport: "tcp",
        addr: formatHostPort({ hostname: addr.hostname, port }),
        alpn: ["h2", "http/1.1"],
      });
      if (config.http3) {
        const h3 = new Http3Server(
          (request, info) => proxy.handle(request, { client: info.remoteAddr.hostname, version: "3" }),
          {
            hostname: addr.hostname,
            port,
            cert: tls.certPem,
            key: tls.keyPem,
            maxFieldSectionSize: config.maxHeaderBytes,
            headerTimeoutMs: config.headerTimeoutMs,
            limits: {
              maxConnections: config.maxConnections,
              maxConcurrentBidiStreams: config.maxStreamsPerConnection,
              idleTimeoutMs: config.idleTimeoutMs,
            },
            metrics: opts.metrics,
            onError: (error, remote) => report("http3 error", { error: error.message, client: remote }),
          },
        );
        closers.push(() => h3.close());
        swappers.push((c, k) => h3.server.setCertificate(c, k));
        endpoints.push({
          name: "h3",
          transport: "quic",
          addr: formatHostPort({ hostname: addr.hostname, port: h3.addr.port }),
          alpn: [H3_ALPN],
        });
        front.altSvc = `h3=":${port}"; ma=${config.altSvcMaxAgeS}`;
      }
    };
    for (const addr of config.listen) {
      for (let attempt = 0;; attempt++) {
        const mark = { closers: closers.length, endpoints: endpoints.length, swappers: swappers.length };
        try {
          await bindOne(addr);
          break;
        } catch (error) {
          // Port 0 (tests): the port TCP got may be taken over UDP by another process; try another pair.
          if (addr.port !== 0 || !(error instanceof Deno.errors.AddrInUse) || attempt >= 20) throw error;
          await Promise.all(closers.splice(mark.closers).map((c) => c(Date.now()).catch(() => {})));
          endpoints.length = mark.endpoints;
          swappers.length = mark.swappers;
        }
      }
    }
  } catch (error) {
    await closeAll(Date.now() + 500);
    throw error;
  }
  return {
    endpoints,
    close: async (deadlineMs) => void await closeAll(deadlineMs),
    setCertificate: (cert, key) => {
      for (const swap of swappers) swap(cert, key);
    },
  };
}
