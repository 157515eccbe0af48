/**
 * wraith against its peers, same origin, same run: nginx (one worker) serves a 1 KiB file as the origin; wraith
 * (`mod.ts wraith`, its own process), nginx `proxy_pass` (one worker, TLS, upstream keep-alive) and caddy
 * `reverse_proxy` (TLS, HTTP/3 on) stand in front of it.
 *
 * - HTTP/1.1 over TLS: `wrk -t1 -c50` through wraith vs through nginx: requests/s and p99.
 * - Added latency: `wrk -t1 -c1` to the origin directly vs through each proxy: p50 and p99 over the direct path.
 * - HTTP/3: quic-go's client, one connection with 64 requests in flight, through wraith vs through caddy.
 * - RSS per idle HTTP/3 connection: 200 connections held open to each proxy; its RSS growth per connection.
 *
 * Every process shares this machine's cores with the load client; only ratios mean much.
 *
 * @module
 */
import type { BenchRow } from "./_table.ts";
import { buildGoProgram, freePort, hasTool, run } from "../interop/dns/_tools.ts";
import { type Running, startCaddy, startNginx, startWraithProcess } from "../interop/wraith/_servers.ts";
import { connectHttp3, type Http3ClientConnection } from "../../transport/http3/mod.ts";

/** What one wrk run measured. */
export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
}

/** Milliseconds of a wrk latency cell (`1.23ms`, `850.00us`, `1.02s`). */
function ms(cell: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(cell.trim());
  if (m === null) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/** `wrk -t1` against `url`: requests/s, p50 and p99; throws on any non-2xx answer or socket error. */
export async function wrk(url: string, connections: number, seconds: number): Promise<WrkResult> {
  const r = await run("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", url], {
    timeoutMs: (seconds + 30) * 1000,
  });
  if (r.code !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p50 = ms(/\s50%\s+(\S+)/.exec(r.stdout)?.[1] ?? "");
  const p99 = ms(/\s99%\s+(\S+)/.exec(r.stdout)?.[1] ?? "");
  if (/Non-2xx/.test(r.stdout) || /Socket errors/.test(r.stdout)) {
    throw new Error(`wrk saw errors against ${url}:\n${r.stdout}`);
  }
  return { rps, p50, p99 };
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** The pid listening on a TCP port (from /proc), for RSS readings. */
function pidOfPort(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === "0A") inodes.add(cols[9] ?? "");
    }
  }
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${entry.name}/fd`)) {
        const link = Deno.readLinkSync(`/proc/${entry.name}/fd/${fd.name}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1] ?? "")) return Number(entry.name);
      }
    } catch {
      // gone or not ours
    }
  }
  throw new Error(`no process listens on ${port}`);
}

/** RSS of `pid`, the lowest of three readings 300 ms apart (a GC in between otherwise decides the result). */
async function settledRss(pid: number): Promise<number> {
  let low = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 300));
    low = Math.min(low, rssKiB(pid));
  }
  return low;
}

async function idleH3Rss(port: number, caPem: string, count: number): Promise<number> {
  const pid = pidOfPort(port);
  const conns: Http3ClientConnection[] = [];
  const open = async () => {
    const c = await connectHttp3({ hostname: "127.0.0.1", port, serverName: "localhost", caCerts: [caPem] });
    await (await c.request({ method: "GET", authority: "localhost", path: "/x" })).body?.cancel();
    conns.push(c);
  };
  try {
    // Warm up (allocator, JIT, the first connections' one-time costs) before the baseline.
    for (let i = 0; i < 20; i++) await open();
    const before = await settledRss(pid);
    for (let i = 0; i < count; i++) await open();
    return (await settledRss(pid) - before) / count;
  } finally {
    for (const c of conns) c.close();
  }
}

/** Runs the wraith benchmark. */
export async function runWraithBench(opts: { quick: boolean }): Promise<BenchRow[]> {
  for (const tool of ["nginx", "wrk", "caddy"]) {
    if (!hasTool(tool)) throw new Error(`${tool} is not installed (see .ci/apt-packages.txt)`);
  }
  const seconds = opts.quick ? 3 : 10;
  const root = await Deno.makeTempDir({ prefix: "wraith_bench_site_" });
  await Deno.chmod(root, 0o755);
  await Deno.writeTextFile(`${root}/x`, "x".repeat(1024));
  const running: Running[] = [];
  try {
    const origin = await startNginx({ root });
    running.push(origin);
    const wport = freePort();
    const wraith = await startWraithProcess(
      ["--upstream", `http://127.0.0.1:${origin.port}`, "--listen", `127.0.0.1:${wport}`],
      { GHOST_LOG_LEVEL: "warn" },
    );
    running.push(wraith);
    const pki = { certFile: `${wraith.dataDir}/pki/cert.pem`, keyFile: `${wraith.dataDir}/pki/key.pem` };
    const caPem = await Deno.readTextFile(wraith.caFile);
    const nginx = await startNginx({ proxyTo: origin.port, tls: pki });
    running.push(nginx);
    const caddy = await startCaddy({ ...pki, proxyTo: origin.port });
    running.push(caddy);

    const rows: BenchRow[] = [];
    // Memory per idle HTTP/3 connection, first: before any load has grown the heaps.
    const count = opts.quick ? 200 : 500;
    const wRss = await idleH3Rss(wport, caPem, count);
    const cRss = await idleH3Rss(caddy.port, caPem, count);
    rows.push({
      what: `RSS per idle HTTP/3 connection (${count} held)`,
      wraith: `${wRss.toFixed(1)} KiB`,
      peer: `caddy: ${cRss.toFixed(1)} KiB`,
      ratio: `${(wRss / cRss).toFixed(2)}x`,
    });
    // HTTP/1.1 over TLS, 50 connections.
    await wrk(`https://127.0.0.1:${wport}/x`, 10, 1); // warm-up (JIT, pools)
    const w1 = await wrk(`https://127.0.0.1:${wport}/x`, 50, seconds);
    const n1 = await wrk(`https://127.0.0.1:${nginx.port}/x`, 50, seconds);
    rows.push({
      what: "HTTP/1.1 TLS, wrk -t1 -c50, 1 KiB",
      wraith: `${Math.round(w1.rps)} req/s, p99 ${w1.p99.toFixed(2)} ms`,
      peer: `nginx proxy_pass: ${Math.round(n1.rps)} req/s, p99 ${n1.p99.toFixed(2)} ms`,
      ratio: `${(w1.rps / n1.rps).toFixed(2)}x req/s; p99 ${(w1.p99 / n1.p99).toFixed(2)}x`,
    });

    // Added latency at one request in flight.
    const direct = await wrk(`http://127.0.0.1:${origin.port}/x`, 1, seconds);
    const wl = await wrk(`https://127.0.0.1:${wport}/x`, 1, seconds);
    const nl = await wrk(`https://127.0.0.1:${nginx.port}/x`, 1, seconds);
    rows.push({
      what: "added latency, wrk -c1 (over the origin direct)",
      wraith: `p50 +${(wl.p50 - direct.p50).toFixed(3)} ms, p99 +${(wl.p99 - direct.p99).toFixed(3)} ms`,
      peer: `nginx: p50 +${(nl.p50 - direct.p50).toFixed(3)} ms, p99 +${(nl.p99 - direct.p99).toFixed(3)} ms`,
      ratio: `p50 ${((wl.p50 - direct.p50) / Math.max(0.001, nl.p50 - direct.p50)).toFixed(2)}x`,
    });

    // HTTP/3: one connection, 64 requests in flight.
    const h3c = await buildGoProgram(new URL("../interop/http3/h3_client/", import.meta.url), "h3_client");
    const n = opts.quick ? 5_000 : 20_000;
    const h3 = async (port: number) => {
      const r = await run(h3c, [
        "-url",
        `https://localhost:${port}/x`,
        "-ca",
        wraith.caFile,
        "-n",
        String(n),
        "-c",
        "64",
        "-quiet",
      ], {
        timeoutMs: 300_000,
      });
      if (r.code !== 0) throw new Error(`h3 client failed: ${r.stderr.slice(0, 500)}`);
      const s = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
      return { rps: s.ok / s.seconds, p50: s.p50_ms as number, p99: s.p99_ms as number };
    };
    await h3(wport);
    const wh3 = await h3(wport);
    const ch3 = await h3(caddy.port);
    rows.push({
      what: "HTTP/3, quic-go client, 1 conn x 64 in flight",
      wraith: `${Math.round(wh3.rps)} req/s, p50 ${wh3.p50.toFixed(2)} ms, p99 ${wh3.p99.toFixed(2)} ms`,
      peer: `caddy reverse_proxy: ${Math.round(ch3.rps)} req/s, p50 ${ch3.p50.toFixed(2)} ms, p99 ${
        ch3.p99.toFixed(2)
      } ms`,
      ratio: `${(wh3.rps / ch3.rps).toFixed(2)}x req/s; p99 ${(wh3.p99 / ch3.p99).toFixed(2)}x`,
    });

    // The memory row first in the table is measured first; print it last like the others read.
    rows.push(rows.shift() as BenchRow);
    return rows;
  } finally {
    for (const r of running.reverse()) await r.stop().catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { markdownTable } = await import("./_table.ts");
  console.log(markdownTable(await runWraithBench({ quick: Deno.args.includes("--quick") })));
}
