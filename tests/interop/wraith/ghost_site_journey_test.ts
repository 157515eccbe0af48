// The edge journey, end to end through real processes and real clients: `mod.ts up` runs the devnet with wraith's
// .ghost sites on; the wallet CLI registers app.ghost (open) and vault.ghost (signed requests only), each with a
// TXT ghost-backend=URL; the chain commits them; cns answers app.ghost over DNS-over-QUIC (the quic-go client);
// wraith gets a certificate for the new names from the supervisor's dev CA (curl trusts it; a name not on chain
// has none); headless Chromium loads https://app.ghost/ over HTTP/3 from wraith; a second request is a cache hit; a request
// signed with the wallet (`mod.ts wallet sign-request`) by vault.ghost's holder is admitted to vault.ghost while an
// unsigned one, and one signed by another account, are not.
import assert from "node:assert/strict";
import { chromiumOverQuic } from "./_servers.ts";
import { buildDoqClient, freePort, hasTool, run } from "../dns/_tools.ts";
import { modCli, startDevnet, until } from "../_devnet.ts";

const HAS_CLIENTS = hasTool("chromium") && hasTool("curl") && hasTool("go");

Deno.test({
  name:
    "journey: a .ghost site registered with the wallet is served by wraith over HTTP/3 (Chromium), cached, and guarded by wallet signatures",
  ignore: !HAS_CLIENTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const doq = await buildDoqClient();
    let originHits = 0;
    const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      originHits++;
      const who = req.headers.get("ghost-identity");
      return new Response(`<!doctype html><title>app</title><p id=msg>welcome ${who ?? "guest"}</p>`, {
        headers: { "content-type": "text/html", "cache-control": "max-age=300" },
      });
    });
    const wport = freePort();
    const net = await startDevnet("ghost-site-", {
      env: {
        GHOST_WRAITH_LISTEN: `127.0.0.1:${wport}`,
        GHOST_WRAITH_GHOST_SITES: "true",
        GHOST_WRAITH_CACHE_MAX_BYTES: "1000000",
        // Only the holder of vault.ghost on chain (the dev account that registers it) gets in.
        GHOST_WRAITH_AUTH: "site-vault.ghost signed allow_holders=vault.ghost",
      },
    });
    const { dataDir, env } = net;
    const profile = await Deno.makeTempDir({ prefix: "ghost_site_chromium_" });
    try {
      await until(
        async () => (await fetch(`${net.admin}/healthz`).then((r) => r.text(), () => "")) === "ok\n",
        60_000,
        "devnet",
      );
      assert.equal(
        (await modCli([
          "wallet",
          "import",
          "--key-file",
          `${dataDir}/chain/dev.key`,
          "--type",
          "ed25519",
          "--label",
          "dev",
        ], env)).code,
        0,
      );
      const backend = `ghost-backend=http://127.0.0.1:${origin.addr.port}`;
      for (const name of ["app.ghost", "vault.ghost"]) {
        const reg = await modCli([
          "wallet",
          "name",
          "register",
          name,
          "--account",
          "dev",
          "--aaaa",
          "::1",
          "--txt",
          backend,
          "--json",
        ], env);
        assert.equal(reg.code, 0, reg.err);
      }
      // cns answers the name over DNS-over-QUIC once the chain has it.
      await until(
        async () => {
          const r = await run(doq, [
            "-addr",
            `127.0.0.1:${net.doqPort}`,
            "-ca",
            `${dataDir}/pki/ca.pem`,
            "-name",
            "app.ghost",
            "-type",
            "TXT",
          ]);
          return r.code === 0 && r.stdout.includes(backend);
        },
        20_000,
        "app.ghost TXT over DoQ",
      );

      // wraith asks the supervisor's dev CA for a certificate as the names appear on chain: curl, trusting only the
      // dev CA (no pinning), gets a verified TLS handshake for app.ghost, and none for a name that is not on chain.
      const resolve = (
        name: string,
      ) => ["--resolve", `${name}:${wport}:127.0.0.1`, "--cacert", `${dataDir}/pki/ca.pem`];
      await until(
        async () => {
          const r = await run("curl", [
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            ...resolve("app.ghost"),
            `https://app.ghost:${wport}/`,
          ]);
          return r.stdout === "200";
        },
        20_000,
        "a certificate for app.ghost",
      );
      const unknown = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        ...resolve("nowhere.ghost"),
        `https://nowhere.ghost:${wport}/`,
      ]);
      assert.equal(unknown.code, 60, `a name not on chain has no certificate: ${unknown.stderr}`);

      // Chromium over QUIC: the host resolver maps app.ghost to wraith (as cns's AAAA ::1 would, on this box).
      await until(
        async () => {
          const r = await chromiumOverQuic({
            host: "app.ghost",
            port: wport,
            path: "/",
            certFile: `${dataDir}/pki/cert.pem`,
            profile,
            budgetMs: 3000,
          });
          return r.stdout.includes("welcome guest");
        },
        30_000,
        "https://app.ghost/ in Chromium over HTTP/3 (wraith follows the chain's names)",
      );

      // A second request is a cache hit.
      const again = await run("curl", [
        "-sS",
        "-D",
        "-",
        ...resolve("app.ghost"),
        `https://app.ghost:${wport}/`,
      ]);
      assert.match(again.stdout, /cache-status: wraith; hit; ttl=\d+/i, again.stdout);
      const hitsAfter = originHits;

      // vault.ghost admits only signed requests.
      const url = `https://vault.ghost:${wport}/`;
      const unsigned = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        ...resolve("vault.ghost"),
        url,
      ]);
      assert.equal(unsigned.stdout, "401");
      const sig = await modCli(["wallet", "sign-request", "--account", "dev", "--url", url], env);
      assert.equal(sig.code, 0, sig.err);
      await Deno.writeTextFile(`${dataDir}/sig.txt`, sig.out);
      const signed = await run("curl", ["-sS", ...resolve("vault.ghost"), "-H", `@${dataDir}/sig.txt`, url]);
      const dev = (await modCli(["wallet", "address", "--account", "dev"], env)).out.trim();
      assert.match(signed.stdout, new RegExp(`welcome ${dev}`), signed.stdout + signed.stderr);
      assert.equal(originHits, hitsAfter + 1, "only the signed request reached the origin");
      // A valid signature by another wallet account is not the name's holder: 403.
      assert.equal((await modCli(["wallet", "new", "--label", "other"], env)).code, 0);
      const otherSig = await modCli(["wallet", "sign-request", "--account", "other", "--url", url], env);
      assert.equal(otherSig.code, 0, otherSig.err);
      await Deno.writeTextFile(`${dataDir}/other.txt`, otherSig.out);
      const stranger = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        ...resolve("vault.ghost"),
        "-H",
        `@${dataDir}/other.txt`,
        url,
      ]);
      assert.equal(stranger.stdout, "403");
    } finally {
      await net.stop();
      await origin.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
