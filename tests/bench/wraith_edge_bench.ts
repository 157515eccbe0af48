/**
 * wraith's edge features against their peers, one run, side by side:
 *
 * - Cache hits: a 1 KiB file with `Cache-Control: max-age=3600` from an nginx origin, `wrk -t1 -c50` through
 *   wraith's cache vs through nginx `proxy_cache` (one worker), both over TLS.
 * - Signed requests: `verifyRequestSignature` per second (RFC 9421, Content-Digest on a 1 KiB body) vs bare
 *   Ed25519 verifications per second through WebCrypto in the same process (the ceiling).
 * - Rate limiting: one GCRA check per request, ns, vs one `Map.get` + `Map.set` (the floor of any per-key state),
 *   and wraith with a (never reached) rate limit vs without, `wrk -c50`.
 *
 * @module
 */
import type { BenchRow } from "./_table.ts";
import { freePort, hasTool } from "../interop/dns/_tools.ts";
import { wrk } from "./wraith_bench.ts";
import { type Running, startNginx, startWraithProcess } from "../interop/wraith/_servers.ts";
import { NonceCache, signRequest, verifyRequestSignature } from "../../transport/http/mod.ts";
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from "../../crypto/mod.ts";
import { Gcra, parseRatePolicy } from "../../wraith/mod.ts";

async function wrkRps(url: string, seconds: number): Promise<number> {
  return (await wrk(url, 50, seconds)).rps;
}

/** Calls per second of `fn` over about `ms`. */
async function perSecond(fn: () => unknown, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Runs the wraith edge benchmark. */
export async function runWraithEdgeBench(opts: { quick: boolean }): Promise<BenchRow[]> {
  for (const tool of ["nginx", "wrk"]) {
    if (!hasTool(tool)) throw new Error(`${tool} is not installed (see .ci/apt-packages.txt)`);
  }
  const seconds = opts.quick ? 3 : 8;
  const rows: BenchRow[] = [];

  // Signed requests: verification against the Ed25519 ceiling.
  const seed = new Uint8Array(32).fill(5);
  const body = new Uint8Array(1024).fill(1);
  const pre = await Promise.all(
    Array.from(
      { length: 2000 },
      (_, i) =>
        signRequest({ method: "POST", url: "https://app.ghost/pay", body, seed, nonce: `bench-nonce-${i}` }),
    ),
  );
  let k = 0;
  const now = Math.floor(Date.now() / 1000);
  const verifyRate = await perSecond(async () => {
    const fields = new Map(pre[k++ % pre.length]);
    await verifyRequestSignature(
      { method: "POST", targetUri: "https://app.ghost/pay", field: (n) => fields.get(n) ?? null },
      { windowS: 1e9, nonces: new NonceCache(), now, body },
    );
  }, opts.quick ? 1_000 : 3_000);
  const pub = ed25519PublicKey(seed);
  const msg = new Uint8Array(300).fill(2);
  const sig = ed25519Sign(seed, msg);
  const ceiling = await perSecond(() => ed25519Verify(pub, msg, sig), opts.quick ? 1_000 : 3_000);
  rows.push({
    what: "signed request check (RFC 9421 + Content-Digest, 1 KiB body)",
    wraith: `${Math.round(verifyRate)} req/s (${(1e6 / verifyRate).toFixed(1)} µs each)`,
    peer: `bare Ed25519 verify (WebCrypto): ${Math.round(ceiling)}/s`,
    ratio: `${(verifyRate / ceiling).toFixed(2)}x of the ceiling`,
  });

  // Rate limiter cost per check.
  const g = new Gcra(parseRatePolicy("c client 1000000/1s"));
  let t = 0;
  const keys = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}/32`);
  const gcra = await perSecond(() => g.check(keys[t++ % 1000] ?? "", t), 500);
  const m = new Map<string, number>();
  const floor = await perSecond(() => {
    const key = keys[t++ % 1000] ?? "";
    m.set(key, (m.get(key) ?? 0) + 1);
  }, 500);
  rows.push({
    what: "rate limit check (GCRA, 1000 keys)",
    wraith: `${(1e9 / gcra).toFixed(0)} ns per check`,
    peer: `Map.get + Map.set: ${(1e9 / floor).toFixed(0)} ns`,
    ratio: `${(floor / gcra).toFixed(2)}x the floor's cost`,
  });

  const root = await Deno.makeTempDir({ prefix: "wraith_edge_site_" });
  await Deno.chmod(root, 0o755);
  await Deno.writeTextFile(`${root}/x`, "x".repeat(1024));
  const running: Running[] = [];
  try {
    const origin = await startNginx({ root, cacheControl: "max-age=3600" });
    running.push(origin);
    const wport = freePort();
    const wraith = await startWraithProcess(
      ["--upstream", `http://127.0.0.1:${origin.port}`, "--listen", `127.0.0.1:${wport}`],
      { GHOST_LOG_LEVEL: "warn", GHOST_WRAITH_CACHE_MAX_BYTES: "67108864" },
    );
    running.push(wraith);
    const pki = { certFile: `${wraith.dataDir}/pki/cert.pem`, keyFile: `${wraith.dataDir}/pki/key.pem` };
    const nginx = await startNginx({ proxyTo: origin.port, tls: pki, proxyCache: true });
    running.push(nginx);
    const limited = await startWraithProcess(
      ["--upstream", `http://127.0.0.1:${origin.port}`, "--listen", `127.0.0.1:${freePort()}`],
      { GHOST_LOG_LEVEL: "warn", GHOST_WRAITH_RATE_LIMITS: "per-client client 10000000/1s" },
    );
    running.push(limited);
    const plain = await startWraithProcess(
      ["--upstream", `http://127.0.0.1:${origin.port}`, "--listen", `127.0.0.1:${freePort()}`],
      { GHOST_LOG_LEVEL: "warn" },
    );
    running.push(plain);

    await wrkRps(`https://127.0.0.1:${wport}/x`, 1);
    await wrkRps(`https://127.0.0.1:${nginx.port}/x`, 1);
    const wHits = await wrkRps(`https://127.0.0.1:${wport}/x`, seconds);
    const nHits = await wrkRps(`https://127.0.0.1:${nginx.port}/x`, seconds);
    rows.push({
      what: "cache hits, HTTP/1.1 TLS, wrk -t1 -c50, 1 KiB",
      wraith: `${Math.round(wHits)} req/s`,
      peer: `nginx proxy_cache: ${Math.round(nHits)} req/s`,
      ratio: `${(wHits / nHits).toFixed(2)}x`,
    });
    await wrkRps(`https://127.0.0.1:${limited.port}/x`, 1);
    await wrkRps(`https://127.0.0.1:${plain.port}/x`, 1);
    const withLimit = await wrkRps(`https://127.0.0.1:${limited.port}/x`, seconds);
    const without = await wrkRps(`https://127.0.0.1:${plain.port}/x`, seconds);
    rows.push({
      what: "proxying with a rate limit vs without, wrk -c50",
      wraith: `${Math.round(withLimit)} req/s with`,
      peer: `wraith without: ${Math.round(without)} req/s`,
      ratio: `${(withLimit / without).toFixed(2)}x`,
    });
    return rows;
  } finally {
    for (const r of running.reverse()) await r.stop().catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { markdownTable } = await import("./_table.ts");
  console.log(markdownTable(await runWraithEdgeBench({ quick: Deno.args.includes("--quick") })));
}
