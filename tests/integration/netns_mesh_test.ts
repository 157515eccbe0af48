// The ghostlink VPN mesh in namespaces: three members (two behind cone NATs, one behind a symmetric NAT) each
// get a TUN interface with the address their key gives them; `ping -6` reaches a member over a direct link and
// over a relayed one, and a TCP stream crosses the mesh intact.
import assert from "node:assert/strict";
import { CONE_CONE_SYMMETRIC, keyHex, seedHex } from "./_link_common.ts";
import { ensureDevPki } from "../../transport/mod.ts";
import { buildNatNet, firstLine, netnsUnavailable, tunUnavailable } from "./_netns.ts";

const PEER = new URL("./_mesh_peer.ts", import.meta.url).pathname;
const skip = netnsUnavailable() ?? tunUnavailable();

Deno.test({
  name: "netns: the VPN mesh carries ping and TCP between members, directly and through the relay",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ghostlink_mesh_" });
    const net = await buildNatNet(CONE_CONE_SYMMETRIC);
    const spawn = (ns: string, args: string[]) => net.spawnDeno(ns, PEER, args);
    try {
      const pki = `${dir}/pki`;
      await ensureDevPki({ dir: pki });
      const rdv = spawn(net.ns("pub"), ["rdv", seedHex(9), net.relayAddr, "4400", pki]);
      assert.match(await firstLine(rdv), /^ready/);
      const members = [keyHex(1), keyHex(2), keyHex(3)].join(",");
      const join = (
        n: number,
      ) => [seedHex(n), "4500", net.relayAddr, "4400", keyHex(9), pki, "test-mesh", members];
      const addr: Record<string, string> = {};
      for (const [name, n] of [["a", 1], ["b", 2], ["c", 3]] as const) {
        const line = await firstLine(spawn(net.ns(name), ["member", ...join(n)]));
        assert.match(line, /^ready fd[0-9a-f:]+$/);
        addr[name] = line.slice(6);
      }
      // Links come up in the background (a relayed one after the punch times out): retry for up to 30 s.
      const ping = async (from: string, to: string): Promise<string> => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const r = await new Deno.Command("ip", {
            args: ["netns", "exec", net.ns(from), "ping", "-6", "-c", "3", "-W", "2", addr[to] ?? ""],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
          if ((r.success && / 0% packet loss/.test(out)) || Date.now() > deadline) return out;
          await new Promise((r) => setTimeout(r, 500));
        }
      };
      assert.match(await ping("a", "b"), / 0% packet loss/, "a -> b (direct)");
      assert.match(await ping("b", "a"), / 0% packet loss/, "b -> a (direct)");
      assert.match(await ping("a", "c"), / 0% packet loss/, "a -> c (relayed)");
      assert.match(await ping("c", "b"), / 0% packet loss/, "c -> b (relayed)");
      // TCP across the mesh: 256 KiB echoed by b (direct from a) and by c (relayed), byte for byte.
      const deno = Deno.execPath();
      for (const to of ["b", "c"]) {
        const server = net.spawn(net.ns(to), [
          deno,
          "eval",
          `
            const l = Deno.listen({ hostname: "${addr[to]}", port: 7000 });
            console.log("listening");
            const c = await l.accept();
            await c.readable.pipeTo(c.writable);`,
        ]);
        assert.equal(await firstLine(server), "listening");
        const client = await new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            net.ns("a"),
            deno,
            "eval",
            `
            const data = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
            const c = await Deno.connect({ hostname: "${addr[to]}", port: 7000 });
            const w = c.writable.getWriter();
            const sending = w.write(data).then(() => c.closeWrite());
            const got = [];
            let n = 0;
            for await (const chunk of c.readable) { got.push(chunk); n += chunk.length; }
            await sending;
            const all = new Uint8Array(n);
            let at = 0;
            for (const g of got) { all.set(g, at); at += g.length; }
            console.log(n === data.length && all.every((b, i) => b === data[i]) ? "intact" : "corrupt " + n);`,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(
          new TextDecoder().decode(client.stdout).trim(),
          "intact",
          new TextDecoder().decode(client.stderr),
        );
      }
    } finally {
      await net.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
