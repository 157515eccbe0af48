import assert from "node:assert/strict";
import { connectTo, startServer, tempPki, text, utf8 } from "./_testing.ts";
import type { QuicConnection } from "./connection.ts";
import { CloseCode, TransportError } from "./errors.ts";
import { PING_ALPN, pingHandler, PingStream } from "./ping.ts";
import { MetricsRegistry } from "../core/mod.ts";
import { QuicServer } from "./server.ts";

/** A handler that answers each bidi stream with `name`. */
function nameHandler(name: string): (conn: QuicConnection) => Promise<void> {
  return (conn) =>
    conn.forEachBidi(async (stream) => {
      const { reader, writer } = conn.messages(stream);
      while ((await reader.read()) !== null) await writer.write(utf8(name));
      await writer.close();
    });
}

async function ask(conn: QuicConnection): Promise<string> {
  const { reader, writer } = conn.messages(await conn.openBidi());
  await writer.write(utf8("who?"));
  await writer.close();
  const answer = await reader.read();
  assert.ok(answer);
  assert.equal(await reader.read(), null);
  return text(answer);
}

/** Keeps a good client pinging until `stop` resolves; returns the count of successful round trips. */
async function keepPinging(conn: QuicConnection, stop: Promise<unknown>): Promise<number> {
  const session = await PingStream.open(conn);
  let done = false;
  stop.finally(() => done = true);
  let n = 0;
  do {
    const echo = await session.ping(utf8(`ping ${n}`));
    assert.equal(text(echo), `ping ${n}`);
    n++;
    await new Promise((r) => setTimeout(r, 5));
  } while (!done);
  // One more after the bad peer is gone: the server still serves us.
  assert.equal(text(await session.ping(utf8("after"))), "after");
  await session.close();
  return n + 1;
}

Deno.test("QuicServer dispatches three ALPN protocols on one UDP port; an unknown ALPN fails only its handshake", async () => {
  const pki = await tempPki();
  const errors: TransportError[] = [];
  const server = new QuicServer({
    cert: pki.certPem,
    key: pki.keyPem,
    handlers: { "proto-a/1": nameHandler("A"), "proto-b/1": nameHandler("B"), "proto-c/1": nameHandler("C") },
    onError: (e) => errors.push(e),
    metrics: new MetricsRegistry(),
  });
  try {
    assert.deepEqual(server.protocols, ["proto-a/1", "proto-b/1", "proto-c/1"]);
    const conns = await Promise.all(
      ["proto-a/1", "proto-b/1", "proto-c/1"].map((a) => connectTo(server, pki, a)),
    );
    assert.deepEqual(conns.map((c) => c.alpn), ["proto-a/1", "proto-b/1", "proto-c/1"]);
    assert.deepEqual(await Promise.all(conns.map(ask)), ["A", "B", "C"]);

    const failed = await connectTo(server, pki, "unknown/1").then(() => undefined, (e: unknown) => e);
    assert.ok(failed instanceof TransportError);
    assert.equal(failed.code, CloseCode.CONNECT_FAILED);
    assert.equal(failed.retryable, false);
    assert.match(failed.message, /Cannot connect to 127\.0\.0\.1:\d+ \(unknown\/1\)/);

    // Open connections and new ones are unaffected.
    assert.deepEqual(await Promise.all(conns.map(ask)), ["A", "B", "C"]);
    const again = await connectTo(server, pki, "proto-b/1");
    assert.equal(await ask(again), "B");
    for (const c of [...conns, again]) c.close();
    await Promise.all([...conns, again].map((c) => c.closed));
    assert.equal(server.metrics.connectionsFailed.get({ role: "server", reason: "handshake" }), 1);
    assert.ok(errors.some((e) => /protocol/.test(e.message)));
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer closes a peer that sends an oversized message with MESSAGE_TOO_LARGE and keeps serving others", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() }, { maxMessageBytes: 1024 });
  try {
    const good = await connectTo(server, pki, PING_ALPN);
    const bad = await connectTo(server, pki, PING_ALPN);
    const served = keepPinging(good, bad.closed);
    served.catch(() => {}); // awaited below; an early assertion failure must not turn it into an uncaught error
    const stream = await bad.raw.createBidirectionalStream();
    const w = stream.writable.getWriter();
    // A 4-byte prefix announcing 70,000 bytes, over the 1,024 limit: rejected before any body is buffered.
    await w.write(Uint8Array.of(0x00, 0x01, 0x11, 0x70, 1, 2, 3));
    const info = await bad.closed;
    assert.equal(info.initiator, "peer");
    assert.equal(info.closeCode, CloseCode.MESSAGE_TOO_LARGE);
    assert.match(info.reason, /length 70000 exceeds 1024/);
    assert.ok((await served) >= 1);
    assert.equal(server.metrics.limitViolations.get({ code: "MESSAGE_TOO_LARGE" }), 1);
    good.close();
    await good.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer closes a peer that stalls mid-message with STALLED and keeps serving others", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() }, { stallTimeoutMs: 200 });
  try {
    const good = await connectTo(server, pki, PING_ALPN);
    const bad = await connectTo(server, pki, PING_ALPN);
    const served = keepPinging(good, bad.closed);
    served.catch(() => {}); // awaited below; an early assertion failure must not turn it into an uncaught error
    const stream = await bad.raw.createBidirectionalStream();
    const w = stream.writable.getWriter();
    // Announce 100 bytes, send 5, then go quiet.
    await w.write(Uint8Array.of(0, 0, 0, 100, 1, 2, 3, 4, 5));
    const info = await bad.closed;
    assert.equal(info.closeCode, CloseCode.STALLED);
    assert.match(info.reason, /stalled for 200 ms with 5 bytes buffered/);
    assert.ok((await served) >= 1);
    good.close();
    await good.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer closes a peer that opens streams without limit with STREAM_LIMIT and keeps serving others", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() }, { streamBurst: 20, streamsPerSecond: 10 });
  try {
    const good = await connectTo(server, pki, PING_ALPN);
    const bad = await connectTo(server, pki, PING_ALPN);
    const served = keepPinging(good, bad.closed);
    served.catch(() => {}); // awaited below; an early assertion failure must not turn it into an uncaught error
    let opened = 0;
    // Each stream is short-lived (so QUIC's concurrent-stream credit never stops it); only the budget does.
    for (; opened < 500 && !bad.isClosed; opened++) {
      try {
        const s = await bad.raw.createBidirectionalStream({ waitUntilAvailable: true });
        const w = s.writable.getWriter();
        await w.write(Uint8Array.of(0, 0, 0, 1, 42));
        await w.close();
        s.readable.cancel().catch(() => {});
      } catch {
        break;
      }
    }
    const info = await bad.closed;
    assert.equal(info.closeCode, CloseCode.STREAM_LIMIT);
    assert.ok(opened > 20, `opened ${opened}`);
    assert.ok((await served) >= 1);
    good.close();
    await good.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer maps close codes through a protocol's closeCodes", async () => {
  const pki = await tempPki();
  const server = startServer(pki, {
    "doq-like": {
      handle: pingHandler(),
      closeCodes: { MESSAGE_TOO_LARGE: CloseCode.PROTOCOL_ERROR },
      limits: { maxMessageBytes: 16 },
    },
  });
  try {
    const bad = await connectTo(server, pki, "doq-like");
    const w = (await bad.raw.createBidirectionalStream()).writable.getWriter();
    await w.write(Uint8Array.of(0, 0, 0, 17));
    assert.equal((await bad.closed).closeCode, CloseCode.PROTOCOL_ERROR);
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer refuses connections beyond maxConnections", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() }, { maxConnections: 2 });
  try {
    const a = await connectTo(server, pki, PING_ALPN);
    const b = await connectTo(server, pki, PING_ALPN);
    const refused = await connectTo(server, pki, PING_ALPN).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof TransportError);
    assert.equal(refused.code, CloseCode.CONNECT_FAILED);
    assert.match(refused.message, /refused/);
    assert.equal(server.metrics.connectionsFailed.get({ role: "server", reason: "refused" }), 1);
    a.close();
    await a.closed;
    // The slot frees once the server sees the close.
    let c: QuicConnection | undefined;
    for (let i = 0; i < 50 && !c; i++) {
      c = await connectTo(server, pki, PING_ALPN).catch(() => undefined);
      if (!c) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(c);
    for (const x of [b, c]) x.close();
    await Promise.all([b.closed, c.closed]);
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer.close() drains: handlers see the signal, stragglers are closed with SHUTDOWN", async () => {
  const pki = await tempPki();
  let cooperativeSawSignal = false;
  const server = startServer(pki, {
    cooperative: async (conn) => {
      await new Promise<void>((resolve) =>
        conn.signal.addEventListener("abort", () => resolve(), { once: true })
      );
      cooperativeSawSignal = true;
    },
    // Ignores the signal: closed when the drain deadline passes.
    stubborn: () => new Promise<void>(() => {}),
  }, { drainTimeoutMs: 150 });
  try {
    const a = await connectTo(server, pki, "cooperative");
    const b = await connectTo(server, pki, "stubborn");
    await new Promise((r) => setTimeout(r, 20)); // let the server start both handlers
    await server.close();
    assert.ok(cooperativeSawSignal);
    const [ia, ib] = await Promise.all([a.closed, b.closed]);
    assert.equal(ia.closeCode, CloseCode.SHUTDOWN);
    assert.equal(ib.closeCode, CloseCode.SHUTDOWN);
    const late = await connectTo(server, pki, "cooperative", { connectTimeoutMs: 300 }).catch((e: unknown) =>
      e
    );
    assert.ok(late instanceof TransportError);
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer closes with INTERNAL_ERROR when a handler throws", async () => {
  const pki = await tempPki();
  const reported: string[] = [];
  const server = new QuicServer({
    cert: pki.certPem,
    key: pki.keyPem,
    handlers: {
      broken: () => {
        throw new Error("boom");
      },
    },
    onError: (e, where) => reported.push(`${e.codeName} ${where.alpn}`),
  });
  try {
    const conn = await connectTo(server, pki, "broken");
    const info = await conn.closed;
    assert.equal(info.closeCode, CloseCode.INTERNAL_ERROR);
    assert.deepEqual(reported, ["INTERNAL_ERROR broken"]);
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer serves IPv6 loopback", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { [PING_ALPN]: pingHandler() }, {}, "::1");
  try {
    assert.equal(server.addr.hostname, "::1");
    const conn = await connectTo(server, pki, PING_ALPN);
    const s = await PingStream.open(conn);
    assert.equal(text(await s.ping(utf8("v6"))), "v6");
    await s.close();
    conn.close();
    await conn.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicServer rejects invalid options", () => {
  assert.throws(() => new QuicServer({ cert: "", key: "", handlers: {} }), TypeError);
  assert.throws(
    () => new QuicServer({ cert: "", key: "", handlers: { a: () => {} }, limits: { maxConnections: 0 } }),
    /limits\.maxConnections = 0/,
  );
});
