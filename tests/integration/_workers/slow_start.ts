// Test worker: its start never finishes (a service waiting on something that does not come).
import { runServiceWorker } from "../../../core/mod.ts";

runServiceWorker(() => new Promise(() => {}));
