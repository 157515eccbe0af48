import assert from "node:assert/strict";
import { fromService, LOG_FILE_MAX_BYTES, LogFile, readLogs } from "./log_file.ts";

Deno.test("LogFile writes JSON lines that readLogs() reads back with their fields, per service, last N", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = new LogFile(dir);
    for (let i = 0; i < 5; i++) {
      f.write({
        ts: `t${i}`,
        level: "info",
        svc: i % 2 === 0 ? "cns" : "chain",
        msg: `m${i}`,
        fields: { i },
      });
    }
    f.close();
    const cns = await readLogs(dir, "cns", 2);
    assert.deepEqual(cns.map((r) => [r.msg, r.fields?.i]), [["m2", 2], ["m4", 4]]);
    assert.equal((await readLogs(dir, undefined, 50)).length, 5);
    assert.deepEqual(await readLogs(dir, "chain", 0), []);
    assert.ok(fromService({ ts: "", level: "info", svc: "chain.consensus", msg: "" }, "chain"));
    assert.ok(!fromService({ ts: "", level: "info", svc: "chain-2", msg: "" }, "chain"));
    assert.ok(LOG_FILE_MAX_BYTES >= 1 << 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
