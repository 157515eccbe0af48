// Test helper: cns with UDP and DoH on free ports in its own process (so a test can run it under a low
// `ulimit -n`). Prints `UDP n`, `DOH n` and one `EVENT ...` line per reported event; stops when stdin closes.
import { ensureDevPki } from "../../../transport/mod.ts";
import { parseCnsConfig } from "../../config.ts";
import { startCnsServer } from "../cns_server.ts";

// Deno 2.9 sets up its signal thread on the first signal registration and panics if that happens while the
// process is out of descriptors (ext/signals: `Signals::new(..).unwrap()`). mod.ts registers its signal handlers
// at startup; this helper does the same, so the descriptor exhaustion below only tests cns.
const noop = () => {};
Deno.addSignalListener("SIGUSR2", noop);
Deno.removeSignalListener("SIGUSR2", noop);

const dir = await Deno.makeTempDir({ prefix: "doh_fd_" });
const pki = await ensureDevPki({ dir });
const server = await startCnsServer({
  config: parseCnsConfig({
    listen: ["127.0.0.1:0"],
    doq_listen: "",
    doh_listen: "127.0.0.1:0",
    local_zones: ["test"],
    records: ["a.test 60 A 192.0.2.1"],
  }),
  tls: pki,
  onError: (message) => console.log(`EVENT ${message}`),
});
for (const e of server.endpoints) console.log(`${e.name.toUpperCase()} ${e.port}`);
for await (const _ of Deno.stdin.readable) { /* until closed */ }
await server.close(Date.now() + 500);
await Deno.remove(dir, { recursive: true });
