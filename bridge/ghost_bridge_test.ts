import assert from "node:assert/strict";
import { connectBridge, discover, registerRemote } from "./client_session.ts";
import { BridgeError, GrpcStatus, StreamErrorCode } from "./errors.ts";
import { encodeFrame, FrameType } from "./frame_codec.ts";
import { decodeStreamError, HealthStatus } from "./frame_payloads.ts";
import { bidiStream, clientStream, serverStream, type ServiceHandlers, unary } from "./handlers.ts";
import { generateIdentity } from "./node_identity.ts";
import { GhostBridge } from "./ghost_bridge.ts";
import { bridgeMesh, bridgeOptions, sleep, testPki, text, utf8 } from "./_test_support.ts";

const SVC = "test.Echo";

function echoHandlers(tag: string, log: { aborted: string[] } = { aborted: [] }): ServiceHandlers {
  return {
    Say: unary((req, ctx) => {
      ctx.sendHeader([["x-served-by", utf8(tag)]]);
      ctx.setTrailer([[
        "x-trailer",
        utf8("t-" + text(ctx.metadata.find(([k]) => k === "x-in")?.[1] ?? new Uint8Array())),
      ]]);
      return req;
    }),
    Fail: unary(() => {
      throw new BridgeError(GrpcStatus.NOT_FOUND, "no such thing", {
        trailers: [["x-why", utf8("because")]],
      });
    }),
    Count: serverStream(async function* (req) {
      const n = Number(text(req));
      for (let i = 0; i < n; i++) yield utf8(String(i));
    }),
    Sum: clientStream(async (reqs) => {
      let total = 0;
      for await (const r of reqs) total += Number(text(r));
      return utf8(String(total));
    }),
    Chat: bidiStream(async function* (reqs) {
      for await (const r of reqs) yield utf8(tag + ":" + text(r));
    }),
    Size: unary((req) => new Uint8Array(req.length).fill(7)),
    Slow: unary(async (_req, ctx) => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(t);
          log.aborted.push(ctx.path);
          resolve();
        });
      });
      return new Uint8Array(0);
    }),
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const m of it) out.push(text(m));
  return out;
}

Deno.test("GhostBridge relays all four RPC kinds between two bridges, with metadata and trailers", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 1);
  try {
    mesh.servers[0]?.register(SVC, echoHandlers("B"));
    assert.equal((await mesh.client.resolve(SVC)).length, 1);
    const r = await mesh.client.unary(SVC, "Say", utf8("hi"), { metadata: [["x-in", utf8("42")]] });
    assert.equal(text(r.message), "hi");
    assert.equal(text(r.metadata.find(([k]) => k === "x-served-by")?.[1] ?? new Uint8Array()), "B");
    assert.equal(text(r.trailers.find(([k]) => k === "x-trailer")?.[1] ?? new Uint8Array()), "t-42");
    assert.deepEqual(await collect(mesh.client.serverStream(SVC, "Count", utf8("3"))), ["0", "1", "2"]);
    const sum = await mesh.client.clientStream(SVC, "Sum", ["1", "2", "3"].map(utf8));
    assert.equal(text(sum.message), "6");
    assert.deepEqual(await collect(mesh.client.bidiStream(SVC, "Chat", ["a", "b"].map(utf8))), [
      "B:a",
      "B:b",
    ]);
    await assert.rejects(
      mesh.client.unary(SVC, "Fail", new Uint8Array()),
      (e: unknown) =>
        e instanceof BridgeError && e.code === GrpcStatus.NOT_FOUND && e.message === "no such thing" &&
        text(e.trailers[0]?.[1] ?? new Uint8Array()) === "because",
    );
    await assert.rejects(
      mesh.client.unary(SVC, "Nope", new Uint8Array()),
      (e: unknown) => e instanceof BridgeError && e.code === GrpcStatus.UNIMPLEMENTED,
    );
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});

Deno.test("GhostBridge carries 4 MiB messages both ways", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 1);
  try {
    mesh.servers[0]?.register(SVC, echoHandlers("B"));
    await mesh.client.resolve(SVC);
    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
    const r = await mesh.client.unary(SVC, "Say", big);
    assert.equal(r.message.length, big.length);
    assert.equal(r.message[4_000_001], big[4_000_001]);
    await assert.rejects(
      mesh.client.unary(SVC, "Say", new Uint8Array(4 * 1024 * 1024 + 1)),
      (e: unknown) => e instanceof BridgeError && e.code === GrpcStatus.RESOURCE_EXHAUSTED,
    );
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});

Deno.test("GhostBridge: deadlines and cancellation reach the remote handler", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 1);
  const log = { aborted: [] as string[] };
  try {
    mesh.servers[0]?.register(SVC, echoHandlers("B", log));
    await mesh.client.resolve(SVC);
    const t0 = performance.now();
    await assert.rejects(
      mesh.client.unary(SVC, "Slow", new Uint8Array(), { timeoutMs: 200 }),
      (e: unknown) => e instanceof BridgeError && e.code === GrpcStatus.DEADLINE_EXCEEDED,
    );
    assert.ok(performance.now() - t0 < 2000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(
      mesh.client.unary(SVC, "Slow", new Uint8Array(), { signal: ac.signal }),
      (e: unknown) => e instanceof BridgeError && e.code === GrpcStatus.CANCELLED,
    );
    for (let i = 0; i < 50 && log.aborted.length < 2; i++) await sleep(20);
    assert.equal(log.aborted.length, 2);
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});

Deno.test("GhostBridge refuses a peer that is not on the allow-list, clearly", async () => {
  const pki = await testPki();
  const server = new GhostBridge(bridgeOptions(pki, await generateIdentity(), { allowList: [] }));
  try {
    await assert.rejects(
      connectBridge(
        { hostname: "127.0.0.1", port: server.addr.port, serverName: "localhost" },
        await generateIdentity(),
        {
          caCerts: [pki.caPem],
        },
      ),
      (e: unknown) =>
        e instanceof BridgeError && e.code === GrpcStatus.PERMISSION_DENIED && /allow-list/.test(e.message),
    );
    // A peer expecting another server key refuses the server.
    const other = await generateIdentity();
    await assert.rejects(
      connectBridge(
        {
          hostname: "127.0.0.1",
          port: server.addr.port,
          serverName: "localhost",
          publicKey: other.publicKey,
        },
        await generateIdentity(),
        { caCerts: [pki.caPem] },
      ),
      (e: unknown) => e instanceof BridgeError && e.code === GrpcStatus.PERMISSION_DENIED,
    );
  } finally {
    await server.close();
    await pki.cleanup();
  }
});

Deno.test("GhostBridge: a bad frame resets only its stream; the connection keeps serving", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 1);
  try {
    const b = mesh.servers[0];
    assert.ok(b);
    b.register(SVC, echoHandlers("B"));
    await mesh.client.resolve(SVC);
    const cases: Array<[Uint8Array, number]> = [
      [Uint8Array.of(2, 1, 0, 0), StreamErrorCode.UNSUPPORTED_VERSION],
      [Uint8Array.of(1, 0x7e, 0, 0), StreamErrorCode.UNKNOWN_FRAME_TYPE],
      [encodeFrame(FrameType.GRPC_REQUEST, new Uint8Array(16_385)), StreamErrorCode.FRAME_TOO_LARGE],
      [
        encodeFrame(FrameType.GRPC_REQUEST, Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 0x41)),
        StreamErrorCode.MALFORMED_FRAME,
      ],
    ];
    const conn = (await mesh.client.peerSession(0)).conn;
    for (const [bytes, code] of cases) {
      const s = await conn.openBidi();
      const w = s.writable.getWriter();
      await w.write(bytes);
      const reader = s.readable.getReader();
      const chunks: number[] = [];
      for (;;) {
        const r = await reader.read().catch(() => undefined);
        if (!r || r.done) break;
        chunks.push(...r.value);
      }
      await w.close().catch(() => {});
      const frame = new Uint8Array(chunks);
      assert.equal(frame[1], FrameType.STREAM_ERROR, `case ${code}`);
      assert.equal(decodeStreamError(frame.subarray(4)).code, code);
    }
    assert.equal(conn.isClosed, false);
    assert.equal(text((await mesh.client.unary(SVC, "Say", utf8("still"))).message), "still");
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});

Deno.test("GhostBridge discovers instances on several peers, balances, and fails over when one dies", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 2);
  try {
    const [b, c] = mesh.servers;
    assert.ok(b && c);
    b.register(SVC, echoHandlers("B"));
    c.register(SVC, echoHandlers("C"));
    assert.equal((await mesh.client.resolve(SVC)).length, 2);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await mesh.client.unary(SVC, "Say", utf8("x"));
      seen.add(text(r.metadata.find(([k]) => k === "x-served-by")?.[1] ?? new Uint8Array()));
    }
    assert.deepEqual(seen, new Set(["B", "C"]));
    assert.equal(await mesh.client.peerHealth(0, SVC), HealthStatus.SERVING);
    assert.equal(await mesh.client.peerHealth(0, "unknown.Service"), HealthStatus.SERVICE_UNKNOWN);
    // C dies mid-run: calls keep succeeding (not-yet-sent calls move to B).
    const results = [];
    for (let i = 0; i < 40; i++) {
      if (i === 10) await c.close();
      results.push(
        await mesh.client.unary(SVC, "Say", utf8("y"), { idempotent: true }).then(
          () => "ok",
          (e) => String(e),
        ),
      );
    }
    assert.deepEqual(results.filter((r) => r !== "ok"), []);
    // The next health round drops C's instances.
    await mesh.client.checkNow();
    await mesh.client.checkNow();
    assert.equal((await mesh.client.resolve(SVC)).length, 1);
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});

Deno.test("GhostBridge: 1,000 concurrent calls on one bridge pair", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 1);
  try {
    mesh.servers[0]?.register(SVC, echoHandlers("B"));
    await mesh.client.resolve(SVC);
    const calls = Array.from(
      { length: 1000 },
      (_, i) => mesh.client.unary(SVC, "Say", utf8(String(i))).then((r) => text(r.message) === String(i)),
    );
    const ok = await Promise.all(calls);
    assert.equal(ok.filter(Boolean).length, 1000);
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});

Deno.test("SERVICE_REGISTER: a peer registers an HTTP/2 upstream, sees it in discovery, deregisters it", async () => {
  const pki = await testPki();
  const mesh = await bridgeMesh(pki, 1);
  try {
    const session = await mesh.client.peerSession(0);
    const instance = { service: "x.Y", version: "2", endpoint: "http://127.0.0.1:1", instanceId: "up-1" };
    await assert.rejects(
      registerRemote(session, { ...instance, endpoint: "inproc:nope" }),
      (e: unknown) => e instanceof BridgeError && e.code === GrpcStatus.INVALID_ARGUMENT,
    );
    await registerRemote(session, instance);
    const found = await discover(session, "x.Y");
    assert.equal(found.length, 1);
    assert.equal(found[0]?.instanceId, "up-1");
    // Nothing listens on port 1: the health check fails, so it never serves.
    await mesh.servers[0]?.checkNow();
    assert.notEqual((await discover(session, "x.Y"))[0]?.health, HealthStatus.SERVING);
    await registerRemote(session, instance, "deregister");
    assert.equal((await discover(session, "x.Y")).length, 0);
  } finally {
    await mesh.close();
    await pki.cleanup();
  }
});
