import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { parseConfig } from "../supervisor/config.ts";
import { findService } from "../supervisor/services.ts";
import { binaryCodeRoot, compileArgs } from "./compile.ts";

Deno.test("compileArgs() grants each binary exactly its permission sets, never -A", async () => {
  const doc = parseToml(await Deno.readTextFile(new URL("./ghost.example.toml", import.meta.url)));
  const config = parseConfig({ file: { path: "ghost.example.toml", doc } });
  const ping = findService("ping");
  assert.ok(ping);
  const args = compileArgs(ping, config);
  assert.ok(!args.includes("-A") && !args.some((a) => a.startsWith("--allow-all")));
  assert.ok(!args.some((a) => /^--allow-(run|ffi)/.test(a)));
  assert.ok(args.includes("--allow-net=127.0.0.1:9180,[::]:4433"), args.join(" "));
  assert.ok(
    args.includes(
      `--allow-read=${
        [
          // The binary's own embedded modules, not this checkout: built anywhere, it runs anywhere.
          binaryCodeRoot("ghost-ping"),
          "/etc/ghost/ghost.toml",
          "/etc/ghost/tls/fullchain.pem",
          "/etc/ghost/tls/privkey.pem",
          // Read once at start to warn about small UDP buffers.
          "/proc/sys/net/core/rmem_default",
          "/var/lib/ghost",
        ]
          .sort().join(",")
      }`,
    ),
    args.join(" "),
  );
  assert.ok(args.includes("--allow-write=/var/lib/ghost"));
  const env = args.find((a) => a.startsWith("--allow-env="))?.slice("--allow-env=".length).split(",") ?? [];
  assert.ok(env.includes("GHOST_DATA_DIR") && env.every((v) => v.startsWith("GHOST_")), env.join(","));
  assert.deepEqual(args.slice(-6), [
    "--output",
    "deploy/dist/ghost-ping",
    "mod.ts",
    "ping",
    "--config",
    "/etc/ghost/ghost.toml",
  ]);
  assert.equal(args[args.indexOf("--include") + 1], "transport/worker.ts");
});

Deno.test("compileArgs() gives a public DNS server outbound net to every host, and says nothing else changes", async () => {
  const doc = parseToml(await Deno.readTextFile(new URL("./ghost.example.toml", import.meta.url)));
  const config = parseConfig({ file: { path: "ghost.example.toml", doc } });
  const cns = findService("cns");
  assert.ok(cns);
  const args = compileArgs(cns, config);
  // Deno checks UDP sends against the destination: answering arbitrary clients needs net to all hosts.
  assert.ok(args.includes("--allow-net"));
  assert.ok(args.includes("--allow-write=/var/lib/ghost"));
  assert.ok(!args.some((a) => /^--allow-(run|ffi|sys|all)/.test(a)) && !args.includes("-A"));
  assert.equal(args[args.indexOf("--include") + 1], "cns/worker.ts");
});

Deno.test("compileArgs() never names the build checkout, and embeds the workers a service starts", async () => {
  const doc = parseToml(await Deno.readTextFile(new URL("./ghost.example.toml", import.meta.url)));
  const config = parseConfig({ file: { path: "ghost.example.toml", doc } });
  const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  for (const name of ["cns", "bridge", "chain", "wallet", "ping"]) {
    const svc = findService(name);
    assert.ok(svc);
    const args = compileArgs(svc, config);
    assert.ok(!args.some((a) => a.includes(root)), `${name}: ${args.join(" ")}`);
  }
  const chain = findService("chain");
  assert.ok(chain);
  const args = compileArgs(chain, config);
  const includes = args.flatMap((a, i) => (a === "--include" ? [args[i + 1]] : []));
  assert.deepEqual(includes, ["chain/worker.ts", "crypto/ed25519_verify_worker.ts"]);
  assert.ok(
    args.some((a) => a.startsWith("--allow-read=") && a.includes("/tmp/deno-compile-ghost-chain/crypto")),
  );
});

Deno.test("deno task compile names a missing DENORT_BIN instead of blaming the download", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./compile.ts", import.meta.url).pathname, "ping"],
    cwd: new URL("../", import.meta.url).pathname,
    env: { DENORT_BIN: "/nonexistent/denort", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, err);
  assert.match(err, /DENORT_BIN=\/nonexistent\/denort is not a file/);
  assert.doesNotMatch(err, /download/i);
});
