/**
 * Transport benchmark: `transport/` side by side with raw `Deno.connectQuic` streams and a raw UDP ping-pong, all
 * in one run, reported as ratios (these machines are shared and noisy, so absolute numbers mean little).
 *
 * Measurements:
 * - (a) request/response round trip on one connection: a 32-byte payload behind a 4-byte length prefix, echoed,
 *   on ONE long-lived bidirectional stream (same shape for all three): `transport/` = `PingStream` (MessageWriter
 *   and MessageReader on both ends, `ghost-ping/1` server); raw QUIC = raw `writer.write` / `reader.read` on a
 *   Deno stream against a raw byte-echo server; raw UDP = `Deno.listenDatagram` send/receive of the same bytes.
 *   Rounds of the three are interleaved with a rotating order; p50/p99 over all rounds.
 * - (b) bulk throughput of one stream: N MiB in 64 KiB writes (`MessageWriter`, 64 KiB messages with a u32 prefix,
 *   vs raw 64 KiB writes), the server counts bytes and acknowledges at FIN; the transport/ server reads with
 *   `MessagePartReader` (zero-copy parts) and, as a second row, with `MessageReader` (whole messages); median of
 *   5 runs in rotating order.
 * - (c) handshakes per second: connect + close, sequential and with 16 in flight, from one client endpoint;
 *   raw, ours, ours, raw, so drift hits both alike.
 * - (d) concurrent idle connections held by one server process: the server runs as a subprocess (this file with
 *   `--idle-server <pki dir> raw|ours`), a bare Deno QUIC listener as the baseline and a transport/ QuicServer;
 *   RSS from /proc/<pid>/status VmRSS; the server socket's receive-buffer drops from /proc/net/udp. Handshakes
 *   are paced (16 in flight from 16 client sockets); one unpaced burst (128 in flight) shows why.
 *
 * Run: `./deno run -A tests/bench/transport_bench.ts [--quick]`, or `deno task bench transport`.
 *
 * @module
 */

import {
  connectQuic,
  encodeLengthPrefixed,
  ensureDevPki,
  PING_ALPN,
  pingHandler,
  PingStream,
  type QuicConnection,
  QuicServer,
} from "../../transport/mod.ts";
import { summarize } from "./_stats.ts";

/** One table row: column name to cell (the shape `tests/bench/mod.ts` renders). */
export type Row = Readonly<Record<string, string | number>>;

/** Options of {@linkcode runTransportBench}. Every loop is bounded by a count and a time budget. */
export interface TransportBenchOptions {
  /** A short smoke run (seconds, not minutes). */
  readonly quick?: boolean;
  /** Round trips per subject for (a). Default 2,000 (quick: 300). */
  readonly rttIterations?: number;
  /** Payload bytes for (a). Default 32. */
  readonly payloadBytes?: number;
  /** MiB per bulk run for (b). Default 64 (quick: 16). */
  readonly bulkMiB?: number;
  /** Handshakes per subject and mode for (c). Default 600 (quick: 60). */
  readonly handshakes?: number;
  /** Idle connections to reach for (d). Default 10,000 (quick: 1,000). */
  readonly idleTarget?: number;
  /** Keep going past the target up to this many while the budget allows. Default 30,000 (quick: target). */
  readonly idleMax?: number;
  /** Time budget for (d) in ms. Default 75,000 (quick: 15,000). */
  readonly idleBudgetMs?: number;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

const BULK_ALPN = "bench-bulk/1";
const BULK_CONTIG_ALPN = "bench-bulk-contiguous/1";
const HS_ALPN = "bench-hs/1";
const IDLE_ALPN = "bench-idle/1";
const RAW_ECHO = "raw-echo";
const RAW_BULK = "raw-bulk";
const RAW_HS = "raw-hs";
const CHUNK = 64 * 1024;

/** Runs all measurements and returns the table rows. */
export async function runTransportBench(opts: TransportBenchOptions = {}): Promise<Row[]> {
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((line: string) => console.error(`[transport bench] ${line}`));
  const o = {
    rttIterations: opts.rttIterations ?? (quick ? 300 : 2000),
    payloadBytes: opts.payloadBytes ?? 32,
    bulkMiB: opts.bulkMiB ?? (quick ? 16 : 64),
    handshakes: opts.handshakes ?? (quick ? 60 : 600),
    idleTarget: opts.idleTarget ?? (quick ? 1000 : 10_000),
    idleMax: opts.idleMax ?? (quick ? opts.idleTarget ?? 1000 : 30_000),
    idleBudgetMs: opts.idleBudgetMs ?? (quick ? 15_000 : 75_000),
  };
  const dir = await Deno.makeTempDir({ prefix: "transport_bench_" });
  const rows: Row[] = [];
  try {
    const pki = await ensureDevPki({ dir: `${dir}/pki` });
    const env = await startServers(pki);
    try {
      log(`(a) round trips: ${o.rttIterations} x ${o.payloadBytes} B per subject`);
      rows.push(...await benchRtt(env, o.rttIterations, o.payloadBytes));
      log(`(b) bulk: ${o.bulkMiB} MiB per run`);
      rows.push(...await benchBulk(env, o.bulkMiB, quick ? 3 : 5));
      log(`(c) handshakes: ${o.handshakes} per subject and mode`);
      rows.push(...await benchHandshakes(env, o.handshakes));
    } finally {
      await env.close();
    }
    log(`(d) idle connections: target ${o.idleTarget}, up to ${o.idleMax}, budget ${o.idleBudgetMs} ms`);
    rows.push(...await benchIdle(dir, o.idleTarget, o.idleMax, o.idleBudgetMs, log));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// Servers (in this process for a-c)

interface Env {
  readonly pki: { caPem: string; certPem: string; keyPem: string };
  readonly ours: QuicServer;
  readonly raw: Deno.QuicEndpoint;
  readonly udp: Deno.DatagramConn;
  readonly oursClient: Deno.QuicEndpoint;
  readonly rawClient: Deno.QuicEndpoint;
  close(): Promise<void>;
}

async function startServers(pki: Env["pki"]): Promise<Env> {
  const ours = new QuicServer({
    hostname: "127.0.0.1",
    cert: pki.certPem,
    key: pki.keyPem,
    handlers: {
      [PING_ALPN]: pingHandler(),
      // Bulk receiver that consumes bytes as they arrive (zero-copy parts).
      [BULK_ALPN]: (conn) =>
        conn.forEachBidi(async (stream) => {
          let n = 0;
          for await (const part of conn.partReader(stream.readable, { prefix: 4 })) n += part.bytes.length;
          const writer = conn.writer(stream.writable, { prefix: 4 });
          await writer.write(u64(n));
          await writer.close();
        }),
      // Bulk receiver that wants each 64 KiB message contiguous (MessageReader: one copy per straddling message).
      [BULK_CONTIG_ALPN]: (conn) =>
        conn.forEachBidi(async (stream) => {
          const { reader, writer } = conn.messages(stream, { prefix: 4 });
          let n = 0;
          for await (const m of reader) n += m.length;
          await writer.write(u64(n));
          await writer.close();
        }),
      [HS_ALPN]: (conn) => conn.closed.then(() => {}),
    },
    limits: { maxConnections: 100_000 },
  });

  // Raw Deno QUIC server: byte echo, byte count, handshake only.
  const raw = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = raw.listen({
    alpnProtocols: [RAW_ECHO, RAW_BULK, RAW_HS],
    cert: pki.certPem,
    key: pki.keyPem,
    maxIdleTimeout: 30_000,
  });
  const rawLoop = (async () => {
    try {
      for await (const incoming of listener) {
        incoming.accept<false>().then(serveRaw, () => {});
      }
    } catch {
      // endpoint closed
    }
  })();

  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const udpLoop = (async () => {
    try {
      for await (const [data, addr] of udp) await udp.send(data, addr);
    } catch {
      // closed
    }
  })();

  const oursClient = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const rawClient = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  await Promise.resolve();
  return {
    pki,
    ours,
    raw,
    udp,
    oursClient,
    rawClient,
    async close() {
      oursClient.close();
      rawClient.close();
      await ours.close();
      raw.close();
      udp.close();
      await Promise.all([rawLoop, udpLoop]);
    },
  };
}

async function serveRaw(conn: Deno.QuicConn): Promise<void> {
  conn.closed.catch(() => {});
  if (conn.protocol === RAW_HS) return;
  const streams = conn.incomingBidirectionalStreams.getReader();
  try {
    while (true) {
      const { value: stream, done } = await streams.read();
      if (done) return;
      (conn.protocol === RAW_ECHO ? rawEcho(stream) : rawCount(stream)).catch(() => {});
    }
  } catch {
    // connection closed
  }
}

async function rawEcho(stream: Deno.QuicBidirectionalStream): Promise<void> {
  const r = stream.readable.getReader();
  const w = stream.writable.getWriter();
  while (true) {
    const { value, done } = await r.read();
    if (done) break;
    await w.write(value);
  }
  await w.close();
}

async function rawCount(stream: Deno.QuicBidirectionalStream): Promise<void> {
  const r = stream.readable.getReader();
  let n = 0;
  while (true) {
    const { value, done } = await r.read();
    if (done) break;
    n += value.length;
  }
  const w = stream.writable.getWriter();
  await w.write(u64(n));
  await w.close();
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function connectOurs(env: Env, alpn: string): Promise<QuicConnection> {
  return connectQuic(
    { hostname: "127.0.0.1", port: env.ours.addr.port, serverName: "localhost", alpn },
    { endpoint: env.oursClient, caCerts: [env.pki.caPem] },
  );
}

function connectRaw(env: Env, alpn: string): Promise<Deno.QuicConn> {
  return Deno.connectQuic<false>({
    endpoint: env.rawClient,
    hostname: "127.0.0.1",
    port: env.raw.addr.port,
    serverName: "localhost",
    alpnProtocols: [alpn],
    caCerts: [env.pki.caPem],
    maxIdleTimeout: 30_000,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (a) round trips

async function benchRtt(env: Env, iterations: number, payloadBytes: number): Promise<Row[]> {
  const payload = crypto.getRandomValues(new Uint8Array(payloadBytes));
  const frame = encodeLengthPrefixed(payload, 4);

  const ours = await connectOurs(env, PING_ALPN);
  const session = await PingStream.open(ours);
  const oursOnce = async (): Promise<void> => {
    await session.ping(payload);
  };

  const raw = await connectRaw(env, RAW_ECHO);
  const rawStream = await raw.createBidirectionalStream();
  const rw = rawStream.writable.getWriter();
  const rr = rawStream.readable.getReader();
  const rawOnce = async (): Promise<void> => {
    await rw.write(frame);
    let got = 0;
    while (got < frame.length) {
      const { value, done } = await rr.read();
      if (done) throw new Error("raw echo ended early");
      got += value.length;
    }
  };

  const udpClient = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const udpOnce = async (): Promise<void> => {
    await udpClient.send(frame, env.udp.addr);
    await udpClient.receive();
  };

  const subjects = { ours: oursOnce, raw: rawOnce, udp: udpOnce } as const;
  const samples: Record<keyof typeof subjects, number[]> = { ours: [], raw: [], udp: [] };
  // Warm up, then interleave rounds so that drift on a shared machine hits all three alike.
  for (const once of Object.values(subjects)) for (let i = 0; i < 200; i++) await once();
  // The order rotates every round: whichever subject runs right after the QUIC ones measured slower on this VM
  // (raw UDP p50 0.25 ms instead of 0.045 ms), so every subject takes every position equally often.
  const rounds = 6;
  const perRound = Math.ceil(iterations / rounds);
  const order = Object.entries(subjects) as [keyof typeof subjects, () => Promise<void>][];
  for (let round = 0; round < rounds; round++) {
    const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
    for (const [name, once] of rotated) {
      const out = samples[name];
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        await once();
        out.push(performance.now() - t0);
      }
    }
  }

  await session.close();
  ours.close();
  await rw.close();
  raw.close();
  udpClient.close();

  const s = { ours: summarize(samples.ours), raw: summarize(samples.raw), udp: summarize(samples.udp) };
  const shape = `${payloadBytes} B + 4 B prefix, one long stream, n=${samples.ours.length}`;
  const added = s.ours.p99 - s.udp.p99;
  return [
    row(
      `(a) RTT p50 (${shape})`,
      ms(s.ours.p50),
      "raw Deno QUIC stream",
      ms(s.raw.p50),
      ratio(s.ours.p50, s.raw.p50),
    ),
    row(`(a) RTT p99`, ms(s.ours.p99), "raw Deno QUIC stream", ms(s.raw.p99), ratio(s.ours.p99, s.raw.p99)),
    row(
      `(a) RTT p50`,
      ms(s.ours.p50),
      "raw UDP (Deno.listenDatagram)",
      ms(s.udp.p50),
      ratio(s.ours.p50, s.udp.p50),
    ),
    row(
      `(a) added latency over raw UDP at p99`,
      ms(added),
      "raw UDP p99",
      ms(s.udp.p99),
      ratio(s.ours.p99, s.udp.p99),
      "< 1 ms added",
      added < 1 ? "met" : "missed",
    ),
    row(
      `(a) raw QUIC's own added latency over UDP at p99`,
      ms(s.raw.p99 - s.udp.p99),
      "(for reference)",
      "",
      "",
      "",
      "what Deno's QUIC costs before transport/",
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// (b) bulk throughput

async function benchBulk(env: Env, mib: number, runs: number): Promise<Row[]> {
  const total = mib * 1024 * 1024;
  const chunk = crypto.getRandomValues(new Uint8Array(CHUNK));
  const writes = Math.ceil(total / CHUNK);

  const oursConn = await connectOurs(env, BULK_ALPN);
  const contigConn = await connectOurs(env, BULK_CONTIG_ALPN);
  const rawConn = await connectRaw(env, RAW_BULK);

  const oursRun = (conn: QuicConnection) => async (): Promise<number> => {
    const { reader, writer } = conn.messages(await conn.openBidi(), { prefix: 4 });
    const t0 = performance.now();
    for (let i = 0; i < writes; i++) await writer.write(chunk);
    await writer.close();
    const ack = await reader.read();
    const dt = performance.now() - t0;
    if (ack === null || readU64(ack) !== writes * CHUNK) throw new Error("bulk ack mismatch (ours)");
    return (writes * CHUNK) / (1024 * 1024) / (dt / 1000);
  };
  const rawRun = async (): Promise<number> => {
    const s = await rawConn.createBidirectionalStream();
    const w = s.writable.getWriter();
    const r = s.readable.getReader();
    const t0 = performance.now();
    for (let i = 0; i < writes; i++) {
      await w.ready;
      await w.write(chunk);
    }
    await w.close();
    const parts: Uint8Array[] = [];
    while (true) {
      const { value, done } = await r.read();
      if (done) break;
      parts.push(value);
    }
    const dt = performance.now() - t0;
    const ack = Uint8Array.from(parts.flatMap((p) => [...p]));
    if (readU64(ack) !== writes * CHUNK) throw new Error("bulk ack mismatch (raw)");
    return (writes * CHUNK) / (1024 * 1024) / (dt / 1000);
  };

  const subjects: [string, () => Promise<number>][] = [
    ["raw", rawRun],
    ["parts", oursRun(oursConn)],
    ["contiguous", oursRun(contigConn)],
  ];
  const results = new Map<string, number[]>(subjects.map(([name]) => [name, []]));
  for (const [, run] of subjects) await run(); // warm-up: congestion window, JIT
  for (let i = 0; i < runs; i++) {
    // Rotate the order so that no subject always runs right after another.
    const rotated = [...subjects.slice(i % subjects.length), ...subjects.slice(0, i % subjects.length)];
    for (const [name, run] of rotated) results.get(name)?.push(await run());
  }
  oursConn.close();
  contigConn.close();
  rawConn.close();
  const med = (name: string): number => summarize(results.get(name) ?? []).p50;
  const best = (name: string): number => Math.max(...(results.get(name) ?? []));
  const r = med("raw");
  const o = med("parts");
  const c = med("contiguous");
  return [
    row(
      `(b) bulk, one stream, ${mib} MiB in 64 KiB messages, receiver reads parts (median of ${runs})`,
      `${o.toFixed(0)} MiB/s`,
      "raw Deno QUIC stream",
      `${r.toFixed(0)} MiB/s`,
      ratio(o, r),
      ">= 0.9x",
      `${o / r >= 0.9 ? "met" : "missed"}; best ${best("parts").toFixed(0)} vs ${
        best("raw").toFixed(0)
      } MiB/s`,
    ),
    row(
      `(b) same, receiver reads whole messages (MessageReader)`,
      `${c.toFixed(0)} MiB/s`,
      "raw Deno QUIC stream",
      `${r.toFixed(0)} MiB/s`,
      ratio(c, r),
      "",
      "each message straddles two 64 KiB reads, so it is copied once",
    ),
  ];
}

function readU64(b: Uint8Array): number {
  if (b.length < 8) return -1;
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
}

// ---------------------------------------------------------------------------------------------------------------
// (c) handshakes per second

async function benchHandshakes(env: Env, n: number): Promise<Row[]> {
  const oursOnce = async (): Promise<void> => {
    const c = await connectOurs(env, HS_ALPN);
    c.close();
  };
  const rawOnce = async (): Promise<void> => {
    const c = await connectRaw(env, RAW_HS);
    c.close();
  };
  /** Seconds to run `count` connect+close with `concurrency` in flight. */
  const timed = async (once: () => Promise<void>, count: number, concurrency: number): Promise<number> => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          await once();
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  };
  for (let i = 0; i < 20; i++) {
    await oursOnce();
    await rawOnce();
  }
  const rows: Row[] = [];
  const blocks = 6;
  const perBlock = Math.ceil(n / blocks);
  for (const concurrency of [1, 16]) {
    // Alternating blocks (raw, ours, ours, raw, ...) so that drift on a shared machine hits both alike.
    let rawSeconds = 0;
    let oursSeconds = 0;
    for (let b = 0; b < blocks; b++) {
      if (b % 2 === 0) {
        rawSeconds += await timed(rawOnce, perBlock, concurrency);
        oursSeconds += await timed(oursOnce, perBlock, concurrency);
      } else {
        oursSeconds += await timed(oursOnce, perBlock, concurrency);
        rawSeconds += await timed(rawOnce, perBlock, concurrency);
      }
    }
    const raw = (perBlock * blocks) / rawSeconds;
    const ours = (perBlock * blocks) / oursSeconds;
    rows.push(
      row(
        `(c) handshakes/s, ${
          concurrency === 1 ? "sequential" : `${concurrency} in flight`
        } (connect + close)`,
        `${ours.toFixed(0)}/s`,
        "raw Deno.connectQuic",
        `${raw.toFixed(0)}/s`,
        ratio(ours, raw),
        "",
        `n=${perBlock * blocks} each, client and server in this process`,
      ),
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// (d) idle connections held by a server subprocess

interface IdleResult {
  readonly held: number;
  readonly baseConns: number;
  readonly baseRssKiB: number;
  readonly rssKiB: number;
  readonly failures: number;
  readonly openSeconds: number;
  /** Connections per second while filling up to the target (comparable between runs that go further). */
  readonly firstRate: number;
  readonly serverDrops: number;
  readonly rcvbufErrors: number;
}

interface BurstResult {
  readonly inFlight: number;
  readonly perSecond: number;
  readonly serverDrops: number;
  readonly p99Ms: number;
}

/** Handshakes kept in flight while filling the server (see the README's benchmark notes on UDP buffers). */
const PACED_IN_FLIGHT = 8;
/** The unpaced burst used to show the UDP receive buffer overflow. */
const BURST_IN_FLIGHT = 128;

async function benchIdle(
  dir: string,
  target: number,
  max: number,
  budgetMs: number,
  log: (line: string) => void,
): Promise<Row[]> {
  const pki = await ensureDevPki({ dir: `${dir}/pki` });
  // Raw Deno server first (baseline, target only), then transport/ (target, then higher while the budget lasts).
  const rawBudget = budgetMs / 3;
  const raw = await idleRun("raw", `${dir}/pki`, pki.caPem, target, target, rawBudget, false, log);
  const ours = await idleRun("ours", `${dir}/pki`, pki.caPem, target, max, budgetMs - rawBudget, true, log);
  const per = (r: IdleResult): number => (r.rssKiB - r.baseRssKiB) / Math.max(1, r.held - r.baseConns);
  const rate = (r: IdleResult): string =>
    ((r.held - r.baseConns) / Math.max(0.001, r.openSeconds)).toFixed(0);
  const rows: Row[] = [
    row(
      `(d) idle connections held by one server process (paced, ${PACED_IN_FLIGHT} handshakes in flight)`,
      `${ours.result.held}`,
      "raw Deno QUIC server",
      `${raw.result.held}`,
      ratio(ours.result.held, raw.result.held),
      ">= 10,000 (seed: 100,000+)",
      `${ours.result.failures} failed connects; up to ${target}: ${
        ours.result.firstRate.toFixed(0)
      }/s opened ` +
        `(raw: ${raw.result.firstRate.toFixed(0)}/s), overall ${rate(ours.result)}/s; ` +
        `server socket drops ${ours.result.serverDrops} (raw: ${raw.result.serverDrops})`,
    ),
    row(
      `(d) server RSS per idle connection`,
      `${per(ours.result).toFixed(1)} KiB`,
      "raw Deno QUIC server",
      `${per(raw.result).toFixed(1)} KiB`,
      ratio(per(ours.result), per(raw.result)),
      "",
      `VmRSS ${(ours.result.baseRssKiB / 1024).toFixed(0)} -> ${
        (ours.result.rssKiB / 1024).toFixed(0)
      } MiB ` +
        `(raw ${(raw.result.baseRssKiB / 1024).toFixed(0)} -> ${(raw.result.rssKiB / 1024).toFixed(0)} MiB)`,
    ),
  ];
  if (ours.burst) {
    rows.push(
      row(
        `(d) burst of ${BURST_IN_FLIGHT} handshakes in flight vs ${PACED_IN_FLIGHT}`,
        `${ours.burst.perSecond.toFixed(0)}/s, ${ours.burst.serverDrops} drops, p99 ${
          ours.burst.p99Ms.toFixed(0)
        } ms`,
        `paced (${PACED_IN_FLIGHT} in flight)`,
        `${rate(ours.result)}/s, ${ours.result.serverDrops} drops`,
        "",
        "0 drops",
        `server socket drops (/proc/net/udp); rcvbuf = net.core.rmem_default ${
          readSysctl("net/core/rmem_default")
        }`,
      ),
    );
  }
  return rows;
}

async function idleRun(
  kind: "raw" | "ours",
  pkiDir: string,
  caPem: string,
  target: number,
  max: number,
  budgetMs: number,
  probeBurst: boolean,
  log: (line: string) => void,
): Promise<{ result: IdleResult; burst: BurstResult | undefined }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", import.meta.filename ?? "", "--idle-server", pkiDir, kind],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = lineReader(child.stdout);
  const stdin = child.stdin.getWriter();
  const endpoints: Deno.QuicEndpoint[] = [];
  try {
    const first = await lines.next();
    if (first === undefined) throw new Error(`idle server (${kind}) did not start`);
    const { port } = JSON.parse(first) as { port: number };
    const serverConns = async (): Promise<number> => {
      await stdin.write(new TextEncoder().encode("stats\n"));
      const line = await lines.next();
      if (line === undefined) throw new Error(`idle server (${kind}) exited`);
      return (JSON.parse(line) as { connections: number }).connections;
    };
    // Several client sockets: one client socket also overflows its receive buffer in a burst.
    for (let i = 0; i < 16; i++) endpoints.push(new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 }));
    let opened = 0;
    let failures = 0;
    const open = async (
      count: number,
      deadline: number,
      inFlight: number,
      times?: number[],
    ): Promise<void> => {
      let started = 0;
      await Promise.all(Array.from({ length: inFlight }, async () => {
        while (started < count && performance.now() < deadline) {
          const ep = endpoints[(opened + started++) % endpoints.length] as Deno.QuicEndpoint;
          const t0 = performance.now();
          try {
            const c = await Deno.connectQuic<false>({
              endpoint: ep,
              hostname: "127.0.0.1",
              port,
              serverName: "localhost",
              alpnProtocols: [IDLE_ALPN],
              caCerts: [caPem],
              maxIdleTimeout: 600_000,
            });
            c.closed.catch(() => {});
            opened++;
            times?.push(performance.now() - t0);
          } catch {
            failures++;
          }
        }
      }));
    };
    const settle = async (): Promise<number> => {
      let n = 0;
      const end = performance.now() + 5000;
      while (performance.now() < end && (n = await serverConns()) < opened) await delay(50);
      return n;
    };

    const deadline = performance.now() + budgetMs;
    await open(200, deadline, PACED_IN_FLIGHT);
    const baseConns = await settle();
    const baseRssKiB = vmRssKiB(child.pid);
    const drops0 = udpDrops(port);
    const snmp0 = udpCounters().rcvbufErrors;

    // Fill to the target at a paced rate, then higher while the budget lasts.
    let goal = target;
    let pacedSeconds = 0;
    let firstRate = 0;
    while (opened < goal && performance.now() < deadline) {
      const t0 = performance.now();
      const before = opened;
      await open(goal - opened, deadline, PACED_IN_FLIGHT);
      pacedSeconds += (performance.now() - t0) / 1000;
      if (firstRate === 0) firstRate = (opened - before) / ((performance.now() - t0) / 1000);
      const held = await settle();
      log(
        `  ${kind}: ${opened} client conns, server holds ${held}, RSS ${
          (vmRssKiB(child.pid) / 1024).toFixed(0)
        } MiB, ` +
          `${failures} failed, server socket drops +${udpDrops(port) - drops0}`,
      );
      // Only with a third of the budget left, and at most `max`.
      if (opened >= goal && goal < max && deadline - performance.now() > budgetMs / 3) {
        goal = Math.min(max, goal + target);
      }
    }
    const held = await settle();
    const result: IdleResult = {
      held,
      baseConns,
      baseRssKiB,
      rssKiB: vmRssKiB(child.pid),
      failures,
      openSeconds: pacedSeconds,
      firstRate,
      serverDrops: udpDrops(port) - drops0,
      rcvbufErrors: udpCounters().rcvbufErrors - snmp0,
    };

    // Then one unpaced burst on top, to show what happens without pacing.
    let burst: BurstResult | undefined;
    if (probeBurst) {
      const times: number[] = [];
      const d0 = udpDrops(port);
      const t0 = performance.now();
      await open(Math.min(1000, target), performance.now() + 20_000, BURST_IN_FLIGHT, times);
      const seconds = (performance.now() - t0) / 1000;
      burst = {
        inFlight: BURST_IN_FLIGHT,
        perSecond: times.length / seconds,
        serverDrops: udpDrops(port) - d0,
        p99Ms: summarize(times).p99,
      };
      log(
        `  burst: ${burst.perSecond.toFixed(0)}/s, server socket drops +${burst.serverDrops}, p99 ${
          burst.p99Ms.toFixed(0)
        } ms`,
      );
    }
    return { result, burst };
  } finally {
    for (const ep of endpoints) ep.close();
    await stdin.write(new TextEncoder().encode("exit\n")).catch(() => {});
    await stdin.close().catch(() => {});
    const status = await Promise.race([child.status, delay(5000).then(() => undefined)]);
    if (status === undefined) {
      child.kill("SIGKILL");
      await child.status;
    }
    await lines.cancel();
  }
}

/** Receive-buffer drops of the UDP socket bound to `port` (/proc/net/udp, column "drops"). */
function udpDrops(port: number): number {
  let total = 0;
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    try {
      for (const line of Deno.readTextFileSync(file).split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        const local = f[1]?.split(":")[1];
        if (local !== undefined && parseInt(local, 16) === port) total += Number(f[12] ?? 0);
      }
    } catch {
      // not Linux
    }
  }
  return total;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function vmRssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

function udpCounters(): { rcvbufErrors: number; inErrors: number } {
  try {
    const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) => l.startsWith("Udp:"));
    const names = (lines[0] ?? "").split(/\s+/);
    const values = (lines[1] ?? "").split(/\s+/).map(Number);
    const get = (n: string): number => values[names.indexOf(n)] ?? NaN;
    return { rcvbufErrors: get("RcvbufErrors"), inErrors: get("InErrors") };
  } catch {
    return { rcvbufErrors: NaN, inErrors: NaN };
  }
}

function readSysctl(path: string): string {
  try {
    return Deno.readTextFileSync(`/proc/sys/${path}`).trim();
  } catch {
    return "?";
  }
}

function lineReader(stream: ReadableStream<Uint8Array>): {
  next(): Promise<string | undefined>;
  cancel(): Promise<void>;
} {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next() {
      while (true) {
        const i = buffer.indexOf("\n");
        if (i >= 0) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 1);
          return line;
        }
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += value;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/**
 * Child mode: hold idle connections (`ours`: a transport/ QuicServer; `raw`: a bare Deno QUIC listener) and
 * answer `stats` / `exit` on stdin with JSON lines on stdout.
 */
async function idleServer(pkiDir: string, kind: string): Promise<void> {
  const pki = await ensureDevPki({ dir: pkiDir });
  let count: () => number;
  let port: number;
  if (kind === "raw") {
    const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
    const listener = endpoint.listen({
      alpnProtocols: [IDLE_ALPN],
      cert: pki.certPem,
      key: pki.keyPem,
      maxIdleTimeout: 600_000,
    });
    let open = 0;
    (async () => {
      for await (const incoming of listener) {
        incoming.accept<false>().then((c) => {
          open++;
          c.closed.catch(() => {}).finally(() => open--);
        }, () => {});
      }
    })();
    count = () => open;
    port = endpoint.addr.port;
  } else {
    const server = new QuicServer({
      hostname: "127.0.0.1",
      cert: pki.certPem,
      key: pki.keyPem,
      handlers: { [IDLE_ALPN]: (conn) => conn.closed.then(() => {}) },
      limits: {
        maxConnections: 200_000,
        idleTimeoutMs: 600_000,
        handshakeTimeoutMs: 30_000,
        drainTimeoutMs: 100,
      },
    });
    count = () => server.stats.connections;
    port = server.addr.port;
  }
  const out = (value: unknown): Promise<number> =>
    Deno.stdout.write(new TextEncoder().encode(JSON.stringify(value) + "\n"));
  await out({ port, pid: Deno.pid });
  const lines = lineReader(Deno.stdin.readable);
  while (true) {
    const cmd = await lines.next();
    if (cmd === undefined || cmd === "exit") break;
    if (cmd === "stats") await out({ connections: count() });
  }
  Deno.exit(0);
}

// ---------------------------------------------------------------------------------------------------------------

function row(
  measurement: string,
  ours: string,
  baseline: string,
  baselineValue: string,
  ratioText: string,
  target = "",
  note = "",
): Row {
  return {
    measurement,
    "transport/": ours,
    baseline,
    "baseline value": baselineValue,
    ratio: ratioText,
    target,
    note,
  };
}

function ms(v: number): string {
  return `${v.toFixed(3)} ms`;
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "";
}

function markdown(rows: readonly Row[]): string {
  const first = rows[0];
  if (!first) return "(no rows)";
  const cols = Object.keys(first);
  return [
    `| ${cols.join(" | ")} |`,
    `|${cols.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cols.map((c) => String(r[c] ?? "")).join(" | ")} |`),
  ].join("\n");
}

if (import.meta.main) {
  if (Deno.args[0] === "--idle-server") {
    await idleServer(Deno.args[1] ?? "", Deno.args[2] ?? "ours");
  } else {
    const quick = Deno.args.includes("--quick");
    // `--idle-max N [--idle-budget-s S]`: push (d) further (e.g. 100,000 connections) in a run of its own.
    const arg = (name: string): number | undefined => {
      const i = Deno.args.indexOf(name);
      return i >= 0 ? Number(Deno.args[i + 1]) : undefined;
    };
    const idleMax = arg("--idle-max");
    const budgetS = arg("--idle-budget-s");
    const t0 = performance.now();
    const rows = await runTransportBench({
      quick,
      ...(idleMax !== undefined ? { idleMax } : {}),
      ...(budgetS !== undefined ? { idleBudgetMs: budgetS * 1000 } : {}),
    });
    console.log(
      `transport bench, deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, loopback` +
        `${quick ? ", --quick" : ""}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
    );
    console.log(markdown(rows));
  }
}
