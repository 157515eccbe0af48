// One wallet `send` is one trace across processes and services, exported by Deno's built-in OpenTelemetry
// (OTEL_DENO=true) over OTLP/HTTP to a receiver in this test: the CLI's `wallet send` root span and its signing
// span, its gRPC client spans, the bridge's relay span (another process), the chain's server span, admission
// and commit; every parent is in the trace; the chain's log records of that transaction carry its trace id and
// `mod.ts logs` shows them. wraith's request span is a child of the client's traceparent and the parent of the
// backend's; a DNS query is a cns span.
import assert from "node:assert/strict";
import { importDevKey, modCli, startDevnet } from "./_devnet.ts";
import { type ReceivedSpan, startOtlpReceiver } from "./_otlp.ts";

const SUBMIT = "ghostchain.v1.BlockchainService/SubmitTransaction";

Deno.test({
  name:
    "tracing: a wallet send is one OTLP trace across wallet, bridge and chain; logs carry its id; wraith and cns spans",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const receiver = startOtlpReceiver();
    const otel = {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    };
    // wraith's backend: records the trace context each request brought.
    const seen: Array<string | null> = [];
    const backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      seen.push(req.headers.get("traceparent"));
      return new Response("hello from the backend\n");
    });
    const devnet = await startDevnet("ghost-trace-", {
      env: {
        ...otel,
        OTEL_SERVICE_NAME: "ghost-devnet",
        GHOST_LOG_LEVEL: "debug",
        GHOST_WRAITH_UPSTREAM: `http://127.0.0.1:${backend.addr.port}`,
      },
    });
    try {
      const cli = { ...devnet.env, OTEL_SERVICE_NAME: "ghost-wallet-cli" };
      let height = 0;
      for (let i = 0; i < 300 && height < 1; i++) {
        const r = await modCli(["chain", "status", "--json"], devnet.env);
        if (r.code === 0) height = Number(JSON.parse(r.out).height);
        else await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(height >= 1, "the devnet's chain made no block");
      const imported = await importDevKey(devnet.dataDir, cli);
      assert.equal(imported.code, 0, imported.err);
      const to = (await modCli(["wallet", "address", "--account", "dev"], cli)).out.trim();
      let sent = await modCli(
        ["wallet", "send", "--account", "dev", "--to", to, "--amount", "2", "--json"],
        cli,
      );
      // The bridge may not have discovered the chain yet on a devnet this young: one retry.
      if (sent.code !== 0) {
        await new Promise((r) => setTimeout(r, 1000));
        sent = await modCli(
          ["wallet", "send", "--account", "dev", "--to", to, "--amount", "2", "--json"],
          cli,
        );
      }
      assert.equal(sent.code, 0, sent.err);
      const result = JSON.parse(sent.out) as { txHash: string; included: boolean; height: number };
      assert.equal(result.included, true);

      // The CLI flushed its spans when it exited; the devnet exports in batches.
      let trace: ReceivedSpan[] = [];
      const deadline = Date.now() + 30_000;
      for (;;) {
        const root = receiver.spans.find((s) =>
          s.name === "wallet send" && s.serviceName === "ghost-wallet-cli"
        );
        if (root !== undefined) {
          trace = receiver.spans.filter((s) => s.traceId === root.traceId);
          if (trace.some((s) => s.name === "chain.commit")) break;
        }
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(receiver.errors, []);
      const names = trace.map((s) => `${s.serviceName}:${s.scope}:${s.name}`).sort();
      const one = (pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
        const hits = trace.filter(pred);
        assert.ok(hits.length >= 1, `no ${what} span in the trace: ${JSON.stringify(names)}`);
        return hits[0] as ReceivedSpan;
      };
      const root = one((s) => s.name === "wallet send", "wallet send");
      assert.equal(root.parentSpanId, "", "the CLI's span is the root");
      assert.equal(root.scope, "ghost.wallet");
      one((s) => s.name === "wallet.sign" && s.scope === "ghost.wallet", "signing");
      const client = one(
        (s) => s.name === SUBMIT && s.kind === 3 && s.serviceName === "ghost-wallet-cli",
        "gRPC client SubmitTransaction",
      );
      const relay = one(
        (s) =>
          s.name === SUBMIT && s.kind === 2 && s.scope === "ghost.bridge" && s.serviceName === "ghost-devnet",
        "bridge relay",
      );
      const server = one(
        (s) => s.name === SUBMIT && s.kind === 2 && s.scope === "ghost.chain",
        "chain server",
      );
      const admit = one((s) => s.name === "chain.admit", "chain admission");
      const commit = one((s) => s.name === "chain.commit", "chain commit");
      // The hops are parent and child, in order, across two processes and the bridge's QUIC frames.
      assert.equal(relay.parentSpanId, client.spanId);
      assert.equal(server.parentSpanId, relay.spanId);
      assert.equal(admit.parentSpanId, server.spanId);
      assert.equal(commit.parentSpanId, admit.spanId);
      assert.equal(admit.attributes["ghost.tx_hash"], result.txHash);
      assert.equal(commit.attributes["ghost.block_height"], result.height);
      assert.equal(relay.attributes["rpc.grpc.status_code"], 0);
      assert.ok(commit.endNs >= commit.startNs);
      // Every span's parent is in the trace: nothing was lost between the hops.
      const ids = new Set(trace.map((s) => s.spanId));
      for (const s of trace) {
        assert.ok(s.parentSpanId === "" || ids.has(s.parentSpanId), `orphan ${s.scope}:${s.name}`);
      }

      // The chain's log records of the transaction carry the trace id, through `mod.ts logs`.
      let lines: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 40; i++) {
        const logs = await modCli(["logs", "chain", "--json", "--lines", "2000"], devnet.env);
        assert.equal(logs.code, 0, logs.err);
        lines = logs.out.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
        if (lines.some((l) => l.msg === "transaction committed" && l.tx === result.txHash)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      for (const msg of ["transaction admitted", "transaction committed"]) {
        const rec = lines.find((l) => l.msg === msg && l.tx === result.txHash);
        assert.ok(rec, `no "${msg}" log record for ${result.txHash}`);
        assert.equal(rec.trace_id, root.traceId, `${msg}: ${JSON.stringify(rec)}`);
      }

      // wraith: a request with a client's traceparent gets a server span that is its child, and the backend
      // sees wraith's span as the parent.
      const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
      const clientSpan = "00f067aa0ba902b7";
      const http = Deno.createHttpClient({
        caCerts: [await Deno.readTextFile(`${devnet.dataDir}/pki/ca.pem`)],
      });
      const wraithPort = Number((devnet.env.GHOST_WRAITH_LISTEN ?? "").split(":")[1]);
      let res: Response | undefined;
      for (let i = 0; i < 50 && res?.status !== 200; i++) {
        await res?.body?.cancel();
        res = await fetch(`https://localhost:${wraithPort}/traced?x=1`, {
          client: http,
          headers: { traceparent: `00-${clientTrace}-${clientSpan}-01` },
        }).catch(() => undefined);
        if (res?.status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(res?.status, 200);
      assert.equal(await res?.text(), "hello from the backend\n");
      http.close();
      let wraithSpan: ReceivedSpan | undefined;
      for (let i = 0; i < 120 && wraithSpan === undefined; i++) {
        wraithSpan = receiver.spans.find((s) => s.traceId === clientTrace && s.scope === "ghost.wraith");
        if (wraithSpan === undefined) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(wraithSpan, "no wraith span in the client's trace");
      assert.equal(wraithSpan.parentSpanId, clientSpan);
      assert.equal(wraithSpan.kind, 2);
      assert.equal(wraithSpan.name, "GET default");
      assert.equal(wraithSpan.attributes["http.response.status_code"], 200);
      const upstream = seen.at(-1) ?? "";
      assert.equal(
        upstream,
        `00-${clientTrace}-${wraithSpan.spanId}-01`,
        "the backend's parent is wraith's span",
      );

      // cns: a query over UDP is a span.
      const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      // A query for traced.example. A (RD), id 0x7a7a.
      const q = Uint8Array.of(
        0x7a,
        0x7a,
        0x01,
        0x00,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        6,
        ...new TextEncoder().encode("traced"),
        7,
        ...new TextEncoder().encode("example"),
        0,
        0,
        1,
        0,
        1,
      );
      await sock.send(q, { transport: "udp", hostname: "127.0.0.1", port: devnet.dnsPort });
      const [answer] = await sock.receive();
      sock.close();
      assert.equal(answer[0], 0x7a);
      let dnsSpan: ReceivedSpan | undefined;
      for (let i = 0; i < 120 && dnsSpan === undefined; i++) {
        dnsSpan = receiver.spans.find((s) =>
          s.name === "dns.query" && s.attributes["dns.question.name"] === "traced.example"
        );
        if (dnsSpan === undefined) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(dnsSpan, "no dns.query span");
      assert.equal(dnsSpan.scope, "ghost.cns");
      assert.equal(dnsSpan.attributes["dns.transport"], "udp");
      assert.equal(dnsSpan.attributes["dns.question.type"], "A");
      assert.equal(typeof dnsSpan.attributes["dns.response.rcode"], "string");
    } finally {
      await devnet.stop();
      await receiver.close();
      await backend.shutdown();
    }
  },
});
