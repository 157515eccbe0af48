/**
 * ghostlink benchmark (root only: network namespaces). A rendezvous on the public segment, members a and b
 * behind cone NATs (direct link) and c behind a symmetric NAT (relayed). Rows: the time to a direct link by key
 * (introduction + punch + handshake); ping RTT and one TCP stream's throughput through the mesh, direct and
 * relayed; and as the peer, the same over the plain network from a to a host on the public segment (through
 * a's NAT, no mesh, no QUIC, no encryption).
 *
 * @module
 */

import { ensureDevPki } from "../../transport/mod.ts";
import { CONE_CONE_SYMMETRIC, keyHex, seedHex } from "../integration/_link_common.ts";
import { buildNatNet, firstLine, type NatNet, netnsUnavailable } from "../integration/_netns.ts";
import type { BenchRow } from "./_table.ts";

const MESH_PEER = new URL("../integration/_mesh_peer.ts", import.meta.url).pathname;
const LINK_PEER = new URL("../integration/_link_peer.ts", import.meta.url).pathname;

async function out(argv: string[]): Promise<string> {
  const r = await new Deno.Command(argv[0] ?? "true", {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
}

/** Runs `deno eval SCRIPT` in a host's namespace; its stdout and stderr. */
function evalIn(net: NatNet, host: string, script: string): Promise<string> {
  return out(["ip", "netns", "exec", net.ns(host), Deno.execPath(), "eval", script]);
}

/** ping -6/-4 RTT avg and max (ms) from `from` to `to`; waits until the path answers. */
async function ping(
  net: NatNet,
  from: string,
  to: string,
  v6: boolean,
): Promise<{ avg: number; max: number }> {
  for (let i = 0; i < 60; i++) {
    const text = await out([
      ...[
        "ip",
        "netns",
        "exec",
        net.ns(from),
        "ping",
        v6 ? "-6" : "-4",
        "-c",
        "20",
        "-i",
        "0.05",
        "-W",
        "2",
        to,
      ],
    ]);
    const m = / = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(text);
    if (m && / 0% packet loss/.test(text)) return { avg: Number(m[2]), max: Number(m[3]) };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no clean ping ${from} -> ${to}`);
}

/** MB/s of one TCP stream of `mib` MiB from `from` to a sink at `host` in namespace `at`. */
async function tcp(net: NatNet, from: string, at: string, host: string, mib: number): Promise<number> {
  const deno = Deno.execPath();
  const sink = net.spawn(at, [
    deno,
    "eval",
    `
    const l = Deno.listen({ hostname: "${host}", port: 7100 });
    console.log("listening");
    const c = await l.accept();
    for await (const _ of c.readable) {}`,
  ]);
  await firstLine(sink);
  const text = await evalIn(
    net,
    from,
    `
    const c = await Deno.connect({ hostname: "${host}", port: 7100 });
    const chunk = new Uint8Array(64 * 1024);
    const w = c.writable.getWriter();
    const t0 = performance.now();
    for (let i = 0; i < ${mib * 16}; i++) await w.write(chunk);
    await w.close();
    console.log(((${mib}) / ((performance.now() - t0) / 1000)).toFixed(1));`,
  );
  return Number(text.trim().split("\n").at(-1));
}

/**
 * Plain UDP between two hosts behind their NATs (the kernel's path, no QUIC, no crypto): both send first so
 * each NAT has a mapping, then `from` measures the RTT of 100-byte datagrams one at a time and the goodput of
 * 1,200-byte ones sent for 2 s (what the other host counted).
 */
async function udp(
  net: NatNet,
  from: string,
  to: string,
): Promise<{ rttAvg: number; rttMax: number; gotMBps: number }> {
  const deno = Deno.execPath();
  const echo = net.spawn(net.ns(to), [
    deno,
    "eval",
    `
    const s = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 4700 });
    const peer = { transport: "udp", hostname: "${net.publicAddr(from)}", port: 4701 };
    for (let i = 0; i < 5; i++) await s.send(new Uint8Array(1), peer);
    console.log("ready");
    let bytes = 0;
    for (;;) {
      const [d, addr] = await s.receive();
      if (d.length === 6 && new TextDecoder().decode(d) === "count?") {
        await s.send(new TextEncoder().encode(String(bytes)), addr);
        continue;
      }
      bytes += d.length;
      if (d[0] === 1) await s.send(d, addr);
    }`,
  ]);
  await firstLine(echo);
  const text = await evalIn(
    net,
    from,
    `
    const s = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 4701 });
    const peer = { transport: "udp", hostname: "${net.publicAddr(to)}", port: 4700 };
    const recv = () => Promise.race([s.receive(), new Promise((r) => setTimeout(() => r(null), 1000))]);
    const ask = async () => {
      await s.send(new TextEncoder().encode("count?"), peer);
      for (;;) {
        const r = await recv();
        if (r === null) return NaN;
        if (r[0][0] !== 1) return Number(new TextDecoder().decode(r[0]));
      }
    };
    const rtts = [];
    const probe = new Uint8Array(100).fill(1);
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await s.send(probe, peer);
      if ((await recv()) !== null) rtts.push(performance.now() - t);
    }
    const before = await ask();
    const blast = new Uint8Array(1200);
    const t0 = performance.now();
    while (performance.now() - t0 < 2000) await s.send(blast, peer);
    const secs = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 300));
    const got = (await ask()) - before;
    rtts.sort((a, b) => a - b);
    console.log(JSON.stringify({
      rttAvg: rtts.reduce((a, b) => a + b, 0) / Math.max(1, rtts.length),
      rttMax: rtts.at(-1) ?? 0,
      gotMBps: got / secs / 1e6,
    }));`,
  );
  return JSON.parse(text.trim().split("\n").at(-1) ?? "{}");
}

/** Runs the ghostlink benchmark (see the module doc). */
export async function runLinkBench(opts: { quick?: boolean } = {}): Promise<BenchRow[]> {
  const skip = netnsUnavailable();
  if (skip !== undefined) return [{ measurement: "skipped", note: skip }];
  const mib = opts.quick ? 8 : 32;
  const dir = await Deno.makeTempDir({ prefix: "link_bench_" });
  const net = await buildNatNet(CONE_CONE_SYMMETRIC);
  try {
    const pki = `${dir}/pki`;
    await ensureDevPki({ dir: pki });
    await firstLine(net.spawnDeno(net.ns("pub"), MESH_PEER, ["rdv", seedHex(9), net.relayAddr, "4400", pki]));
    const join = [net.relayAddr, "4400", keyHex(9), pki];
    // Time to a direct link by key, on its own (before the mesh members take those keys).
    await firstLine(net.spawnDeno(net.ns("b"), LINK_PEER, ["listen", seedHex(12), "4600", ...join]));
    const punches: number[] = [];
    for (let i = 0; i < 3; i++) {
      const line = await firstLine(
        net.spawnDeno(net.ns("a"), LINK_PEER, ["dial", seedHex(11), String(4601 + i), ...join, keyHex(12)]),
      );
      punches.push(Number(JSON.parse(line).ms));
    }
    // The datagram path a -> b without the TUN (sealed QUIC datagrams on the punched link), and plain UDP.
    const dgram = JSON.parse(
      await firstLine(
        net.spawnDeno(net.ns("a"), LINK_PEER, ["dial-dgram", seedHex(11), "4610", ...join, keyHex(12)]),
      ),
    );
    const plainUdp = await udp(net, "a", "b");
    const members = [keyHex(1), keyHex(2), keyHex(3)].join(",");
    const addr: Record<string, string> = {};
    for (const [name, n] of [["a", 1], ["b", 2], ["c", 3]] as const) {
      const line = await firstLine(
        net.spawnDeno(net.ns(name), MESH_PEER, ["member", seedHex(n), "4500", ...join, "bench", members]),
      );
      addr[name] = line.slice(6);
    }
    const direct = await ping(net, "a", addr.b ?? "", true);
    const relayed = await ping(net, "a", addr.c ?? "", true);
    const plain = await ping(net, "a", net.relayAddr, false);
    const tDirect = await tcp(net, "a", net.ns("b"), addr.b ?? "", mib);
    const tRelayed = await tcp(net, "a", net.ns("c"), addr.c ?? "", Math.min(mib, 4));
    const tPlain = await tcp(net, "a", net.ns("pub"), net.relayAddr, mib);
    return [
      {
        measurement: "time to a direct link by key (introduce + punch + handshake), 3 runs",
        value: `${punches.join(" / ")} ms`,
        peer: "-",
        ratio: "-",
        note: "two cone NATs, a rendezvous on the public segment",
      },
      {
        measurement: "ping RTT through the mesh, direct (avg / max)",
        value: `${direct.avg} / ${direct.max} ms`,
        peer: `plain IPv4 to the public segment: ${plain.avg} / ${plain.max} ms`,
        ratio: `${(direct.avg / plain.avg).toFixed(2)}x`,
        note: "QUIC datagrams, sealed end to end, through two NATs",
      },
      {
        measurement: "RTT a <-> b, sealed QUIC datagrams on the link, no TUN (avg / max)",
        value: `${dgram.rttAvg.toFixed(3)} / ${dgram.rttMax.toFixed(3)} ms`,
        peer: `plain UDP a <-> b through the same NATs: ${plainUdp.rttAvg.toFixed(3)} / ${
          plainUdp.rttMax.toFixed(3)
        } ms`,
        ratio: `${(dgram.rttAvg / plainUdp.rttAvg).toFixed(2)}x`,
        note: `path ${dgram.path}; mesh ping above: ${(direct.avg / dgram.rttAvg).toFixed(2)}x this`,
      },
      {
        measurement: "goodput a -> b, 1,200-byte sealed QUIC datagrams for 2 s, no TUN",
        value: `${dgram.gotMBps.toFixed(1)} MB/s (sent ${dgram.sentMBps.toFixed(1)})`,
        peer: `plain UDP a -> b: ${plainUdp.gotMBps.toFixed(1)} MB/s`,
        ratio: `${(dgram.gotMBps / plainUdp.gotMBps).toFixed(3)}x`,
        note: "what arrived, counted by b",
      },
      {
        measurement: "ping RTT through the mesh, relayed (avg / max)",
        value: `${relayed.avg} / ${relayed.max} ms`,
        peer: `plain: ${plain.avg} ms`,
        ratio: `${(relayed.avg / plain.avg).toFixed(2)}x`,
        note: "through the rendezvous' relay (QUIC streams both legs)",
      },
      {
        measurement: `one TCP stream through the mesh, direct (${mib} MiB)`,
        value: `${tDirect} MB/s`,
        peer: `plain TCP to the public segment: ${tPlain} MB/s`,
        ratio: `${(tDirect / tPlain).toFixed(3)}x`,
        note: `IPv6 in QUIC datagrams, MTU 1,280; ${
          (tDirect / dgram.gotMBps).toFixed(2)
        }x the datagram goodput`,
      },
      {
        measurement: "one TCP stream through the mesh, relayed",
        value: `${tRelayed} MB/s`,
        peer: "relay cap 1 MiB/s per link and direction",
        ratio: `${(tRelayed / 1.048576).toFixed(2)} of the cap`,
        note: "bounded by the relay's rate limit, as configured",
      },
    ];
  } finally {
    await net.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { markdownTable } = await import("./_table.ts");
  console.log(markdownTable(await runLinkBench({ quick: Deno.args.includes("--quick") })));
}
