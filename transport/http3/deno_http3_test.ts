import assert from "node:assert/strict";
import { connectTo, tempPki } from "../_testing.ts";
import type { QuicConnection } from "../connection.ts";
import { encodeVarintFrame } from "../mod.ts";
import type { HeaderField } from "../http/fields.ts";
import { encodeH3Data, encodeH3Headers, H3MessageReader } from "./h3_message.ts";
import { H3Session } from "./h3_session.ts";
import { type Http3Handler, http3Metrics, Http3Server } from "./deno_http3.ts";
import { MetricsRegistry } from "../../core/mod.ts";

const GET: HeaderField[] = [[":method", "GET"], [":scheme", "https"], [":authority", "localhost"], [
  ":path",
  "/x",
]];

async function withServer(
  handler: Http3Handler,
  fn: (conn: QuicConnection) => Promise<void>,
  headerTimeoutMs = 10_000,
  metrics?: MetricsRegistry,
): Promise<void> {
  const pki = await tempPki();
  const server = new Http3Server(handler, {
    cert: pki.certPem,
    key: pki.keyPem,
    headerTimeoutMs,
    ...(metrics ? { metrics } : {}),
  });
  const conn = await connectTo(server.server, pki, "h3");
  try {
    const control = await conn.openUni();
    await control.getWriter().write(new H3Session({ role: "client" }).controlStreamPreface());
    await fn(conn);
  } finally {
    conn.close();
    await server.close();
    await pki.cleanup();
  }
}

/** Sends `bytes` on a new request stream (FIN after unless `open`), returns status and body text. */
async function exchange(conn: QuicConnection, bytes: Uint8Array, open = false): Promise<[number, string]> {
  const stream = await conn.openBidi();
  const w = stream.writable.getWriter();
  await w.write(bytes);
  if (!open) await w.close();
  const reader = new H3MessageReader({ role: "client" });
  let status = 0;
  let body = "";
  for await (const chunk of stream.readable) {
    for (const e of reader.push(chunk)) {
      if (e.type === "headers") status = Number(e.fields.find(([n]) => n === ":status")?.[1]);
      if (e.type === "data") body += new TextDecoder().decode(e.data);
    }
  }
  reader.finish();
  return [status, body];
}

const echo: Http3Handler = async (req) =>
  new Response(`${req.method} ${new URL(req.url).pathname} ${req.body ? (await req.text()) : "-"}`);

Deno.test("Http3Server serves GET and a streamed POST body to a Deno.serve-shaped handler", async () => {
  await withServer(echo, async (conn) => {
    assert.deepEqual(await exchange(conn, encodeH3Headers(GET)), [200, "GET /x -"]);
    const post = encodeH3Headers([[":method", "POST"], ...GET.slice(1), ["content-length", "10"]]);
    const body = [
      encodeH3Data(new TextEncoder().encode("hello ")),
      encodeH3Data(new TextEncoder().encode("h3!!")),
    ];
    const wire = new Uint8Array([
      ...post,
      ...body[0] as Uint8Array,
      ...encodeVarintFrame(0x21n, new Uint8Array(5)),
      ...body[1] as Uint8Array,
    ]);
    assert.deepEqual(await exchange(conn, wire), [200, "POST /x hello h3!!"]);
  });
});

Deno.test("malformed requests get 400, a failing handler 500, and the connection keeps serving", async () => {
  const registry = new MetricsRegistry();
  await withServer(
    async (req) => {
      if (new URL(req.url).pathname === "/boom") throw new Error("handler bug");
      return await echo(req, { remoteAddr: { transport: "udp", hostname: "", port: 0 } });
    },
    async (conn) => {
      const [upper] = await exchange(conn, encodeH3Headers([...GET, ["X-Upper", "1"]]));
      assert.equal(upper, 400);
      const short = encodeH3Headers([[":method", "POST"], ...GET.slice(1), ["content-length", "10"]]);
      const [mismatch, why] = await exchange(
        conn,
        new Uint8Array([...short, ...encodeH3Data(new Uint8Array(3))]),
      );
      assert.equal(mismatch, 400);
      assert.match(why, /Content-Length/);
      assert.equal((await exchange(conn, new Uint8Array()))[0], 400, "a stream with no request at all");
      const boom = GET.map(([n, v]): HeaderField => [n, n === ":path" ? "/boom" : v]);
      assert.equal((await exchange(conn, encodeH3Headers(boom)))[0], 500);
      assert.deepEqual(await exchange(conn, encodeH3Headers(GET)), [200, "GET /x -"]);
      const requests = http3Metrics(registry).requests;
      assert.deepEqual(
        ["200", "400", "500"].map((status) => requests.get({ status })),
        [1, 3, 1],
      );
    },
    10_000,
    registry,
  );
});

Deno.test("a request whose headers never finish gets 408 after the header timeout (slowloris)", async () => {
  await withServer(echo, async (conn) => {
    const partial = encodeH3Headers(GET).subarray(0, 4);
    const [status] = await exchange(conn, partial, true);
    assert.equal(status, 408);
    assert.deepEqual(await exchange(conn, encodeH3Headers(GET)), [200, "GET /x -"]);
  }, 300);
});

Deno.test("30 uploads of 200 KB, 6 at a time, arrive whole over one connection", async () => {
  await withServer(
    async (req) => new Response(String((await req.arrayBuffer()).byteLength)),
    async (conn) => {
      const head = encodeH3Headers([[":method", "PUT"], ...GET.slice(1), ["content-length", "200000"]]);
      const body = encodeH3Data(new Uint8Array(200_000));
      const wire = new Uint8Array(head.length + body.length);
      wire.set(head);
      wire.set(body, head.length);
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(Array.from({ length: 6 }, () => exchange(conn, wire)));
        assert.deepEqual(answers, new Array(6).fill([200, "200000"]));
      }
    },
  );
});

Deno.test("close() sends GOAWAY on the control stream and lets the request in flight finish", async () => {
  const pki = await tempPki();
  const gate = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  const server = new Http3Server(async () => {
    started.resolve();
    await gate.promise;
    return new Response("late but whole");
  }, { cert: pki.certPem, key: pki.keyPem });
  const conn = await connectTo(server.server, pki, "h3");
  try {
    const control = await conn.openUni();
    await control.getWriter().write(new H3Session({ role: "client" }).controlStreamPreface());
    // Read the server's control stream (among its uni streams) for SETTINGS and GOAWAY.
    const session = new H3Session({ role: "client" });
    const goaway = Promise.withResolvers<bigint>();
    void (async () => {
      for (let i = 0; i < 3; i++) {
        const uni = await conn.acceptUni();
        if (!uni) return;
        const reader = session.uniStream();
        void (async () => {
          for await (const chunk of uni) {
            for (const e of reader.push(chunk)) if (e.type === "goaway") goaway.resolve(e.id);
          }
        })().catch(() => {});
      }
    })().catch(() => {});
    const inFlight = exchange(conn, encodeH3Headers(GET));
    await started.promise;
    const closing = server.close();
    // GOAWAY names the first request stream the server will not serve: after ours (stream 0).
    assert.equal(await goaway.promise, 4n);
    gate.resolve();
    assert.deepEqual(await inFlight, [200, "late but whole"]);
    await closing;
  } finally {
    gate.resolve();
    conn.close();
    await server.close();
    await pki.cleanup();
  }
});
