// The supervisor with real Workers: restart with backoff, giving up, bounded drain, permission confinement.
import assert from "node:assert/strict";
import { type Config, parseConfig } from "../../supervisor/config.ts";
import {
  defineSection,
  int,
  Logger,
  type LogRecord,
  permissionSet,
  type ServiceDescriptor,
  type TlsNeed,
} from "../../core/mod.ts";
import { findService, SERVICES } from "../../supervisor/services.ts";
import { servicePermissions } from "../../supervisor/supervisor_permissions.ts";
import { Supervisor } from "../../supervisor/supervisor.ts";

type ServiceDef = ServiceDescriptor;

const TLS = { certPem: "CERT", keyPem: "PRIVATE KEY", caPem: "CA" };

/** A section of the test-only services: one key, so a worker can report exactly what it was given. */
const PROBE_SECTION = defineSection("probe", {
  marker: { kind: int(0, 100), default: 7, help: "test value" },
});

function testConfig(extra: Record<string, unknown> = {}, services: readonly ServiceDef[] = SERVICES): Config {
  return parseConfig({
    file: {
      path: "test",
      doc: {
        supervisor: {
          restart_backoff_initial_ms: 20,
          restart_backoff_max_ms: 200,
          max_start_failures: 3,
          drain_timeout_ms: 300,
          // Generous: under `deno test` a worker's first start includes type-checking its module.
          worker_timeout_ms: 60_000,
        },
        ...extra,
      },
    },
  }, services);
}

function capture(): { log: Logger; recs: LogRecord[] } {
  const recs: LogRecord[] = [];
  return { log: new Logger("supervisor", "debug", (r) => recs.push(r)), recs };
}

function fakeService(name: string, file: string, tls: TlsNeed = "none"): ServiceDef {
  return {
    name,
    summary: "test",
    config: PROBE_SECTION,
    entry: new URL(`./_workers/${file}`, import.meta.url),
    tls,
    permissions: () => permissionSet({}),
  };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("Supervisor restarts a crashed worker with backoff and logs why", async () => {
  const { log, recs } = capture();
  const sup = new Supervisor({
    config: testConfig(),
    log,
    tls: TLS,
    services: [fakeService("crashy", "crash_once.ts")],
  });
  await sup.start();
  await until(() => sup.status()[0]?.attempt === 2 && sup.status()[0]?.state === "running", "the restart");
  const st = sup.status()[0];
  assert.equal(st?.restarts, 1);
  assert.match(st?.lastError ?? "", /simulated crash/);
  assert.deepEqual(st?.endpoints.map((e) => e.addr), ["attempt-2"]);
  const crash = recs.find((r) => r.msg === "service crashed; restarting");
  assert.equal(crash?.fields?.in_ms, 20);
  assert.deepEqual(await sup.metrics(), [{ service: "crashy", snapshot: { attempt: 2 } }]);
  await sup.shutdown();
  assert.equal(sup.status()[0]?.state, "stopped");
});

Deno.test("Supervisor gives up on a service that never becomes ready", async () => {
  const { log, recs } = capture();
  const sup = new Supervisor({
    config: testConfig(),
    log,
    tls: TLS,
    services: [fakeService("bad", "never_ready.ts")],
  });
  await sup.start();
  assert.equal(sup.status()[0]?.state, "failed");
  assert.equal(sup.status()[0]?.attempt, 3);
  assert.ok(sup.allFailed());
  assert.match(sup.status()[0]?.lastError ?? "", /address in use/);
  const delays = recs.filter((r) => r.msg === "service crashed; restarting").map((r) => r.fields?.in_ms);
  assert.deepEqual(delays, [20, 40]);
  await sup.shutdown();
});

Deno.test("Supervisor.shutdown() terminates a worker that does not drain by the deadline", async () => {
  const { log, recs } = capture();
  const sup = new Supervisor({
    config: testConfig(),
    log,
    tls: TLS,
    services: [fakeService("stuck", "stuck_drain.ts")],
  });
  await sup.start();
  const t0 = Date.now();
  await sup.shutdown();
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 5_000, `drain took ${took} ms`);
  assert.ok(recs.some((r) => r.msg === "service did not drain in time; terminated"));
  assert.equal(sup.status()[0]?.state, "stopped");
});

Deno.test("Supervisor: a shutdown while a worker is still starting ends start() too (nothing waits forever)", async () => {
  const { log } = capture();
  const sup = new Supervisor({
    config: testConfig(),
    log,
    tls: TLS,
    services: [fakeService("slow", "slow_start.ts")],
  });
  const started = sup.start();
  await until(() => sup.status()[0]?.state === "starting", "the worker starting");
  await sup.shutdown();
  const outcome = await Promise.race([
    started.then(() => "settled"),
    new Promise((r) => setTimeout(() => r("still waiting"), 5_000)),
  ]);
  assert.equal(outcome, "settled");
  assert.equal(sup.status()[0]?.state, "stopped");
});

Deno.test("a service worker is confined to its permission set (NotCapable outside it)", async () => {
  const dataDir = await Deno.makeTempDir();
  await Deno.mkdir(`${dataDir}/chain`);
  await Deno.mkdir(`${dataDir}/pki`);
  await Deno.writeTextFile(`${dataDir}/chain/secret.txt`, "chain data");
  await Deno.writeTextFile(`${dataDir}/pki/key.pem`, "key");
  const probe = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const config = testConfig({ data_dir: dataDir, ping: { listen: `127.0.0.1:${port}` } });
  const ping = findService("ping");
  assert.ok(ping);
  // The real ping permission set, with the probe as the worker body.
  const def: ServiceDef = { ...ping, entry: new URL("./_workers/probe.ts", import.meta.url) };
  const { log, recs } = capture();
  const sup = new Supervisor({ config, log, tls: TLS, services: [def] });
  await sup.start();
  await sup.shutdown();
  const results = recs.find((r) => r.msg === "probe")?.fields?.results;
  assert.deepEqual(results, {
    readOther: "NotCapable",
    writeOther: "NotCapable",
    readPki: "NotCapable",
    quicOwnPort: "ok",
    quicOtherPort: "NotCapable",
    udpOtherPort: "NotCapable",
    tcpConnectOther: "NotCapable",
    env: "NotCapable",
    run: "NotCapable",
  });
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("cns reports, not swallows, a UDP answer its permissions forbid", async () => {
  const sock = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
  const port = (sock.addr as Deno.NetAddr).port;
  sock.close();
  const config = parseConfig({
    file: {
      path: "test",
      doc: { cns: { listen: [`[::1]:${port}`], doq_listen: "", doh_listen: "", local_zones: ["ghost"] } },
    },
  });
  const cns = findService("cns");
  assert.ok(cns);
  // The real set minus the loopback host entry that lets the worker answer loopback clients.
  const real = servicePermissions(cns, config);
  assert.ok(real.net !== true && real.net.includes("[::1]"));
  const def: ServiceDef = {
    ...cns,
    permissions: (c, ctx) => {
      const set = cns.permissions(c, ctx);
      return { ...set, net: set.net === true ? true : set.net.filter((n) => n !== "[::1]") };
    },
  };
  const { log, recs } = capture();
  const sup = new Supervisor({ config, log, tls: TLS, services: [def] });
  await sup.start();
  const client = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
  const query = new Uint8Array([
    0,
    1,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    97,
    5,
    103,
    104,
    111,
    115,
    116,
    0,
    0,
    1,
    0,
    1,
  ]);
  await client.send(query, { transport: "udp", hostname: "::1", port });
  await until(() => recs.some((r) => r.msg === "cannot send a UDP answer"), "the send failure report");
  client.close();
  const rec = recs.find((r) => r.msg === "cannot send a UDP answer");
  assert.equal(rec?.level, "warn");
  assert.equal(rec?.fields?.reason, "not_capable");
  await sup.shutdown();
});

Deno.test("the chain's permission set lets its node start the wallet's verifier worker pool", async () => {
  const dataDir = await Deno.makeTempDir();
  const config = testConfig({ data_dir: dataDir });
  const chain = findService("chain");
  assert.ok(chain);
  const def: ServiceDef = { ...chain, entry: new URL("./_workers/batch_probe.ts", import.meta.url) };
  const { log, recs } = capture();
  const sup = new Supervisor({ config, log, tls: TLS, services: [def] });
  await sup.start();
  await sup.shutdown();
  assert.equal(recs.find((r) => r.msg === "batch probe")?.fields?.outcome, "ok");
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("a worker gets only its own config section and only the TLS material its descriptor asks for", async () => {
  const client = fakeService("probe_client", "least_privilege.ts", "client");
  const server = fakeService("probe_server", "least_privilege.ts", "server");
  const config = testConfig({ probe: { marker: 42 } }, [...SERVICES, client, server]);
  const { log, recs } = capture();
  const sup = new Supervisor({ config, log, tls: TLS, services: [client, server] });
  await sup.start();
  await sup.shutdown();
  const seen = (svc: string) => recs.find((r) => r.msg === "given" && r.svc === svc)?.fields;
  // Its own section, parsed: not the supervisor's, not cns's, not the bridge's node key.
  assert.deepEqual(seen("probe_client")?.config, { marker: 42 });
  assert.deepEqual(seen("probe_client")?.tls, { certPem: false, keyPem: false, caPem: true });
  assert.deepEqual(seen("probe_server")?.tls, { certPem: true, keyPem: true, caPem: true });
  assert.equal(seen("probe_server")?.drainTimeoutMs, 300);
});
