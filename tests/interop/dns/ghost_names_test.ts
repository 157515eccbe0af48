// The .ghost journey of issue #7, end to end through real processes and real clients: `mod.ts up` runs the
// devnet; the wallet CLI registers a name (its transactions reach the chain through the bridge); cns follows
// the chain through its own bridge node and answers dig (UDP), kdig (TCP) and the Go DoQ client (RFC 9250).
import assert from "node:assert/strict";
import { buildDoqClient, hasTool, run } from "./_tools.ts";
import { modCli, startDevnet, until } from "../_devnet.ts";
import { zoneKeySeed, ZoneSigner } from "../../../cns/mod.ts";

const HAS_CLIENTS = hasTool("dig") && hasTool("kdig") && hasTool("go");

const mod = modCli;

Deno.test({
  name: "a .ghost name registered with the wallet CLI resolves through dig, kdig and the DoQ client",
  ignore: !HAS_CLIENTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const doq = await buildDoqClient();
    const net = await startDevnet("ghost-names-");
    const { dataDir, env } = net;
    const dns = net.dnsPort;
    const doqPort = net.doqPort;
    const dig = (name: string, type: string, ...extra: string[]) =>
      run("dig", [`@127.0.0.1`, "-p", String(dns), name, type, "+time=2", "+tries=1", ...extra]);
    try {
      // The devnet genesis holds dev.ghost; once cns has loaded the chain's names it answers it.
      await until(
        async () => (await dig("dev.ghost", "AAAA", "+short")).stdout.trim() === "::1",
        60_000,
        "dev.ghost",
      );

      const imported = await mod([
        "wallet",
        "import",
        "--key-file",
        `${dataDir}/chain/dev.key`,
        "--type",
        "ed25519",
      ], env);
      assert.equal(imported.code, 0, imported.err);
      const reg = await mod([
        "wallet",
        "name",
        "register",
        "journey.ghost",
        "--aaaa",
        "2001:db8::42",
        "--txt",
        "from the wallet",
        "--json",
      ], env);
      assert.equal(reg.code, 0, reg.err);
      // Included in a block: cns hears of the block through StreamBlocks and answers from memory.
      const lag = await until(
        async () => (await dig("journey.ghost", "AAAA", "+short")).stdout.trim() === "2001:db8::42",
        10_000,
        "journey.ghost AAAA over UDP",
      );
      console.log(`journey.ghost answered ${lag.toFixed(0)} ms after the wallet saw its block`);

      const full = await dig("journey.ghost", "TXT");
      assert.match(full.stdout, /status: NOERROR/);
      assert.match(full.stdout, /flags: qr aa/);
      assert.match(full.stdout, /journey\.ghost\.\s+30\s+IN\s+TXT\s+"from the wallet"/);
      const kdig = await run("kdig", [`@127.0.0.1`, "-p", String(dns), "+tcp", "journey.ghost", "AAAA"]);
      assert.equal(kdig.code, 0, kdig.stderr);
      assert.match(kdig.stdout, /journey\.ghost\.\s+30\s+IN\s+AAAA\s+2001:db8::42/);
      const overQuic = await run(doq, [
        "-addr",
        `127.0.0.1:${doqPort}`,
        "-ca",
        `${dataDir}/pki/ca.pem`,
        "-name",
        "journey.ghost",
        "-type",
        "AAAA",
      ]);
      assert.equal(overQuic.code, 0, overQuic.stderr);
      assert.match(overQuic.stdout, /journey\.ghost\.\s+30\s+IN\s+AAAA\s+2001:db8::42/);

      // An update moves the answer; an unknown name is NXDOMAIN with the zone's SOA.
      const set = await mod(["wallet", "name", "set", "journey.ghost", "--aaaa", "2001:db8::43"], env);
      assert.equal(set.code, 0, set.err);
      await until(
        async () => (await dig("journey.ghost", "AAAA", "+short")).stdout.trim() === "2001:db8::43",
        10_000,
        "the updated AAAA",
      );
      const missing = await dig("nobody-here.ghost", "AAAA");
      assert.match(missing.stdout, /status: NXDOMAIN/);
      assert.match(missing.stdout, /ghost\.\s+30\s+IN\s+SOA\s+ns\.ghost\. hostmaster\.ghost\./);

      // Verifiable answers: the .ghost zone is DNSSEC-signed (Ed25519). delv, BIND's validator, checks them
      // against the trust anchor published on chain; a wrong anchor makes validation fail.
      if (hasTool("delv")) {
        // The trust anchor comes from the chain: dns.ghost's TXT, read with its state proof.
        const resolved = await mod([
          "chain",
          "resolve",
          "dns.ghost",
          "--peer",
          env.GHOST_CHAIN_LISTEN ?? "",
          "--ca",
          `${dataDir}/pki/ca.pem`,
          "--json",
        ], env);
        assert.equal(resolved.code, 0, resolved.err);
        const doc = JSON.parse(resolved.out) as { proofVerified: boolean; records: { txt: string[] } };
        assert.equal(doc.proofVerified, true);
        const key = doc.records.txt.find((t) => t.startsWith("ghost-dnskey="))?.slice("ghost-dnskey=".length);
        assert.ok(key, "dns.ghost anchors the ghost zone key");
        // ... and it is the key cns signs with (derived from its key on disk).
        const cnsSeed = (await Deno.readTextFile(`${dataDir}/mesh/cns.key`)).trim();
        const signer = new ZoneSigner("ghost", zoneKeySeed(cnsSeed, "ghost"));
        assert.equal(btoa(String.fromCharCode(...signer.publicKey)), key);
        const anchor = `${dataDir}/ghost.anchor`;
        await Deno.writeTextFile(anchor, `trust-anchors { ghost. static-key 257 3 15 "${key}"; };\n`);
        const delv = (file: string, name: string, type: string) =>
          run("delv", ["@127.0.0.1", "-p", String(dns), "-a", file, "+root=ghost", name, type]);
        const good = await delv(anchor, "journey.ghost", "AAAA");
        assert.match(good.stdout + good.stderr, /; fully validated/);
        assert.match(good.stdout, /journey\.ghost\.\s+30\s+IN\s+AAAA\s+2001:db8::43/);
        const denied = await delv(anchor, "nobody-here.ghost", "AAAA");
        assert.match(denied.stdout + denied.stderr, /negative response, fully validated/);
        const wrong = new ZoneSigner("ghost", new Uint8Array(32).fill(9));
        await Deno.writeTextFile(`${dataDir}/wrong.anchor`, wrong.trustAnchor() + "\n");
        const bad = await delv(`${dataDir}/wrong.anchor`, "journey.ghost", "AAAA");
        assert.doesNotMatch(bad.stdout + bad.stderr, /fully validated/);
        const kdigSigs = await run("kdig", [
          `@127.0.0.1`,
          "-p",
          String(dns),
          "+dnssec",
          "journey.ghost",
          "AAAA",
        ]);
        assert.match(kdigSigs.stdout, /RRSIG\s+AAAA 15 2 30 /);
      }
    } finally {
      await net.stop();
    }
  },
});
