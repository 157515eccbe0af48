// Private helpers for wraith's socket tests: a dev PKI, origins, a running proxy, and clients of each protocol.

import { MetricsRegistry } from "../core/mod.ts";
import { type DevPki, ensureDevPki } from "../transport/mod.ts";
import { connectHttp3, type Http3ClientConnection } from "../transport/http3/mod.ts";
import { WRAITH_CONFIG, type WraithConfig } from "./config.ts";
import { WraithProxy } from "./proxy.ts";
import { startWraithServer, type WraithServer } from "./server.ts";

/** A dev PKI in a temp dir. */
export async function testPki(): Promise<DevPki & { cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "wraith_test_" });
  const pki = await ensureDevPki({ dir });
  return { ...pki, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** A plain HTTP/1.1 origin (Deno.serve) that echoes what it got as JSON; `id` names it in the answer. */
export function echoOrigin(id: string): { port: number; stop(): Promise<void>; hits: number } {
  const state = { hits: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    state.hits++;
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname === "/status") {
      return new Response(null, { status: Number(url.searchParams.get("code")) });
    }
    const body = req.body ? await req.bytes() : new Uint8Array(0);
    let sum = 0;
    for (const b of body) sum = (sum + b) % 65_521;
    return Response.json({
      id,
      method: req.method,
      path: url.pathname + url.search,
      length: body.length,
      sum,
      headers: Object.fromEntries(req.headers),
    });
  });
  return {
    port: server.addr.port,
    get hits() {
      return state.hits;
    },
    stop: () => server.shutdown(),
  };
}

/** A running wraith on 127.0.0.1 with `settings` (env-style keys of [wraith]). */
export async function startWraith(
  pki: DevPki,
  env: Record<string, string>,
): Promise<
  {
    port: number;
    server: WraithServer;
    proxy: WraithProxy;
    metrics: MetricsRegistry;
    config: WraithConfig;
    stop(): Promise<void>;
  }
> {
  const config = WRAITH_CONFIG.parse({ env: { GHOST_WRAITH_LISTEN: "127.0.0.1:0", ...env } });
  const metrics = new MetricsRegistry();
  const proxy = new WraithProxy(config, { caCerts: [pki.caPem], metrics });
  const server = await startWraithServer(config, proxy, pki, { metrics });
  const port = Number(server.endpoints[0]?.addr.split(":").pop());
  return {
    port,
    server,
    proxy,
    metrics,
    config,
    stop: async () => {
      await server.close(Date.now() + 500);
      proxy.close();
    },
  };
}

/** An HTTP/3 connection to wraith. */
export function h3To(pki: DevPki, port: number): Promise<Http3ClientConnection> {
  return connectHttp3({ hostname: "127.0.0.1", port, serverName: "localhost", caCerts: [pki.caPem] });
}

/** Reads a body stream to bytes. */
export async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Sends raw bytes over TLS (ALPN http/1.1) and returns everything until the server closes or `ms` passes. */
export async function rawH1(
  pki: DevPki,
  port: number,
  request: string | Uint8Array,
  ms = 3_000,
): Promise<string> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [pki.caPem],
    alpnProtocols: ["http/1.1"],
    serverName: "localhost",
  } as Deno.ConnectTlsOptions);
  const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
  await conn.write(bytes);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const buf = new Uint8Array(65_536);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"t">((r) => (timer = setTimeout(() => r("t"), deadline - Date.now()))),
      ]);
      clearTimeout(timer);
      if (n === "t" || n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch {
    // reset
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
  return new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
}
