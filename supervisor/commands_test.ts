import assert from "node:assert/strict";
import { formatStatus } from "./commands.ts";
import type { StatusDocument } from "./admin.ts";

Deno.test("formatStatus() shows a running service whose accept loop is failing as degraded", () => {
  const doc: StatusDocument = {
    version: "0",
    uptimeSeconds: 1,
    pid: 1,
    tls: { source: "dev", notAfter: "2030-01-01T00:00:00.000Z", daysLeft: 100 },
    services: [
      { name: "bridge", state: "running", attempt: 1, restarts: 0, since: "", endpoints: [], degraded: true },
      { name: "cns", state: "running", attempt: 1, restarts: 0, since: "", endpoints: [] },
    ],
    metrics: {},
  };
  const text = formatStatus(doc, "http://127.0.0.1:9180");
  assert.match(text, /^bridge\s+degraded\s/m);
  assert.match(text, /^cns\s+running\s/m);
});
