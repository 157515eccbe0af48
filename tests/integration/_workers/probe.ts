// Test worker: tries what a confined service must not do and reports each outcome by error name.
import { runServiceWorker } from "../../../core/mod.ts";
import type { PingConfig } from "../../../transport/mod.ts";

async function outcome(f: () => unknown): Promise<string> {
  try {
    await f();
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.name : String(err);
  }
}

runServiceWorker<PingConfig>(async (ctx) => {
  const listen = ctx.config.listen;
  const results = {
    readOther: await outcome(() => Deno.readTextFile(`${ctx.dataDir}/../chain/secret.txt`)),
    writeOther: await outcome(() => Deno.writeTextFile(`${ctx.dataDir}/../chain/x.txt`, "x")),
    readPki: await outcome(() => Deno.readTextFile(`${ctx.dataDir}/../pki/key.pem`)),
    quicOwnPort: await outcome(() =>
      new Deno.QuicEndpoint({ hostname: listen.hostname, port: listen.port })
        .close()
    ),
    quicOtherPort: await outcome(() =>
      new Deno.QuicEndpoint({
        hostname: listen.hostname,
        port: listen.port + 1,
      })
    ),
    udpOtherPort: await outcome(() =>
      Deno.listenDatagram({ hostname: "127.0.0.1", port: listen.port + 2, transport: "udp" })
    ),
    tcpConnectOther: await outcome(() => Deno.connect({ hostname: listen.hostname, port: listen.port + 3 })),
    env: await outcome(() => Deno.env.get("HOME")),
    run: await outcome(() => new Deno.Command("true").output()),
  };
  ctx.log.info("probe", { results });
  return { endpoints: [], metrics: () => null, drain: () => Promise.resolve() };
});
