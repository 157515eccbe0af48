import assert from "node:assert/strict";
import { DiskCache } from "./deno_cache_disk.ts";
import { type CacheEntry, ResponseCache } from "./cache_store.ts";

function entry(key: string, body: string, vary: [string, string | null][] = []): CacheEntry {
  const b = new TextEncoder().encode(body);
  const fields: [string, string][] = [["cache-control", "max-age=60"], ["content-type", "text/plain"]];
  return {
    key,
    status: 200,
    fields,
    body: b,
    requestTime: 1,
    responseTime: 2,
    vary,
    size: ResponseCache.sizeOf(fields, b, key),
  };
}

Deno.test("[wraith cache] the disk tier survives a restart, keeps variants apart, and never serves a torn entry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wraith_disk_" });
  try {
    const d1 = await DiskCache.open(dir, 1_000_000);
    await d1.put(entry("https://a/x", "hello x"));
    await d1.put(entry("https://a/y", "json y", [["accept", "application/json"]]));
    await d1.put(entry("https://a/y", "html y", [["accept", "text/html"]]));
    assert.equal(d1.entries, 3);
    // A restart reads the directory back.
    const d2 = await DiskCache.open(dir, 1_000_000);
    assert.equal(d2.entries, 3);
    const x = await d2.get("https://a/x", () => null);
    assert.equal(new TextDecoder().decode(x?.body), "hello x");
    assert.deepEqual(x?.fields, [["cache-control", "max-age=60"], ["content-type", "text/plain"]]);
    const html = await d2.get("https://a/y", (n) => (n === "accept" ? "text/html" : null));
    assert.equal(new TextDecoder().decode(html?.body), "html y");
    assert.equal(await d2.get("https://a/y", () => null), undefined, "no variant for a missing accept");
    // Tear a file: cut its body short, as a crash of a non-atomic writer would. It is refused and removed.
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    for (const f of files) {
      const bytes = Deno.readFileSync(`${dir}/${f}`);
      if (new TextDecoder().decode(bytes).includes("hello x")) {
        Deno.writeFileSync(`${dir}/${f}`, bytes.slice(0, -3));
      }
    }
    const d3 = await DiskCache.open(dir, 1_000_000);
    assert.equal(await d3.get("https://a/x", () => null), undefined);
    assert.equal(d3.torn, 1);
    assert.equal(d3.entries, 2);
    // Leftover temporary files of an interrupted write are cleaned at start.
    Deno.writeFileSync(`${dir}/${"a".repeat(64)}.tmp-123`, new Uint8Array(5));
    await DiskCache.open(dir, 1_000_000);
    assert.ok(![...Deno.readDirSync(dir)].some((e) => e.name.includes(".tmp-")));
    // Purge by prefix, and the byte bound evicts the least recently used.
    assert.equal(await d3.delete("https://a/", true), 2);
    const small = await DiskCache.open(dir, 700);
    for (let i = 0; i < 5; i++) await small.put(entry(`https://b/${i}`, "z".repeat(100)));
    assert.ok(small.bytes <= 700 && small.entries < 5);
    assert.ok(await small.get("https://b/4", () => null));
    assert.equal(await small.get("https://b/0", () => null), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
