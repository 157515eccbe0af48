import assert from "node:assert/strict";
import { startServer, tempPki, text, utf8 } from "./_testing.ts";
import { CloseCode, TransportError } from "./errors.ts";
import { MetricsRegistry } from "../core/mod.ts";
import { ping, PING_ALPN, pingHandler } from "./ping.ts";
import { connectQuic, QuicClientPool } from "./pool.ts";
import { QuicServer } from "./server.ts";

Deno.test("QuicClientPool reuses one connection per target and reconnects after it closes", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler(), other: pingHandler() });
  const pool = new QuicClientPool({ caCerts: [pki.caPem], metrics: new MetricsRegistry() });
  try {
    const target = {
      hostname: "127.0.0.1",
      port: server.addr.port,
      serverName: "localhost",
      alpn: PING_ALPN,
    };
    const [a, b] = await Promise.all([pool.get(target), pool.get(target)]);
    assert.equal(a, b, "concurrent gets share one connect");
    assert.equal(await pool.get(target), a);
    assert.equal(pool.size, 1);
    const other = await pool.get({ ...target, alpn: "other" });
    assert.notEqual(other, a, "a different ALPN is a different pool entry");
    assert.equal(pool.size, 2);

    a.close();
    await a.closed;
    const c = await pool.get(target);
    assert.notEqual(c, a);
    assert.equal(text((await ping(c, utf8("again"))).payload), "again");
    assert.equal(pool.metrics.connectionsOpened.get({ alpn: PING_ALPN }), 2);
  } finally {
    await pool.close();
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicClientPool reconnects after a failure once the server is back", async () => {
  const pki = await tempPki();
  // Deno 2.9 frees a closed endpoint's UDP port only at garbage collection, so the "restarted" server listens
  // again on the same endpoint instead of rebinding the port.
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const serve = (): QuicServer =>
    new QuicServer({
      endpoint,
      cert: pki.certPem,
      key: pki.keyPem,
      handlers: { [PING_ALPN]: pingHandler() },
    });
  let server = serve();
  const pool = new QuicClientPool({ caCerts: [pki.caPem], connectTimeoutMs: 300 });
  try {
    const target = {
      hostname: "127.0.0.1",
      port: endpoint.addr.port,
      serverName: "localhost",
      alpn: PING_ALPN,
    };
    const first = await pool.get(target);
    // One round trip confirms the handshake; an application close sent before that reaches the client only as
    // a generic APPLICATION_ERROR without our code (RFC 9000 §10.2.3).
    await ping(first, utf8("confirm"));
    await server.close();
    const info = await first.closed;
    assert.equal(info.closeCode, CloseCode.SHUTDOWN);

    const down = await pool.get(target).then(() => undefined, (e: unknown) => e);
    assert.ok(down instanceof TransportError);
    assert.equal(down.code, CloseCode.TIMEOUT);
    assert.equal(down.retryable, true);

    server = serve();
    const second = await pool.get(target);
    assert.notEqual(second, first);
    assert.equal(text((await ping(second, utf8("back"))).payload), "back");
  } finally {
    await pool.close();
    await server.close();
    endpoint.close();
    await pki.cleanup();
  }
});

Deno.test("QuicClientPool on the server's endpoint uses one UDP socket for both roles", async () => {
  const pki = await tempPki();
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const seen: number[] = [];
  const a = new QuicServer({
    endpoint,
    cert: pki.certPem,
    key: pki.keyPem,
    handlers: { [PING_ALPN]: pingHandler() },
  });
  const b = startServer(pki, {
    [PING_ALPN]: (conn) => {
      seen.push(conn.remoteAddr.port);
      return pingHandler()(conn);
    },
  });
  const pool = new QuicClientPool({ caCerts: [pki.caPem], endpoint });
  try {
    const conn = await pool.get({
      hostname: "127.0.0.1",
      port: b.addr.port,
      serverName: "localhost",
      alpn: PING_ALPN,
    });
    assert.equal(text((await ping(conn, utf8("via shared socket"))).payload), "via shared socket");
    assert.deepEqual(seen, [endpoint.addr.port], "server B sees server A's UDP port as the client's");
    // The same endpoint can even reach its own server.
    const self = await pool.get({
      hostname: "127.0.0.1",
      port: a.addr.port,
      serverName: "localhost",
      alpn: PING_ALPN,
    });
    assert.equal(text((await ping(self, utf8("self"))).payload), "self");
  } finally {
    await pool.close();
    await a.close();
    await b.close();
    endpoint.close();
    await pki.cleanup();
  }
});

Deno.test("QuicClientPool.close() closes every connection and refuses later gets", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() });
  const pool = new QuicClientPool({ caCerts: [pki.caPem] });
  try {
    const conn = await pool.get({
      hostname: "127.0.0.1",
      port: server.addr.port,
      serverName: "localhost",
      alpn: PING_ALPN,
    });
    await pool.close();
    assert.equal((await conn.closed).initiator, "local");
    await assert.rejects(
      pool.get({ hostname: "127.0.0.1", port: server.addr.port, alpn: PING_ALPN }),
      (e: unknown) => e instanceof TransportError && e.code === CloseCode.CLOSED,
    );
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("connectQuic() rejects an untrusted certificate as a permanent failure", async () => {
  const pki = await tempPki();
  const stranger = await tempPki(); // a different CA
  const server = startServer(pki, { [PING_ALPN]: pingHandler() });
  const metrics = new MetricsRegistry();
  try {
    const error = await connectQuic(
      { hostname: "127.0.0.1", port: server.addr.port, serverName: "localhost", alpn: PING_ALPN },
      { caCerts: [stranger.caPem], metrics },
    ).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof TransportError);
    assert.equal(error.code, CloseCode.CONNECT_FAILED);
    assert.equal(error.retryable, false);
  } finally {
    await server.close();
    await pki.cleanup();
    await stranger.cleanup();
  }
});
