// Test worker: tries what a confined service must not do and reports each outcome by error name.
import { runServiceWorker } from "../../../supervisor/worker_runtime.ts";

async function outcome(f: () => unknown): Promise<string> {
  try {
    await f();
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.name : String(err);
  }
}

runServiceWorker(async (ctx) => {
  const results = {
    readOther: await outcome(() => Deno.readTextFile(`${ctx.config.dataDir}/chain/secret.txt`)),
    writeOther: await outcome(() => Deno.writeTextFile(`${ctx.config.dataDir}/chain/x.txt`, "x")),
    readPki: await outcome(() => Deno.readTextFile(`${ctx.config.dataDir}/pki/key.pem`)),
    quicOwnPort: await outcome(() =>
      new Deno.QuicEndpoint({ hostname: ctx.config.ping.listen.hostname, port: ctx.config.ping.listen.port })
        .close()
    ),
    quicOtherPort: await outcome(() =>
      new Deno.QuicEndpoint({
        hostname: ctx.config.ping.listen.hostname,
        port: ctx.config.ping.listen.port + 1,
      })
    ),
    udpOtherPort: await outcome(() =>
      Deno.listenDatagram({ hostname: "127.0.0.1", port: ctx.config.ping.listen.port + 2, transport: "udp" })
    ),
    tcpConnectAdmin: await outcome(() =>
      Deno.connect({ hostname: ctx.config.admin.listen.hostname, port: ctx.config.admin.listen.port })
    ),
    env: await outcome(() => Deno.env.get("HOME")),
    run: await outcome(() => new Deno.Command("true").output()),
  };
  ctx.log.info("probe", { results });
  return { endpoints: [], metrics: () => null, drain: () => Promise.resolve() };
});
