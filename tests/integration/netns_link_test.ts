// ghostlink nodes in the namespace network: a rendezvous on the public segment; hosts behind cone NATs link
// directly by key (the rendezvous introduces them, both dial, the session handshake proves who is who, the
// echo is end-to-end encrypted); a host behind a symmetric NAT is reached through the rendezvous as a relay,
// with the handshake run through it (the relay forwards ciphertext).
import assert from "node:assert/strict";
import { CONE_CONE_SYMMETRIC, keyHex, seedHex } from "./_link_common.ts";
import { ensureDevPki } from "../../transport/mod.ts";
import { buildNatNet, firstLine, netnsUnavailable } from "./_netns.ts";

const PEER = new URL("./_link_peer.ts", import.meta.url).pathname;
const skip = netnsUnavailable();

Deno.test({
  name:
    "netns: ghostlink nodes link directly by key through cone NATs, and through the relay past a symmetric NAT",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ghostlink_link_" });
    const net = await buildNatNet(CONE_CONE_SYMMETRIC);
    const spawn = (ns: string, args: string[]) => net.spawnDeno(ns, PEER, args);
    try {
      const pki = `${dir}/pki`;
      await ensureDevPki({ dir: pki });
      const rdv = spawn(net.ns("pub"), ["rdv", seedHex(9), net.relayAddr, "4400", pki]);
      assert.match(await firstLine(rdv), /^ready/);
      const join = [net.relayAddr, "4400", keyHex(9), pki];
      const b = spawn(net.ns("b"), ["listen", seedHex(2), "4500", ...join]);
      const c = spawn(net.ns("c"), ["listen", seedHex(3), "4500", ...join]);
      // Identify: each learned its public address from the rendezvous.
      // ...and, dialed back from another address (AutoNAT), that strangers cannot reach it behind its NAT.
      assert.equal((await firstLine(b)).trim(), `ready ${net.publicAddr("b")}:4500 reachable=false`);
      assert.match(
        await firstLine(c),
        new RegExp(`^ready ${net.publicAddr("c").replaceAll(".", "\\.")}:\\d+ reachable=false$`),
      );
      const dial = async (target: string) => {
        const text = await firstLine(spawn(net.ns("a"), ["dial", seedHex(1), "4500", ...join, target]));
        assert.ok(text.startsWith("{"), text);
        return JSON.parse(text.split("\n").at(-1) ?? "{}");
      };
      const ab = await dial(keyHex(2));
      assert.equal(ab.ok, true, JSON.stringify(ab));
      assert.equal(ab.path, "direct");
      assert.equal(ab.peer, keyHex(2), "the handshake proved b's key");
      assert.equal(ab.echo, "echo:hello");
      assert.equal(
        ab.remote,
        `${net.publicAddr("b")}:4500`,
        "straight to b's NAT, not through the rendezvous",
      );
      assert.equal(ab.observed, `${net.publicAddr("a")}:4500`);
      // c is behind a symmetric NAT: no direct path, so the link goes through the rendezvous, still end to end.
      const ac = await dial(keyHex(3));
      assert.equal(ac.ok, true, JSON.stringify(ac));
      assert.equal(ac.path, "relayed");
      assert.equal(ac.peer, keyHex(3), "the handshake through the relay proved c's key");
      assert.equal(ac.echo, "echo:hello");
      assert.match(ac.remote, new RegExp(`^relay ${net.relayAddr.replaceAll(".", "\\.")}:4400$`));
    } finally {
      await net.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "netns: a direct link survives its dialer's NAT rebinding to a new port (QUIC migration)",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ghostlink_rebind_" });
    // The lower key dials: the dialer sits behind a cone NAT that will rebind, the listener behind a full cone
    // (anyone may reach its port, so packets from the dialer's new port get through).
    const [low, high] = [1, 2, 4, 5].map((n) => ({ n, key: keyHex(n) })).sort((
      x,
      y,
    ) => (x.key < y.key ? -1 : 1));
    const net = await buildNatNet([{ name: "l", nat: "full-cone" }, { name: "d", nat: "cone" }]);
    try {
      const pki = `${dir}/pki`;
      await ensureDevPki({ dir: pki });
      const spawn = (ns: string, args: string[]) => net.spawnDeno(ns, PEER, args);
      assert.match(
        await firstLine(spawn(net.ns("pub"), ["rdv", seedHex(9), net.relayAddr, "4400", pki])),
        /^ready/,
      );
      const join = [net.relayAddr, "4400", keyHex(9), pki];
      const listener = spawn(net.ns("l"), ["listen", seedHex(high?.n ?? 0), "4500", ...join]);
      // Behind the full cone, a dial-back from an address it never contacted reaches the listener.
      assert.equal(await firstLine(listener), `ready ${net.publicAddr("l")}:4500 reachable=true`);
      const dialer = spawn(net.ns("d"), [
        "dial-rebind",
        seedHex(low?.n ?? 0),
        "4500",
        ...join,
        high?.key ?? "",
      ]);
      const lines = dialer.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const linked = (await lines.read()).value ?? "";
      assert.match(linked, /^linked direct echo:before/);
      await net.rebind("d");
      const w = dialer.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      let out = "";
      while (!out.includes("}")) {
        const r = await lines.read();
        if (r.done) break;
        out += r.value;
      }
      const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
      assert.deepEqual(result, { path: "direct", echo: "echo:after" });
      // The NAT really moved the dialer: its mapping now uses the new range.
      const table = await net.exec(net.ns("nat-d"), ["conntrack", "-L", "-p", "udp"]);
      assert.match(table, /sport=4500 dport=4500 .*dport=2\d{4}/s);
    } finally {
      await net.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
