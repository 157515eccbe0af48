import assert from "node:assert/strict";
import { ensureDevPki } from "../transport/mod.ts";
import { parseBridgeConfig } from "./config.ts";

Deno.test("bridge/worker.ts starts and drains with only its addresses and data dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bridge_worker_" });
  const pki = await ensureDevPki({ dir: `${dir}/pki` });
  const dataDir = `${dir}/bridge`;
  await Deno.mkdir(dataDir);
  // Fixed ports (the worker's net permission names them); another test may hold one, so a bind clash retries
  // with new ports, a few times.
  let worker: Worker | undefined;
  const messages: Array<{ t: string; [k: string]: unknown }> = [];
  const next = (t: string): Promise<{ t: string; [k: string]: unknown }> =>
    new Promise((resolve) => {
      const check = (): void => {
        const m = messages.find((x) => x.t === t || x.t === "fatal");
        if (m) resolve(m);
        else setTimeout(check, 20);
      };
      check();
    });
  const start = (): { t: string; [k: string]: unknown } | Promise<{ t: string; [k: string]: unknown }> => {
    const quicPort = 40000 + Math.floor(Math.random() * 10000);
    const grpcPort = quicPort + 1;
    messages.length = 0;
    worker?.terminate();
    worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      deno: {
        permissions: {
          net: [`127.0.0.1:${quicPort}`, `127.0.0.1:${grpcPort}`],
          read: [dataDir],
          write: [dataDir],
          env: false,
          sys: false,
          run: false,
          ffi: false,
          import: false,
        },
      },
    });
    worker.onmessage = (e) => messages.push(e.data);
    worker.postMessage({
      t: "start",
      service: "bridge",
      attempt: 1,
      // The supervisor sends the service's own parsed section and nothing else.
      config: parseBridgeConfig({ listen: `127.0.0.1:${quicPort}`, grpc_listen: `127.0.0.1:${grpcPort}` }),
      logLevel: "error",
      drainTimeoutMs: 2000,
      tls: { certPem: pki.certPem, keyPem: pki.keyPem, caPem: pki.caPem },
      dataDir,
    });
    return next("ready");
  };
  try {
    let ready = await start();
    for (let retry = 0; retry < 5 && /AddrInUse/.test(String(ready.message)); retry++) ready = await start();
    assert.equal(ready.t, "ready", JSON.stringify(ready));
    const key = await Deno.readTextFile(`${dataDir}/node.key`);
    assert.match(key.trim(), /^[0-9a-f]{64}$/);
    assert.equal(((await Deno.stat(`${dataDir}/node.key`)).mode ?? 0) & 0o777, 0o600);
    worker?.postMessage({ t: "drain", deadlineMs: Date.now() + 2000 });
    assert.equal((await next("drained")).t, "drained");
  } finally {
    worker?.terminate();
    await Deno.remove(dir, { recursive: true });
  }
});
