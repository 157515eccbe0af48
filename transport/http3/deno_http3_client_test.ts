import assert from "node:assert/strict";
import { tempPki } from "../_testing.ts";
import { Http3Server } from "./deno_http3.ts";
import { connectHttp3 } from "./deno_http3_client.ts";
import { attachTrailers } from "../http/trailers.ts";

Deno.test({
  name:
    "connectHttp3 against Http3Server: both QPACK dynamic tables fill and are used; bodies and trailers cross",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const pki = await tempPki();
    const server = new Http3Server(async (req) => {
      const body = req.body ? await req.bytes() : new Uint8Array(0);
      const res = new Response(
        `${req.method} ${new URL(req.url).pathname} ${body.length} ${req.headers.get("x-client-tag")}`,
        {
          headers: { "x-server-tag": "stable-server-value", "cache-control": "private, max-age=60" },
        },
      );
      return attachTrailers(res, Promise.resolve([["x-done", "yes"]]));
    }, { cert: pki.certPem, key: pki.keyPem });
    const client = await connectHttp3({
      hostname: "127.0.0.1",
      port: server.addr.port,
      serverName: "localhost",
      caCerts: [pki.caPem],
    });
    try {
      for (let i = 0; i < 30; i++) {
        const post = i % 3 === 0;
        const r = await client.request({
          method: post ? "POST" : "GET",
          authority: "localhost",
          path: `/r${i}`,
          fields: [["x-client-tag", "stable-client-value"], ["user-agent", "ghost-test/1"]],
          body: post ? new Uint8Array(1000 + i) : null,
        });
        assert.equal(r.status, 200);
        assert.equal(r.fields.find(([n]) => n === "x-server-tag")?.[1], "stable-server-value");
        const text = new TextDecoder().decode(await new Response(r.body).arrayBuffer());
        assert.equal(text, `${post ? "POST" : "GET"} /r${i} ${post ? 1000 + i : 0} stable-client-value`);
        assert.deepEqual(await r.trailers, [["x-done", "yes"]]);
      }
      const q = client.qpack;
      assert.ok(q.ourInserts > 0, JSON.stringify(q));
      assert.ok(q.acknowledged > 0, `the server acknowledged our inserts: ${JSON.stringify(q)}`);
      assert.ok(q.peerInserts > 0, `the server inserted into our table: ${JSON.stringify(q)}`);
    } finally {
      client.close();
      await server.close();
      await pki.cleanup();
    }
  },
});
