import assert from "node:assert/strict";
import { ConfigError } from "../core/mod.ts";
import { LINK_CONFIG, parseLinkConfig, parseRendezvous } from "./config.ts";
import { linkService } from "./service.ts";
import { loadOrCreateLinkKey, membersFromTxt } from "./status.ts";

const K1 = "11".repeat(32), K2 = "AB".repeat(32);

Deno.test("link config: defaults, rendezvous and members from the file and the environment", () => {
  const d = parseLinkConfig();
  assert.equal(d.enabled, false);
  assert.equal(d.listen.port, 4490);
  assert.equal(d.rendezvous, undefined);
  assert.equal(d.mesh, "");
  assert.equal(d.interface, "ghost0");
  const c = LINK_CONFIG.parse({
    env: {
      GHOST_LINK_RENDEZVOUS: `${K2}@[2001:db8::1]:4490`,
      GHOST_LINK_MEMBERS: `${K1}, ${K2}`,
      GHOST_LINK_MESH: "office",
    },
  });
  assert.deepEqual(c.rendezvous, { key: "ab".repeat(32), hostname: "2001:db8::1", port: 4490 });
  assert.deepEqual(c.members, [K1, "ab".repeat(32)]);
  assert.ok(
    LINK_CONFIG.toToml(c).some((l) => l.includes(`rendezvous = "${"ab".repeat(32)}@[2001:db8::1]:4490"`)),
  );
  assert.equal(parseRendezvous("ghost1abc@1.2.3.4:5"), undefined, "a peer id is not a key");
  assert.equal(parseRendezvous(`${K1}@1.2.3.4:0`), undefined, "port 0");
});

Deno.test("link config: bad values name the key", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ rendezvous: "1.2.3.4:4490" }, /link\.rendezvous.*KEYHEX@host:port/],
    [{ members: ["nothex"] }, /link\.members/],
    [{ interface: "a-name-longer-than-15" }, /link\.interface/],
    [{ members_name: "office.ghost" }, /link\.members_name.*needs a mesh/],
    [{ members_name: "office.com", mesh: "m" }, /link\.members_name/],
    [{ dial_back_port: 4490 }, /link\.dial_back_port.*differ/],
  ];
  for (const [table, re] of bad) {
    assert.throws(() => parseLinkConfig(table), (e) => e instanceof ConfigError && re.test(e.message));
  }
});

Deno.test("link service: FFI only with a mesh, not in `up` unless enabled, its data dir only", () => {
  const ctx = { dataDir: "/d/link", codeRoot: "/code", meshNet: [] };
  const plain = linkService.permissions(parseLinkConfig(), ctx);
  assert.deepEqual(plain.ffi, []);
  assert.deepEqual(plain.read, ["/d/link"]);
  assert.deepEqual(plain.write, ["/d/link"]);
  assert.equal(plain.run, false);
  assert.equal(linkService.permissions(parseLinkConfig({ mesh: "m" }), ctx).ffi, true);
  assert.deepEqual(linkService.permissions(parseLinkConfig({ key_file: "/etc/ghost/link.key" }), ctx).read, [
    "/d/link",
    "/etc/ghost",
  ]);
  assert.equal(linkService.inUp?.(parseLinkConfig()), false);
  assert.equal(linkService.inUp?.(parseLinkConfig({ enabled: true })), true);
});

Deno.test("link members from TXT records: ghostlink=KEYHEX only, deduplicated", () => {
  const got = membersFromTxt([
    `ghostlink=${K1}`,
    "v=spf1 -all",
    `ghostlink=${K2}`,
    ` ghostlink=${K1.toUpperCase()} `,
    "ghostlink=12",
  ]);
  assert.deepEqual(got.map((k) => k.length), [32, 32]);
  assert.equal(got[1]?.[0], 0xab);
});

Deno.test("link key: made once with mode 0600, then read back; a bad file is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await loadOrCreateLinkKey(`${dir}/sub/node.key`);
    assert.equal(((await Deno.stat(`${dir}/sub/node.key`)).mode ?? 0) & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateLinkKey(`${dir}/sub/node.key`), a);
    await Deno.writeTextFile(`${dir}/bad.key`, "hello");
    await assert.rejects(
      loadOrCreateLinkKey(`${dir}/bad.key`),
      /Cannot read link key .*bad\.key: expected 64 hex characters/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
