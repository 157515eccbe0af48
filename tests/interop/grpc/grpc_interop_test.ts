/**
 * gRPC interop through two bridges, with outside implementations at both ends:
 * - Python grpcio client -> bridge A ingress (HTTP/2) -> QUIC -> bridge B egress (HTTP/2) -> grpc-js server (Node)
 * - grpc-js client (Node) -> bridge A -> QUIC -> bridge B -> Python grpcio server
 * Unary, server/client/bidi streaming, an error status with trailers, a 4 MiB message, an exceeded deadline and a
 * cancelled call (both must reach the server as a cancellation).
 *
 * Needs `/usr/bin/python3` with Debian's `python3-grpcio` and `python3-protobuf`, and `node` + `npm` (the test
 * runs `npm ci` in `node/` when `node_modules` is missing). Skips with a message when one is missing.
 */

import assert from "node:assert/strict";
import { GhostBridge } from "../../../bridge/mod.ts";
import { GrpcIngress } from "../../../bridge/mod.ts";
import { generateIdentity, toHex } from "../../../bridge/mod.ts";
import { ensureDevPki } from "../../../transport/mod.ts";

const HERE = new URL(".", import.meta.url).pathname;
const PY = "/usr/bin/python3";

async function run(cmd: string, args: string[], cwd?: string): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, ...(cwd ? { cwd } : {}), stdout: "piped", stderr: "piped" })
      .output();
    return { ok: r.success, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
  } catch (error) {
    return { ok: false, out: String(error) };
  }
}

async function missingTools(): Promise<string | undefined> {
  const py = await run(PY, ["-c", "import grpc, google.protobuf"]);
  if (!py.ok) return "python3-grpcio / python3-protobuf not installed for /usr/bin/python3";
  const node = await run("node", ["--version"]);
  if (!node.ok) return "node not installed";
  try {
    await Deno.stat(`${HERE}node/node_modules/@grpc/grpc-js`);
  } catch {
    const ci = await run("npm", ["ci", "--no-audit", "--no-fund"], `${HERE}node`);
    if (!ci.ok) return `npm ci failed in tests/interop/grpc/node: ${ci.out.slice(0, 200)}`;
  }
  return undefined;
}

const missing = await missingTools();
if (missing) console.warn(`gRPC interop tests skipped: ${missing}`);

/** A child process that prints `PORT n` when ready; its stdout lines are kept. */
class Child {
  readonly proc: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly port: Promise<number>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(cmd: string, args: string[], cwd: string) {
    const proc = new Deno.Command(cmd, { args, cwd, stdin: "piped", stdout: "piped", stderr: "inherit" })
      .spawn();
    this.proc = proc;
    this.#stdin = this.proc.stdin.getWriter();
    let resolvePort: (n: number) => void = () => {};
    this.port = new Promise((r) => (resolvePort = r));
    void (async () => {
      let buf = "";
      for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          this.lines.push(line);
          const m = /^PORT (\d+)$/.exec(line);
          if (m) resolvePort(Number(m[1]));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const t = setTimeout(() => {
      try {
        this.proc.kill("SIGKILL");
      } catch { /* exited */ }
    }, 3000);
    await this.proc.status;
    clearTimeout(t);
  }
}

/** Bridge B serves `interop.Echo` from the upstream at `port`; bridge A peers with B and runs the ingress. */
async function bridges(upstreamPort: number): Promise<{ ingress: GrpcIngress; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "bridge_interop_" });
  const pki = await ensureDevPki({ dir });
  const idA = await generateIdentity();
  const b = new GhostBridge({
    identity: await generateIdentity(),
    cert: pki.certPem,
    key: pki.keyPem,
    allowList: [toHex(idA.publicKey)],
    serverLimits: { drainTimeoutMs: 300 },
    // A 4 MiB blob inside a protobuf message is a little over 4 MiB: raise the limits explicitly.
    limits: { maxMessageBytes: 8 * 1024 * 1024 },
  });
  b.registerUpstream({ service: "interop.Echo", version: "1", endpoint: `http://127.0.0.1:${upstreamPort}` });
  await b.checkNow();
  const a = new GhostBridge({
    identity: idA,
    cert: pki.certPem,
    key: pki.keyPem,
    caCerts: [pki.caPem],
    allowList: [],
    peers: [{ hostname: "127.0.0.1", port: b.addr.port, serverName: "localhost" }],
    healthIntervalMs: 60_000,
    limits: { maxMessageBytes: 8 * 1024 * 1024 },
  });
  await a.checkNow();
  assert.equal(
    (await a.resolve("interop.Echo")).length,
    1,
    "bridge A discovers the upstream behind bridge B",
  );
  const ingress = new GrpcIngress(a, { maxMessageBytes: 8 * 1024 * 1024, health: (s) => a.health(s) });
  await ingress.listen();
  return {
    ingress,
    close: async () => {
      await ingress.close();
      await a.close();
      await b.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function checkResult(out: Record<string, unknown>, serverTag: string, clientTag: string): void {
  assert.deepEqual(out.unary, { text: "hello", n: 42, header: clientTag, trailer: serverTag });
  assert.deepEqual(out.server_stream, [0, 1, 2]);
  assert.equal(out.client_stream, "abc");
  assert.deepEqual(out.bidi, ["x!", "y!"]);
  assert.deepEqual(out.error, { code: "NOT_FOUND", details: "not here: ünïcode" });
  assert.equal(out.big, true);
  const d = out.deadline as { code: string; seconds: number } | null;
  assert.equal(d?.code, "DEADLINE_EXCEEDED");
  assert.ok(d.seconds < 3, `deadline took ${d.seconds} s`);
  assert.deepEqual(out.cancel, { code: "CANCELLED" });
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

Deno.test({
  name: "interop: Python grpcio client -> bridge A -> QUIC -> bridge B -> grpc-js server (Node)",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = new Child("node", ["server.js"], `${HERE}node`);
    const net = await bridges(await server.port);
    try {
      const r = await run(PY, ["client.py", `127.0.0.1:${net.ingress.addr?.port}`], `${HERE}python`);
      assert.ok(r.ok, r.out);
      checkResult(JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}"), "node", "from-py");
      // Both the deadline and the cancel reached the Node server as cancellations.
      await waitFor(() => server.lines.filter((l) => l === "EVENT slow-cancelled").length >= 2, 3000);
      assert.equal(
        server.lines.filter((l) => l === "EVENT slow-cancelled").length,
        2,
        server.lines.join("\n"),
      );
    } finally {
      await net.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "interop: grpc-js client (Node) -> bridge A -> QUIC -> bridge B -> Python grpcio server",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = new Child(PY, ["server.py"], `${HERE}python`);
    const net = await bridges(await server.port);
    try {
      const r = await run("node", ["client.js", `127.0.0.1:${net.ingress.addr?.port}`], `${HERE}node`);
      assert.ok(r.ok, r.out);
      checkResult(JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}"), "py", "from-node");
      await waitFor(() => server.lines.filter((l) => l === "EVENT slow-cancelled").length >= 2, 3000);
      assert.equal(
        server.lines.filter((l) => l === "EVENT slow-cancelled").length,
        2,
        server.lines.join("\n"),
      );
    } finally {
      await net.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "interop: 200 server streams of 100 messages through two bridges, grpcio and grpc-js clients: none truncated",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (
      const [client, args, cwd, serverCmd, serverArgs, serverCwd] of [
        [PY, ["client.py"], `${HERE}python`, "node", ["server.js"], `${HERE}node`],
        ["node", ["client.js"], `${HERE}node`, PY, ["server.py"], `${HERE}python`],
      ] as const
    ) {
      const server = new Child(serverCmd, [...serverArgs], serverCwd);
      const net = await bridges(await server.port);
      try {
        const r = await run(
          client,
          [...args, `127.0.0.1:${net.ingress.addr?.port}`, "streams", "200", "100"],
          cwd,
        );
        assert.ok(r.ok, r.out);
        const res = JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}");
        assert.deepEqual(
          res,
          { streams: 200, truncated: 0, out_of_order: 0, failed: 0, messages: 20_000 },
          client,
        );
      } finally {
        await net.close();
        await server.stop();
      }
    }
  },
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name:
    "interop: an outside server put behind `mod.ts bridge` by config alone passes the grpcio and grpc-js suites",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = new Child("node", ["server.js"], `${HERE}node`);
    const dataDir = await Deno.makeTempDir({ prefix: "bridge_by_config_" });
    const grpcPort = freePort();
    const root = new URL("../../../", import.meta.url).pathname;
    const bridge = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}mod.ts`, "bridge"],
      cwd: root,
      env: {
        NO_COLOR: "1",
        GHOST_DATA_DIR: dataDir,
        GHOST_ADMIN_LISTEN: `127.0.0.1:${freePort()}`,
        GHOST_BRIDGE_LISTEN: `127.0.0.1:${freePort()}`,
        GHOST_BRIDGE_GRPC_LISTEN: `127.0.0.1:${grpcPort}`,
        GHOST_BRIDGE_UPSTREAMS: `interop.Echo=http://127.0.0.1:${await server.port}`,
        GHOST_BRIDGE_MAX_MESSAGE_BYTES: String(8 << 20),
        GHOST_MESH_CHAIN: `127.0.0.1:${freePort()}`,
        GHOST_MESH_WALLET: `127.0.0.1:${freePort()}`,
      },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logs = (async () => {
      let t = "";
      for await (const c of bridge.stderr.pipeThrough(new TextDecoderStream())) t += c;
      return t;
    })();
    try {
      // Ready when the ingress accepts and the upstream's health check passed.
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        const h = await run(PY, [
          "-c",
          `import grpc,sys; ch=grpc.insecure_channel("127.0.0.1:${grpcPort}"); ` +
          `f=ch.unary_unary("/grpc.health.v1.Health/Check"); ` +
          `sys.exit(0 if f(b"\\x0a\\x0cinterop.Echo", timeout=1)==b"\\x08\\x01" else 1)`,
        ]);
        ok = h.ok;
        if (!ok) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(ok, "the bridge's ingress never reported interop.Echo SERVING");
      const py = await run(PY, ["client.py", `127.0.0.1:${grpcPort}`], `${HERE}python`);
      assert.ok(py.ok, py.out);
      checkResult(JSON.parse(py.out.trim().split("\n").at(-1) ?? "{}"), "node", "from-py");
      const js = await run("node", ["client.js", `127.0.0.1:${grpcPort}`], `${HERE}node`);
      assert.ok(js.ok, js.out);
      checkResult(JSON.parse(js.out.trim().split("\n").at(-1) ?? "{}"), "node", "from-node");
    } finally {
      try {
        bridge.kill("SIGTERM");
      } catch {
        // It already exited: the status below says how.
      }
      const st = await bridge.status;
      const text = await logs;
      await server.stop();
      await Deno.remove(dataDir, { recursive: true });
      assert.equal(st.code, 0, text.slice(-3000));
    }
  },
});
