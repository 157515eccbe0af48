// Test worker: ready at once, but its drain never finishes; the supervisor must terminate it at the deadline.
import { runServiceWorker } from "../../../core/mod.ts";

runServiceWorker(() =>
  Promise.resolve({
    endpoints: [],
    metrics: () => null,
    drain: () => new Promise<void>(() => {}),
  })
);
