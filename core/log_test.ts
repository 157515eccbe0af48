import assert from "node:assert/strict";
import { formatRecord, Logger, type LogRecord, redact } from "./log.ts";

Deno.test("redact() hides secret-looking fields at any depth", () => {
  assert.deepEqual(
    redact({ passphrase: "hunter2", user: "a", nested: { private_key: "k", ok: 1 }, api_token: "t" }),
    {
      passphrase: "[redacted]",
      user: "a",
      nested: { private_key: "[redacted]", ok: 1 },
      api_token: "[redacted]",
    },
  );
});

Deno.test("Logger filters by level and formats text and JSON lines", () => {
  const recs: LogRecord[] = [];
  const log = new Logger("cns", "info", (r) => recs.push(r), () => new Date(0));
  log.debug("hidden");
  log.info("listening", { addr: "[::1]:53", mnemonic: "abandon abandon" });
  assert.equal(recs.length, 1);
  const rec = recs[0];
  assert.ok(rec);
  assert.equal(
    formatRecord(rec, "text"),
    "1970-01-01T00:00:00.000Z INFO  [cns] listening addr=[::1]:53 mnemonic=[redacted]",
  );
  assert.deepEqual(JSON.parse(formatRecord(rec, "json")), {
    ts: "1970-01-01T00:00:00.000Z",
    level: "info",
    svc: "cns",
    msg: "listening",
    addr: "[::1]:53",
    mnemonic: "[redacted]",
  });
});

Deno.test("formatRecord() quotes text values with spaces", () => {
  const line = formatRecord(
    { ts: "t", level: "warn", svc: "s", msg: "m", fields: { why: "port in use" } },
    "text",
  );
  assert.equal(line, 't WARN  [s] m why="port in use"');
});
