import assert from "node:assert/strict";
import { MIN_RMEM_DEFAULT, warnSmallSocketBuffers } from "./run.ts";

Deno.test("start warns once when net.core.rmem_default is below 2 MiB, and not otherwise or when unreadable", async () => {
  const file = await Deno.makeTempFile();
  try {
    const warnings: string[] = [];
    const log = { warn: (m: string) => void warnings.push(m) };
    await Deno.writeTextFile(file, "212992\n");
    warnSmallSocketBuffers(log, file);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /UDP receive buffers are small/);
    await Deno.writeTextFile(file, `${MIN_RMEM_DEFAULT}\n`);
    warnSmallSocketBuffers(log, file);
    warnSmallSocketBuffers(log, `${file}.missing`);
    assert.equal(warnings.length, 1);
  } finally {
    await Deno.remove(file);
  }
});
