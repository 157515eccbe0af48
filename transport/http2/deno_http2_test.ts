// The HTTP/2 adapters over loopback: our client against our server, curl against our server, and the server's
// caps and timeouts.
import assert from "node:assert/strict";
import { connectHttp2, Http2Server, type Http2Stream } from "./deno_http2.ts";
import type { HeaderField } from "./hpack.ts";
import { ErrorCode } from "./frame.ts";
import { collectLines } from "../../tests/_lines.ts";

async function readAll(s: Http2Stream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let c = await s.read(); c !== null; c = await s.read()) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An echo server: replies with the request body, then trailers naming its length. */
function echoServer(extra: Partial<ConstructorParameters<typeof Http2Server>[0]> = {}): Http2Server {
  return new Http2Server({
    onStream: (s) => {
      void (async () => {
        try {
          const body = await readAll(s);
          s.respond([[":status", "200"], ["content-type", "application/octet-stream"]]);
          // Written in pieces so flow control and backpressure are exercised.
          for (let at = 0; at < body.length; at += 100_000) await s.write(body.subarray(at, at + 100_000));
          await s.end([["x-length", String(body.length)]]);
        } catch {
          // reset by the client
        }
      })();
    },
    ...extra,
  });
}

const REQ = (path = "/echo"): HeaderField[] => [[":method", "POST"], [":scheme", "http"], [":path", path], [
  ":authority",
  "localhost",
]];

Deno.test("our client and server: 50 concurrent echoes of 4 MiB, bodies and trailers intact", async () => {
  const server = echoServer();
  const addr = await server.listen();
  const client = await connectHttp2({ hostname: addr.hostname, port: addr.port });
  try {
    const body = crypto.getRandomValues(new Uint8Array(65_536));
    const big = new Uint8Array(4 << 20);
    for (let i = 0; i < big.length; i += body.length) big.set(body, i);
    const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const s = client.request(REQ());
      const data = i === 0 ? big : big.subarray(0, 1000 + i);
      await s.write(data);
      await s.end();
      const head = await s.response;
      const echoed = await readAll(s);
      return { head, echoed, data, trailers: s.trailers };
    }));
    for (const r of results) {
      assert.equal(r.head.find(([n]) => n === ":status")?.[1], "200");
      assert.equal(r.echoed.length, r.data.length);
      assert.deepEqual(r.echoed, r.data);
      assert.deepEqual(r.trailers, [["x-length", String(r.data.length)]]);
    }
  } finally {
    client.destroy();
    await server.close();
  }
});

Deno.test("a reset from the client reaches the server's stream as an abort", async () => {
  const seen = Promise.withResolvers<string>();
  const server = new Http2Server({
    onStream: (s) => {
      s.signal.addEventListener("abort", () => seen.resolve(String((s.signal.reason as Error).message)));
    },
  });
  const addr = await server.listen();
  const client = await connectHttp2({ hostname: addr.hostname, port: addr.port });
  try {
    const s = client.request(REQ());
    await s.write(new Uint8Array(10));
    await new Promise((r) => setTimeout(r, 50));
    s.reset(ErrorCode.CANCEL);
    assert.match(await seen.promise, /CANCEL/);
  } finally {
    client.destroy();
    await server.close();
  }
});

Deno.test("curl --http2-prior-knowledge talks to the server", async () => {
  const server = echoServer();
  const addr = await server.listen();
  try {
    const out = await new Deno.Command("curl", {
      args: [
        "-sS",
        "--http2-prior-knowledge",
        "--data-binary",
        "hello curl",
        "-D",
        "-",
        `http://127.0.0.1:${addr.port}/echo`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(text, /^HTTP\/2 200/);
    assert.match(text, /hello curl/);
    assert.match(text, /x-length: 10/); // trailers, after the body
  } finally {
    await server.close();
  }
});

Deno.test("the server caps connections per client and closes connections that never finish the handshake", async () => {
  const server = echoServer({ maxConnectionsPerClient: 3, handshakeTimeoutMs: 200 });
  const addr = await server.listen();
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 5; i++) conns.push(await Deno.connect({ hostname: addr.hostname, port: addr.port }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.stats.refused, 2);
    assert.equal(server.connections, 3);
    // None of them sent a preface: each is closed after the handshake timeout.
    const deadline = Date.now() + 3_000;
    while (server.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.connections, 0);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed by the server
      }
    }
    await server.close();
  }
});

Deno.test("close() sends GOAWAY: an open stream finishes, then the connection ends", async () => {
  const release = Promise.withResolvers<void>();
  const server = new Http2Server({
    onStream: (s) => {
      void (async () => {
        await release.promise;
        s.respond([[":status", "200"]]);
        await s.end([["x-done", "1"]]);
      })();
    },
  });
  const addr = await server.listen();
  const client = await connectHttp2({ hostname: addr.hostname, port: addr.port });
  const s = client.request(REQ(), true);
  await new Promise((r) => setTimeout(r, 50));
  const closing = server.close(Date.now() + 3_000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(client.open, false, "GOAWAY received: no new streams");
  release.resolve();
  assert.equal((await s.response).find(([n]) => n === ":status")?.[1], "200");
  await readAll(s);
  assert.deepEqual(s.trailers, [["x-done", "1"]]);
  await closing;
  await client.closed;
});

Deno.test({
  name: "out of file descriptors, the server backs off, says so, and serves again once descriptors free up",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        `ulimit -n 96 && exec "${Deno.execPath()}" run -A ${
          new URL("./_testdata/echo_server.ts", import.meta.url).pathname
        }`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines: string[] = [];
    const port = Promise.withResolvers<number>();
    void collectLines(child.stdout, lines, (line) => {
      const m = /^PORT (\d+)$/.exec(line);
      if (m) port.resolve(Number(m[1]));
    });
    const p = await port.promise;
    const idle: Deno.Conn[] = [];
    try {
      // Far more idle connections than the server has descriptors.
      for (let i = 0; i < 200; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port: p }));
      const deadline = Date.now() + 5_000;
      while (!lines.some((l) => l.startsWith("EVENT accept failing")) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(lines.some((l) => l.startsWith("EVENT accept failing")), lines.join("\n"));
      for (const c of idle.splice(0)) c.close();
      // Once they are gone it accepts again, by itself.
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        try {
          const client = await connectHttp2({ hostname: "127.0.0.1", port: p, connectTimeoutMs: 1_000 });
          const s = client.request(REQ(), true);
          ok = (await s.response).some(([n, v]) => n === ":status" && v === "200");
          client.destroy();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(ok, `no answer after the flood:\n${lines.join("\n")}`);
      assert.ok(lines.some((l) => l.startsWith("EVENT accept recovered")), lines.join("\n"));
    } finally {
      for (const c of idle) c.close();
      await child.stdin.close();
      await child.status;
    }
  },
});

Deno.test("TLS with ALPN h2: our client against our server with the dev PKI", async () => {
  const { ensureDevPki } = await import("../mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "h2_tls_" });
  const pki = await ensureDevPki({ dir });
  const server = echoServer({ tls: { cert: pki.certPem, key: pki.keyPem } });
  const addr = await server.listen();
  try {
    const client = await connectHttp2({
      hostname: "127.0.0.1",
      port: addr.port,
      tls: { caCerts: [pki.caPem], serverName: "localhost" },
    });
    const s = client.request([[":method", "POST"], [":scheme", "https"], [":path", "/echo"], [
      ":authority",
      "localhost",
    ]]);
    await s.write(new TextEncoder().encode("over tls"));
    await s.end();
    assert.equal(new TextDecoder().decode(await readAll(s)), "over tls");
    assert.deepEqual(s.trailers, [["x-length", "8"]]);
    client.destroy();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
