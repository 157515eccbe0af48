// The consensus WAL file: records round-trip, a torn or corrupt tail is dropped (what a crash mid-append leaves),
// a reset replaces the log atomically; CRC-32 against its standard check value.
import assert from "node:assert/strict";
import { ConsensusWal, crc32 } from "./deno_consensus.ts";
import type { ConsensusInput } from "./consensus.ts";

Deno.test("crc32: the IEEE check value of '123456789' is 0xCBF43926", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("ConsensusWal: round trip, torn tail dropped, corrupt record stops the replay, reset replaces", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/consensus.wal`;
    const wal = new ConsensusWal(path);
    assert.deepEqual(await wal.read(), { height: 0, inputs: [] });
    const a: ConsensusInput = { kind: "timeout", height: 7, round: 1, step: "prevote" };
    const b: ConsensusInput = { kind: "built", height: 7, round: 1, block: new Uint8Array([1, 2, 3]) };
    await wal.reset(7, [a]);
    await wal.append([b]);
    wal.close();
    assert.deepEqual(await wal.read(), { height: 7, inputs: [a, b] });
    const bytes = await Deno.readFile(path);
    // A crash mid-append leaves part of a record: it is dropped, the rest kept.
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 2));
    assert.deepEqual(await wal.read(), { height: 7, inputs: [a] });
    // A flipped bit in the last record fails its checksum.
    const bad = bytes.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    await Deno.writeFile(path, bad);
    assert.deepEqual(await wal.read(), { height: 7, inputs: [a] });
    await wal.reset(8, []);
    wal.close();
    assert.deepEqual(await wal.read(), { height: 8, inputs: [] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
