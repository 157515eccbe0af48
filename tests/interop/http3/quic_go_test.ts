// Interop: quic-go's HTTP/3 client (Debian's quic-go 0.29 http3 package, built offline) against our HTTP/3 server
// (GETs on concurrent streams of one connection, bodies checked by hash). Uploads from this quic-go version stall
// now and then against Deno's QUIC (see transport/README.md); ngtcp2's client covers POST bodies meanwhile.
import assert from "node:assert/strict";
import { ensureDevPki } from "../../../transport/mod.ts";
import { Http3Server } from "../../../transport/http3/mod.ts";
import { buildGoProgram, hasTool, run } from "../dns/_tools.ts";

const HAS_GO = hasTool("go") && (() => {
  try {
    return Deno.statSync("/usr/share/gocode/src/github.com/lucas-clemente/quic-go/http3").isDirectory;
  } catch {
    return false;
  }
})();

let binary: string | undefined;
async function client(): Promise<string> {
  binary ??= await buildGoProgram(new URL("./h3_client/", import.meta.url), "h3_client");
  return binary;
}

/** The bytes h3_client POSTs: byte i is i % 251. */
function pattern(n: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

async function sha8(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "interop quic-go http3 client: 300 GETs, 16 in flight on one connection, bodies checked by hash",
  ignore: !HAS_GO,
}, async () => {
  const bin = await client();
  const dir = await Deno.makeTempDir({ prefix: "h3_quicgo_" });
  const pki = await ensureDevPki({ dir });
  const big = pattern(200_000);
  const server = new Http3Server((req) => {
    const path = new URL(req.url).pathname;
    return path === "/big"
      ? new Response(big, { headers: { "x-len": String(big.length) } })
      : new Response(`hello ${path}\n`, { headers: { "x-len": "9" } });
  }, { cert: pki.certPem, key: pki.keyPem, port: 0 });
  try {
    const base = `https://localhost:${server.addr.port}`;
    const small = await run(bin, ["-url", `${base}/p`, "-ca", `${dir}/ca.pem`, "-n", "200", "-c", "16"], {
      timeoutMs: 60_000,
    });
    assert.equal(small.code, 0, small.stderr);
    const lines = small.stdout.trim().split("\n");
    const hello = await sha8(new TextEncoder().encode("hello /p\n"));
    assert.equal(lines.filter((l) => l === `200 9 ${hello}`).length, 200, small.stdout.slice(0, 500));
    assert.deepEqual(JSON.parse(lines.at(-1) ?? "{}"), { ok: 200, failed: 0 });
    const large = await run(bin, [
      "-url",
      `${base}/big`,
      "-ca",
      `${dir}/ca.pem`,
      "-n",
      "100",
      "-c",
      "16",
      "-show",
      "x-len",
    ], { timeoutMs: 60_000 });
    assert.equal(large.code, 0, large.stderr);
    const bigHash = await sha8(big);
    assert.equal(
      large.stdout.split("\n").filter((l) => l === `200 ${big.length} ${bigHash} x-len=${big.length}`).length,
      100,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
