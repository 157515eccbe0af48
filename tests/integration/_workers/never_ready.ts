// Test worker: every start fails (like a service whose port is taken).
import { runServiceWorker } from "../../../supervisor/worker_runtime.ts";

runServiceWorker(() => Promise.reject(new Error("address in use")));
