// Test helper: an HTTP/2 echo server in its own process (so a test can run it under a low `ulimit -n`). Prints
// `PORT n` once listening and one `EVENT ...` line per server event; stops when stdin closes.
import { Http2Server } from "../deno_http2.ts";

const server = new Http2Server({
  handshakeTimeoutMs: 60_000,
  onStream: (s) => {
    void (async () => {
      try {
        for (let c = await s.read(); c !== null; c = await s.read()) { /* drain */ }
        s.respond([[":status", "200"]]);
        await s.end([["x-accept-errors", String(server.stats.acceptErrors)]]);
      } catch {
        // reset
      }
    })();
  },
  onEvent: (event) => console.log(`EVENT ${event}`),
});
const { port } = await server.listen();
console.log(`PORT ${port}`);
for await (const _ of Deno.stdin.readable) { /* until closed */ }
await server.close();
