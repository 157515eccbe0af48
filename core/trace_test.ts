// Without OTEL_DENO (as `deno test` runs) tracing is off: every helper is a no-op that still runs the work and
// passes results and errors through, and nothing is added to metadata or log records.
import assert from "node:assert/strict";
import {
  activeTraceIds,
  endSpan,
  extractContext,
  inSpan,
  startSpan,
  traceHeaders,
  tracingEnabled,
  withSpan,
} from "./trace.ts";
import { Logger, type LogRecord } from "./log.ts";

Deno.test("trace: off without OTEL_DENO; helpers pass work, results and errors through", async () => {
  assert.equal(tracingEnabled(), false);
  assert.equal(startSpan("chain", "x"), undefined);
  endSpan(undefined, new Error("ignored"));
  assert.deepEqual(traceHeaders(), []);
  assert.equal(activeTraceIds(), undefined);
  // A remote traceparent is not adopted when tracing is off.
  const ctx = extractContext((
    n,
  ) => (n === "traceparent" ? "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" : undefined));
  assert.deepEqual(traceHeaders(ctx), []);
  assert.equal(await inSpan("wallet", "w", {}, (span) => Promise.resolve(span === undefined ? 7 : 0)), 7);
  await assert.rejects(inSpan("wallet", "w", {}, () => Promise.reject(new RangeError("boom"))), RangeError);
  assert.equal(withSpan(undefined, () => 3), 3);
  const recs: LogRecord[] = [];
  new Logger("t", "debug", (r) => recs.push(r)).info("plain", { a: 1 });
  assert.deepEqual(recs[0]?.fields, { a: 1 });
});
