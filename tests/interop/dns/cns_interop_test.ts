// Interop: real outside DNS clients against cns running in-process on loopback random ports.
//   dig (bind9-dnsutils): UDP, TCP, EDNS buffer sizes, TC then TCP retry, forwarding
//   kdig (knot-dnsutils): UDP, TCP, DoH (+https)
//   doq_client (Go + quic-go 0.29 + miekg/dns from Debian): DoQ per RFC 9250
//   unbound: a real upstream for the forwarder
// Each test is ignored, with its reason printed, only when its tool is missing.
import assert from "node:assert/strict";
import { createDevCa, createDevLeaf } from "../../../transport/mod.ts";
import { type CnsServer, parseCnsConfig, startCnsServer } from "../../../cns/mod.ts";
import { buildDoqClient, hasTool, run, startUnbound } from "./_tools.ts";

const HAS_DIG = hasTool("dig");
const HAS_KDIG = hasTool("kdig");
const HAS_UNBOUND = hasTool("unbound");
const HAS_GO = hasTool("go") && (() => {
  try {
    return Deno.statSync("/usr/share/gocode/src/github.com/lucas-clemente/quic-go").isDirectory &&
      Deno.statSync("/usr/share/gocode/src/github.com/miekg/dns").isDirectory;
  } catch {
    return false;
  }
})();
for (
  const [ok, what] of [
    [HAS_DIG, "dig (Debian bind9-dnsutils)"],
    [HAS_KDIG, "kdig (Debian knot-dnsutils)"],
    [HAS_UNBOUND, "unbound (Debian unbound)"],
    [
      HAS_GO,
      "go + quic-go/miekg-dns sources (Debian golang-go golang-github-lucas-clemente-quic-go-dev " +
      "golang-github-miekg-dns-dev)",
    ],
  ] as const
) {
  if (!ok) console.warn(`SKIP: cns interop tests that need ${what}: not installed`);
}

const RECORDS = [
  "www.example.test 300 A 192.0.2.10",
  "www.example.test 300 AAAA 2001:db8::10",
  "mail.example.test 300 MX 10 mx.example.test",
  "_dns._udp.example.test 300 SRV 0 0 53 www.example.test",
  "zns.example.test 300 TXT zns=0x00000000000000000000000000000000000000aa",
  ...Array.from({ length: 40 }, (_, i) => `big.example.test 300 TXT "${"z".repeat(50)}-${i}"`),
];

interface Fixture {
  server: CnsServer;
  port: (name: string) => number;
  caFile: string;
  dir: string;
  close(): Promise<void>;
}

async function fixture(extra: Record<string, unknown> = {}): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "cns_interop_" });
  const now = new Date();
  const ca = await createDevCa({ now, days: 2 });
  const leaf = await createDevLeaf({
    caPem: ca.certPem,
    caKey: ca.key,
    names: ["localhost", "127.0.0.1", "::1"],
    now,
    days: 2,
  });
  const caFile = `${dir}/ca.pem`;
  await Deno.writeTextFile(caFile, ca.certPem);
  const server = await startCnsServer({
    config: parseCnsConfig({
      listen: ["127.0.0.1:0"],
      doq_listen: "127.0.0.1:0",
      doh_listen: "127.0.0.1:0",
      rrl_responses_per_second: 0,
      local_zones: ["example.test"],
      records: RECORDS,
      ...extra,
    }),
    tls: { certPem: leaf.certPem, keyPem: leaf.keyPem },
  });
  return {
    server,
    caFile,
    dir,
    port: (name) => server.endpoints.find((e) => e.name === name)?.port ?? 0,
    close: async () => {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const dig = (port: number, ...args: string[]) =>
  run("dig", ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args]);

Deno.test(
  { name: "interop dig: UDP and TCP answers for A, AAAA, MX, SRV, TXT", ignore: !HAS_DIG },
  async () => {
    const f = await fixture();
    try {
      const port = f.port("udp");
      assert.equal((await dig(port, "www.example.test", "A", "+short")).stdout.trim(), "192.0.2.10");
      assert.equal(
        (await dig(port, "www.example.test", "AAAA", "+short", "+tcp")).stdout.trim(),
        "2001:db8::10",
      );
      assert.equal(
        (await dig(port, "mail.example.test", "MX", "+short")).stdout.trim(),
        "10 mx.example.test.",
      );
      assert.equal(
        (await dig(port, "_dns._udp.example.test", "SRV", "+short")).stdout.trim(),
        "0 0 53 www.example.test.",
      );
      assert.equal(
        (await dig(port, "zns.example.test", "TXT", "+short")).stdout.trim(),
        '"zns=0x00000000000000000000000000000000000000aa"',
      );
      const nx = await dig(port, "nope.example.test", "A");
      assert.match(nx.stdout, /status: NXDOMAIN/);
      assert.match(nx.stdout, /flags: qr aa rd/);
      assert.match(nx.stdout, /AUTHORITY: 1/);
    } finally {
      await f.close();
    }
  },
);

Deno.test(
  { name: "interop dig: EDNS sizes, TC=1 and the automatic TCP retry", ignore: !HAS_DIG },
  async () => {
    const f = await fixture();
    try {
      const port = f.port("udp");
      const opt = await dig(port, "www.example.test", "+bufsize=4096");
      assert.match(opt.stdout, /EDNS: version: 0, flags:; udp: 1232/, "our OPT advertises 1232");
      const tc = await dig(port, "big.example.test", "TXT", "+bufsize=512", "+ignore");
      assert.match(tc.stdout, /flags: qr aa tc rd/);
      const noedns = await dig(port, "big.example.test", "TXT", "+noedns", "+ignore");
      assert.match(noedns.stdout, /flags: qr aa tc rd/);
      assert.match(noedns.stdout, /MSG SIZE {2}rcvd: (\d+)/);
      const size = Number(/MSG SIZE {2}rcvd: (\d+)/.exec(noedns.stdout)?.[1]);
      assert.ok(size <= 512, `no-EDNS answer is ${size} bytes`);
      const retry = await dig(port, "big.example.test", "TXT", "+bufsize=1232");
      assert.match(retry.stdout, /Truncated, retrying in TCP mode/);
      assert.match(retry.stdout, /ANSWER: 40/);
      const tcp = await dig(port, "big.example.test", "TXT", "+tcp");
      assert.match(tcp.stdout, /ANSWER: 40/);
    } finally {
      await f.close();
    }
  },
);

Deno.test({
  name: "interop dig: recursion refused for names outside local zones without upstreams",
  ignore: !HAS_DIG,
}, async () => {
  const f = await fixture();
  try {
    assert.match((await dig(f.port("udp"), "example.org")).stdout, /status: REFUSED/);
  } finally {
    await f.close();
  }
});

Deno.test({ name: "interop kdig: UDP, TCP and DoH (+https, HTTP/2)", ignore: !HAS_KDIG }, async () => {
  const f = await fixture();
  try {
    const k = (...args: string[]) => run("kdig", ["@127.0.0.1", "+time=2", "+retry=0", ...args]);
    assert.equal(
      (await k("-p", String(f.port("udp")), "www.example.test", "+short")).stdout.trim(),
      "192.0.2.10",
    );
    assert.equal(
      (await k("-p", String(f.port("tcp")), "+tcp", "www.example.test", "AAAA", "+short")).stdout.trim(),
      "2001:db8::10",
    );
    const doh = await k(
      "-p",
      String(f.port("doh")),
      "+https",
      `+tls-ca=${f.caFile}`,
      "+tls-hostname=localhost",
      "www.example.test",
    );
    assert.equal(doh.code, 0, doh.stderr + doh.stdout);
    assert.match(doh.stdout, /HTTP\/2-POST\)-\(localhost\/dns-query\)-\(status: 200\)/);
    assert.match(doh.stdout, /www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10/);
    const get = await k(
      "-p",
      String(f.port("doh")),
      "+https-get",
      `+tls-ca=${f.caFile}`,
      "+tls-hostname=localhost",
      "nope.example.test",
    );
    assert.match(get.stdout, /HTTP\/2-GET/);
    assert.match(get.stdout, /status: NXDOMAIN/);
    // RFC 7830/8467: kdig pads its query (+padding), the answer comes back padded to a 468-octet block.
    const padded = await k(
      "-p",
      String(f.port("doh")),
      "+https",
      "+padding",
      `+tls-ca=${f.caFile}`,
      "+tls-hostname=localhost",
      "www.example.test",
    );
    assert.equal(padded.code, 0, padded.stderr + padded.stdout);
    assert.match(padded.stdout, /PADDING: \d+ B/);
    const received = Number(/Received (\d+) B/.exec(padded.stdout)?.[1]);
    assert.equal(received % 468, 0, padded.stdout);
  } finally {
    await f.close();
  }
});

Deno.test({
  name: "interop Go quic-go client: DoQ answer with ID 0, DOQ_PROTOCOL_ERROR for ID 7",
  ignore: !HAS_GO,
}, async () => {
  const bin = await buildDoqClient();
  const f = await fixture();
  try {
    const addr = `127.0.0.1:${f.port("doq")}`;
    const ok = await run(bin, ["-addr", addr, "-ca", f.caFile, "-name", "www.example.test", "-type", "A"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10/);
    const bad = await run(bin, ["-addr", addr, "-ca", f.caFile, "-name", "www.example.test", "-id", "7"]);
    assert.equal(bad.code, 3, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /CONNECTION_CLOSE 0x2/);
  } finally {
    await f.close();
  }
});

Deno.test({
  name: "interop dig + unbound: forwarding to a real upstream, cache and NXDOMAIN",
  ignore: !HAS_DIG || !HAS_UNBOUND,
}, async () => {
  const ub = await startUnbound(["ub.test"], [
    "a.ub.test. 120 IN A 198.51.100.9",
    "ub.test. 3600 IN SOA ns.ub.test. h.ub.test. 1 2 3 4 60",
  ]);
  const f = await fixture({ upstreams: [`127.0.0.1:${ub.port}`], upstream_timeout_ms: 1000 });
  try {
    const port = f.port("udp");
    const first = await dig(port, "a.ub.test");
    assert.match(first.stdout, /a\.ub\.test\.\s+120\s+IN\s+A\s+198\.51\.100\.9/);
    assert.match(first.stdout, /flags: qr rd ra;/);
    const again = await dig(port, "A.UB.TEST", "+tcp");
    assert.match(again.stdout, /198\.51\.100\.9/);
    assert.equal(f.server.metrics.cache.get({ result: "hit" }), 1);
    const nx = await dig(port, "b.ub.test");
    assert.match(nx.stdout, /status: NXDOMAIN/);
  } finally {
    await f.close();
    await ub.stop();
  }
});

/** A wire-format query built by hand (ID 0 as RFC 8484 §4.1 recommends for cache friendliness). */
function wireQuery(name: string, type: number): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  return new Uint8Array([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1]);
}

Deno.test({
  name: "interop ngtcp2 gtlsclient: DoH over HTTP/3 on the DoH port, advertised by Alt-Svc over TCP",
  ignore: !hasTool("gtlsclient") || !hasTool("curl"),
}, async () => {
  const f = await fixture();
  try {
    const port = f.port("doh");
    assert.equal(f.port("doh3"), port, "HTTP/3 listens on the DoH port (UDP)");
    const head = await run("curl", [
      "-sS",
      "-D",
      "-",
      "-o",
      "/dev/null",
      "--cacert",
      f.caFile,
      "--http2",
      `https://localhost:${port}/dns-query?dns=${base64url(wireQuery("www.example.test", 1))}`,
    ]);
    assert.match(head.stdout, new RegExp(`alt-svc: h3=":${port}"; ma=86400`, "i"));
    const r = await run("gtlsclient", [
      "--exit-on-all-streams-close",
      "--timeout=5s",
      "--no-quic-dump",
      "127.0.0.1",
      String(port),
      `https://localhost:${port}/dns-query?dns=${base64url(wireQuery("www.example.test", 1))}`,
    ], { timeoutMs: 20_000 });
    const out = r.stdout + r.stderr;
    assert.match(out, /\[:status: 200\]/);
    assert.match(out, /\[content-type: application\/dns-message\]/);
    // The body (gtlsclient hex-dumps it): a DNS answer whose RDATA is 192.0.2.10.
    const hex = [...out.matchAll(/^[0-9a-f]{8} {2}([0-9a-f ]+)\|/gm)].map((m) => m[1]).join(" ");
    assert.match(hex.replace(/\s+/g, ""), /c000020a$/);
    assert.match(out, /HTTP stream 0 closed with error code 256/);
  } finally {
    await f.close();
  }
});

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

Deno.test(
  { name: "interop curl: DoH GET and POST (RFC 8484) over HTTP/2", ignore: !hasTool("curl") },
  async () => {
    const f = await fixture();
    try {
      const url = `https://localhost:${f.port("doh")}/dns-query`;
      const q = wireQuery("www.example.test", 1);
      const b64 = btoa(String.fromCharCode(...q)).replaceAll("+", "-").replaceAll("/", "_").replace(
        /=+$/,
        "",
      );
      const out = `${f.dir}/answer.bin`;
      const common = [
        "-s",
        "--http2",
        "--cacert",
        f.caFile,
        "--resolve",
        `localhost:${f.port("doh")}:127.0.0.1`,
      ];
      const get = await run("curl", [
        ...common,
        "-H",
        "accept: application/dns-message",
        "-o",
        out,
        "-w",
        "%{http_version} %{http_code} %{content_type}",
        `${url}?dns=${b64}`,
      ]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, "2 200 application/dns-message");
      const answer = await Deno.readFile(out);
      // Header: ID 0, QR set, RCODE 0, one answer; the A record's data is the last 4 bytes.
      assert.equal(answer[0], 0);
      assert.equal(answer[1], 0);
      assert.equal((answer[2] ?? 0) & 0x80, 0x80);
      assert.equal((answer[3] ?? 0) & 0x0f, 0);
      assert.equal(answer[7], 1);
      assert.deepEqual([...answer.subarray(answer.length - 4)], [192, 0, 2, 10]);
      await Deno.writeFile(`${f.dir}/q.bin`, wireQuery("nope.example.test", 1));
      const post = await run("curl", [
        ...common,
        "-H",
        "content-type: application/dns-message",
        "--data-binary",
        `@${f.dir}/q.bin`,
        "-o",
        out,
        "-w",
        "%{http_version} %{http_code}",
        url,
      ]);
      assert.equal(post.stdout, "2 200");
      assert.equal(((await Deno.readFile(out))[3] ?? 0) & 0x0f, 3, "NXDOMAIN");
      // A GET without a dns parameter is a 400, not a crash.
      const bad = await run("curl", [...common, "-o", "/dev/null", "-w", "%{http_code}", url]);
      assert.equal(bad.stdout, "400");
    } finally {
      await f.close();
    }
  },
);
