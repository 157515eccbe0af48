// `mod.ts link up` as a user runs it, in namespaces: a rendezvous on the public segment and three members (two
// behind cone NATs, one behind a symmetric NAT), each its own supervisor, data dir and worker (FFI only for
// the mesh's TUN, configured by ioctls). `mod.ts link id` gives the keys, `mod.ts link status --json` shows a
// direct link between the cone members and a relayed one to the symmetric member, `ping -6` crosses both, and a
// forced rekey interval keeps the links up with fresh keys; when the symmetric NAT becomes a cone, the relayed
// link is upgraded to a direct one; a member removed from a's config by a live reload loses its link while
// the others keep theirs.
import assert from "node:assert/strict";
import { CONE_CONE_SYMMETRIC } from "./_link_common.ts";
import { ensureDevPki } from "../../transport/mod.ts";
import { buildNatNet, netnsUnavailable, tunUnavailable } from "./_netns.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const skip = netnsUnavailable() ?? tunUnavailable();

interface Status {
  pid: number;
  rendezvous: { joined: boolean; observed: string } | null;
  mesh: { address: string; members: { key: string; address: string; path: string; rekeys: number }[] } | null;
}

Deno.test({
  name: "netns: mod.ts link up joins the mesh (direct and relayed), link status reports it, ping crosses",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ghostlink_svc_" });
    const net = await buildNatNet(CONE_CONE_SYMMETRIC);
    const deno = Deno.execPath();
    // One CA for every node (as hosts of one deployment share GHOST_TLS_* files); the handshake inside the
    // QUIC connection is what proves each node's key.
    const pki = `${dir}/pki`;
    await ensureDevPki({ dir: pki });
    const env = (name: string, extra: Record<string, string>): string[] => [
      "env",
      `GHOST_TLS_CERT_FILE=${pki}/cert.pem`,
      `GHOST_TLS_KEY_FILE=${pki}/key.pem`,
      `GHOST_TLS_CA_FILE=${pki}/ca.pem`,
      `GHOST_DATA_DIR=${dir}/${name}`,
      "GHOST_LOG_LEVEL=debug",
      ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
    ];
    const tool = async (ns: string, name: string, args: string[], extra: Record<string, string> = {}) =>
      await net.exec(ns, [...env(name, extra), deno, "run", "-A", MOD, "link", ...args]);
    try {
      const keys: Record<string, string> = {};
      for (const name of ["rdv", "a", "b", "c"]) {
        keys[name] = JSON.parse(await tool(net.ns("pub"), name, ["id", "--json"])).key;
      }
      const members = ["a", "b", "c"].map((n) => keys[n]).join(",");
      net.spawn(net.ns("pub"), [
        ...env("rdv", { GHOST_LINK_LISTEN: `${net.relayAddr}:4490`, GHOST_LINK_DIAL_BACK_PORT: "4491" }),
        deno,
        "run",
        "-A",
        MOD,
        "link",
        "up",
      ]);
      const memberEnv = {
        GHOST_LINK_MEMBERS: members,
        GHOST_LINK_LISTEN: "0.0.0.0:4500",
        GHOST_LINK_REKEY_AFTER_S: "10",
        GHOST_LINK_UPGRADE_EVERY_S: "3",
      };
      // Member a takes its members from a config file (reloaded below); b and c from the environment.
      const aConfig = `${dir}/a.toml`;
      const membersToml = (ks: string[]) => `[link]\nmembers = [${ks.map((k) => `"${k}"`).join(", ")}]\n`;
      await Deno.writeTextFile(aConfig, membersToml(["a", "b", "c"].map((n) => keys[n] ?? "")));
      for (const name of ["a", "b", "c"]) {
        const { GHOST_LINK_MEMBERS: _, ...withoutMembers } = memberEnv;
        net.spawn(net.ns(name), [
          ...env(name, name === "a" ? withoutMembers : memberEnv),
          deno,
          "run",
          "-A",
          MOD,
          ...(name === "a" ? ["--config", aConfig] : []),
          "link",
          "up",
          "--rendezvous",
          `${keys.rdv}@${net.relayAddr}:4490`,
          "--mesh",
          "test-mesh",
        ]);
      }
      const status = async (name: string): Promise<Status | undefined> => {
        try {
          return JSON.parse(await tool(net.ns(name), name, ["status", "--json"]));
        } catch {
          return undefined; // not running yet
        }
      };
      // Links come up in the background (a relayed one after its punch times out): wait up to 60 s.
      const want = { a: { b: "direct", c: "relayed" }, b: { a: "direct", c: "relayed" } } as const;
      let seen: Record<string, Status | undefined> = {};
      const deadline = Date.now() + 60_000;
      for (;;) {
        seen = { a: await status("a"), b: await status("b"), c: await status("c") };
        const ok = (["a", "b"] as const).every((from) =>
          Object.entries(want[from]).every(([to, path]) =>
            seen[from]?.mesh?.members.find((m) => m.key === keys[to])?.path === path
          )
        );
        if (ok || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const logs = async (): Promise<string> =>
        (await Deno.readTextFile(`${dir}/a/logs/ghost.jsonl`).catch(() => "")).slice(-4000);
      for (const from of ["a", "b"] as const) {
        for (const [to, path] of Object.entries(want[from])) {
          const m = seen[from]?.mesh?.members.find((m) => m.key === keys[to]);
          assert.equal(m?.path, path, `${from} -> ${to}: ${JSON.stringify(seen[from])}\n${await logs()}`);
        }
      }
      assert.equal(seen.a?.rendezvous?.joined, true);
      assert.match(
        seen.a?.rendezvous?.observed ?? "",
        new RegExp(`^${net.publicAddr("a").replaceAll(".", "\\.")}:`),
      );
      const addr = (name: string): string => seen[name]?.mesh?.address ?? "";
      const ping = async (from: string, to: string): Promise<string> => {
        const end = Date.now() + 20_000;
        for (;;) {
          const r = await new Deno.Command("ip", {
            args: ["netns", "exec", net.ns(from), "ping", "-6", "-c", "3", "-W", "2", addr(to)],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
          if ((r.success && / 0% packet loss/.test(out)) || Date.now() > end) return out;
          await new Promise((r) => setTimeout(r, 500));
        }
      };
      assert.match(await ping("a", "b"), / 0% packet loss/, "a -> b (direct)");
      assert.match(await ping("c", "a"), / 0% packet loss/, "c -> a (relayed)");
      // The links rekey every 10 s and stay up: wait for a rekey on a's direct link, then ping again.
      const end = Date.now() + 30_000;
      let rekeys = 0;
      while (Date.now() < end && rekeys === 0) {
        await new Promise((r) => setTimeout(r, 2000));
        rekeys = (await status("a"))?.mesh?.members.find((m) => m.key === keys.b)?.rekeys ?? 0;
      }
      assert.ok(rekeys > 0, "a's link to b rekeyed");
      assert.match(await ping("b", "a"), / 0% packet loss/, "b -> a after the rekey");
      assert.equal((await status("a"))?.mesh?.members.find((m) => m.key === keys.b)?.path, "direct");
      // c's NAT turns into a cone (as when a router is replaced): the relayed link to c is upgraded to a direct
      // one by the next retry (every 3 s here), and pings still cross.
      await net.setNat("c", "cone");
      const upEnd = Date.now() + 40_000;
      let cPath = "";
      while (Date.now() < upEnd && cPath !== "direct") {
        await new Promise((r) => setTimeout(r, 1000));
        cPath = (await status("a"))?.mesh?.members.find((m) => m.key === keys.c)?.path ?? "";
      }
      assert.equal(cPath, "direct", `a -> c upgraded: ${JSON.stringify(await status("a"))}\n${await logs()}`);
      assert.match(await ping("a", "c"), / 0% packet loss/, "a -> c (now direct)");
      // Membership reloads live: c leaves a's config, SIGHUP; a drops c and keeps its link to b as it was.
      const before = (await status("a"))?.mesh?.members.find((m) => m.key === keys.b);
      await Deno.writeTextFile(aConfig, membersToml(["a", "b"].map((n) => keys[n] ?? "")));
      Deno.kill((await status("a"))?.pid ?? 0, "SIGHUP");
      const reloadEnd = Date.now() + 15_000;
      let left: Status["mesh"] = null;
      while (Date.now() < reloadEnd) {
        await new Promise((r) => setTimeout(r, 500));
        left = (await status("a"))?.mesh ?? null;
        if (left?.members.length === 1) break;
      }
      assert.deepEqual(left?.members.map((m) => m.key), [keys.b], "c removed by the reload");
      const after = left?.members[0];
      assert.equal(after?.path, "direct");
      assert.ok(
        (after?.rekeys ?? 0) >= (before?.rekeys ?? 0),
        "the same link to b (its rekey count went on)",
      );
      assert.match(await ping("a", "b"), / 0% packet loss/, "a -> b after the reload");
    } finally {
      await net.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
