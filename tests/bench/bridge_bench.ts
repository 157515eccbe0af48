/**
 * GhostBridge benchmark: the same gRPC calls made directly (grpc-js client -> grpc-js server over HTTP/2) and
 * through two bridges (grpc-js client -> bridge A ingress -> QUIC -> bridge B egress -> the same grpc-js server),
 * side by side in one run. grpc-js runs under Node (client and server, tests/interop/grpc/node); the bridges run
 * in this Deno process, on loopback so both paths share the same two cores; only ratios mean much.
 *
 * Rows: unary 32-byte calls at concurrency 1 (p50/p99 latency, calls/s) and 64 (calls/s, p50/p99), and server
 * streaming (messages/s of 32-byte messages). Targets from issue #4: < 1 ms added at p50, >= 0.5x direct
 * throughput.
 *
 * Run: `./deno run -A tests/bench/bridge_bench.ts [--quick]`.
 *
 * @module
 */

import {
  generateIdentity,
  GhostBridge,
  GrpcIngress,
  toHex,
  unary as unaryHandler,
} from "../../bridge/mod.ts";
import { ensureDevPki } from "../../transport/mod.ts";
import { summarize } from "./_stats.ts";

/** One table row. */
export type Row = Record<string, string | number>;

const NODE_DIR = new URL("../interop/grpc/node/", import.meta.url).pathname;

/** grpc-js lives under Node (its home), installed with npm in tests/interop/grpc/node. */
async function ensureNodeModules(): Promise<void> {
  try {
    await Deno.stat(`${NODE_DIR}node_modules/@grpc/grpc-js`);
  } catch {
    const ci = await new Deno.Command("npm", { args: ["ci", "--no-audit", "--no-fund"], cwd: NODE_DIR })
      .output();
    if (!ci.success) throw new Error("npm ci failed in tests/interop/grpc/node");
  }
}

/** The grpc-js Echo server of the interop test, under Node. */
async function startServer(): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command("node", {
    args: ["server.js"],
    cwd: NODE_DIR,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the grpc-js server exited");
    text += value;
    const m = /PORT (\d+)/.exec(text);
    if (m) {
      void (async () => {
        for (;;) if ((await reader.read()).done) break;
      })();
      return { child, port: Number(m[1]) };
    }
  }
}

interface LoadResult {
  readonly n: number;
  readonly perSec: number;
  readonly p50?: number;
  readonly p99?: number;
}

/** A gRPC-framed interop.Msg { text: 32 x "x", n: 1 }. */
function grpcBody(): Uint8Array {
  const msg = new Uint8Array([0x0a, 32, ...new Uint8Array(32).fill(0x78), 0x10, 0x01]);
  const out = new Uint8Array(5 + msg.length);
  new DataView(out.buffer).setUint32(1, msg.length);
  out.set(msg, 5);
  return out;
}

/** h2load's requests/s for unary calls to `port`; NaN when h2load is not installed. */
async function h2load(port: number, requests: number): Promise<number> {
  const body = await Deno.makeTempFile({ suffix: ".bin" });
  await Deno.writeFile(body, grpcBody());
  try {
    const out = await new Deno.Command("h2load", {
      args: [
        "-n",
        String(requests),
        "-c",
        "4",
        "-m",
        "16",
        "-d",
        body,
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        `http://127.0.0.1:${port}/interop.Echo/Unary`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(new TextDecoder().decode(out.stdout));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  } finally {
    await Deno.remove(body);
  }
}

/** Resident memory of a process in bytes (Linux /proc). */
function processRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * KiB of RSS each of `n` idle HTTP/2 connections (preface and SETTINGS sent, then silence) adds to a server. The
 * connections are held by a separate process, so only the server's side is counted.
 */
async function idleCost(rss: () => number, port: number, n: number): Promise<number> {
  const script = `
    const hello = new Uint8Array([...new TextEncoder().encode("PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const conns = [];
    for (let i = 0; i < ${n}; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: ${port} });
      await c.write(hello);
      conns.push(c);
    }
    console.log("HELD");
    for await (const _ of Deno.stdin.readable) {}
  `;
  const before = rss();
  const holder = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("HELD")) {
    const r = await reader.read();
    if (r.done) break;
    text += r.value;
  }
  await new Promise((r) => setTimeout(r, 1_000));
  const after = rss();
  await holder.stdin.close();
  await holder.status;
  reader.releaseLock();
  await holder.stdout.cancel().catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
  return (after - before) / n / 1024;
}

/** One run of the Node load generator (grpc-js client) against `port`. */
async function load(args: readonly string[]): Promise<LoadResult> {
  const out = await new Deno.Command("node", {
    args: ["load.js", ...args],
    cwd: NODE_DIR,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`load.js ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as LoadResult;
}

/** Runs the benchmark; returns table rows. */
export async function runBridgeBench(
  opts: { quick?: boolean } = {},
): Promise<Array<Record<string, string | number>>> {
  const quick = opts.quick ?? false;
  const calls1 = quick ? 300 : 2000;
  const calls64 = quick ? 2000 : 20_000;
  const streamN = quick ? 5000 : 50_000;
  const budget = quick ? 5000 : 20_000;
  const dir = await Deno.makeTempDir({ prefix: "bridge_bench_" });
  const pki = await ensureDevPki({ dir });
  await ensureNodeModules();
  const { child: server, port } = await startServer();
  const idA = await generateIdentity();
  const b = new GhostBridge({
    identity: await generateIdentity(),
    cert: pki.certPem,
    key: pki.keyPem,
    allowList: [toHex(idA.publicKey)],
  });
  b.registerUpstream({ service: "interop.Echo", version: "1", endpoint: `http://127.0.0.1:${port}` });
  // The service mesh's path (supervisor README): an in-process handler on bridge B, called from bridge A.
  b.register("bench.Echo", { Echo: unaryHandler((req) => req) });
  await b.checkNow();
  const a = new GhostBridge({
    identity: idA,
    cert: pki.certPem,
    key: pki.keyPem,
    caCerts: [pki.caPem],
    allowList: [],
    peers: [{ hostname: "127.0.0.1", port: b.addr.port, serverName: "localhost" }],
    healthIntervalMs: 600_000,
  });
  await a.checkNow();
  // Every connection of the benchmark comes from 127.0.0.1: lift the per-client cap above the idle-connection row.
  const ingress = new GrpcIngress(a, { maxConnectionsPerClient: 100_000 });
  const ia = await ingress.listen();
  const subjects: Array<[string, number]> = [["direct grpc-js", port], ["via 2 bridges (QUIC)", ia.port]];
  const rows: Row[] = [];
  try {
    const results: Record<string, LoadResult> = {};
    for (const conc of [1, 64]) {
      // Alternate subjects in two halves so drift hits both alike.
      const acc: Record<string, LoadResult[]> = {};
      for (const half of [0, 1]) {
        for (const [name, p] of half === 0 ? subjects : [...subjects].reverse()) {
          const calls = (conc === 1 ? calls1 : calls64) / 2;
          (acc[name] ??= []).push(
            await load(["unary", `127.0.0.1:${p}`, String(conc), String(calls), String(budget / 2)]),
          );
        }
      }
      for (const [name] of subjects) {
        const rs = acc[name] ?? [];
        const mean = (f: (r: LoadResult) => number): number =>
          rs.reduce((x, r) => x + f(r), 0) / Math.max(1, rs.length);
        results[`${name}/${conc}`] = {
          n: rs.reduce((x, r) => x + r.n, 0),
          perSec: mean((r) => r.perSec),
          p50: mean((r) => r.p50 ?? NaN),
          p99: mean((r) => r.p99 ?? NaN),
        };
      }
    }
    const streamRates: Record<string, number> = {};
    for (const [name, p] of subjects) {
      streamRates[name] = (await load(["stream", `127.0.0.1:${p}`, String(streamN)])).perSec;
    }
    for (const conc of [1, 64]) {
      const d = results[`direct grpc-js/${conc}`];
      const v = results[`via 2 bridges (QUIC)/${conc}`];
      if (!d || !v) continue;
      for (const [name, r] of [["direct grpc-js", d], ["via 2 bridges (QUIC)", v]] as const) {
        rows.push({
          measurement: `unary 32 B, concurrency ${conc}`,
          subject: name,
          calls: r.n,
          "p50 ms": r.p50 ?? NaN,
          "p99 ms": r.p99 ?? NaN,
          "calls/s or msgs/s": Math.round(r.perSec ?? 0),
          "vs direct": name === "direct grpc-js"
            ? "1.00x"
            : `${((r.perSec ?? 0) / (d.perSec ?? 1)).toFixed(2)}x, +${
              ((r.p50 ?? 0) - (d.p50 ?? 0)).toFixed(3)
            } ms p50`,
        });
      }
    }
    // Mesh path: GhostBridge.unary() on A -> QUIC -> in-process handler on B (how chain, wallet and cns call
    // each other), beside direct grpc-js.
    const payload = new Uint8Array(32);
    for (let i = 0; i < 200; i++) await a.unary("bench.Echo", "Echo", payload);
    for (const conc of [1, 64]) {
      const lat: number[] = [];
      const calls = conc === 1 ? calls1 : calls64;
      const end = performance.now() + budget / 2;
      let left = calls;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: conc }, async () => {
        while (left > 0 && performance.now() < end) {
          left--;
          const t = performance.now();
          await a.unary("bench.Echo", "Echo", payload);
          lat.push(performance.now() - t);
        }
      }));
      const perSec = lat.length / ((performance.now() - t0) / 1000);
      const s = summarize(lat);
      const d = results[`direct grpc-js/${conc}`];
      rows.push({
        measurement: `unary 32 B, concurrency ${conc}`,
        subject: "mesh: GhostBridge -> QUIC -> in-process handler",
        calls: s.count,
        "p50 ms": s.p50,
        "p99 ms": s.p99,
        "calls/s or msgs/s": Math.round(perSec),
        "vs direct": d
          ? `${(perSec / (d.perSec ?? 1)).toFixed(2)}x, ${(s.p50 - (d.p50 ?? 0)).toFixed(3)} ms p50`
          : "",
      });
    }
    const ds = streamRates["direct grpc-js"] ?? 1;
    for (const [name] of subjects) {
      const rate = streamRates[name] ?? 0;
      rows.push({
        measurement: `server stream ${streamN} x 32 B`,
        subject: name,
        calls: 1,
        "p50 ms": "",
        "p99 ms": "",
        "calls/s or msgs/s": Math.round(rate),
        "vs direct": `${(rate / ds).toFixed(2)}x`,
      });
    }
    // h2load (nghttp2-client): raw HTTP/2 load with gRPC-framed unary requests, against grpc-js's own server and
    // against the ingress (two bridges and the same server behind them).
    const h2: Record<string, number> = {};
    for (const [name, p] of subjects) h2[name] = await h2load(p, quick ? 5_000 : 40_000);
    for (const [name] of subjects) {
      if (Number.isNaN(h2[name])) continue;
      rows.push({
        measurement: "h2load unary, 4 conns x 16 streams",
        subject: name,
        calls: quick ? 5_000 : 40_000,
        "p50 ms": "",
        "p99 ms": "",
        "calls/s or msgs/s": Math.round(h2[name] ?? 0),
        "vs direct": `${((h2[name] ?? 0) / (h2["direct grpc-js"] ?? 1)).toFixed(2)}x`,
      });
    }
    // Memory per idle HTTP/2 connection held by the ingress (this process) and by grpc-js's server (Node).
    const idleConns = quick ? 300 : 2_000;
    const ingressRss = await idleCost(() => Deno.memoryUsage().rss, ia.port, idleConns);
    const nodeRss = await idleCost(() => processRss(server.pid), port, idleConns);
    for (const [name, kib] of [["direct grpc-js", nodeRss], ["via 2 bridges (QUIC)", ingressRss]] as const) {
      rows.push({
        measurement: `RSS per idle HTTP/2 connection (${idleConns} held)`,
        subject: name === "direct grpc-js" ? "grpc-js server (Node)" : "bridge ingress",
        calls: idleConns,
        "p50 ms": "",
        "p99 ms": "",
        "calls/s or msgs/s": `${kib.toFixed(1)} KiB`,
        "vs direct": `${(kib / (nodeRss || 1)).toFixed(2)}x`,
      });
    }
  } finally {
    await ingress.close();
    await a.close();
    await b.close();
    await server.stdin.close();
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  const { markdownTable } = await import("./_table.ts");
  const rows = await runBridgeBench({ quick: Deno.args.includes("--quick") });
  console.log(markdownTable(rows));
  Deno.exit(0);
}
