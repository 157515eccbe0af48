// Private helper of netns_link_test.ts, run inside a namespace. `rdv SEED IP PORT PKI` runs a rendezvous node;
// `listen SEED PORT RDV_IP RDV_PORT RDV_KEY PKI` joins it and echoes every message of every link it accepts
// (and packets starting with byte 1; "count?" answers the packet bytes received); `dial-dgram ... TARGET_KEY`
// measures the datagram path (RTT and goodput) for the bench;
// `dial SEED PORT RDV_IP RDV_PORT RDV_KEY PKI TARGET_KEY` joins, links to the target by key, sends "hello" and
// prints one JSON line with the answer, the path and the time, or the error.
import { linkIdentity } from "../../link/mod.ts";
import { fromHex, toHex } from "../../core/mod.ts";
import { maybeRendezvous, startMember } from "./_link_common.ts";

const [mode = "", seed = "", ...rest] = Deno.args;
const identity = linkIdentity(fromHex(seed));

await maybeRendezvous(Deno.args);
const [, , , , , target = ""] = rest;
const node = await startMember(identity, rest);
if (mode === "listen") {
  console.log(`ready ${node.observed} reachable=${await node.reachable()}`);
  for (;;) {
    const link = await node.accept();
    // Packets (QUIC datagrams on a direct link): counted, and echoed when their first byte is 1. The stream
    // message "count?" is answered with the packet bytes received so far (the bench's datagram goodput).
    // (On a relayed link packets travel on the stream, so only a direct link gets the packet reader.)
    let packetBytes = 0;
    if (link.path === "direct") {
      (async () => {
        for (let p = await link.receivePacket(); p !== null; p = await link.receivePacket()) {
          packetBytes += p.length;
          if (p[0] === 1) await link.sendPacket(p).catch(() => {});
        }
      })();
    }
    (async () => {
      for (let m = await link.receive(); m !== null; m = await link.receive()) {
        const text = new TextDecoder().decode(m);
        await link.send(new TextEncoder().encode(text === "count?" ? String(packetBytes) : `echo:${text}`));
      }
    })();
  }
}
if (mode === "dial-rebind") {
  // Link, say so, wait for the test to rebind this host's NAT (a line on stdin), then talk again.
  const link = await node.connect(fromHex(target));
  await link.send(new TextEncoder().encode("before"));
  const first = await link.receive();
  console.log(`linked ${link.path} ${first === null ? "" : new TextDecoder().decode(first)}`);
  await Deno.stdin.readable.getReader().read();
  await link.send(new TextEncoder().encode("after"));
  const second = await Promise.race([
    link.receive(),
    new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
  ]);
  console.log(
    JSON.stringify({ path: link.path, echo: second === null ? null : new TextDecoder().decode(second) }),
  );
  Deno.exit(0);
}
if (mode === "dial-dgram") {
  // The datagram path without the TUN: RTT of sealed 100-byte packets one at a time, then the goodput of
  // 1,200-byte packets sent as fast as the link takes them (what arrived, counted by the listener).
  const link = await node.connect(fromHex(target));
  const ask = async (): Promise<number> => {
    await link.send(new TextEncoder().encode("count?"));
    return Number(new TextDecoder().decode((await link.receive()) ?? new Uint8Array()));
  };
  const rtts: number[] = [];
  const probe = new Uint8Array(100).fill(1);
  const gap = Number(Deno.env.get("DGRAM_GAP_MS") ?? "0");
  for (let i = 0; i < 200; i++) {
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    const t = performance.now();
    await link.sendPacket(probe);
    const back = await Promise.race([
      link.receivePacket(),
      new Promise<null>((r) => setTimeout(() => r(null), 1000)),
    ]);
    if (back !== null) rtts.push(performance.now() - t);
  }
  const before = await ask();
  const blast = new Uint8Array(1200);
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < 2000) {
    await link.sendPacket(blast);
    sent += blast.length;
  }
  const secs = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  const got = (await ask()) - before;
  rtts.sort((a, b) => a - b);
  console.log(JSON.stringify({
    path: link.path,
    rttAvg: rtts.reduce((a, b) => a + b, 0) / Math.max(1, rtts.length),
    rttMax: rtts.at(-1) ?? 0,
    sentMBps: sent / secs / 1e6,
    gotMBps: got / secs / 1e6,
  }));
  Deno.exit(0);
}
const t0 = performance.now();
try {
  const link = await node.connect(fromHex(target));
  let answer: Uint8Array | null = null;
  for (let i = 0; i < 5; i++) {
    await link.send(new TextEncoder().encode(i === 4 ? "hello" : `m${i}`));
    answer = await Promise.race([
      link.receive(),
      new Promise<never>((_, no) => setTimeout(() => no(new Error("no echo within 10 s")), 10_000)),
    ]);
  }
  console.log(JSON.stringify({
    ok: true,
    path: link.path,
    remote: link.remote,
    peer: toHex(link.peer),
    echo: answer === null ? null : new TextDecoder().decode(answer),
    observed: node.observed,
    ms: Math.round(performance.now() - t0),
  }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) }));
}
Deno.exit(0);
