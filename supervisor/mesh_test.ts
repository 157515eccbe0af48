import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import type { MeshAssignment } from "../core/mod.ts";
import { loadMeshKeys, type MeshKey, meshMembers, meshNet, planMesh } from "./mesh.ts";
import { findService } from "./services.ts";
import { servicePermissions } from "./supervisor_permissions.ts";

const MESH_MEMBERS = meshMembers().map((s) => s.name);
const KEYS: Record<string, MeshKey> = Object.fromEntries(
  MESH_MEMBERS.map((m, i) => [m, { seed: String(i).repeat(64), publicKey: `${m}-pub` }]),
);

function of(plan: Record<string, MeshAssignment>, name: string): MeshAssignment {
  const a = plan[name];
  assert.ok(a, `no assignment for ${name}`);
  return a;
}

Deno.test("planMesh() lets each service's node be called only by the services that call it", () => {
  const plan = planMesh(parseConfig(), KEYS);
  assert.deepEqual([...of(plan, "chain").allowList].sort(), [
    "bridge-pub",
    "cns-pub",
    "link-pub",
    "wallet-pub",
    "wraith-pub",
  ]);
  assert.deepEqual(of(plan, "wallet").allowList, ["bridge-pub"]);
  assert.deepEqual(of(plan, "cns").allowList, []);
  assert.deepEqual(of(plan, "bridge").allowList, []);
  assert.deepEqual(of(plan, "wraith").allowList, [], "wraith calls the chain; nobody calls wraith");
  assert.deepEqual(of(plan, "link").allowList, [], "link calls the chain (members_name); nobody calls link");
});

Deno.test("planMesh() pins every peer to its key and address", () => {
  const config = parseConfig({
    env: { GHOST_MESH_CHAIN: "127.0.0.1:7001", GHOST_MESH_WALLET: "[::1]:7002" },
  });
  const plan = planMesh(config, KEYS);
  assert.deepEqual(of(plan, "wallet").peers, [{
    name: "chain",
    hostname: "127.0.0.1",
    port: 7001,
    publicKey: "chain-pub",
  }]);
  assert.deepEqual(of(plan, "bridge").peers.map((p) => `${p.name}@${p.hostname}:${p.port}=${p.publicKey}`), [
    "chain@127.0.0.1:7001=chain-pub",
    "wallet@::1:7002=wallet-pub",
  ]);
  assert.deepEqual(of(plan, "bridge").listen, { hostname: "127.0.0.1", port: 4450 });
  assert.equal(of(plan, "chain").seed, KEYS["chain"]?.seed);
});

Deno.test("the wallet's permission set reaches the chain only through the chain's bridge node", () => {
  const config = parseConfig();
  const wallet = findService("wallet");
  assert.ok(wallet);
  const net = servicePermissions(wallet, config).net;
  assert.deepEqual(net, meshNet(config, "wallet"));
  assert.deepEqual(net, ["127.0.0.1:4452", "127.0.0.1:4451"]);
  // Not the chain's sync listener, not the central bridge, nothing else.
  assert.ok(Array.isArray(net) && !net.includes("127.0.0.1:4460") && !net.includes("127.0.0.1:4450"));
});

Deno.test("loadMeshKeys() creates 0600 keys once and reads the same keys again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ghost-mesh-" });
  try {
    const config = parseConfig({ flags: { data_dir: dir } });
    const first = await loadMeshKeys(config);
    const second = await loadMeshKeys(config);
    assert.deepEqual(second, first);
    assert.equal(new Set(MESH_MEMBERS.map((m) => first[m]?.publicKey)).size, MESH_MEMBERS.length);
    assert.equal(((await Deno.stat(`${dir}/mesh/chain.key`)).mode ?? 0) & 0o777, 0o600);
    await Deno.writeTextFile(`${dir}/mesh/wallet.key`, "not hex\n");
    await assert.rejects(
      loadMeshKeys(config),
      /Cannot read mesh key .*wallet\.key: expected 64 hex characters/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('no worker gets FFI, except cns with udp_io = "ffi" (then cns alone)', () => {
  const plain = parseConfig();
  const ffi = parseConfig({ env: { GHOST_CNS_UDP_IO: "ffi" } });
  for (const name of ["cns", "chain", "bridge", "wallet", "wraith"]) {
    const svc = findService(name);
    assert.ok(svc);
    assert.deepEqual(servicePermissions(svc, plain).ffi, [], name);
    assert.deepEqual(servicePermissions(svc, ffi).ffi, name === "cns" ? true : [], name);
  }
});
