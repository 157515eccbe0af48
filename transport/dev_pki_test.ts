import assert from "node:assert/strict";
import * as x509 from "@peculiar/x509";
import { certificateStatus, ensureDevPki } from "./dev_pki.ts";
import { ping, PING_ALPN, pingHandler } from "./ping.ts";
import { connectQuic } from "./pool.ts";
import { QuicServer } from "./server.ts";

const DAY = 86_400_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dev_pki_test_" });
  try {
    await fn(`${dir}/pki`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ensureDevPki() creates a CA and leaf once and reuses them", () =>
  withDir(async (dir) => {
    const first = await ensureDevPki({ dir });
    assert.equal(first.generated, "all");
    const second = await ensureDevPki({ dir });
    assert.equal(second.generated, "none");
    assert.equal(second.caPem, first.caPem);
    assert.equal(second.certPem, first.certPem);
    assert.equal(second.keyPem, first.keyPem);
    assert.match(first.keyPem, /^-----BEGIN PRIVATE KEY-----/);

    const ca = new x509.X509Certificate(first.caPem);
    const leaf = new x509.X509Certificate(first.certPem);
    assert.equal(ca.getExtension(x509.BasicConstraintsExtension)?.ca, true);
    assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.deepEqual([...(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    assert.ok(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true }));
    assert.deepEqual([...first.names].sort(), ["127.0.0.1", "::1", "localhost"].sort());
  }));

Deno.test("ensureDevPki() writes private keys with mode 0600 and certificates with 0644", () =>
  withDir(async (dir) => {
    await ensureDevPki({ dir });
    const mode = async (name: string): Promise<number> =>
      ((await Deno.stat(`${dir}/${name}`)).mode ?? 0) & 0o777;
    assert.equal(await mode("ca-key.pem"), 0o600);
    assert.equal(await mode("key.pem"), 0o600);
    assert.equal(await mode("ca.pem"), 0o644);
    assert.equal(await mode("cert.pem"), 0o644);
    assert.equal(((await Deno.stat(dir)).mode ?? 0) & 0o777, 0o700);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"], "no temp files left");
  }));

Deno.test("ensureDevPki() renews the leaf near expiry and keeps the CA", () =>
  withDir(async (dir) => {
    const now = new Date("2030-01-01T00:00:00Z");
    const first = await ensureDevPki({ dir, now, leafDays: 30 });
    assert.equal(first.notAfter.getTime(), now.getTime() + 30 * DAY);
    assert.equal(
      (await ensureDevPki({ dir, now: new Date(now.getTime() + 10 * DAY), leafDays: 30 })).generated,
      "none",
    );
    const later = new Date(now.getTime() + 20 * DAY); // 10 days left < 14
    const renewed = await ensureDevPki({ dir, now: later, leafDays: 30 });
    assert.equal(renewed.generated, "leaf");
    assert.equal(renewed.caPem, first.caPem);
    assert.notEqual(renewed.certPem, first.certPem);
    assert.equal(renewed.notAfter.getTime(), later.getTime() + 30 * DAY);
    const expired = new Date(now.getTime() + 100 * DAY);
    assert.equal((await ensureDevPki({ dir, now: expired, leafDays: 30 })).generated, "leaf");
  }));

Deno.test("ensureDevPki() regenerates the leaf when a configured name is missing", () =>
  withDir(async (dir) => {
    const first = await ensureDevPki({ dir });
    const more = await ensureDevPki({ dir, names: ["edge.ghost.local", "10.1.2.3"] });
    assert.equal(more.generated, "leaf");
    assert.equal(more.caPem, first.caPem);
    assert.ok(more.names.includes("edge.ghost.local"));
    assert.ok(more.names.includes("10.1.2.3"));
    // Equivalent spellings of a name that is present do not trigger a renewal.
    assert.equal((await ensureDevPki({ dir, names: ["EDGE.ghost.local", "[0:0::1]"] })).generated, "none");
    await assert.rejects(ensureDevPki({ dir, names: ["bad name!"] }), /not a DNS name or IP literal/);
  }));

Deno.test("ensureDevPki() replaces a damaged or mismatched key", () =>
  withDir(async (dir) => {
    const first = await ensureDevPki({ dir });
    await Deno.writeTextFile(`${dir}/key.pem`, "garbage");
    const fixed = await ensureDevPki({ dir });
    assert.equal(fixed.generated, "leaf");
    await Deno.remove(`${dir}/ca-key.pem`);
    const all = await ensureDevPki({ dir });
    assert.equal(all.generated, "all");
    assert.notEqual(all.caPem, first.caPem);
  }));

Deno.test("certificateStatus() reports expiry for the supervisor", () =>
  withDir(async (dir) => {
    const now = new Date("2030-01-01T00:00:00Z");
    const pki = await ensureDevPki({ dir, now, leafDays: 30 });
    const fresh = certificateStatus(pki.certPem, now);
    assert.deepEqual([fresh.expired, fresh.expiresSoon, fresh.daysLeft, fresh.notYetValid], [
      false,
      false,
      30,
      false,
    ]);
    const soon = certificateStatus(pki.certPem, new Date(now.getTime() + 25 * DAY));
    assert.deepEqual([soon.expired, soon.expiresSoon, soon.daysLeft], [false, true, 5]);
    const gone = certificateStatus(pki.certPem, new Date(now.getTime() + 31 * DAY));
    assert.deepEqual([gone.expired, gone.expiresSoon], [true, false]);
    assert.ok(gone.daysLeft < 0);
    assert.match(fresh.issuer, /GhostChain Edge Dev CA/);
    assert.throws(() => certificateStatus("not a cert"), TypeError);
  }));

Deno.test("dev PKI material completes a real QUIC handshake", () =>
  withDir(async (dir) => {
    const pki = await ensureDevPki({ dir });
    const server = new QuicServer({
      cert: pki.certPem,
      key: pki.keyPem,
      handlers: { [PING_ALPN]: pingHandler() },
    });
    try {
      for (const hostname of ["127.0.0.1"]) {
        const conn = await connectQuic(
          { hostname, port: server.addr.port, serverName: "localhost", alpn: PING_ALPN },
          { caCerts: [pki.caPem] },
        );
        const { payload } = await ping(conn, Uint8Array.of(1, 2, 3));
        assert.deepEqual(payload, Uint8Array.of(1, 2, 3));
        // The leaf carries the IP too: verifying against the IP literal works as well.
        const byIp = await connectQuic(
          { hostname, port: server.addr.port, alpn: PING_ALPN },
          { caCerts: [pki.caPem] },
        );
        for (const c of [conn, byIp]) c.close();
        await Promise.all([conn.closed, byIp.closed]);
      }
    } finally {
      await server.close();
    }
  }));
