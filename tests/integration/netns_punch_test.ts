// ghostlink groundwork: Deno's QUIC, one endpoint that both listens and dials, opens a direct link between two
// hosts behind NATs by a simultaneous open after a rendezvous told each the other's public address, and cannot
// through a symmetric NAT (which is what a relay is for). Real namespaces, real NAT (nft masquerade), real
// QUIC; the namespaces are removed even when the test fails.
import assert from "node:assert/strict";
import { ensureDevPki } from "../../transport/mod.ts";
import { buildNatNet, type NatNet, netnsUnavailable } from "./_netns.ts";

const PEER = new URL("./_punch_peer.ts", import.meta.url).pathname;
const skip = netnsUnavailable();

async function punch(
  net: NatNet,
  pkiDir: string,
  x: string,
  y: string,
): Promise<Array<Record<string, unknown>>> {
  const deno = Deno.execPath();
  const run = (ns: string, args: string[]) =>
    new Deno.Command("ip", {
      args: ["netns", "exec", ns, deno, "run", "-A", "--unstable-net", PEER, ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const rdv = run(net.ns("pub"), ["rdv", net.relayAddr, "4400", pkiDir]);
  try {
    const ready = await rdv.stdout.getReader().read();
    assert.match(new TextDecoder().decode(ready.value), /ready/);
    const peers = [x, y].map((p) => run(net.ns(p), ["peer", p, "4500", net.relayAddr, "4400", pkiDir]));
    const outs = await Promise.all(peers.map((p) => p.output()));
    return outs.map((o) => {
      const text = new TextDecoder().decode(o.stdout).trim();
      assert.ok(text.startsWith("{"), `${new TextDecoder().decode(o.stderr)}`);
      return JSON.parse(text.split("\n").at(-1) ?? "{}");
    });
  } finally {
    try {
      rdv.kill("SIGKILL");
    } catch {
      // exited
    }
    await rdv.status;
  }
}

Deno.test({
  name: "netns: QUIC hole punching through two cone NATs gives a direct link; a symmetric NAT defeats it",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ghostlink_punch_" });
    const net = await buildNatNet([
      { name: "a", nat: "cone" },
      { name: "b", nat: "cone" },
      { name: "c", nat: "symmetric" },
    ]);
    try {
      await ensureDevPki({ dir: `${dir}/pki` });
      // The hosts cannot reach each other's private addresses: only the NATs' public side is routable.
      await assert.rejects(net.exec(net.ns("a"), ["ping", "-c1", "-W1", net.privateAddr("b")]));
      const ab = await punch(net, `${dir}/pki`, "a", "b");
      for (const r of ab) assert.equal(r.direct, true, JSON.stringify(ab));
      // Each saw the other at its NAT's public address (the mapping kept the port: a cone NAT).
      assert.deepEqual(ab.map((r) => r.other).sort(), [
        `${net.publicAddr("a")}:4500`,
        `${net.publicAddr("b")}:4500`,
      ]);
      const ac = await punch(net, `${dir}/pki`, "a", "c");
      const c = ac.find((r) => r.name === "c");
      assert.notEqual(c?.other, undefined);
      // c's NAT picked a random port for the rendezvous, and another one for a: no direct link.
      for (const r of ac) assert.equal(r.direct, false, JSON.stringify(ac));
    } finally {
      await net.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
