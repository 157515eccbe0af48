// Interop: ngtcp2's HTTP/3 client (Debian ngtcp2-client: gtlsclient, nghttp3 inside) against our HTTP/3 server
// (transport/http3): GET, a 100 KB POST body counted byte for byte, many concurrent request streams.
import assert from "node:assert/strict";
import { ensureDevPki } from "../../../transport/mod.ts";
import { Http3Server } from "../../../transport/http3/mod.ts";
import { hasTool, run } from "../dns/_tools.ts";

const HAS_NGTCP2 = hasTool("gtlsclient");

async function withServer(fn: (port: number) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "h3_interop_" });
  const pki = await ensureDevPki({ dir });
  const server = new Http3Server(async (req) => {
    const bytes = req.body ? (await req.arrayBuffer()).byteLength : 0;
    const path = new URL(req.url).pathname;
    return new Response(`${req.method} ${path} ${bytes} ${req.headers.get("user-agent") ?? "-"}\n`, {
      headers: { "x-served-by": "ghost-h3" },
    });
  }, { cert: pki.certPem, key: pki.keyPem, port: 0 });
  try {
    await fn(server.addr.port);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The text of gtlsclient's hex dumps (`00000000  68 65 ...  |hello|`): each line's character column, joined. */
function dumped(out: string): string {
  return [...out.matchAll(/^[0-9a-f]{8} {2}[0-9a-f ]+\|(.*)\|$/gm)].map((m) => m[1]).join("");
}

/** Runs gtlsclient; returns its combined output (it dumps HTTP events and bodies to stdout). */
async function gtls(port: number, url: string, ...extra: string[]): Promise<string> {
  const r = await run("gtlsclient", [
    "--exit-on-all-streams-close",
    "--timeout=5s",
    ...extra,
    "127.0.0.1",
    String(port),
    url,
  ], {
    timeoutMs: 20_000,
  });
  return r.stdout + r.stderr;
}

Deno.test({ name: "interop ngtcp2 gtlsclient: HTTP/3 GET", ignore: !HAS_NGTCP2 }, async () => {
  await withServer(async (port) => {
    const out = await gtls(port, `https://localhost:${port}/hello`);
    assert.match(out, /\[:status: 200\]/);
    assert.match(out, /\[x-served-by: ghost-h3\]/);
    assert.match(dumped(out), /GET \/hello 0 nghttp3/);
    // H3_NO_ERROR (0x100): the request stream ended cleanly.
    assert.match(out, /HTTP stream 0 closed with error code 256/);
  });
});

Deno.test({
  name: "interop ngtcp2 gtlsclient: POST bodies arrive whole on 8 concurrent streams",
  ignore: !HAS_NGTCP2,
}, async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeFile(file, crypto.getRandomValues(new Uint8Array(65_536)).map((b) => b | 1));
  const extra = crypto.getRandomValues(new Uint8Array(34_464));
  await Deno.writeFile(file, extra, { append: true });
  try {
    await withServer(async (port) => {
      const out = await gtls(port, `https://localhost:${port}/upload`, "-n", "8", "-m", "POST", "-d", file);
      // Every response says how many body bytes the server read: "POST /upload 100000 <user-agent>\n".
      assert.match(dumped(out), /POST \/upload 100000 nghttp3/);
      const perStream = new Map<string, number>();
      for (const m of out.matchAll(/http: stream 0x([0-9a-f]+) body (\d+) bytes/g)) {
        perStream.set(m[1] as string, (perStream.get(m[1] as string) ?? 0) + Number(m[2]));
      }
      const expected = "POST /upload 100000 nghttp3/ngtcp2 client\n".length;
      assert.deepEqual([...perStream.values()], new Array(8).fill(expected), out.slice(-2000));
      for (const id of [0, 4, 8, 12, 16, 20, 24, 28]) {
        assert.match(out, new RegExp(`HTTP stream ${id} closed with error code 256`));
      }
    });
  } finally {
    await Deno.remove(file);
  }
});
