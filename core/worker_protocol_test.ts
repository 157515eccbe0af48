import assert from "node:assert/strict";
import { parseFromWorker } from "./worker_protocol.ts";

Deno.test("parseFromWorker() accepts well-formed messages", () => {
  assert.deepEqual(
    parseFromWorker({ t: "ready", endpoints: [{ name: "q", transport: "quic", addr: "[::1]:1" }] }),
    {
      t: "ready",
      endpoints: [{ name: "q", transport: "quic", addr: "[::1]:1" }],
    },
  );
  assert.deepEqual(parseFromWorker({ t: "fatal", message: "boom" }), { t: "fatal", message: "boom" });
  assert.deepEqual(parseFromWorker({ t: "drained" }), { t: "drained" });
});

Deno.test("parseFromWorker() rejects malformed messages", () => {
  const bad: unknown[] = [
    null,
    "ready",
    { t: "nope" },
    { t: "ready", endpoints: "x" },
    { t: "ready", endpoints: [{ name: 1 }] },
    { t: "ready", endpoints: [{ name: "a", transport: "quic", addr: "x", alpn: [1] }] },
    { t: "log", rec: { ts: "t", level: "loud", svc: "s", msg: "m" } },
    { t: "log", rec: { ts: "t", level: "info", svc: "s", msg: "m", fields: [1] } },
    { t: "metrics", id: "1" },
    { t: "fatal" },
  ];
  for (const b of bad) assert.equal(parseFromWorker(b), undefined, JSON.stringify(b));
});

Deno.test("parseFromWorker() gives a message or undefined for any structured value (property)", async () => {
  const fc = (await import("fast-check")).default;
  const shaped = fc.record({
    t: fc.constantFrom("ready", "log", "metrics", "drained", "fatal", "other"),
    endpoints: fc.anything(),
    rec: fc.anything(),
    id: fc.anything(),
    message: fc.anything(),
    snapshot: fc.anything(),
  }, { requiredKeys: ["t"] });
  fc.assert(
    fc.property(fc.oneof(fc.anything(), shaped), (data) => {
      const msg = parseFromWorker(data);
      if (msg !== undefined) assert.ok(["ready", "log", "metrics", "drained", "fatal"].includes(msg.t));
    }),
    { numRuns: 2000 },
  );
});
