/**
 * cns benchmark: dnsperf (Debian `dnsperf`) against cns's UDP listener and against unbound serving the same
 * 1,000 AAAA records, in the same run, loopback only. Rows: cns answering from a local zone (Deno's UDP
 * sockets, and batched through libc with `udp_io = "ffi"`), cns answering from
 * its cache (forwarding to the unbound instance, warmed first), and unbound (local-data); then cns and unbound
 * over TCP (dnsperf -m tcp, one connection, pipelined). Reports queries/s, average
 * latency and the ratio to unbound. Skips cleanly when dnsperf or unbound is missing.
 *
 * Standalone: `./deno run -A tests/bench/cns_bench.ts [--quick]`.
 *
 * @module
 */

import { parseCnsConfig, startCnsServer } from "../../cns/mod.ts";
import { buildDoqClient, buildGoProgram, hasTool, run, startUnbound } from "../interop/dns/_tools.ts";
import { ensureDevPki } from "../../transport/mod.ts";
import { type BenchRow, markdownTable } from "./_table.ts";

// The workload: 1,000 local AAAA names answered from memory.
const NAMES = Array.from({ length: 1000 }, (_, i) => `h${i}.bench.test`);
const RECORDS = NAMES.map((n, i) => `${n} 3600 IN AAAA 2001:db8::${(i + 1).toString(16)}`);
const SOA = "bench.test. 3600 IN SOA ns.bench.test. h.bench.test. 1 3600 600 86400 300";

interface PerfResult {
  readonly qps: number;
  readonly avgLatencyMs: number;
  readonly lost: number;
  readonly completed: number;
}

async function dnsperf(
  port: number,
  dataFile: string,
  seconds: number,
  mode: "udp" | "tcp" = "udp",
): Promise<PerfResult> {
  const r = await run("dnsperf", [
    "-m",
    mode,
    "-s",
    "127.0.0.1",
    "-p",
    String(port),
    "-d",
    dataFile,
    "-l",
    String(seconds),
    "-c",
    "1",
    "-q",
    "100",
    "-t",
    "2",
  ], { timeoutMs: (seconds + 15) * 1000 });
  if (r.code !== 0) throw new Error(`dnsperf failed (${r.code}): ${r.stderr || r.stdout}`);
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
  };
}

/**
 * DoQ (RFC 9250): the Go client's load mode (quic-go, one query per stream) with 4 connections x 16 streams in
 * flight, against cns answering the same names; no DoQ peer is installable here, so the row is compared with
 * cns's own UDP rate.
 */
async function doqRows(dir: string, seconds: number, udpQps: number): Promise<BenchRow[]> {
  if (!hasTool("go")) {
    return [{ setup: "cns DoQ", note: "skipped: needs Debian golang-go and quic-go sources" }];
  }
  const bin = await buildDoqClient();
  const peerBin = await buildGoProgram(new URL("../interop/dns/doq_server/", import.meta.url), "doq_server");
  const pki = await ensureDevPki({ dir: `${dir}/pki` });
  const server = await startCnsServer({
    config: parseCnsConfig({
      listen: ["127.0.0.1:0"],
      doq_listen: "127.0.0.1:0",
      doh_listen: "",
      rrl_responses_per_second: 0,
      local_zones: ["bench.test"],
      records: RECORDS,
    }),
    tls: { certPem: pki.certPem, keyPem: pki.keyPem },
  });
  // The peer: quic-go serving the same names (tests/interop/dns/doq_server).
  const peer = new Deno.Command(peerBin, {
    args: ["-cert", `${dir}/pki/cert.pem`, "-key", `${dir}/pki/key.pem`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = await lines.read();
  const peerPort = Number(/ready (\d+)/.exec(ready.value ?? "")?.[1] ?? NaN);
  const load = async (port: number, conns = 4, streams = 16) => {
    const r = await run(bin, [
      ...["-addr", `127.0.0.1:${port}`, "-ca", `${dir}/pki/ca.pem`, "-type", "AAAA"],
      ...["-load-seconds", String(seconds), "-conns", String(conns), "-streams", String(streams)],
    ], { timeoutMs: (seconds + 30) * 1000 });
    if (r.code !== 0) throw new Error(`DoQ load client failed: ${r.stderr.slice(0, 200)}`);
    return JSON.parse(r.stdout) as {
      queries: number;
      errors: number;
      qps: number;
      p50_ms: number;
      p99_ms: number;
    };
  };
  try {
    const doqPort = server.endpoints.find((e) => e.name === "doq")?.port ?? 0;
    const ours = await load(doqPort);
    const theirs = Number.isNaN(peerPort) ? undefined : await load(peerPort);
    // One connection, one query at a time: the latency floor.
    const oursSeq = await load(doqPort, 1, 1);
    const theirsSeq = Number.isNaN(peerPort) ? undefined : await load(peerPort, 1, 1);
    const row = (setup: string, j: Awaited<ReturnType<typeof load>>, ratio: string): BenchRow => ({
      setup,
      "queries/s": Math.round(j.qps),
      "avg latency ms": `p50 ${j.p50_ms} / p99 ${j.p99_ms}`,
      completed: j.queries,
      lost: j.errors,
      "qps vs unbound": ratio,
    });
    return [
      row(
        "cns DoQ (4 connections x 16 streams, quic-go client)",
        ours,
        theirs
          ? `${(ours.qps / theirs.qps).toFixed(3)} of quic-go's DoQ server`
          : `${(ours.qps / udpQps).toFixed(3)} of cns UDP`,
      ),
      ...(theirs ? [row("quic-go DoQ server (same names, same client)", theirs, "1 (DoQ peer)")] : []),
      row(
        "cns DoQ, 1 connection, 1 query at a time",
        oursSeq,
        theirsSeq ? `p99 ${(oursSeq.p99_ms / theirsSeq.p99_ms).toFixed(2)}x quic-go's` : "",
      ),
      ...(theirsSeq
        ? [row("quic-go DoQ server, 1 connection, 1 query at a time", theirsSeq, "1 (DoQ peer)")]
        : []),
    ];
  } finally {
    await server.close();
    try {
      peer.kill("SIGTERM");
    } catch {
      // already gone
    }
    await lines.cancel().catch(() => {});
    await peer.stderr.cancel().catch(() => {});
    await peer.status;
  }
}

export async function runCnsBench(opts: { quick?: boolean } = {}): Promise<BenchRow[]> {
  if (!hasTool("dnsperf") || !hasTool("unbound")) {
    return [{ setup: "skipped", note: "needs Debian packages dnsperf and unbound" }];
  }
  const seconds = opts.quick ? 3 : 10;
  const dir = await Deno.makeTempDir({ prefix: "cns_bench_" });
  const dataFile = `${dir}/queries.txt`;
  await Deno.writeTextFile(dataFile, NAMES.map((n) => `${n} AAAA`).join("\n") + "\n");
  const ub = await startUnbound(["bench.test"], [SOA, ...RECORDS.map((r) => r.replace(/^(\S+)/, "$1."))]);
  const base = { listen: ["127.0.0.1:0"], doq_listen: "", doh_listen: "", rrl_responses_per_second: 0 };
  const zoneServer = await startCnsServer({
    config: parseCnsConfig({ ...base, local_zones: ["bench.test"], records: RECORDS }),
  });
  const cacheServer = await startCnsServer({
    config: parseCnsConfig({ ...base, upstreams: [`127.0.0.1:${ub.port}`] }),
  });
  // The same zone with batched UDP through libc (udp_io = "ffi"; Linux only).
  const ffiServer = await startCnsServer({
    config: parseCnsConfig({ ...base, udp_io: "ffi", local_zones: ["bench.test"], records: RECORDS }),
  }).catch(() => undefined);
  const portOf = (s: typeof zoneServer): number => s.endpoints.find((e) => e.name === "udp")?.port ?? 0;
  try {
    // Warm the cache: one pass over every name.
    await dnsperf(portOf(cacheServer), dataFile, 1);
    const results: [string, PerfResult][] = [];
    results.push(["cns (local zone)", await dnsperf(portOf(zoneServer), dataFile, seconds)]);
    if (ffiServer !== undefined) {
      results.push([`cns (local zone), udp_io = "ffi"`, await dnsperf(portOf(ffiServer), dataFile, seconds)]);
    }
    results.push(["cns (forwarder cache)", await dnsperf(portOf(cacheServer), dataFile, seconds)]);
    results.push(["unbound 1 thread (local-data)", await dnsperf(ub.port, dataFile, seconds)]);
    const tcp: [string, PerfResult][] = [];
    tcp.push(["cns (local zone), TCP", await dnsperf(portOf(zoneServer), dataFile, seconds, "tcp")]);
    tcp.push(["unbound 1 thread (local-data), TCP", await dnsperf(ub.port, dataFile, seconds, "tcp")]);
    const row = (peer: number) => ([setup, r]: [string, PerfResult]): BenchRow => ({
      setup,
      "queries/s": Math.round(r.qps),
      "avg latency ms": Number(r.avgLatencyMs.toFixed(3)),
      completed: r.completed,
      lost: r.lost,
      "qps vs unbound": Number((r.qps / peer).toFixed(3)),
    });
    const rows = [
      ...results.map(row(results[results.length - 1]?.[1].qps ?? NaN)),
      ...tcp.map(row(tcp[tcp.length - 1]?.[1].qps ?? NaN)),
    ];
    rows.push(...await doqRows(dir, seconds, results[0]?.[1].qps ?? NaN));
    return rows;
  } finally {
    await zoneServer.close();
    await cacheServer.close();
    await ffiServer?.close();
    await ub.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const rows = await runCnsBench({ quick: Deno.args.includes("--quick") });
  console.log(`dnsperf -c 1 -q 100 over loopback, ${Deno.args.includes("--quick") ? 3 : 10} s per side\n`);
  console.log(markdownTable(rows));
}
