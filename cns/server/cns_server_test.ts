// Loopback tests of the Deno adapters: UDP, TCP (pipelining), DoQ, DoH and forwarding between two servers.
import assert from "node:assert/strict";
import { connectQuic, encodeLengthPrefixed, LengthPrefixedDecoder } from "../../transport/mod.ts";
import { decode, query } from "../_test_util.ts";
import { loopbackConfig, startTestServer, testPki } from "../_test_server.ts";
import { DOQ_ALPN } from "../proto/doq_codec.ts";
import { encodeBase64Url } from "./doh_handler.ts";
import { FLAG, RCODE, rcodeOf } from "../proto/message.ts";

const RECORDS = {
  local_zones: ["example.test"],
  records: [
    "www.example.test 300 A 192.0.2.10",
    "slow.example.test 300 A 192.0.2.11",
    ...Array.from({ length: 40 }, (_, i) => `big.example.test 300 TXT "${"y".repeat(50)}-${i}"`),
  ],
};

async function udpExchange(port: number, q: Uint8Array): Promise<Uint8Array> {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await sock.send(q, { transport: "udp", hostname: "127.0.0.1", port });
    const [data] = await sock.receive();
    return data;
  } finally {
    sock.close();
  }
}

/** Reads `count` answers from a TCP connection (fewer if it closes), decoded, in the order they came. */
async function tcpAnswers(
  conn: Deno.TcpConn,
  dec: LengthPrefixedDecoder,
  count: number,
): Promise<ReturnType<typeof decode>[]> {
  const out: ReturnType<typeof decode>[] = [];
  const buf = new Uint8Array(65536);
  while (out.length < count) {
    const n = await conn.read(buf);
    if (n === null) break;
    for (const m of dec.push(buf.slice(0, n))) out.push(decode(m));
  }
  return out;
}

Deno.test("cns server answers over UDP and TCP, with TC then a full TCP answer", async () => {
  const server = await startTestServer({
    config: loopbackConfig({ ...RECORDS, doq_listen: "", doh_listen: "" }),
  });
  try {
    const port = server.port("udp");
    const r = decode(await udpExchange(port, query("www.example.test")));
    assert.equal(r.answers[0]?.data, "192.0.2.10");
    const big = decode(await udpExchange(port, query("big.example.test", "TXT")));
    assert.ok(big.flags & FLAG.TC);
    // TCP: two pipelined queries in one write, both answered on the same connection.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port("tcp") });
    const q1 = encodeLengthPrefixed(query("big.example.test", "TXT", { id: 1 }), 2);
    const q2 = encodeLengthPrefixed(query("www.example.test", "A", { id: 2 }), 2);
    await conn.write(new Uint8Array([...q1, ...q2]));
    const answers = await tcpAnswers(
      conn,
      new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 65535 }),
      2,
    );
    assert.deepEqual(answers.map((d) => d.id).sort(), [1, 2]);
    assert.equal(answers.find((d) => d.id === 1)?.answers.length, 40);
    conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("cns server TCP: 300 pipelined queries in one write get 300 matching answers, whole, on one connection", async () => {
  const server = await startTestServer({
    config: loopbackConfig({ ...RECORDS, doq_listen: "", doh_listen: "" }),
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port("tcp") });
    const names = ["www.example.test", "slow.example.test", "big.example.test", "none.example.test"];
    const wire: number[] = [];
    for (let id = 1; id <= 300; id++) {
      const name = names[id % names.length] as string;
      wire.push(...encodeLengthPrefixed(query(name, name.startsWith("big") ? "TXT" : "A", { id }), 2));
    }
    await conn.write(new Uint8Array(wire));
    const answers = await tcpAnswers(
      conn,
      new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 65535 }),
      300,
    );
    const seen = new Map(answers.map((d) => [d.id, d]));
    assert.equal(answers.length, 300);
    assert.equal(seen.size, 300, "no answer came twice");
    for (const [id, d] of seen) {
      const name = names[id % names.length] as string;
      if (name === "www.example.test") assert.equal(d.answers[0]?.data, "192.0.2.10");
      if (name === "slow.example.test") assert.equal(d.answers[0]?.data, "192.0.2.11");
      if (name === "big.example.test") assert.equal(d.answers.length, 40);
      if (name === "none.example.test") assert.equal(rcodeOf(d.flags), RCODE.NXDOMAIN);
    }
    conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("cns server TCP keeps a connection that stays active past its idle timeout, and closes it once quiet", async () => {
  const server = await startTestServer({
    config: loopbackConfig({ ...RECORDS, doq_listen: "", doh_listen: "", tcp_idle_timeout_ms: 300 }),
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port("tcp") });
    const dec = new LengthPrefixedDecoder({ prefix: 2, maxMessageBytes: 65535 });
    // A query every 100 ms for 900 ms: three idle periods long, never idle for one.
    for (let id = 1; id <= 9; id++) {
      await conn.write(encodeLengthPrefixed(query("www.example.test", "A", { id }), 2));
      const [answer] = await tcpAnswers(conn, dec, 1);
      assert.equal(answer?.id, id, `closed while active, before answer ${id}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await conn.read(new Uint8Array(16)), null, "closed once quiet");
    conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("cns server TCP closes a connection that sends an unreadable message", async () => {
  const server = await startTestServer({ config: loopbackConfig({ doq_listen: "", doh_listen: "" }) });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port("tcp") });
    await conn.write(Uint8Array.of(0, 3, 1, 2, 3));
    assert.equal(await conn.read(new Uint8Array(10)), null);
    conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("cns server serves DoQ per RFC 9250 and closes with DOQ_PROTOCOL_ERROR on a non-zero ID", async () => {
  const pki = await testPki();
  const server = await startTestServer({ config: loopbackConfig({ ...RECORDS, doh_listen: "" }), tls: pki });
  try {
    const target = {
      hostname: "127.0.0.1",
      port: server.port("doq"),
      serverName: "localhost",
      alpn: DOQ_ALPN,
    };
    const conn = await connectQuic(target, { caCerts: [pki.caPem] });
    const stream = await conn.openBidi();
    const w = stream.writable.getWriter();
    await w.write(encodeLengthPrefixed(query("www.example.test", "A", { id: 0 }), 2));
    await w.close();
    const bytes = await conn.readAll(stream.readable, { maxBytes: 70000, timeoutMs: 5000 });
    const r = decode(bytes.subarray(2));
    assert.equal(r.id, 0);
    assert.equal(r.answers[0]?.data, "192.0.2.10");
    // Message ID 7: the server closes the connection with DOQ_PROTOCOL_ERROR (0x2).
    const bad = await conn.openBidi();
    const bw = bad.writable.getWriter();
    await bw.write(encodeLengthPrefixed(query("www.example.test", "A", { id: 7 }), 2));
    await bw.close();
    const info = await conn.closed;
    assert.equal(info.closeCode, 0x2);
    assert.equal(info.initiator, "peer");
  } finally {
    await server.close();
  }
});

Deno.test("cns server serves DoH GET and POST over TLS", async () => {
  const pki = await testPki();
  const server = await startTestServer({ config: loopbackConfig({ ...RECORDS, doq_listen: "" }), tls: pki });
  const client = Deno.createHttpClient({ caCerts: [pki.caPem] });
  try {
    const base = `https://localhost:${server.port("doh")}/dns-query`;
    const get = await fetch(`${base}?dns=${encodeBase64Url(query("www.example.test", "A", { id: 0 }))}`, {
      client,
    });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("content-type"), "application/dns-message");
    assert.equal(get.headers.get("cache-control"), "max-age=300");
    assert.equal(decode(new Uint8Array(await get.arrayBuffer())).answers[0]?.data, "192.0.2.10");
    const post = await fetch(base, {
      client,
      method: "POST",
      headers: { "content-type": "application/dns-message" },
      body: query("nope.example.test").slice(),
    });
    assert.equal(rcodeOf(decode(new Uint8Array(await post.arrayBuffer())).flags), RCODE.NXDOMAIN);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("cns server forwards to an upstream server and caches the answer", async () => {
  const upstream = await startTestServer({
    config: loopbackConfig({
      local_zones: ["up.test"],
      records: ["a.up.test 120 A 198.51.100.5"],
      doq_listen: "",
      doh_listen: "",
    }),
  });
  const front = await startTestServer({
    config: loopbackConfig({
      upstreams: [`127.0.0.1:${upstream.port("udp")}`],
      doq_listen: "",
      doh_listen: "",
    }),
  });
  try {
    const port = front.port("udp");
    const r = decode(await udpExchange(port, query("a.up.test")));
    assert.equal(r.answers[0]?.data, "198.51.100.5");
    assert.ok(r.flags & FLAG.RA);
    assert.equal(r.flags & FLAG.AA, 0);
    await udpExchange(port, query("A.UP.test"));
    assert.equal(front.metrics.cache.get({ result: "hit" }), 1);
    const nx = decode(await udpExchange(port, query("b.up.test")));
    assert.equal(rcodeOf(nx.flags), RCODE.NXDOMAIN);
    assert.equal(nx.authorities[0]?.type, "SOA");
  } finally {
    await front.close();
    await upstream.close();
  }
});

Deno.test("cns server returns SERVFAIL when the upstream does not answer", async () => {
  const silent = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const front = await startTestServer({
    config: loopbackConfig({
      upstreams: [`127.0.0.1:${(silent.addr as Deno.NetAddr).port}`],
      upstream_timeout_ms: 100,
      upstream_attempts: 2,
      doq_listen: "",
      doh_listen: "",
    }),
  });
  try {
    const r = decode(await udpExchange(front.port("udp"), query("x.example.org")));
    assert.equal(rcodeOf(r.flags), RCODE.SERVFAIL);
  } finally {
    await front.close();
    silent.close();
  }
});
