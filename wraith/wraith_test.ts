// wraith over real sockets: HTTP/3 (our client), HTTP/2 (our client over TLS) and HTTP/1.1 (raw TLS bytes) in
// front; HTTP/1.1 and HTTP/2 origins behind; failover, retries, limits and smuggling.
import assert from "node:assert/strict";
import { connectHttp2, Http2Server } from "../transport/http2/mod.ts";
import { echoOrigin, h3To, rawH1, readAll, startWraith, testPki } from "./_test_support.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const td = new TextDecoder();

Deno.test({
  name:
    "[wraith] HTTP/3, HTTP/2 and HTTP/1.1 clients reach an HTTP/1.1 origin with proxy headers and whole bodies",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const origin = echoOrigin("o1");
    const w = await startWraith(pki, { GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${origin.port}` });
    try {
      const body = new Uint8Array(1_000_000).map((_, i) => (i * 7) % 251);
      let sum = 0;
      for (const b of body) sum = (sum + b) % 65_521;

      // HTTP/3
      const h3 = await h3To(pki, w.port);
      const get = await h3.request({ method: "GET", authority: `localhost:${w.port}`, path: "/a/../b?x=1" });
      assert.equal(get.status, 200);
      const echoed = JSON.parse(td.decode(await readAll(get.body)));
      assert.equal(echoed.path, "/b?x=1", "dot-segments resolved before routing and forwarding");
      assert.equal(echoed.headers.via, "3 wraith");
      assert.equal(echoed.headers["x-forwarded-for"], "127.0.0.1");
      assert.equal(echoed.headers.host, `localhost:${w.port}`);
      assert.equal(get.fields.find(([n]) => n === "via")?.[1], "3 wraith");
      const post = await h3.request({ method: "POST", authority: "localhost", path: "/up", body });
      const up = JSON.parse(td.decode(await readAll(post.body)));
      assert.deepEqual([up.length, up.sum], [body.length, sum]);
      h3.close();

      // HTTP/2 over TLS
      const h2 = await connectHttp2({
        hostname: "127.0.0.1",
        port: w.port,
        tls: { caCerts: [pki.caPem], serverName: "localhost" },
      });
      const s = h2.request([[":method", "POST"], [":scheme", "https"], [":path", "/h2"], [
        ":authority",
        "localhost",
      ]]);
      await s.write(body);
      await s.end();
      const head = await s.response;
      assert.equal(head.find(([n]) => n === ":status")?.[1], "200");
      assert.match(head.find(([n]) => n === "alt-svc")?.[1] ?? "", /^h3=":\d+"; ma=86400$/);
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      for (let c = await s.read(); c !== null; c = await s.read()) chunks.push(c.slice());
      const viaH2 = JSON.parse(td.decode(await new Blob(chunks).bytes()));
      assert.deepEqual([viaH2.length, viaH2.sum, viaH2.headers.via], [body.length, sum, "2 wraith"]);
      h2.destroy();

      // HTTP/1.1, two requests on one keep-alive connection
      const raw = await rawH1(
        pki,
        w.port,
        "GET /one HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /two HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
      );
      const answers = raw.split("HTTP/1.1 200 OK").length - 1;
      assert.equal(answers, 2, raw);
      assert.match(raw, /"path":"\/one"/);
      assert.match(raw, /"path":"\/two","length":5/);
      assert.match(raw, /via: 1\.1 wraith/i);
    } finally {
      await w.stop();
      await origin.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name: "[wraith] gRPC-style trailers pass through from an HTTP/2 origin to HTTP/3 and HTTP/2 clients",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const origin = new Http2Server({
      onStream: (stream) => {
        void (async () => {
          let n = 0;
          for (let c = await stream.read(); c !== null; c = await stream.read()) n += c.length;
          stream.respond([[":status", "200"], ["content-type", "application/grpc"]]);
          await stream.write(new Uint8Array([0, 0, 0, 0, 1, n & 0xff]));
          await stream.end([["grpc-status", "0"], ["grpc-message", `got ${n}`]]);
        })();
      },
    });
    const { port } = await origin.listen();
    const w = await startWraith(pki, { GHOST_WRAITH_UPSTREAM: `h2c://127.0.0.1:${port}` });
    try {
      const grpcHead = [["content-type", "application/grpc"], ["te", "trailers"]] as const;
      const h3 = await h3To(pki, w.port);
      const r = await h3.request({
        method: "POST",
        authority: "localhost",
        path: "/helloworld.Greeter/SayHello",
        fields: grpcHead,
        body: new Uint8Array([0, 0, 0, 0, 2, 8, 1]),
      });
      assert.equal(r.status, 200);
      assert.deepEqual([...(await readAll(r.body))], [0, 0, 0, 0, 1, 7]);
      assert.deepEqual(await r.trailers, [["grpc-status", "0"], ["grpc-message", "got 7"]]);
      h3.close();

      const h2 = await connectHttp2({
        hostname: "127.0.0.1",
        port: w.port,
        tls: { caCerts: [pki.caPem], serverName: "localhost" },
      });
      const s = h2.request([[":method", "POST"], [":scheme", "https"], [":path", "/x.Y/Z"], [
        ":authority",
        "localhost",
      ], ...grpcHead]);
      await s.write(new Uint8Array([0, 0, 0, 0, 0]));
      await s.end();
      await s.response;
      while ((await s.read()) !== null);
      assert.deepEqual(s.trailers, [["grpc-status", "0"], ["grpc-message", "got 5"]]);
      h2.destroy();
    } finally {
      await w.stop();
      await origin.close();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name: "[wraith] a backend killed mid-run is ejected and idempotent requests fail over with no client error",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const a = echoOrigin("a");
    const b = echoOrigin("b");
    const w = await startWraith(pki, {
      GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`,
      GHOST_WRAITH_EJECT_CONSECUTIVE_ERRORS: "2",
      GHOST_WRAITH_EJECT_MS: "60000",
    });
    try {
      const h3 = await h3To(pki, w.port);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await h3.request({ method: "GET", authority: "localhost", path: `/r${i}` });
        seen.add(JSON.parse(td.decode(await readAll(r.body))).id);
      }
      assert.deepEqual([...seen].sort(), ["a", "b"]);
      await a.stop();
      const after = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const method = i % 2 === 0 ? "GET" : "POST";
        const r = await h3.request({
          method,
          authority: "localhost",
          path: `/k${i}`,
          body: method === "POST" ? new Uint8Array([1]) : null,
        });
        assert.equal(r.status, 200, `request ${i} (${method})`);
        after.add(JSON.parse(td.decode(await readAll(r.body))).id);
      }
      assert.deepEqual([...after], ["b"]);
      const state = w.proxy.status().pools[0]?.backends.map((x) => x.state);
      assert.deepEqual(state, ["ejected", "up"]);
      h3.close();
    } finally {
      await w.stop();
      await b.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name: "[wraith] ghost-backend pins a backend of the route's pool; a pinned 503 is not retried elsewhere",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const a = echoOrigin("a");
    const b = echoOrigin("b");
    const w = await startWraith(pki, {
      GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`,
    });
    try {
      const h3 = await h3To(pki, w.port);
      const pinned = await h3.request({
        method: "GET",
        authority: "localhost",
        path: "/p",
        fields: [["ghost-backend", `127.0.0.1:${b.port}`]],
      });
      const echoed = JSON.parse(td.decode(await readAll(pinned.body)));
      assert.equal(echoed.id, "b");
      assert.equal(echoed.headers["ghost-backend"], undefined, "consumed, not forwarded");
      const wrong = await h3.request({
        method: "GET",
        authority: "localhost",
        path: "/",
        fields: [["ghost-backend", "10.9.9.9:1"]],
      });
      assert.equal(wrong.status, 400);
      await readAll(wrong.body);
      // A pinned 503 is not retried elsewhere: the client asked for that backend.
      const pinned503 = await h3.request({
        method: "GET",
        authority: "localhost",
        path: "/status?code=503",
        fields: [["ghost-backend", `127.0.0.1:${a.port}`]],
      });
      assert.equal(pinned503.status, 503);
      await readAll(pinned503.body);
      h3.close();
    } finally {
      await w.stop();
      await a.stop();
      await b.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name: "[wraith] HTTP/1.1 front refuses smuggling, oversize heads and slow heads with 400, 431 and 408",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const origin = echoOrigin("o");
    const w = await startWraith(pki, {
      GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${origin.port}`,
      GHOST_WRAITH_HEADER_TIMEOUT_MS: "300",
      GHOST_WRAITH_MAX_HEADERS: "20",
    });
    try {
      const cases: [string, RegExp][] = [
        [
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          /^HTTP\/1\.1 400 /,
        ],
        ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", /^HTTP\/1\.1 400 /],
        ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", /^HTTP\/1\.1 400 /],
        ["GET / HTTP/1.1\r\n\r\n", /^HTTP\/1\.1 400 .*\r\n[\s\S]*missing host/],
        ["GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", /^HTTP\/1\.1 400 /],
        ["GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", /^HTTP\/1\.1 400 /],
        [`GET / HTTP/1.1\r\nHost: x\r\n${"a: 1\r\n".repeat(30)}\r\n`, /^HTTP\/1\.1 431 /],
        ["GET / HTTP/1.1\r\nHost: x\r\n", /^HTTP\/1\.1 408 /],
      ];
      for (const [request, expected] of cases) {
        const answer = await rawH1(pki, w.port, request, 2_000);
        assert.match(answer, expected, JSON.stringify(request));
        assert.match(answer, /connection: close/i);
      }
      assert.equal(origin.hits, 0, "nothing malformed reached the origin");
      // A chunked body with trailers is taken apart and forwarded with a length the origin can trust.
      const ok = await rawH1(
        pki,
        w.port,
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n",
      );
      assert.match(ok, /^HTTP\/1\.1 200 /);
      assert.match(ok, /"length":5/);
    } finally {
      await w.stop();
      await origin.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name: "[wraith] no backend answers: 502 with proxy-status after the retries; no route: 404",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const dead = echoOrigin("dead");
    const port = dead.port;
    await dead.stop();
    const w = await startWraith(pki, {
      GHOST_WRAITH_POOLS: `api http://127.0.0.1:${port}`,
      GHOST_WRAITH_ROUTES: "localhost/api/ -> api",
    });
    try {
      const h3 = await h3To(pki, w.port);
      const r = await h3.request({ method: "GET", authority: "localhost", path: "/api/x" });
      assert.equal(r.status, 502);
      assert.match(
        r.fields.find(([n]) => n === "proxy-status")?.[1] ?? "",
        /wraith; error=connection_refused/,
      );
      await readAll(r.body);
      const none = await h3.request({ method: "GET", authority: "localhost", path: "/other" });
      assert.equal(none.status, 404);
      await readAll(none.body);
      h3.close();
    } finally {
      await w.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name:
    "[wraith] a client that resets its HTTP/2 stream (or closes its HTTP/3 connection) cancels the backend's request",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    let aborted = Promise.withResolvers<string>();
    const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const gone = new Promise<void>((r) =>
        req.signal.addEventListener("abort", () => {
          aborted.resolve("aborted");
          r();
        })
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
      clearTimeout(timer);
      return new Response("late");
    });
    const w = await startWraith(pki, { GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${origin.addr.port}` });
    const settle = () =>
      Promise.race([aborted.promise, new Promise((r) => setTimeout(() => r("not aborted"), 3_000))]);
    try {
      const h2 = await connectHttp2({
        hostname: "127.0.0.1",
        port: w.port,
        tls: { caCerts: [pki.caPem], serverName: "localhost" },
      });
      const s = h2.request([[":method", "GET"], [":scheme", "https"], [":path", "/slow"], [
        ":authority",
        "localhost",
      ]], true);
      await new Promise((r) => setTimeout(r, 300));
      s.reset();
      assert.equal(await settle(), "aborted", "RST_STREAM reaches the backend");
      h2.destroy();
      // HTTP/3: Deno reports a peer's STOP_SENDING only when the response is written, so the test closes the
      // connection, which every request on it sees.
      aborted = Promise.withResolvers<string>();
      const h3 = await h3To(pki, w.port);
      const pending = h3.request({ method: "GET", authority: "localhost", path: "/slow" });
      await new Promise((r) => setTimeout(r, 300));
      h3.close();
      await pending.catch(() => {});
      assert.equal(await settle(), "aborted", "a closed QUIC connection reaches the backend");
    } finally {
      await w.stop();
      await origin.shutdown();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name:
    "[wraith] the cache: hits with Age and Cache-Status, coalesced misses, revalidation with a 304, stale-if-error, purge",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    let hits = 0;
    let down = false;
    const version = "v1";
    const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      hits++;
      const path = new URL(req.url).pathname;
      if (down) return new Response("down", { status: 503 });
      if (path === "/slow") await new Promise((r) => setTimeout(r, 200));
      if (path === "/private") {
        return new Response("mine", { headers: { "cache-control": "private, max-age=60" } });
      }
      if (path === "/etag") {
        if (req.headers.get("if-none-match") === `"${version}"`) {
          return new Response(null, {
            status: 304,
            headers: { etag: `"${version}"`, "cache-control": "max-age=0, stale-if-error=60" },
          });
        }
        return new Response(`body ${version}`, {
          headers: { etag: `"${version}"`, "cache-control": "max-age=0, stale-if-error=60" },
        });
      }
      return new Response(`cached ${path}`, { headers: { "cache-control": "max-age=60" } });
    });
    const w = await startWraith(pki, {
      GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${origin.addr.port}`,
      GHOST_WRAITH_CACHE_MAX_BYTES: "1000000",
      GHOST_WRAITH_ADMIN_TOKEN: "s3cret",
    });
    try {
      const h3 = await h3To(pki, w.port);
      const get = async (path: string, fields: [string, string][] = []) => {
        const r = await h3.request({ method: "GET", authority: "localhost", path, fields });
        const field = (n: string) => r.fields.find(([k]) => k === n)?.[1];
        return {
          status: r.status,
          body: td.decode(await readAll(r.body)),
          cs: field("cache-status"),
          age: field("age"),
        };
      };
      const first = await get("/a");
      assert.deepEqual([first.body, first.cs], ["cached /a", "wraith; fwd=miss; fwd-status=200; stored"]);
      const second = await get("/a");
      assert.equal(second.body, "cached /a");
      assert.match(second.cs ?? "", /^wraith; hit; ttl=\d+$/);
      assert.match(second.age ?? "", /^\d+$/);
      assert.equal(hits, 1);
      // Ten concurrent misses of a slow URL make one backend request.
      const before = hits;
      const all = await Promise.all(Array.from({ length: 10 }, () => get("/slow")));
      assert.ok(all.every((r) => r.body === "cached /slow"));
      assert.equal(hits - before, 1, "coalesced");
      // private responses pass but are not stored.
      await get("/private");
      const p2 = await get("/private");
      assert.match(p2.cs ?? "", /fwd=miss; fwd-status=200; detail=private/);
      // Revalidation: the stored ETag goes up, a 304 refreshes the entry; then the origin fails: stale-if-error.
      assert.equal((await get("/etag")).body, "body v1");
      const reval = await get("/etag");
      assert.deepEqual([reval.body, reval.cs], ["body v1", "wraith; fwd=stale; fwd-status=304"]);
      const notModified = await get("/etag", [["if-none-match", '"v1"']]);
      assert.equal(
        notModified.status,
        304,
        "a client's own validator goes to the origin on a stale entry, and its 304 back",
      );
      down = true;
      const stale = await get("/etag");
      assert.equal(stale.body, "body v1");
      assert.match(stale.cs ?? "", /fwd=stale; fwd-status=503; detail=stale-if-error/);
      down = false;
      // Purge: authenticated, by URL.
      const purge = async (token: string) => {
        const r = await h3.request({
          method: "POST",
          authority: "localhost",
          path: `/.well-known/wraith/purge?url=${encodeURIComponent(`https://localhost/a`)}`,
          fields: [["authorization", `Bearer ${token}`]],
          body: new Uint8Array(0),
        });
        return { status: r.status, body: td.decode(await readAll(r.body)) };
      };
      assert.equal((await purge("wrong")).status, 401);
      assert.deepEqual(await purge("s3cret"), { status: 200, body: '{"purged":1}' });
      assert.match((await get("/a")).cs ?? "", /fwd=miss/);
      h3.close();
    } finally {
      await w.stop();
      await origin.shutdown();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name:
    "[wraith] rate limits: 429 with Retry-After and RateLimit fields past the burst; other routes and clients unaffected",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const a = echoOrigin("a");
    const w = await startWraith(pki, {
      GHOST_WRAITH_POOLS: `api http://127.0.0.1:${a.port}; web http://127.0.0.1:${a.port}`,
      GHOST_WRAITH_ROUTES: "/api/ -> api; / -> web",
      GHOST_WRAITH_RATE_LIMITS: "per-client client 1/10s burst=3 pool=api",
    });
    try {
      const h3 = await h3To(pki, w.port);
      const get = async (path: string) => {
        const r = await h3.request({ method: "GET", authority: "localhost", path });
        await readAll(r.body);
        return { status: r.status, f: Object.fromEntries(r.fields) as Record<string, string> };
      };
      const answers = [await get("/api/1"), await get("/api/2"), await get("/api/3"), await get("/api/4")];
      assert.deepEqual(answers.map((x) => x.status), [200, 200, 200, 429]);
      assert.equal(answers[0]?.f["ratelimit-policy"], '"per-client";q=1;w=10');
      assert.equal(answers[2]?.f.ratelimit, '"per-client";r=0;t=30');
      const limited = answers[3]?.f ?? {};
      assert.equal(limited["retry-after"], "10");
      assert.equal(limited.ratelimit, '"per-client";r=0;t=30');
      assert.equal((await get("/other")).status, 200, "another route is not limited");
      h3.close();
      // Over HTTP/1.1 the same client address shares the quota.
      const raw = await rawH1(
        pki,
        w.port,
        "GET /api/5 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      assert.match(raw, /^HTTP\/1\.1 429 /);
      assert.match(raw, /retry-after: \d+/i);
    } finally {
      await w.stop();
      await a.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name:
    "[wraith] ghost-auth: a request signed by a wallet key is admitted with its identity; unsigned, foreign and replayed ones are not",
  ...opts,
  fn: async () => {
    const { signRequest } = await import("../transport/http/mod.ts");
    const { addressFromPublicKey, ed25519PublicKey, parsePublicKey } = await import("../crypto/mod.ts");
    const pki = await testPki();
    const origin = echoOrigin("o");
    const seed = new Uint8Array(32).fill(7);
    const me = addressFromPublicKey(parsePublicKey("ed25519", ed25519PublicKey(seed)));
    const w = await startWraith(pki, {
      GHOST_WRAITH_POOLS: `app http://127.0.0.1:${origin.port}; open http://127.0.0.1:${origin.port}`,
      GHOST_WRAITH_ROUTES: "/app/ -> app; /admin/ -> open",
      GHOST_WRAITH_AUTH: `app signed allow=${me}`,
    });
    try {
      const h3 = await h3To(pki, w.port);
      const authority = `localhost:${w.port}`;
      const send = async (
        method: string,
        path: string,
        fields: [string, string][],
        body: Uint8Array | null = null,
      ) => {
        const r = await h3.request({ method, authority, path, fields, body });
        return {
          status: r.status,
          f: Object.fromEntries(r.fields) as Record<string, string>,
          text: td.decode(await readAll(r.body)),
        };
      };
      const url = `https://${authority}/app/data`;
      const signed = await signRequest({ method: "GET", url, seed });
      const ok = await send("GET", "/app/data", [...signed, ["ghost-identity", "ghost1forged"]]);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(
        JSON.parse(ok.text).headers["ghost-identity"],
        me,
        "the verified identity, not the client's copy",
      );
      const replay = await send("GET", "/app/data", signed);
      assert.equal(replay.status, 401);
      assert.match(replay.text, /replay/);
      const unsigned = await send("GET", "/app/data", []);
      assert.equal(unsigned.status, 401);
      assert.match(unsigned.f["accept-signature"] ?? "", /alg="ed25519"/);
      const stranger = await send(
        "GET",
        "/app/data",
        await signRequest({ method: "GET", url, seed: new Uint8Array(32).fill(8) }),
      );
      assert.equal(stranger.status, 403);
      const body = new TextEncoder().encode("pay 5");
      const post = await send(
        "POST",
        "/app/pay",
        await signRequest({ method: "POST", url: `https://${authority}/app/pay`, seed, body }),
        body,
      );
      assert.equal(post.status, 200, post.text);
      assert.equal(JSON.parse(post.text).length, 5);
      const swapped = await send(
        "POST",
        "/app/pay",
        await signRequest({ method: "POST", url: `https://${authority}/app/pay`, seed, body }),
        new TextEncoder().encode("pay 500"),
      );
      assert.equal(swapped.status, 401);
      // A route without the policy passes, and strips a client's ghost-identity.
      const open = await send("GET", "/admin/x", [["ghost-identity", me]]);
      assert.equal(JSON.parse(open.text).headers["ghost-identity"], undefined);
      h3.close();
    } finally {
      await w.stop();
      await origin.stop();
      await pki.cleanup();
    }
  },
});

Deno.test({
  name:
    "[wraith] .ghost sites: the name's on-chain ghost-backend record picks the backend, and a changed record moves it",
  ...opts,
  fn: async () => {
    const pki = await testPki();
    const a = echoOrigin("a");
    const b = echoOrigin("b");
    const records = new Map<string, string[]>([
      ["app.ghost", [`ghost-backend=http://127.0.0.1:${a.port}`, "hello"]],
      ["bare.ghost", ["no backend here"]],
      ["far.ghost", ["ghost-backend=http://10.9.9.9:80"]],
    ]);
    const w = await startWraith(pki, {});
    w.proxy.useGhostSites((name) => {
      const txt = records.get(name);
      return txt === undefined ? undefined : { txt };
    }, ["127.0.0.1"]);
    try {
      const h3 = await h3To(pki, w.port);
      const get = async (authority: string) => {
        const r = await h3.request({ method: "GET", authority, path: "/" });
        return { status: r.status, text: td.decode(await readAll(r.body)) };
      };
      assert.equal(JSON.parse((await get(`app.ghost:${w.port}`)).text).id, "a");
      records.set("app.ghost", [`ghost-backend=http://127.0.0.1:${b.port}`]);
      assert.equal(JSON.parse((await get("APP.ghost")).text).id, "b", "follows the record");
      assert.equal((await get("nope.ghost")).status, 404);
      assert.match((await get("bare.ghost")).text, /names no backend/);
      const far = await get("far.ghost");
      assert.equal(far.status, 502);
      assert.match(far.text, /not in ghost_site_hosts/);
      assert.equal(
        (await get("localhost")).status,
        404,
        "other hosts still go through the routes (none here)",
      );
      h3.close();
    } finally {
      await w.stop();
      await a.stop();
      await b.stop();
      await pki.cleanup();
    }
  },
});
