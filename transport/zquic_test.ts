import assert from "node:assert/strict";
import { tempPki, text, utf8 } from "./_testing.ts";
import type { QuicConnection } from "./connection.ts";
import * as zquic from "./zquic.ts";

/** Echoes raw bytes on every bidirectional stream. */
function rawEcho(conn: QuicConnection): Promise<void> {
  return conn.forEachBidi(async (stream) => {
    await stream.readable.pipeTo(stream.writable);
  });
}

Deno.test("zquic facade: init, createConnection, streams, send/receive, close, destroy", async () => {
  const pki = await tempPki();
  const ctx = zquic.init({
    cert: pki.certPem,
    key: pki.keyPem,
    caCerts: [pki.caPem],
    handlers: { "zquic/1": rawEcho },
    alpn: "zquic/1",
  });
  try {
    assert.ok(ctx.server);
    const conn = await zquic.createConnection(ctx, `127.0.0.1:${ctx.endpoint.addr.port}`);
    assert.equal(ctx.connections.size, 1);

    // Stream-level calls.
    const stream = await zquic.createStream(conn, zquic.StreamType.BIDIRECTIONAL);
    assert.equal(await zquic.sendData(stream, utf8("hello zquic")), 11);
    await stream.writer?.close();
    let got = "";
    while (true) {
      const part = await zquic.receiveData(stream, 4); // at most 4 bytes per call, like a C buffer
      assert.ok(part.length <= 4);
      if (part.length === 0) break;
      got += text(part);
    }
    assert.equal(got, "hello zquic");
    await zquic.closeStream(stream);

    // Connection-level calls use the default stream.
    assert.equal(await zquic.sendData(conn, utf8("default")), 7);
    assert.equal(text(await zquic.receiveData(conn, 64)), "default");

    await zquic.closeConnection(conn);
    assert.equal(conn.isClosed, true);
    await assert.rejects(zquic.createConnection(ctx, "nonsense"), TypeError);
  } finally {
    await zquic.destroy(ctx);
    await pki.cleanup();
  }
});
