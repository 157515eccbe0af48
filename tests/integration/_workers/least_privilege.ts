// Test worker: reports what the supervisor handed it (its config section, which TLS parts, its drain bound).
import { runServiceWorker } from "../../../core/mod.ts";

runServiceWorker<unknown>((ctx) => {
  ctx.log.info("given", {
    config: ctx.config,
    tls: { certPem: ctx.tls.certPem !== "", keyPem: ctx.tls.keyPem !== "", caPem: ctx.tls.caPem !== "" },
    drainTimeoutMs: ctx.drainTimeoutMs,
  });
  return Promise.resolve({ endpoints: [], metrics: () => null, drain: () => Promise.resolve() });
});
