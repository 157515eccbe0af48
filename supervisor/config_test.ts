import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import {
  type Config,
  ConfigError,
  configToml,
  envName,
  parseConfig,
  parseHostPort,
  sectionOf,
} from "./config.ts";
import { pingService } from "../transport/service.ts";
import { cnsService } from "../cns/service.ts";
import { bridgeService } from "../bridge/service.ts";

const ping = (c: Config) => sectionOf(c, pingService);
const cns = (c: Config) => sectionOf(c, cnsService);
const bridge = (c: Config) => sectionOf(c, bridgeService);

Deno.test("parseConfig() needs no file: devnet defaults", () => {
  const c = parseConfig();
  assert.equal(c.dataDir, "data");
  assert.equal(c.log.level, "info");
  assert.deepEqual(c.admin.listen, { hostname: "127.0.0.1", port: 9180 });
  assert.deepEqual(ping(c).listen, { hostname: "::1", port: 4433 });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.supervisor));
});

Deno.test("parseConfig() layers file < env < flags", () => {
  const c = parseConfig({
    file: { path: "g.toml", doc: { data_dir: "/srv/ghost", log: { level: "warn", format: "json" } } },
    env: { GHOST_LOG_LEVEL: "error", GHOST_PING_LISTEN: "127.0.0.1:5000", GHOST_TLS_NAMES: "a.test, b.test" },
    flags: { "log.level": "debug" },
  });
  assert.equal(c.dataDir, "/srv/ghost");
  assert.equal(c.log.format, "json");
  assert.equal(c.log.level, "debug");
  assert.deepEqual(ping(c).listen, { hostname: "127.0.0.1", port: 5000 });
  assert.deepEqual(c.tls.names, ["a.test", "b.test"]);
});

Deno.test("parseConfig() errors name the key, the value and what is allowed", () => {
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { log: { level: "loud" } } } }),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "log.level" && /g\.toml/.test(e.message) &&
      /"loud"/.test(e.message) &&
      /debug, info, warn, error/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ env: { GHOST_SUPERVISOR_DRAIN_TIMEOUT_MS: "5" } }),
    (e: unknown) =>
      e instanceof ConfigError && /GHOST_SUPERVISOR_DRAIN_TIMEOUT_MS/.test(e.message) &&
      /100 to/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ env: { GHOST_PING_LISTEN: "localhost" } }),
    (e: unknown) => e instanceof ConfigError && e.key === "ping.listen" && /host:port/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { ping: { listen_addr: "x" } } } }),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "ping.listen_addr" && /accepts listen/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { nonsense: 1 } } }),
    (e: unknown) => e instanceof ConfigError && /unknown key/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { tls: { cert_file: "c.pem" } } } }),
    (e: unknown) => e instanceof ConfigError && e.key === "tls.key_file",
  );
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { log: "debug" } } }),
    (e: unknown) => e instanceof ConfigError && /\[log\] table/.test(e.message),
  );
});

Deno.test("parseHostPort() takes IPv4, names and bracketed IPv6; rejects the rest", () => {
  assert.deepEqual(parseHostPort("[::1]:853"), { hostname: "::1", port: 853 });
  assert.deepEqual(parseHostPort("0.0.0.0:53"), { hostname: "0.0.0.0", port: 53 });
  assert.deepEqual(parseHostPort("node-1.example:7000"), { hostname: "node-1.example", port: 7000 });
  for (const bad of ["::1:853", "host", "host:70000", "[::1]", ":53", "a b:1"]) {
    assert.equal(parseHostPort(bad), undefined, bad);
  }
});

Deno.test("envName() maps dotted keys to GHOST_ variables", () => {
  assert.equal(envName("supervisor.drain_timeout_ms"), "GHOST_SUPERVISOR_DRAIN_TIMEOUT_MS");
  assert.equal(envName("data_dir"), "GHOST_DATA_DIR");
});

Deno.test("configToml() output parses back to the same configuration", () => {
  const values = parseConfig({ env: { GHOST_LOG_LEVEL: "warn", GHOST_TLS_NAMES: "x.test" } });
  const doc = parseToml(configToml(values)) as Record<string, unknown>;
  const back = parseConfig({ file: { path: "printed", doc } });
  assert.deepEqual(back, parseConfig({ env: { GHOST_LOG_LEVEL: "warn", GHOST_TLS_NAMES: "x.test" } }));
  const defaults = parseToml(configToml()) as Record<string, unknown>;
  assert.deepEqual(parseConfig({ file: { path: "defaults", doc: defaults } }), parseConfig());
});

Deno.test("parseConfig() passes the [cns] table to its parser, with GHOST_CNS_* overrides", () => {
  const c = parseConfig({
    file: { path: "g.toml", doc: { cns: { upstreams: ["192.0.2.1:53"], cache_max_entries: 5 } } },
    env: { GHOST_CNS_LISTEN: "127.0.0.1:5300, [::1]:5300", GHOST_CNS_CACHE_MAX_ENTRIES: "7" },
  });
  assert.deepEqual(cns(c).listen, [{ hostname: "127.0.0.1", port: 5300 }, { hostname: "::1", port: 5300 }]);
  assert.equal(cns(c).cacheMaxEntries, 7);
  assert.deepEqual(cns(c).upstreams, [{ hostname: "192.0.2.1", port: 53 }]);
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { cns: { upstreams: ["dns.example:53"] } } } }),
    (e: unknown) => e instanceof ConfigError && e.key === "cns.upstreams" && /g\.toml/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ env: { GHOST_CNS_EDNS_UDP_MAX: "99999" } }),
    (e: unknown) => e instanceof ConfigError && /env GHOST_CNS_EDNS_UDP_MAX/.test(e.message),
  );
});

Deno.test("parseConfig() passes [bridge] to its parser; env overrides are typed; secrets are not printed", () => {
  const c = parseConfig({
    env: { GHOST_BRIDGE_GRPC_ENABLED: "false", GHOST_BRIDGE_PEERS: "127.0.0.1:4451,127.0.0.1:4452" },
  });
  assert.equal(bridge(c).grpcEnabled, false);
  assert.deepEqual(bridge(c).peers.map((p) => p.port), [4451, 4452]);
  assert.throws(
    () => parseConfig({ env: { GHOST_BRIDGE_BALANCER: "random" } }),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "bridge.balancer" && /env GHOST_BRIDGE_BALANCER/.test(e.message),
  );
  const seed = "11".repeat(32);
  const printed = configToml(parseConfig({ env: { GHOST_BRIDGE_NODE_KEY: seed } }));
  assert.ok(!printed.includes(seed));
  assert.match(printed, /node_key = "\[redacted\]"/);
});

Deno.test("parseConfig() gives a config or a ConfigError with the key for any TOML-shaped document (property)", async () => {
  const fc = (await import("fast-check")).default;
  const value = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 2 }),
  );
  const tableKey = fc.constantFrom(
    "data_dir",
    "log",
    "supervisor",
    "admin",
    "tls",
    "mesh",
    "ping",
    "cns",
    "bridge",
    "chain",
    "wallet",
    "x",
  );
  const inner = fc.constantFrom(
    "level",
    "listen",
    "upstreams",
    "peers",
    "drain_timeout_ms",
    "cert_file",
    "node_key",
    "role",
    "y",
  );
  const doc = fc.dictionary(tableKey, fc.oneof(value, fc.dictionary(inner, value, { maxKeys: 3 })), {
    maxKeys: 4,
  });
  const env = fc.dictionary(
    fc.constantFrom(
      "GHOST_LOG_LEVEL",
      "GHOST_CNS_LISTEN",
      "GHOST_BRIDGE_PEERS",
      "GHOST_CHAIN_PEERS",
      "GHOST_MESH_CHAIN",
    ),
    fc.string({ maxLength: 30 }),
    { maxKeys: 2 },
  );
  fc.assert(
    fc.property(doc, env, (d, e) => {
      try {
        parseConfig({ file: { path: "fuzz.toml", doc: d }, env: e });
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        assert.ok(error.key !== "" && error.origin !== "");
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("a service added to the catalog gets its [section], env names, flags and printed config from its descriptor", async () => {
  const { defineSection, int, permissionSet } = await import("../core/mod.ts");
  const { SERVICES } = await import("./services.ts");
  const { allEnvNames } = await import("./config.ts");
  // What a new service's folder would export from its service.ts: nothing else is edited but the list.
  const probe = {
    name: "probe",
    summary: "test service",
    config: defineSection("probe", { workers: { kind: int(1, 64), default: 4, help: "threads" } }),
    entry: new URL("data:text/javascript,"),
    tls: "none" as const,
    permissions: () => permissionSet({}),
  };
  const services = [...SERVICES, probe];
  const c = parseConfig({
    file: { path: "g.toml", doc: { probe: { workers: 8 } } },
    env: { GHOST_PROBE_WORKERS: "16" },
  }, services);
  assert.deepEqual(c.services["probe"], { workers: 16 });
  assert.ok(allEnvNames(services).includes("GHOST_PROBE_WORKERS"));
  assert.match(
    configToml(c, services),
    /\[probe\]\n# threads; an integer from 1 to 64; env GHOST_PROBE_WORKERS\nworkers = 16/,
  );
  assert.throws(
    () => parseConfig({ file: { path: "g.toml", doc: { probe: { workers: 0 } } } }, services),
    (e: unknown) => e instanceof ConfigError && e.key === "probe.workers" && e.origin === "g.toml",
  );
});
