import assert from "node:assert/strict";
import { ConfigError } from "../core/mod.ts";
import { cnsNetPermissions, parseCnsConfig } from "./config.ts";

Deno.test("parseCnsConfig() gives the defaults", () => {
  const c = parseCnsConfig({});
  assert.deepEqual(c.listen, [{ hostname: "::1", port: 5353 }]);
  assert.deepEqual(c.doqListen, { hostname: "::1", port: 8853 });
  assert.deepEqual(c.dohListen, { hostname: "::1", port: 8443 });
  assert.deepEqual(c.upstreams, []);
  assert.equal(c.ednsUdpMax, 1232);
  // The supervisor sends the parsed section to the worker: it must survive a structured clone unchanged.
  assert.deepEqual(structuredClone(c), c);
});

Deno.test("parseCnsConfig() reads keys and disables DoQ/DoH with empty strings", () => {
  const c = parseCnsConfig({
    listen: ["127.0.0.1:53", "[::1]:53"],
    doq_listen: "",
    doh_listen: "",
    upstreams: ["192.0.2.53:53", "[2001:db8::53]:53"],
    local_zones: ["ghost.test"],
    records: ["a.ghost.test 60 A 192.0.2.1"],
  });
  assert.equal(c.doqListen, undefined);
  assert.equal(c.listen.length, 2);
  const net = cnsNetPermissions(c);
  assert.ok(net !== true);
  assert.deepEqual(net.sort(), [
    "0.0.0.0",
    "127.0.0.1",
    "127.0.0.1:53",
    "192.0.2.53:53",
    "[2001:db8::53]:53",
    "[::1]",
    "[::1]:53",
    "[::]",
  ]);
  // A UDP listener off loopback must be able to answer any client: Deno checks sends against the destination.
  assert.equal(cnsNetPermissions(parseCnsConfig({ listen: ["[::]:53"] })), true);
});

Deno.test("parseCnsConfig() names the key and value on errors", () => {
  const bad = (raw: Record<string, unknown>, key: string) =>
    assert.throws(
      () => parseCnsConfig(raw),
      (e: unknown) => e instanceof ConfigError && e.key === `cns.${key}`,
    );
  bad({ listen: ["localhost:53"] }, "listen");
  bad({ upstreams: ["dns.google:53"] }, "upstreams");
  bad({ edns_udp_max: 100 }, "edns_udp_max");
  bad({ recursion_allow: ["10.0.0.0/40"] }, "recursion_allow");
  bad({ local_zones: ["a.test"], records: ["b.test 1 A 1.2.3.4"] }, "records");
  bad({ records: ["a.test 1 BOGUS x"] }, "records");
  bad({ nope: 1 }, "nope");
});
