import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { loadMeshKeys, MESH_MEMBERS, type MeshKey, type MeshMember, meshNet, planMesh } from "./mesh.ts";
import { findService } from "./services.ts";

const KEYS = Object.fromEntries(
  MESH_MEMBERS.map((m, i) => [m, { seed: String(i).repeat(64), publicKey: `${m}-pub` }]),
) as Record<MeshMember, MeshKey>;

Deno.test("planMesh() lets each service's node be called only by the services that call it", () => {
  const plan = planMesh(parseConfig(), KEYS);
  assert.deepEqual(plan.chain.allowList, ["bridge-pub", "wallet-pub", "cns-pub"]);
  assert.deepEqual(plan.wallet.allowList, ["bridge-pub"]);
  assert.deepEqual(plan.cns.allowList, []);
  assert.deepEqual(plan.bridge.allowList, []);
});

Deno.test("planMesh() pins every peer to its key and address", () => {
  const config = parseConfig({
    env: { GHOST_MESH_CHAIN: "127.0.0.1:7001", GHOST_MESH_WALLET: "[::1]:7002" },
  });
  const plan = planMesh(config, KEYS);
  assert.deepEqual(plan.wallet.peers, [{
    name: "chain",
    hostname: "127.0.0.1",
    port: 7001,
    publicKey: "chain-pub",
  }]);
  assert.deepEqual(plan.bridge.peers.map((p) => `${p.name}@${p.hostname}:${p.port}=${p.publicKey}`), [
    "chain@127.0.0.1:7001=chain-pub",
    "wallet@::1:7002=wallet-pub",
  ]);
  assert.equal(plan.bridge.listen, config.bridge.listen);
  assert.equal(plan.chain.seed, KEYS.chain.seed);
});

Deno.test("the wallet's permission set reaches the chain only through the chain's bridge node", () => {
  const config = parseConfig();
  const wallet = findService("wallet");
  assert.ok(wallet);
  const net = wallet.permissions(config).net;
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
    assert.equal(new Set(MESH_MEMBERS.map((m) => first[m].publicKey)).size, MESH_MEMBERS.length);
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
