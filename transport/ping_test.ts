import assert from "node:assert/strict";
import { connectTo, startServer, tempPki, text, utf8 } from "./_testing.ts";
import { CloseCode, TransportError } from "./errors.ts";
import { ping, PING_ALPN, PING_MAX_MESSAGE_BYTES, pingHandler, PingStream } from "./ping.ts";

Deno.test("ping() echoes a payload on a new stream; PingStream reuses one stream", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() });
  try {
    const conn = await connectTo(server, pki, PING_ALPN);
    const result = await ping(conn, utf8("hello"));
    assert.equal(text(result.payload), "hello");
    assert.ok(result.rttMs >= 0);
    assert.equal((await ping(conn)).payload.length, 0);
    const big = crypto.getRandomValues(new Uint8Array(65_536));
    assert.deepEqual((await ping(conn, big)).payload, big);

    const session = await PingStream.open(conn);
    for (let i = 0; i < 20; i++) assert.equal(text(await session.ping(utf8(`n${i}`))), `n${i}`);
    await session.close();
    conn.close();
    await conn.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("ping() refuses a payload over 1 MiB locally without hurting the connection", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() }, {
    maxMessageBytes: PING_MAX_MESSAGE_BYTES,
  });
  try {
    const conn = await connectTo(server, pki, PING_ALPN);
    await assert.rejects(
      ping(conn, new Uint8Array(PING_MAX_MESSAGE_BYTES + 1)),
      (e: unknown) =>
        e instanceof TransportError && e.code === CloseCode.MESSAGE_TOO_LARGE && e.source === "internal",
    );
    assert.equal(text((await ping(conn, utf8("still fine"))).payload), "still fine");
    conn.close();
    await conn.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("ping() times out when the server never answers", async () => {
  const pki = await tempPki();
  // Accepts streams but never echoes: a hung service, as a liveness probe must detect it.
  const server = startServer(pki, { [PING_ALPN]: (conn) => conn.forEachBidi(() => new Promise(() => {})) });
  try {
    const conn = await connectTo(server, pki, PING_ALPN);
    await assert.rejects(
      ping(conn, utf8("anyone?"), { timeoutMs: 100 }),
      (e: unknown) => e instanceof TransportError && e.code === CloseCode.TIMEOUT && e.retryable,
    );
    conn.close();
    await conn.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});
