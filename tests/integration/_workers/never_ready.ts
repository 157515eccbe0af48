// Test worker: every start fails (like a service whose port is taken).
import { runServiceWorker } from "../../../core/mod.ts";

runServiceWorker(() => Promise.reject(new Error("address in use")));
