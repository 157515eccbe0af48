// Private helpers for this folder's tests: a dev PKI in a temp dir, a loopback server and clients.

import { type DevPki, ensureDevPki } from "./dev_pki.ts";
import { MetricsRegistry } from "../core/mod.ts";
import type { QuicConnection } from "./connection.ts";
import { type ClientOptions, connectQuic } from "./pool.ts";
import { type ConnectionHandler, type ProtocolHandler, QuicServer, type ServerLimits } from "./server.ts";

/** A dev PKI in a fresh temp dir; `cleanup()` removes the dir. */
export async function tempPki(): Promise<DevPki & { cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "transport_test_" });
  const pki = await ensureDevPki({ dir });
  return { ...pki, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** Starts a loopback server with the given handlers. */
export function startServer(
  pki: DevPki,
  handlers: Record<string, ConnectionHandler | ProtocolHandler>,
  limits: Partial<ServerLimits> = {},
  hostname = "127.0.0.1",
): QuicServer {
  // A registry per server keeps metric assertions independent of other tests in the process.
  return new QuicServer({
    hostname,
    cert: pki.certPem,
    key: pki.keyPem,
    handlers,
    limits,
    metrics: new MetricsRegistry(),
  });
}

/** Connects to `server` over loopback with the dev CA. */
export function connectTo(
  server: QuicServer,
  pki: DevPki,
  alpn: string,
  options: ClientOptions = {},
): Promise<QuicConnection> {
  const hostname = server.addr.hostname;
  return connectQuic(
    { hostname, port: server.addr.port, serverName: "localhost", alpn },
    { caCerts: [pki.caPem], ...options },
  );
}

/** Bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A string of bytes. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
