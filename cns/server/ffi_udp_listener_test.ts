// The batched UDP listener (udp_io = "ffi") against the Deno one: the same bytes for the same queries (first
// and repeated, so both the async path and the answer cache's batch path), a burst answered in full, junk
// survived, IPv6, and a clean close (no signal listener, port or timer left behind).
import assert from "node:assert/strict";
import { decode, query } from "../_test_util.ts";
import { loopbackConfig, startTestServer } from "../_test_server.ts";
import { FLAG } from "../proto/message.ts";

const RECORDS = {
  local_zones: ["example.test"],
  records: [
    "www.example.test 300 A 192.0.2.10",
    ...Array.from({ length: 60 }, (_, i) => `big.example.test 300 TXT "${"x".repeat(40)}-${i}"`),
    ...Array.from({ length: 200 }, (_, i) => `h${i}.example.test 300 AAAA 2001:db8::${(i + 1).toString(16)}`),
  ],
  doq_listen: "",
  doh_listen: "",
};
const SUPPORTED = Deno.build.os === "linux" &&
  (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64");

/** Sends every query from one socket, returns the answers by ID (waits up to 3 s for all of them). */
async function exchange(host: string, port: number, queries: Uint8Array[]): Promise<Map<number, Uint8Array>> {
  const sock = Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
  const out = new Map<number, Uint8Array>();
  const reading = (async () => {
    try {
      while (out.size < queries.length) {
        const [d] = await sock.receive();
        out.set(((d[0] ?? 0) << 8) | (d[1] ?? 0), d);
      }
    } catch {
      // closed at the deadline
    }
  })();
  // At most 100 in flight, as dnsperf -q 100: a client socket's default buffer holds ~250 answers.
  for (let i = 0; i < queries.length; i++) {
    while (i - out.size >= 100) await new Promise((r) => setTimeout(r, 1));
    await sock.send(queries[i] ?? new Uint8Array(), { transport: "udp", hostname: host, port });
  }
  const timer = setTimeout(() => sock.close(), 3000);
  await reading;
  clearTimeout(timer);
  try {
    sock.close();
  } catch {
    // closed by the deadline
  }
  return out;
}

Deno.test({
  name:
    "ffi UDP listener: answers byte-identical to the Deno listener, first and repeated, TC for big answers",
  ignore: !SUPPORTED,
  fn: async () => {
    const ffi = await startTestServer({ config: loopbackConfig({ ...RECORDS, udp_io: "ffi" }) });
    const plain = await startTestServer({ config: loopbackConfig(RECORDS) });
    try {
      const qs = [
        query("www.example.test", "A", { id: 1 }),
        query("WWW.Example.Test", "A", { id: 2, udpSize: 1232 }),
        query("big.example.test", "TXT", { id: 3 }),
        query("nx.example.test", "A", { id: 4 }),
      ];
      for (let round = 0; round < 2; round++) {
        const a = await exchange("127.0.0.1", ffi.port("udp"), qs);
        const b = await exchange("127.0.0.1", plain.port("udp"), qs);
        assert.equal(a.size, qs.length, `round ${round}: every query answered`);
        for (const [id, bytes] of b) assert.deepEqual(a.get(id), bytes, `round ${round}, query ${id}`);
      }
      const big = decode(
        (await exchange("127.0.0.1", ffi.port("udp"), [query("big.example.test", "TXT")])).get(0x4242) ??
          null,
      );
      assert.ok(big.flags & FLAG.TC);
      const m = ffi.metrics.answerCache;
      assert.ok(m.get({ result: "hit" }) >= 4, "the second round came from the answer cache");
    } finally {
      await ffi.close();
      await plain.close();
    }
  },
});

Deno.test({
  name: "ffi UDP listener: a burst of 1,000 queries is answered in full; junk datagrams are survived",
  ignore: !SUPPORTED,
  fn: async () => {
    const server = await startTestServer({ config: loopbackConfig({ ...RECORDS, udp_io: "ffi" }) });
    try {
      const port = server.port("udp");
      const junk = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      for (let i = 0; i < 50; i++) {
        const b = crypto.getRandomValues(new Uint8Array(1 + (i * 37) % 600));
        await junk.send(b, { transport: "udp", hostname: "127.0.0.1", port });
      }
      junk.close();
      const qs = Array.from({ length: 1000 }, (_, i) => query(`h${i % 200}.example.test`, "AAAA", { id: i }));
      const answers = await exchange("127.0.0.1", port, qs);
      assert.equal(answers.size, 1000);
      for (const [id, bytes] of answers) {
        const r = decode(bytes);
        assert.equal(r.answers[0]?.data, `2001:db8::${((id % 200) + 1).toString(16)}`);
      }
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "ffi UDP listener: IPv6 listening; a libc that cannot be opened is a clear error",
  ignore: !SUPPORTED,
  fn: async () => {
    const server = await startTestServer({
      config: loopbackConfig({ ...RECORDS, udp_io: "ffi", listen: ["[::1]:0"] }),
    });
    try {
      const r = await exchange("::1", server.port("udp"), [query("www.example.test", "A", { id: 9 })]);
      assert.equal(decode(r.get(9) ?? null).answers[0]?.data, "192.0.2.10");
    } finally {
      await server.close();
    }
    await assert.rejects(
      startTestServer({
        config: loopbackConfig({ ...RECORDS, udp_io: "ffi", udp_ffi_libc: "/nonexistent/libc.so" }),
      }),
      /cannot open \/nonexistent\/libc\.so/,
    );
  },
});
