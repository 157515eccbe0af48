// Test worker: on its first start it becomes ready and then dies of an uncaught error; later starts stay up.
import { runServiceWorker } from "../../../core/mod.ts";

runServiceWorker((ctx) => {
  if (ctx.attempt === 1) {
    setTimeout(() => {
      throw new Error("simulated crash");
    }, 20);
  }
  return Promise.resolve({
    endpoints: [{ name: "fake", transport: "none", addr: `attempt-${ctx.attempt}` }],
    metrics: () => ({ attempt: ctx.attempt }),
    drain: () => Promise.resolve(),
  });
});
