import assert from "node:assert/strict";
import { ConfigError } from "../core/mod.ts";
import { BRIDGE_CONFIG, DEFAULT_BRIDGE_CONFIG, parseBridgeConfig } from "./config.ts";

const KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

Deno.test("parseBridgeConfig() fills defaults and reads the [bridge] table", () => {
  assert.deepEqual(parseBridgeConfig(), DEFAULT_BRIDGE_CONFIG);
  assert.deepEqual(DEFAULT_BRIDGE_CONFIG.listen, { hostname: "127.0.0.1", port: 4450 });
  const c = parseBridgeConfig({
    listen: "[::1]:4451",
    grpc_listen: "127.0.0.1:0",
    allow_list: [KEY.toUpperCase()],
    peers: [`${KEY}@10.0.0.2:4450#bridge.example`, "127.0.0.1:4452"],
    upstreams: ["ghost.wallet.v1.WalletService=http://127.0.0.1:50100"],
    health_interval_ms: 1000,
  });
  assert.deepEqual(c.listen, { hostname: "::1", port: 4451 });
  assert.equal(c.grpcListen.port, 0);
  assert.deepEqual(c.allowList, [KEY]);
  assert.deepEqual(c.peers[0], {
    hostname: "10.0.0.2",
    port: 4450,
    publicKey: KEY,
    serverName: "bridge.example",
  });
  assert.deepEqual(c.peers[1], { hostname: "127.0.0.1", port: 4452 });
  assert.equal(c.upstreams[0]?.endpoint, "http://127.0.0.1:50100");
  assert.equal(c.healthIntervalMs, 1000);
});

Deno.test("the [bridge] schema reads lists from the environment (comma-separated), as GHOST_BRIDGE_UPSTREAMS", () => {
  const c = BRIDGE_CONFIG.parse({
    env: {
      GHOST_BRIDGE_UPSTREAMS: "a.A=http://127.0.0.1:1, b.B=http://127.0.0.1:2",
      GHOST_BRIDGE_PEERS: `${KEY}@127.0.0.1:4460`,
    },
  });
  assert.deepEqual(c.upstreams.map((u) => u.service), ["a.A", "b.B"]);
  assert.equal(c.peers[0]?.publicKey, KEY);
});

function keyOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.key;
  }
  throw new Error("no error");
}

Deno.test("parseBridgeConfig() errors carry the key and say the value and what is allowed", () => {
  assert.equal(keyOf(() => parseBridgeConfig({ listen: "nope" })), "bridge.listen");
  assert.throws(() => parseBridgeConfig({ listen: "nope" }), /got "nope", expected host:port/);
  assert.throws(() => parseBridgeConfig({ allow_list: ["abc"] }), /bridge\.allow_list.*64 hex/);
  assert.equal(keyOf(() => parseBridgeConfig({ bogus: 1 })), "bridge.bogus");
  assert.throws(() => parseBridgeConfig({ max_attempts: 0 }), /bridge\.max_attempts.*from 1 to 10/);
  assert.throws(
    () => parseBridgeConfig({ node_key: "secret" }),
    (e: unknown) => e instanceof ConfigError && e.key === "bridge.node_key" && !/secret/.test(e.message),
  );
});
