/**
 * GhostBridge benchmark: the same gRPC calls made directly (grpc-js client -> grpc-js server over HTTP/2) and
 * through two bridges (grpc-js client -> bridge A ingress -> QUIC -> bridge B egress -> the same grpc-js server),
 * side by side in one run. Everything runs in this one Deno process on loopback (grpc-js under Deno's node
 * compat), so both paths share the same two cores; only ratios mean much.
 *
 * Rows: unary 32-byte calls at concurrency 1 (p50/p99 latency, calls/s) and 64 (calls/s, p50/p99), and server
 * streaming (messages/s of 32-byte messages). Targets from issue #4: < 1 ms added at p50, >= 0.5x direct
 * throughput.
 *
 * Run: `./deno run -A tests/bench/bridge_bench.ts [--quick]`.
 *
 * @module
 */

// The outside peer of this benchmark only, pinned here rather than in deno.json's imports: listed there, every
// first run of the runtime would install it (and print a warning about its dependency's install script).
import * as grpc from "npm:@grpc/grpc-js@1.14.7";
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

const identity = (b: Buffer): Buffer => b;
const PAYLOAD = Buffer.alloc(32, 7);

function startServer(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const def: grpc.ServiceDefinition = {
    Echo: {
      path: "/bench.Bench/Echo",
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
    Stream: {
      path: "/bench.Bench/Stream",
      requestStream: false,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  server.addService(def, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, call.request),
    Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request.readUInt32BE(0);
      let i = 0;
      const pump = (): void => {
        while (i < n) {
          i++;
          if (!call.write(PAYLOAD)) return void call.once("drain", pump);
        }
        call.end();
      };
      pump();
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, port) => e ? reject(e) : resolve({ server, port }),
    )
  );
}

function unary(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      "/bench.Bench/Echo",
      identity,
      identity,
      PAYLOAD,
      (e) => (e ? reject(e) : resolve()),
    )
  );
}

function stream(client: grpc.Client, n: number): Promise<number> {
  const req = Buffer.alloc(4);
  req.writeUInt32BE(n);
  return new Promise((resolve, reject) => {
    let got = 0;
    const s = client.makeServerStreamRequest("/bench.Bench/Stream", identity, identity, req);
    s.on("data", () => got++);
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

async function unaryRun(
  client: grpc.Client,
  concurrency: number,
  calls: number,
  budgetMs: number,
): Promise<{ lat: number[]; perSec: number }> {
  const lat: number[] = [];
  const end = performance.now() + budgetMs;
  let left = calls;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left > 0 && performance.now() < end) {
      left--;
      const s = performance.now();
      await unary(client);
      lat.push(performance.now() - s);
    }
  }));
  return { lat, perSec: lat.length / ((performance.now() - t0) / 1000) };
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
  const { server, port } = await startServer();
  const idA = await generateIdentity();
  const b = new GhostBridge({
    identity: await generateIdentity(),
    cert: pki.certPem,
    key: pki.keyPem,
    allowList: [toHex(idA.publicKey)],
  });
  b.registerUpstream({ service: "bench.Bench", version: "1", endpoint: `http://127.0.0.1:${port}` });
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
  const ingress = new GrpcIngress(a);
  const ia = await ingress.listen();
  const direct = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const bridged = new grpc.Client(`127.0.0.1:${ia.port}`, grpc.credentials.createInsecure());
  const rows: Row[] = [];
  try {
    // Warm up both paths (JIT, connections).
    for (let i = 0; i < 200; i++) await Promise.all([unary(direct), unary(bridged)]);
    const subjects: Array<[string, grpc.Client]> = [["direct grpc-js", direct], [
      "via 2 bridges (QUIC)",
      bridged,
    ]];
    const results: Record<string, Record<string, number>> = {};
    for (const conc of [1, 64]) {
      // Alternate subjects in two halves so drift hits both alike.
      const acc: Record<string, { lat: number[]; rates: number[] }> = {};
      for (const half of [0, 1]) {
        for (const [name, client] of half === 0 ? subjects : [...subjects].reverse()) {
          const r = await unaryRun(client, conc, (conc === 1 ? calls1 : calls64) / 2, budget / 2);
          const e = acc[name] ??= { lat: [], rates: [] };
          e.lat.push(...r.lat);
          e.rates.push(r.perSec);
        }
      }
      for (const [name] of subjects) {
        const e = acc[name];
        if (!e) continue;
        const s = summarize(e.lat);
        const perSec = e.rates.reduce((x, y) => x + y, 0) / e.rates.length;
        results[`${name}/${conc}`] = { p50: s.p50, p99: s.p99, perSec, n: s.count };
      }
    }
    const streamRates: Record<string, number> = {};
    for (const [name, client] of subjects) {
      const t0 = performance.now();
      const got = await stream(client, streamN);
      streamRates[name] = got / ((performance.now() - t0) / 1000);
    }
    for (const conc of [1, 64]) {
      const d = results[`direct grpc-js/${conc}`];
      const v = results[`via 2 bridges (QUIC)/${conc}`];
      if (!d || !v) continue;
      for (const [name, r] of [["direct grpc-js", d], ["via 2 bridges (QUIC)", v]] as const) {
        rows.push({
          measurement: `unary 32 B, concurrency ${conc}`,
          subject: name,
          calls: r.n ?? 0,
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
  } finally {
    direct.close();
    bridged.close();
    await ingress.close();
    await a.close();
    await b.close();
    server.forceShutdown();
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
