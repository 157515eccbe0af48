// ghostlink's membership from the chain, end to end: a devnet with the link service enabled and a mesh whose
// members come from `link.members_name`. The wallet registers the name with TXT records `ghostlink=KEYHEX`, and
// `mod.ts link status` lists those keys as members; replacing the records (`wallet name set`) changes the
// members without a restart. Needs root and /dev/net/tun (the mesh's interface; it goes away with the devnet).
import assert from "node:assert/strict";
import { importDevKey, modCli, startDevnet, until } from "../interop/_devnet.ts";
import { tunUnavailable } from "./_netns.ts";

const skip = tunUnavailable();

const K1 = "11".repeat(32), K2 = "22".repeat(32), K3 = "33".repeat(32);

Deno.test({
  name: "link: mesh members follow a .ghost name's ghostlink= TXT records on chain, live",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const devnet = await startDevnet("ghost-link-members-", {
      env: {
        GHOST_LINK_ENABLED: "true",
        GHOST_LINK_MESH: "chain-mesh",
        GHOST_LINK_MEMBERS_NAME: "office.ghost",
        GHOST_LINK_MEMBERS: K3,
        GHOST_LINK_INTERFACE: `glm${Deno.pid % 100000}`,
      },
    });
    try {
      const members = async (): Promise<string[]> => {
        const r = await modCli(["link", "status", "--json"], devnet.env);
        if (r.code !== 0) return [];
        return (JSON.parse(r.out).mesh?.members ?? []).map((m: { key: string }) => m.key).sort();
      };
      await until(async () => (await members()).length === 1, 30_000, "the link service's status");
      assert.deepEqual(await members(), [K3], "from config only, before the name exists");
      assert.equal((await importDevKey(devnet.dataDir, devnet.env)).code, 0);
      // The bridge learns the chain's instance a moment after the devnet is up: retry while it is UNAVAILABLE.
      let reg = { code: -1, out: "", err: "" };
      await until(
        async () => {
          reg = await modCli(
            [
              "wallet",
              "name",
              "register",
              "office.ghost",
              "--account",
              "dev",
              "--txt",
              `ghostlink=${K1}`,
              "--txt",
              `ghostlink=${K2}`,
              "--txt",
              "not a member",
            ],
            devnet.env,
          );
          return reg.code === 0 || !reg.err.includes("UNAVAILABLE");
        },
        30_000,
        "the chain through the bridge",
      );
      assert.equal(reg.code, 0, reg.err);
      await until(async () => (await members()).length === 3, 30_000, "members from the chain");
      assert.deepEqual(await members(), [K1, K2, K3]);
      const set = await modCli(
        ["wallet", "name", "set", "office.ghost", "--account", "dev", "--txt", `ghostlink=${K2}`],
        devnet.env,
      );
      assert.equal(set.code, 0, set.err);
      await until(async () => (await members()).length === 2, 30_000, "a member removed on chain");
      assert.deepEqual(await members(), [K2, K3]);
    } finally {
      await devnet.stop();
    }
  },
});
