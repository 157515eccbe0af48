import assert from "node:assert/strict";
import { ensureDevPki } from "./dev_pki.ts";
import { loadTlsFiles } from "./tls_files.ts";
import { writeFileAtomic } from "../core/mod.ts";

Deno.test("writeFileAtomic() replaces a file with the given mode and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/secret.pem`;
    await Deno.writeTextFile(path, "old");
    await writeFileAtomic(path, "new", { mode: 0o600 });
    assert.equal(await Deno.readTextFile(path), "new");
    assert.equal(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["secret.pem"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTlsFiles() loads operator files, warns about a readable key, and names bad files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await ensureDevPki({ dir: `${dir}/pki` });
    await Deno.writeTextFile(`${dir}/cert.pem`, pki.certPem);
    await Deno.writeTextFile(`${dir}/key.pem`, pki.keyPem);
    await Deno.chmod(`${dir}/key.pem`, 0o644);
    await Deno.writeTextFile(`${dir}/ca.pem`, pki.caPem);
    const tls = await loadTlsFiles({
      certFile: `${dir}/cert.pem`,
      keyFile: `${dir}/key.pem`,
      caFile: `${dir}/ca.pem`,
    });
    assert.equal(tls.certPem, pki.certPem);
    assert.equal(tls.caPem, pki.caPem);
    assert.equal(tls.warnings.length, 1);
    assert.match(tls.warnings[0] ?? "", /mode 0644; use 0600/);

    await assert.rejects(
      loadTlsFiles({ certFile: `${dir}/key.pem`, keyFile: `${dir}/key.pem` }),
      /Cannot use certFile ".*key\.pem": no "BEGIN CERTIFICATE" block/,
    );
    await assert.rejects(
      loadTlsFiles({ certFile: `${dir}/cert.pem`, keyFile: `${dir}/missing.pem` }),
      (e: unknown) => e instanceof Deno.errors.NotFound && /Cannot read keyFile/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
