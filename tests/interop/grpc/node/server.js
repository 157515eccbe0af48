// grpc-js Echo server for the interop test: prints `PORT <n>` when ready and `EVENT <name>` lines.
"use strict";
const { grpc, Echo, OPTIONS } = require("./_load.js");

const event = (name) => console.log("EVENT " + name);

const server = new grpc.Server(OPTIONS);
server.addService(Echo.service, {
  Unary(call, cb) {
    const md = new grpc.Metadata();
    md.set("x-echo-in", String(call.metadata.get("x-in")[0] ?? ""));
    call.sendMetadata(md);
    const trailer = new grpc.Metadata();
    trailer.set("x-trailer", "node");
    if (call.request.text === "fail") {
      cb({ code: grpc.status.NOT_FOUND, details: "not here: ünïcode", metadata: trailer });
      return;
    }
    cb(null, { text: call.request.text, n: call.request.n + 1, blob: call.request.blob }, trailer);
  },
  ServerStream(call) {
    for (let i = 0; i < call.request.n; i++) call.write({ text: call.request.text, n: i });
    call.end();
  },
  ClientStream(call, cb) {
    let text = "";
    call.on("data", (m) => (text += m.text));
    call.on("end", () => cb(null, { text }));
  },
  Bidi(call) {
    call.on("data", (m) => call.write({ text: m.text + "!" }));
    call.on("end", () => call.end());
  },
  Slow(call, cb) {
    const timer = setTimeout(() => cb(null, { text: "late" }), 10_000);
    call.on("cancelled", () => {
      clearTimeout(timer);
      event("slow-cancelled");
    });
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log("PORT " + port);
});
process.stdin.resume();
process.stdin.on("end", () => server.forceShutdown());
