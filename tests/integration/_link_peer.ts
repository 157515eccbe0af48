// Private helper of netns_link_test.ts, run inside a namespace. `rdv SEED IP PORT PKI` runs a rendezvous node;
// `listen SEED PORT RDV_IP RDV_PORT RDV_KEY PKI` joins it and echoes every message of every link it accepts;
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
    (async () => {
      for (let m = await link.receive(); m !== null; m = await link.receive()) {
        await link.send(new TextEncoder().encode(`echo:${new TextDecoder().decode(m)}`));
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
const t0 = performance.now();
try {
  const link = await node.connect(fromHex(target));
  let answer: Uint8Array | null = null;
  for (let i = 0; i < 5; i++) {
    await link.send(new TextEncoder().encode(i === 4 ? "hello" : `m${i}`));
    answer = await link.receive();
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
