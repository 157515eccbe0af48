import assert from "node:assert/strict";
import { permissionSet, workerPermissions } from "../core/mod.ts";
import type { FromWorker } from "../core/mod.ts";
import { DenoWalletStore } from "./deno_wallet_store.ts";
import { parseWalletConfig } from "./config.ts";

Deno.test("wallet worker starts with only its keystore directory, reports no endpoint, metrics, drains", async () => {
  const dir = await Deno.makeTempDir();
  const worker = new Worker(new URL("./worker.ts", import.meta.url), {
    type: "module",
    // The permission set to register in the supervisor catalog: read and write of its data dir only.
    deno: { permissions: workerPermissions(permissionSet({ read: [dir], write: [dir] })) },
  });
  const inbox: FromWorker[] = [];
  const waiters: Array<() => void> = [];
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    inbox.push(e.data);
    waiters.splice(0).forEach((w) => w());
  };
  const next = async (t: FromWorker["t"]): Promise<FromWorker> => {
    for (;;) {
      const i = inbox.findIndex((m) => m.t === t);
      if (i >= 0) return inbox.splice(i, 1)[0] as FromWorker;
      const fatal = inbox.find((m) => m.t === "fatal");
      if (fatal !== undefined) assert.fail(JSON.stringify(fatal));
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  try {
    worker.postMessage({
      t: "start",
      service: "wallet",
      attempt: 1,
      config: parseWalletConfig(),
      logLevel: "error",
      drainTimeoutMs: 2000,
      tls: { certPem: "", keyPem: "", caPem: "" },
      dataDir: dir,
    });
    const ready = await next("ready");
    assert.deepEqual(ready.t === "ready" ? ready.endpoints : undefined, []);
    worker.postMessage({ t: "metrics", id: 7 });
    const m = await next("metrics");
    assert.ok(m.t === "metrics" && JSON.stringify(m.snapshot).includes("ghost_wallet_calls_total"));
    worker.postMessage({ t: "drain", deadlineMs: Date.now() + 2000 });
    await next("drained");
  } finally {
    worker.terminate();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DenoWalletStore writes 0600 files in a 0700 directory and lists wallets", async () => {
  const root = await Deno.makeTempDir();
  const store = new DenoWalletStore(`${root}/wallet`);
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.read("default"), undefined);
  await store.create("default", new Uint8Array([1, 2, 3]));
  await assert.rejects(store.create("default", new Uint8Array([4])), /exists/);
  await store.write("default", new Uint8Array([5]));
  assert.deepEqual(await store.read("default"), new Uint8Array([5]));
  assert.deepEqual(await store.list(), ["default"]);
  if (Deno.build.os !== "windows") {
    assert.equal(((await Deno.stat(store.path("default"))).mode ?? 0) & 0o777, 0o600);
    assert.equal(((await Deno.stat(`${root}/wallet`)).mode ?? 0) & 0o777, 0o700);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("parseWalletConfig() fills defaults and names the bad key", () => {
  assert.deepEqual(parseWalletConfig(undefined), { unlockIdleTimeoutMs: 300_000, maxMessageBytes: 4 << 20 });
  assert.throws(() => parseWalletConfig({ unlock_idle_timeout_ms: 0 }), /wallet.unlock_idle_timeout_ms/);
  assert.throws(() => parseWalletConfig({ passphrase: "x" }), /unknown key/);
});
