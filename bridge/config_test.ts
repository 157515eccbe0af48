import assert from "node:assert/strict";
import { DEFAULT_BRIDGE_CONFIG, parseBridgeConfig } from "./config.ts";

const KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

Deno.test("parseBridgeConfig() fills defaults and reads snake_case and camelCase keys", () => {
  assert.deepEqual(parseBridgeConfig(undefined), DEFAULT_BRIDGE_CONFIG);
  const c = parseBridgeConfig({
    listen: "[::1]:4451",
    grpcListen: { hostname: "127.0.0.1", port: 0 },
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

Deno.test("parseBridgeConfig() names the key, the value and what is allowed", () => {
  assert.throws(
    () => parseBridgeConfig({ listen: "nope" }),
    /bridge\.listen: got "nope", expected host:port/,
  );
  assert.throws(() => parseBridgeConfig({ allow_list: ["abc"] }), /bridge\.allow_list.*64 hex/);
  assert.throws(() => parseBridgeConfig({ bogus: 1 }), /bridge\.bogus: unknown key/);
  assert.throws(() => parseBridgeConfig({ max_attempts: 0 }), /bridge\.max_attempts.*from 1 to 10/);
  assert.throws(
    () => parseBridgeConfig({ node_key: "secret" }),
    (e: unknown) => e instanceof TypeError && !/secret/.test(e.message),
  );
});
