import assert from "node:assert/strict";
import { raceTimeout, TIMED_OUT } from "./_deadline.ts";
import { connectTo, startServer, tempPki, text, utf8 } from "./_testing.ts";
import type { QuicConnection } from "./connection.ts";
import { CloseCode, TransportError } from "./errors.ts";

/** Echoes datagrams until the connection closes. */
async function datagramEcho(conn: QuicConnection): Promise<void> {
  while (true) {
    const d = await conn.readDatagram();
    if (d === null) return;
    await conn.sendDatagram(d).catch(() => {});
  }
}

Deno.test("QuicConnection round-trips datagrams", async () => {
  const pki = await tempPki();
  const server = startServer(pki, { dgram: datagramEcho });
  try {
    const conn = await connectTo(server, pki, "dgram");
    assert.ok(conn.maxDatagramSize > 1000, `maxDatagramSize ${conn.maxDatagramSize}`);
    // Datagrams are unreliable; loopback does not drop them in practice, but resend a few times to be safe.
    let echo: Uint8Array | null = null;
    const reading = conn.readDatagram();
    for (let attempt = 0; attempt < 5 && echo === null; attempt++) {
      await conn.sendDatagram(utf8("datagram"));
      const r = await raceTimeout(reading, 200);
      if (r !== TIMED_OUT) echo = r;
    }
    assert.ok(echo);
    assert.equal(text(echo), "datagram");
    await assert.rejects(conn.sendDatagram(new Uint8Array(conn.maxDatagramSize + 1)), RangeError);
    conn.close();
    await conn.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicConnection reports the peer's close code as an error on later stream use", async () => {
  const pki = await tempPki();
  const server = startServer(pki, {
    closer: async (conn) => {
      const stream = await conn.acceptBidi();
      if (!stream) return;
      const { reader } = conn.messages(stream);
      await reader.read();
      conn.close(new TransportError(CloseCode.CANCELLED, "Cannot continue: test says stop"));
    },
  });
  try {
    const conn = await connectTo(server, pki, "closer");
    const { reader, writer } = conn.messages(await conn.openBidi());
    await writer.write(utf8("hi"));
    const error = await reader.read().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof TransportError);
    assert.equal(error.code, CloseCode.CANCELLED);
    assert.equal(error.source, "upstream");
    assert.match(error.message, /closed by peer with CANCELLED: Cannot continue: test says stop/);
    const info = await conn.closed;
    assert.deepEqual(info, {
      closeCode: CloseCode.CANCELLED,
      reason: "Cannot continue: test says stop",
      initiator: "peer",
    });
    await assert.rejects(
      conn.openBidi(),
      (e: unknown) => e instanceof TransportError && e.code === CloseCode.CANCELLED,
    );
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicConnection carries unidirectional streams and readAll() bounds them", async () => {
  const pki = await tempPki();
  const got: string[] = [];
  const server = startServer(pki, {
    uni: async (conn) => {
      const first = await conn.acceptUni();
      if (!first) return;
      got.push(text(await conn.readAll(first, { maxBytes: 64 })));
      const second = await conn.acceptUni();
      if (!second) return;
      await conn.readAll(second, { maxBytes: 64 }); // over the limit: closes the connection
    },
  }, { maxMessageBytes: 64 });
  try {
    const conn = await connectTo(server, pki, "uni");
    const w1 = (await conn.openUni()).getWriter();
    await w1.write(utf8("small request"));
    await w1.close();
    const w2 = (await conn.openUni()).getWriter();
    await w2.write(new Uint8Array(65));
    await w2.close().catch(() => {});
    const info = await conn.closed;
    assert.equal(info.closeCode, CloseCode.MESSAGE_TOO_LARGE);
    assert.deepEqual(got, ["small request"]);
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("QuicConnection.partReader() streams a large message in parts", async () => {
  const pki = await tempPki();
  const server = startServer(pki, {
    count: (conn) =>
      conn.forEachBidi(async (stream) => {
        let bytes = 0;
        let parts = 0;
        for await (const part of conn.partReader(stream.readable)) {
          bytes += part.bytes.length;
          parts++;
        }
        const writer = conn.writer(stream.writable);
        await writer.write(utf8(`${bytes} ${parts > 1}`));
        await writer.close();
      }),
  }, { maxMessageBytes: 1 << 20 });
  try {
    const conn = await connectTo(server, pki, "count");
    const { reader, writer } = conn.messages(await conn.openBidi());
    await writer.write(new Uint8Array(1 << 20));
    await writer.close();
    assert.equal(text((await reader.read()) ?? new Uint8Array(0)), `${1 << 20} true`);
    conn.close();
    await conn.closed;
  } finally {
    await server.close();
    await pki.cleanup();
  }
});
