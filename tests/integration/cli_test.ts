// End to end: `mod.ts` as a user runs it, in a subprocess, over loopback.
import assert from "node:assert/strict";
import { denoFlags, unionSets } from "../../core/mod.ts";
import { findService, parseConfig, servicePermissions, supervisorPermissions } from "../../supervisor/mod.ts";
import { ping, QuicClientPool } from "../../transport/mod.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    env: { NO_COLOR: "1", ...env },
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

function freePort(transport: "tcp" | "udp"): number {
  if (transport === "tcp") {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    return port;
  }
  const s = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}

/** cns (with a local zone, so it answers without upstreams) and the bridge on free loopback ports. */
function cnsEnv(port: number): Record<string, string> {
  return {
    GHOST_BRIDGE_LISTEN: `127.0.0.1:${freePort("udp")}`,
    GHOST_CHAIN_LISTEN: `127.0.0.1:${freePort("udp")}`,
    GHOST_BRIDGE_GRPC_LISTEN: `127.0.0.1:${freePort("tcp")}`,
    GHOST_MESH_CHAIN: `127.0.0.1:${freePort("udp")}`,
    GHOST_MESH_WALLET: `127.0.0.1:${freePort("udp")}`,
    GHOST_MESH_CNS: `127.0.0.1:${freePort("udp")}`,
    GHOST_MESH_WRAITH: `127.0.0.1:${freePort("udp")}`,
    GHOST_CNS_LISTEN: `[::1]:${port}`,
    GHOST_CNS_DOQ_LISTEN: `[::1]:${freePort("udp")}`,
    GHOST_CNS_DOH_LISTEN: `[::1]:${freePort("tcp")}`,
    GHOST_CNS_LOCAL_ZONES: "ghost",
    GHOST_CNS_RECORDS: "edge.ghost 60 IN AAAA 2001:db8::1",
    GHOST_WRAITH_LISTEN: `127.0.0.1:${freePort("tcp")}`,
  };
}

/** A minimal AAAA query over UDP (hand-built, so the test does not lean on our own codec). */
async function dnsQueryA(host: string, port: number, name: string): Promise<string> {
  const qname = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  const query = new Uint8Array([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...qname, 0, 0, 28, 0, 1]);
  const sock = Deno.listenDatagram({ hostname: "::1", port: 0, transport: "udp" });
  try {
    await sock.send(query, { transport: "udp", hostname: host, port });
    const timer = setTimeout(() => sock.close(), 3_000);
    const [reply] = await sock.receive();
    clearTimeout(timer);
    const byte = (k: number): number => reply[k] ?? 0;
    assert.equal(byte(0), 0x12);
    assert.equal(byte(3) & 0x0f, 0, "rcode NOERROR");
    const at = reply.length - 16;
    const groups = Array.from(
      { length: 8 },
      (_, g) => ((byte(at + 2 * g) << 8) | byte(at + 2 * g + 1)).toString(16),
    );
    return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
  } finally {
    try {
      sock.close();
    } catch {
      // closed by the timer
    }
  }
}

async function waitHealthy(admin: string, child: Deno.ChildProcess, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < end && !exited) {
    try {
      const res = await fetch(`${admin}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    exited ? "the supervisor exited before becoming healthy" : "the supervisor never became healthy",
  );
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  return text;
}

Deno.test("mod.ts exits 2 with a clear message on a bad command, option or config value", async () => {
  const bad = await run(["frobnicate"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Unknown command frobnicate/);
  const opt = await run(["up", "--nope"]);
  assert.equal(opt.code, 2);
  assert.match(opt.err, /Unknown option --nope/);
  const cfg = await run(["up"], { GHOST_LOG_LEVEL: "loud" });
  assert.equal(cfg.code, 2);
  assert.match(
    cfg.err,
    /log\.level \(env GHOST_LOG_LEVEL\): got "loud", expected one of debug, info, warn, error/,
  );
  // A service's own section is checked the same way, with the same exit code.
  const peers = await run(["chain"], { GHOST_CHAIN_PEERS: "!" });
  assert.equal(peers.code, 2, peers.err);
  assert.match(peers.err, /chain\.peers \(env GHOST_CHAIN_PEERS\): got \["!"\]/);
  // A service's own option is checked like its section: a bad backend URL names the flag and what is wrong.
  const upstream = await run(["wraith", "--upstream", "ftp://127.0.0.1:21"]);
  assert.equal(upstream.code, 2, upstream.err);
  assert.match(
    upstream.err,
    /wraith\.upstream \(flag --wraith-upstream\).*scheme ftp: is not one of http, https, h2c, h2, h3/,
  );
  const misplaced = await run(["chain", "--upstream", "http://127.0.0.1:1"]);
  assert.equal(misplaced.code, 2);
  assert.match(misplaced.err, /--upstream is an option of wraith, not of chain/);
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.out, /^ghostchain-edge \d+\.\d+\.\d+/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: deno run -A mod\.ts/);
});

Deno.test("mod.ts status says so when no supervisor runs", async () => {
  const r = await run(["status"], { GHOST_ADMIN_LISTEN: `127.0.0.1:${freePort("tcp")}` });
  assert.equal(r.code, 1);
  assert.match(r.err, /No supervisor answers at http:\/\/127\.0\.0\.1:\d+/);
});

Deno.test({
  name: "mod.ts up: devnet starts, serves QUIC, reports status, drains on SIGTERM and reuses its PKI",
  // The QUIC pool's endpoint is released asynchronously by Deno after close.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "ghost-e2e-" });
    const adminPort = freePort("tcp");
    const pingPort = freePort("udp");
    const dnsPort = freePort("udp");
    const env = {
      NO_COLOR: "1",
      GHOST_DATA_DIR: dataDir,
      GHOST_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      GHOST_PING_LISTEN: `[::1]:${pingPort}`,
      ...cnsEnv(dnsPort),
    };
    const admin = `http://127.0.0.1:${adminPort}`;
    const start = (): Deno.ChildProcess =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MOD, "up", "--log-format", "json"],
        env,
        cwd: ROOT,
        stdout: "null",
        stderr: "piped",
      }).spawn();

    let child = start();
    let logs = collect(child.stderr);
    await waitHealthy(admin, child);

    const status = await run(["status"], env);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /ping\s+running\s+0\s+quic=quic:\/\/\[::1\]:\d+ \[ghost-ping\/1\]/);
    const json = JSON.parse((await run(["status", "--json"], env)).out);
    assert.equal(json.tls.source, "dev");
    assert.deepEqual(json.services.map((x: { name: string; state: string }) => `${x.name}=${x.state}`), [
      "cns=running",
      "bridge=running",
      "chain=running",
      "wallet=running",
      "wraith=running",
      "ping=running",
    ]);
    // wraith with no routes answers every request 404, over TLS, with Alt-Svc for its HTTP/3.
    const wraithAddr = (env as Record<string, string>).GHOST_WRAITH_LISTEN ?? "";
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dataDir}/pki/ca.pem`)] });
    const res = await fetch(`https://localhost:${wraithAddr.split(":")[1]}/`, { client });
    assert.equal(res.status, 404);
    assert.match(res.headers.get("proxy-status") ?? "", /error=destination_not_found/);
    assert.match(res.headers.get("alt-svc") ?? "", /^h3=":\d+"; ma=86400$/);
    await res.body?.cancel();
    client.close();

    // A real QUIC round trip to the ping service, trusting only the dev CA it made.
    const caPem = await Deno.readTextFile(`${dataDir}/pki/ca.pem`);
    const pool = new QuicClientPool({ caCerts: [caPem] });
    const conn = await pool.get({
      hostname: "::1",
      port: pingPort,
      serverName: "localhost",
      alpn: "ghost-ping/1",
    });
    const payload = new TextEncoder().encode("hello edge");
    const pong = await ping(conn, payload);
    assert.deepEqual(pong.payload, payload);
    await pool.close();

    // The cns worker answers a real DNS query over UDP from its local zone.
    const answer = await dnsQueryA("::1", dnsPort, "edge.ghost");
    assert.deepEqual(answer, "2001:db8::1");

    // The wallet CLI talks to the chain only through the bridge: its gRPC ingress, then QUIC to the chain's
    // bridge node. Import the devnet's funded key, send, register a name, read it back.
    const walletEnv = { ...env, GHOST_WALLET_KDF: "test", GHOST_WALLET_PASSPHRASE: "e2e passphrase" };
    const imported = await run(
      ["wallet", "import", "--key-file", `${dataDir}/chain/dev.key`, "--type", "ed25519", "--label", "dev"],
      walletEnv,
    );
    assert.equal(imported.code, 0, imported.err);
    const bob = await run(["wallet", "new", "--label", "bob", "--json"], walletEnv);
    assert.equal(bob.code, 0, bob.err);
    const bobAddress = JSON.parse(bob.out).account.address as string;
    const sent = await run([
      "wallet",
      "send",
      "--account",
      "dev",
      "--to",
      bobAddress,
      "--amount",
      "7",
      "--json",
    ], walletEnv);
    assert.equal(sent.code, 0, sent.err);
    const receipt = JSON.parse(sent.out);
    assert.equal(receipt.included, true);
    assert.equal(receipt.status, 0);
    const bal = JSON.parse((await run(["wallet", "balance", "bob", "--json"], walletEnv)).out);
    assert.equal(bal.balance, "7");
    const reg = await run(
      ["wallet", "name", "register", "journey.ghost", "--account", "dev", "--aaaa", "2001:db8::42", "--json"],
      walletEnv,
    );
    assert.equal(reg.code, 0, reg.err);
    assert.equal(JSON.parse(reg.out).status, 0);
    // A bad transaction is refused with the chain's reason, relayed through both bridges.
    const broke = await run(
      ["wallet", "send", "--account", "bob", "--to", bobAddress, "--amount", "1000"],
      walletEnv,
    );
    assert.equal(broke.code, 1);
    assert.match(broke.err, /INSUFFICIENT_FUNDS|insufficient/i);

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /ghost_service_up\{service="ping"\} 1/);
    assert.match(metrics, /service="ping"/);

    const keyMode = (await Deno.stat(`${dataDir}/pki/key.pem`)).mode ?? 0;
    assert.equal(keyMode & 0o777, 0o600);

    child.kill("SIGTERM");
    const t0 = Date.now();
    const { code } = await child.status;
    assert.equal(code, 0, await logs);
    assert.ok(Date.now() - t0 < 15_000);
    const lines = (await logs).trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM"));
    assert.ok(lines.some((l) => l.msg === "all services stopped"));

    // Second start: the same CA is reused, not regenerated.
    child = start();
    logs = collect(child.stderr);
    await waitHealthy(admin, child);
    assert.equal(await Deno.readTextFile(`${dataDir}/pki/ca.pem`), caPem);
    child.kill("SIGINT");
    assert.equal((await child.status).code, 0);
    await logs;
    await Deno.remove(dataDir, { recursive: true });
  },
});

for (const service of ["ping", "cns", "bridge", "chain", "wallet", "wraith"]) {
  Deno.test({
    name: `mod.ts ${service} runs with exactly the compile flags of its binary (no -A)`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const dataDir = await Deno.makeTempDir({ prefix: "ghost-perm-" });
      const adminPort = freePort("tcp");
      const env: Record<string, string> = {
        NO_COLOR: "1",
        GHOST_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
        GHOST_PING_LISTEN: `[::1]:${freePort("udp")}`,
        ...cnsEnv(freePort("udp")),
        GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${freePort("tcp")}`,
      };
      const config = parseConfig({ env, flags: { data_dir: dataDir } });
      const svc = findService(service);
      assert.ok(svc);
      const perms = denoFlags(
        unionSets([supervisorPermissions(config, undefined), servicePermissions(svc, config)]),
      );
      assert.ok(!perms.some((p) => p === "-A" || /^--allow-(all|run|ffi)/.test(p)));
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...perms, "--no-prompt", MOD, service, "--data-dir", dataDir],
        env,
        cwd: ROOT,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const logs = collect(child.stderr);
      try {
        await waitHealthy(`http://127.0.0.1:${adminPort}`, child);
      } catch (err) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already exited
        }
        throw new Error(`${(err as Error).message}\n${await logs}`);
      }
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, await logs);
      await Deno.remove(dataDir, { recursive: true });
    },
  });
}

Deno.test("a first run on a fresh machine prints no warning box (no dependency with install scripts is installed)", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "ghost-deno-dir-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD, "--version"],
      env: { NO_COLOR: "1", DENO_DIR: denoDir },
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    const notes = err.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Download ")).join("\n");
    assert.equal(out.code, 0, `exit ${out.code}: ${notes}`);
    assert.doesNotMatch(err, /Warning|Ignored build scripts/i, notes);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});
