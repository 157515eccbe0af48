// The gRPC ingress with this project's HTTP/2 client as the caller's peer: unknown services, and a storm of
// clients that leave in every way while the ingress keeps serving.
import assert from "node:assert/strict";
import { connectHttp2, ErrorCode, type HeaderField } from "../transport/http2/mod.ts";
import { GrpcIngress } from "./grpc_ingress.ts";
import { GhostBridge } from "./ghost_bridge.ts";
import { generateIdentity } from "./node_identity.ts";
import { unary } from "./handlers.ts";
import { encodeGrpcMessage } from "./grpc_framing.ts";
import { ensureDevPki } from "../transport/mod.ts";

const call = (path: string): HeaderField[] => [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", path],
  [":authority", "x"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

async function setup(): Promise<
  { bridge: GhostBridge; ingress: GrpcIngress; port: number; close(): Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "ingress_test_" });
  const pki = await ensureDevPki({ dir });
  const bridge = new GhostBridge({
    identity: await generateIdentity(),
    cert: pki.certPem,
    key: pki.keyPem,
    allowList: [],
  });
  bridge.register("demo.Echo", { Say: unary((req) => req) });
  const ingress = new GrpcIngress(bridge, {
    knows: (s) => bridge.registry.all().some((r) => r.info.service === s),
    // Every client of these tests is 127.0.0.1.
    maxConnectionsPerClient: 10_000,
  });
  const { port } = await ingress.listen();
  return {
    bridge,
    ingress,
    port,
    close: async () => {
      await ingress.close();
      await bridge.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("the ingress answers UNIMPLEMENTED for a service nobody registered, and relays a known one", async () => {
  const net = await setup();
  const client = await connectHttp2({ hostname: "127.0.0.1", port: net.port });
  try {
    const unknown = client.request(call("/no.Such/Method"));
    await unknown.end();
    const head = await unknown.response;
    assert.equal(head.find(([n]) => n === "grpc-status")?.[1], "12", JSON.stringify(head));
    const known = client.request(call("/demo.Echo/Say"));
    await known.write(encodeGrpcMessage(new Uint8Array([1, 2, 3])));
    await known.end();
    await known.response;
    for (let c = await known.read(); c !== null; c = await known.read()) { /* body */ }
    assert.equal(known.trailers?.find(([n]) => n === "grpc-status")?.[1], "0");
  } finally {
    client.destroy();
    await net.close();
  }
});

Deno.test({
  name:
    "a disconnect storm: 1,000 clients that call, idle, and leave by GOAWAY, RST_STREAM, socket close or half-close",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const net = await setup();
    try {
      await Promise.all(Array.from({ length: 1_000 }, async (_, i) => {
        const client = await connectHttp2({ hostname: "127.0.0.1", port: net.port });
        const s = client.request(call("/demo.Echo/Say"));
        await s.write(encodeGrpcMessage(new Uint8Array([i & 0xff])));
        // Sit idle a moment with the call open, all of them at once.
        await new Promise((r) => setTimeout(r, 200));
        switch (i % 4) {
          case 0: // a whole call, then GOAWAY
            await s.end();
            await s.response;
            client.close();
            break;
          case 1: // reset mid-call
            s.reset(ErrorCode.CANCEL);
            client.destroy();
            break;
          case 2: // the socket just goes away
            client.destroy();
            break;
          default: // half-close, then leave without reading
            await s.end();
            client.destroy();
        }
      }));
      // Still serving, with no connection left behind.
      const client = await connectHttp2({ hostname: "127.0.0.1", port: net.port });
      const s = client.request(call("/demo.Echo/Say"));
      await s.write(encodeGrpcMessage(new Uint8Array([7])));
      await s.end();
      await s.response;
      for (let c = await s.read(); c !== null; c = await s.read()) { /* body */ }
      assert.equal(s.trailers?.find(([n]) => n === "grpc-status")?.[1], "0");
      client.destroy();
      const deadline = Date.now() + 3_000;
      while (net.ingress.stats.connections > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(net.ingress.stats.connections, 0);
      assert.equal(net.ingress.stats.callsInFlight, 0);
    } finally {
      await net.close();
    }
  },
});
