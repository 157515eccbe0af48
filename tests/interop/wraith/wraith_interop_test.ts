// Interop: `mod.ts wraith --upstream ... --listen ...` run as a user runs it, with outside clients in front (curl
// over HTTP/1.1 and HTTP/2, ngtcp2's gtlsclient and quic-go's client over HTTP/3, headless Chromium forced onto
// QUIC loading a page with 24 subresources, Python grpcio over TLS) and outside origins behind (nginx over
// HTTP/1.1, caddy over HTTP/3, a grpcio server over h2c). Each test skips with a message when its tool is missing.
import assert from "node:assert/strict";
import { buildGoProgram, freePort, hasTool, run } from "../dns/_tools.ts";
import {
  chromiumOverQuic,
  HAS_CADDY,
  HAS_NGINX,
  type Running,
  startCaddy,
  startNginx,
  startWraithProcess,
} from "./_servers.ts";

const SUBRESOURCES = 24;
const HAS_CHROMIUM = hasTool("chromium");
const HAS_QUIC_GO = hasTool("go") && (() => {
  try {
    return Deno.statSync("/usr/share/gocode/src/github.com/lucas-clemente/quic-go/http3").isDirectory;
  } catch {
    return false;
  }
})();
const HAS_GRPCIO = (() => {
  try {
    return new Deno.Command("/usr/bin/python3", { args: ["-c", "import grpc, google.protobuf"] }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
const opts = { sanitizeResources: false, sanitizeOps: false };

/** A static site: index.html whose 24 scripts each add a line, and a load handler that records the protocols. */
async function makeSite(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "wraith_site_" });
  await Deno.mkdir(`${root}/s`);
  const scripts = Array.from({ length: SUBRESOURCES }, (_, i) => `<script src="/s/${i}.js"></script>`).join(
    "\n",
  );
  await Deno.writeTextFile(
    `${root}/index.html`,
    `<!doctype html><html><head><title>wraith</title></head><body>
${scripts}
<script>
addEventListener("load", () => {
  const res = performance.getEntriesByType("resource").map((e) => e.nextHopProtocol);
  const nav = performance.getEntriesByType("navigation")[0].nextHopProtocol;
  document.body.setAttribute("data-done", "nav=" + nav + " resources=" + res.length + " protocols=" + [...new Set(res)].join(","));
});
</script></body></html>`,
  );
  for (let i = 0; i < SUBRESOURCES; i++) {
    await Deno.writeTextFile(`${root}/s/${i}.js`, `document.write("<p class=ok>${i}</p>");\n`);
  }
  await Deno.writeTextFile(`${root}/big.bin`, "x".repeat(300_000));
  // nginx's worker runs as an unprivileged user: the temp dirs must be readable to it.
  for (const d of [root, `${root}/s`]) await Deno.chmod(d, 0o755);
  return root;
}

/** nginx serving the site, wraith in front of it. */
async function siteBehindWraith(): Promise<
  { nginx: Running; wraith: Awaited<ReturnType<typeof startWraithProcess>>; stop(): Promise<void> }
> {
  const root = await makeSite();
  const nginx = await startNginx({ root });
  const port = freePort();
  const wraith = await startWraithProcess([
    "--upstream",
    `http://127.0.0.1:${nginx.port}`,
    "--listen",
    `127.0.0.1:${port}`,
  ]);
  return {
    nginx,
    wraith,
    stop: async () => {
      await wraith.stop();
      await nginx.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test({
  name:
    "interop wraith: curl over HTTP/1.1 and HTTP/2 gets nginx's files through mod.ts wraith, with Alt-Svc and Via",
  ignore: !HAS_NGINX || !hasTool("curl"),
  ...opts,
  fn: async () => {
    const s = await siteBehindWraith();
    try {
      const base = `https://localhost:${s.wraith.port}`;
      for (const proto of ["--http1.1", "--http2"]) {
        const r = await run("curl", ["-sS", proto, "--cacert", s.wraith.caFile, "-D", "-", `${base}/s/7.js`]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, proto === "--http2" ? /^HTTP\/2 200/ : /^HTTP\/1\.1 200/);
        assert.match(r.stdout, new RegExp(`alt-svc: h3=":${s.wraith.port}"; ma=86400`, "i"));
        assert.match(r.stdout, new RegExp(`via: ${proto === "--http2" ? "2" : "1\\.1"} wraith`, "i"));
        assert.match(r.stdout, /server: nginx/i);
        assert.ok(r.stdout.endsWith('document.write("<p class=ok>7</p>");\n'), r.stdout);
      }
      const big = await run("curl", [
        "-sS",
        "--http2",
        "--cacert",
        s.wraith.caFile,
        "-o",
        "/dev/null",
        "-w",
        "%{size_download}",
        `${base}/big.bin`,
      ]);
      assert.equal(big.stdout, "300000");
      const missing = await run("curl", [
        "-sS",
        "--cacert",
        s.wraith.caFile,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        `${base}/nope`,
      ]);
      assert.equal(missing.stdout, "404", "nginx's 404 passes through");
    } finally {
      await s.stop();
    }
  },
});

/** The text of gtlsclient's hex dumps (`00000000  68 65 ...  |hello|`): each line's character column, joined. */
function dumped(output: string): string {
  return output.split("\n").map((l) => /^[0-9a-f]{8} {2}.*\|(.*)\|$/.exec(l)?.[1] ?? "").join("");
}

Deno.test({
  name:
    "interop wraith: ngtcp2's gtlsclient and quic-go's client get nginx's files over HTTP/3 through mod.ts wraith",
  ignore: !HAS_NGINX || !hasTool("gtlsclient"),
  ...opts,
  fn: async () => {
    const s = await siteBehindWraith();
    try {
      const url = `https://localhost:${s.wraith.port}/s/3.js`;
      const r = await run("gtlsclient", [
        "--exit-on-all-streams-close",
        "--timeout=5s",
        "127.0.0.1",
        String(s.wraith.port),
        url,
      ], {
        timeoutMs: 20_000,
      });
      const out = r.stdout + r.stderr;
      assert.match(out, /\[:status: 200\]/, out.slice(-2000));
      assert.match(out, /\[via: 3 wraith\]/);
      assert.match(dumped(out), /document\.write\("<p class=ok>3<\/p>"\);/);
      if (HAS_QUIC_GO) {
        const bin = await buildGoProgram(new URL("../http3/h3_client/", import.meta.url), "h3_client");
        const q = await run(bin, [
          "-url",
          `https://localhost:${s.wraith.port}/big.bin`,
          "-ca",
          s.wraith.caFile,
          "-n",
          "40",
          "-c",
          "8",
          "-show",
          "via",
        ], {
          timeoutMs: 60_000,
        });
        assert.equal(q.code, 0, q.stderr);
        const lines = q.stdout.trim().split("\n");
        assert.equal(
          lines.filter((l) => /^200 300000 [0-9a-f]{16} via=3 wraith$/.test(l)).length,
          40,
          q.stdout.slice(0, 400),
        );
        assert.deepEqual(JSON.parse(lines.at(-1) ?? "{}"), { ok: 40, failed: 0 });
      }
    } finally {
      await s.stop();
    }
  },
});

Deno.test({
  name: "interop wraith: headless Chromium forced onto QUIC loads a page and its 24 subresources over h3",
  ignore: !HAS_NGINX || !HAS_CHROMIUM,
  ...opts,
  fn: async () => {
    const s = await siteBehindWraith();
    const profile = await Deno.makeTempDir({ prefix: "wraith_chromium_" });
    try {
      const r = await chromiumOverQuic({
        host: "localhost",
        port: s.wraith.port,
        path: "/index.html",
        certFile: `${s.wraith.dataDir}/pki/cert.pem`,
        profile,
      });
      assert.match(
        r.stdout,
        new RegExp(`data-done="nav=h3 resources=${SUBRESOURCES} protocols=h3"`),
        r.stdout.slice(0, 500) + r.stderr.slice(-1500),
      );
      assert.equal(r.stdout.match(/<p class="ok">\d+<\/p>/g)?.length, SUBRESOURCES);
    } finally {
      await s.stop();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "interop wraith: an HTTP/3 upstream (caddy) behind wraith, reached by curl over HTTP/2",
  ignore: !HAS_CADDY || !hasTool("curl"),
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "wraith_caddy_pki_" });
    const { ensureDevPki } = await import("../../../transport/mod.ts");
    await ensureDevPki({ dir });
    const caddy = await startCaddy({
      certFile: `${dir}/cert.pem`,
      keyFile: `${dir}/key.pem`,
      respond: "hello from caddy over h3",
    });
    const port = freePort();
    // wraith's data dir gets the same dev CA, so it trusts caddy's certificate.
    const wraith = await startWraithProcess(
      // By IP, with the TLS name given (caddy wants a name in the SNI; the certificate is checked against it).
      ["--listen", `127.0.0.1:${port}`],
      {
        GHOST_TLS_CERT_FILE: `${dir}/cert.pem`,
        GHOST_TLS_KEY_FILE: `${dir}/key.pem`,
        GHOST_TLS_CA_FILE: `${dir}/ca.pem`,
        GHOST_WRAITH_POOLS: `caddy h3://127.0.0.1:${caddy.port} sni=localhost`,
        GHOST_WRAITH_ROUTES: "/ -> caddy",
      },
    );
    try {
      const r = await run("curl", [
        "-sS",
        "--http2",
        "--cacert",
        `${dir}/ca.pem`,
        "-D",
        "-",
        `https://localhost:${port}/x`,
      ]);
      assert.equal(r.code, 0, r.stderr + wraith.output());
      assert.match(r.stdout, /^HTTP\/2 200/, r.stdout + wraith.output().slice(-2000));
      assert.match(r.stdout, /server: Caddy/i);
      assert.ok(r.stdout.endsWith("hello from caddy over h3"), r.stdout);
    } finally {
      await wraith.stop();
      await caddy.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "interop wraith: gRPC passes through (Python grpcio client over TLS h2 -> wraith -> h2c grpcio server) with trailers, deadlines and cancels",
  ignore: !HAS_GRPCIO,
  ...opts,
  fn: async () => {
    const py = new URL("../grpc/python/", import.meta.url).pathname;
    const server = new Deno.Command("/usr/bin/python3", {
      args: ["server.py"],
      cwd: py,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const port = Promise.withResolvers<number>();
    void (async () => {
      let buf = "";
      for await (const chunk of server.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        const parts = buf.split("\n");
        buf = parts.pop() ?? "";
        for (const l of parts) {
          lines.push(l);
          const m = /^PORT (\d+)$/.exec(l);
          if (m) port.resolve(Number(m[1]));
        }
      }
    })();
    const wport = freePort();
    const wraith = await startWraithProcess([
      "--upstream",
      `h2c://127.0.0.1:${await port.promise}`,
      "--listen",
      `127.0.0.1:${wport}`,
    ]);
    try {
      const r = await run("/usr/bin/python3", ["client.py", `localhost:${wport}`], {
        cwd: py,
        env: { GRPC_CA: wraith.caFile, PATH: Deno.env.get("PATH") ?? "" },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr + wraith.output().slice(-2000));
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
      assert.deepEqual(out.unary, { text: "hello", n: 42, header: "from-py", trailer: "py" });
      assert.deepEqual(out.server_stream, [0, 1, 2]);
      assert.equal(out.client_stream, "abc");
      assert.deepEqual(out.bidi, ["x!", "y!"]);
      assert.deepEqual(out.error, { code: "NOT_FOUND", details: "not here: ünïcode" });
      assert.equal(out.big, true);
      assert.equal(out.deadline?.code, "DEADLINE_EXCEEDED");
      assert.deepEqual(out.cancel, { code: "CANCELLED" });
      // The deadline and the cancel both reached the server as cancellations.
      const end = Date.now() + 3_000;
      while (lines.filter((l) => l === "EVENT slow-cancelled").length < 2 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(lines.filter((l) => l === "EVENT slow-cancelled").length, 2, lines.join("\n"));
    } finally {
      await wraith.stop();
      await server.stdin.close();
      await server.status;
    }
  },
});

Deno.test({
  name: "interop wraith: an nginx backend killed mid-run is ejected; concurrent curl GETs see no error",
  ignore: !HAS_NGINX || !hasTool("curl"),
  ...opts,
  fn: async () => {
    const root = await makeSite();
    const a = await startNginx({ root });
    const b = await startNginx({ root });
    const port = freePort();
    const wraith = await startWraithProcess(
      [
        "--upstream",
        `http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`,
        "--listen",
        `127.0.0.1:${port}`,
      ],
      { GHOST_WRAITH_BALANCE: "least_requests" },
    );
    try {
      const url = `https://localhost:${port}/s/1.js`;
      const curlLoop = async (n: number) => {
        const codes: string[] = [];
        for (let i = 0; i < n; i++) {
          const r = await run("curl", [
            "-sS",
            "--http2",
            "--cacert",
            wraith.caFile,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            url,
          ]);
          codes.push(r.code === 0 ? r.stdout : `curl-exit-${r.code}`);
        }
        return codes;
      };
      const load = Promise.all([curlLoop(40), curlLoop(40), curlLoop(40)]);
      await new Promise((r) => setTimeout(r, 300));
      await a.stop();
      const codes = (await load).flat();
      assert.deepEqual([...new Set(codes)], ["200"], codes.join(" "));
      const status = await (await fetch(`${wraith.admin}/metrics`)).text();
      assert.match(
        status,
        new RegExp(
          `ghost_wraith_backend_info\\{[^}]*backend="http://127\\.0\\.0\\.1:${a.port}"[^}]*state="ejected"[^}]*\\} 1`,
        ),
      );
    } finally {
      await wraith.stop();
      await b.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "interop wraith: `mod.ts wallet sign-request` signs, curl sends it (-H @file), wraith admits it and tells the origin who; unsigned is 401",
  ignore: !hasTool("curl"),
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "wraith_sign_" });
    const env = {
      GHOST_WALLET_PASSPHRASE: "correct horse battery staple",
      GHOST_WALLET_KDF: "test",
      NO_COLOR: "1",
    };
    const mod = new URL("../../../mod.ts", import.meta.url).pathname;
    const wallet = (...args: string[]) =>
      run(Deno.execPath(), ["run", "-A", mod, "wallet", ...args, "--wallet-dir", `${dir}/wallet`], { env });
    await Deno.writeTextFile(`${dir}/dev.key`, "11".repeat(32));
    const imported = await wallet(
      "import",
      "--key-file",
      `${dir}/dev.key`,
      "--type",
      "ed25519",
      "--label",
      "dev",
    );
    assert.equal(imported.code, 0, imported.stderr);
    const address = (await wallet("address", "--account", "dev")).stdout.trim();
    assert.match(address, /^ghost1/);
    const origin = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => new Response(`hello ${req.headers.get("ghost-identity")}`),
    );
    const port = freePort();
    const wraith = await startWraithProcess(["--listen", `127.0.0.1:${port}`], {
      GHOST_WRAITH_POOLS: `app http://127.0.0.1:${origin.addr.port}`,
      GHOST_WRAITH_ROUTES: "/app/ -> app",
      GHOST_WRAITH_AUTH: `app signed allow=${address}`,
    });
    try {
      const url = `https://localhost:${port}/app/data`;
      const sig = await wallet("sign-request", "--account", "dev", "--url", url);
      assert.equal(sig.code, 0, sig.stderr);
      assert.match(
        sig.stdout,
        /^signature-input: sig1=\("@method" "@target-uri" "@authority"\);created=\d+;keyid="ghost1[a-z0-9]+";alg="ed25519";nonce="[^"]+"$/m,
      );
      await Deno.writeTextFile(`${dir}/sig.txt`, sig.stdout);
      const ok = await run("curl", ["-sS", "--cacert", wraith.caFile, "-H", `@${dir}/sig.txt`, url]);
      assert.equal(ok.stdout, `hello ${address}`, ok.stderr + wraith.output().slice(-1000));
      const again = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        wraith.caFile,
        "-H",
        `@${dir}/sig.txt`,
        url,
      ]);
      assert.equal(again.stdout, "401", "the same signature twice is a replay");
      const none = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        wraith.caFile,
        url,
      ]);
      assert.equal(none.stdout, "401");
    } finally {
      await wraith.stop();
      await origin.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "interop wraith: live reload (SIGHUP and POST /reload) moves a route to another origin without dropping a request in flight; bad configs are refused",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "wraith_reload_" });
    let slowDone = false;
    const a = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      if (new URL(req.url).pathname === "/slow") {
        await new Promise((r) => setTimeout(r, 1_500));
        slowDone = true;
      }
      return new Response("from a");
    });
    const b = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("from b"));
    const file = `${dir}/ghost.toml`;
    const write = (pools: string, extra = "") =>
      Deno.writeTextFile(
        file,
        `[wraith]\npools = [${JSON.stringify(pools)}]\nroutes = ["/ -> site"]\n${extra}`,
      );
    await write(`site http://127.0.0.1:${a.addr.port}`);
    const port = freePort();
    const wraith = await startWraithProcess(["-c", file, "--listen", `127.0.0.1:${port}`]);
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(wraith.caFile)] });
    const get = async (path: string) => {
      const r = await fetch(`https://localhost:${port}${path}`, { client });
      return { status: r.status, text: await r.text() };
    };
    try {
      assert.equal((await get("/")).text, "from a");
      const inFlight = get("/slow");
      await new Promise((r) => setTimeout(r, 300));
      await write(`site http://127.0.0.1:${b.addr.port}`, 'rate_limits = ["tiny client 1/60s"]\n');
      wraith.signal("SIGHUP");
      const end = Date.now() + 5_000;
      while ((await get("/")).text !== "from b" && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await inFlight).text, "from a", "the request in flight to the old origin finished");
      assert.ok(slowDone);
      const limitedNow = await get("/");
      assert.equal(
        limitedNow.status,
        429,
        `the new rate limit is in force: ${JSON.stringify(limitedNow)} ${wraith.output().slice(-1500)}`,
      );
      // A config that does not parse changes nothing, and says why.
      await Deno.writeTextFile(file, `[wraith]\nroutes = ["/ -> nowhere"]\n`);
      const bad = await fetch(`${wraith.admin}/reload`, { method: "POST" });
      assert.equal(bad.status, 409);
      assert.match(JSON.stringify(await bad.json()), /unknown pool nowhere/);
      // A listener change is refused by wraith: it needs a restart.
      await write(`site http://127.0.0.1:${b.addr.port}`, "http3 = false\n");
      const refused = await fetch(`${wraith.admin}/reload`, { method: "POST" });
      assert.equal(refused.status, 409);
      assert.match(JSON.stringify(await refused.json()), /http3 belong to the listeners: restart wraith/);
      assert.equal((await get("/")).status, 429, "still the last good config");
      assert.match(wraith.output(), /reload refused/);
    } finally {
      client.close();
      await wraith.stop();
      await a.shutdown();
      await b.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "interop wraith: the cache's disk tier answers a hit right after wraith restarts",
  ignore: !hasTool("curl"),
  ...opts,
  fn: async () => {
    let hits = 0;
    const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      hits++;
      return new Response("kept across restarts", { headers: { "cache-control": "max-age=600" } });
    });
    const dataDir = await Deno.makeTempDir({ prefix: "wraith_disk_proc_" });
    const env = { GHOST_WRAITH_CACHE_MAX_BYTES: "1000000", GHOST_WRAITH_CACHE_DISK_BYTES: "1000000" };
    const port = freePort();
    const args = ["--upstream", `http://127.0.0.1:${origin.addr.port}`, "--listen", `127.0.0.1:${port}`];
    const curl = (caFile: string) =>
      run("curl", ["-sS", "--cacert", caFile, "-D", "-", `https://localhost:${port}/doc`]);
    try {
      const first = await startWraithProcess(args, env, { dataDir, keepDataDir: true });
      const miss = await curl(first.caFile);
      assert.match(
        miss.stdout,
        /cache-status: wraith; fwd=miss; fwd-status=200; stored/i,
        miss.stdout + miss.stderr,
      );
      await new Promise((r) => setTimeout(r, 300)); // the disk write is in the background
      await first.stop();
      const second = await startWraithProcess(args, env, { dataDir, keepDataDir: true });
      const hit = await curl(second.caFile);
      assert.match(
        hit.stdout,
        /cache-status: wraith; hit; ttl=\d+/i,
        hit.stdout + second.output().slice(-1000),
      );
      assert.ok(hit.stdout.endsWith("kept across restarts"));
      assert.equal(hits, 1);
      await second.stop();
    } finally {
      await origin.shutdown();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
