// grpc-js client for the interop test: runs every scenario against argv[2] and prints one JSON object.
"use strict";
const { grpc, Echo, OPTIONS } = require("./_load.js");

const client = new Echo(process.argv[2], grpc.credentials.createInsecure(), OPTIONS);
const deadline = (ms) => new Date(Date.now() + ms);
const err = (e) => ({ code: grpc.status[e.code], details: e.details });

function unary(method, req, md = new grpc.Metadata(), ms = 10_000) {
  return new Promise((resolve) => {
    // grpc-js calls back before it emits "status": resolve once both happened.
    let header;
    let result;
    let trailer;
    const done = () => result && trailer && resolve({ ...result, header, trailer });
    const call = client[method](req, md, { deadline: deadline(ms) }, (e, resp) => {
      result = { e, resp, call };
      done();
    });
    call.on("metadata", (m) => (header = m));
    call.on("status", (s) => {
      trailer = s.metadata;
      done();
    });
  });
}

function collect(stream) {
  return new Promise((resolve, reject) => {
    const out = [];
    stream.on("data", (m) => out.push(m));
    stream.on("end", () => resolve(out));
    stream.on("error", reject);
  });
}

async function main() {
  const out = {};
  const md = new grpc.Metadata();
  md.set("x-in", "from-node");
  const u = await unary("Unary", { text: "hello", n: 41 }, md);
  if (u.e) throw u.e;
  out.unary = {
    text: u.resp.text,
    n: u.resp.n,
    header: String(u.header?.get("x-echo-in")[0] ?? ""),
    trailer: String(u.trailer?.get("x-trailer")[0] ?? ""),
  };
  out.server_stream =
    (await collect(client.ServerStream({ text: "s", n: 3 }, { deadline: deadline(10_000) }))).map((m) => m.n);
  out.client_stream = await new Promise((resolve, reject) => {
    const call = client.ClientStream(
      { deadline: deadline(10_000) },
      (e, r) => (e ? reject(e) : resolve(r.text)),
    );
    for (const t of ["a", "b", "c"]) call.write({ text: t });
    call.end();
  });
  const bidi = client.Bidi({ deadline: deadline(10_000) });
  const got = collect(bidi);
  bidi.write({ text: "x" });
  bidi.write({ text: "y" });
  bidi.end();
  out.bidi = (await got).map((m) => m.text);
  const f = await unary("Unary", { text: "fail" });
  out.error = f.e ? err(f.e) : null;
  const big = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
  const b = await unary("Unary", { text: "big", blob: big }, new grpc.Metadata(), 30_000);
  out.big = !b.e && Buffer.compare(Buffer.from(b.resp.blob), big) === 0;
  const t0 = Date.now();
  const d = await unary("Slow", { text: "slow" }, new grpc.Metadata(), 300);
  out.deadline = d.e ? { ...err(d.e), seconds: (Date.now() - t0) / 1000 } : null;
  const pending = client.Slow({ text: "slow" }, { deadline: deadline(10_000) }, () => {});
  await new Promise((r) => setTimeout(r, 300));
  const cancelled = new Promise((resolve) =>
    pending.on("status", (s) => resolve({ code: grpc.status[s.code] }))
  );
  pending.cancel();
  out.cancel = await cancelled;
  console.log(JSON.stringify(out));
  client.close();
  process.exit(0);
}

/** `count` server streams of `n` messages, 16 at a time: how many were short, out of order or failed. */
async function streams(count, n) {
  const result = { streams: 0, truncated: 0, out_of_order: 0, failed: 0, messages: 0 };
  let left = count;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (left > 0) {
      left--;
      try {
        const got = (await collect(client.ServerStream({ text: "s", n }, { deadline: deadline(30_000) })))
          .map((m) => m.n);
        result.streams++;
        result.messages += got.length;
        if (got.length !== n) result.truncated++;
        else if (got.some((v, i) => v !== i)) result.out_of_order++;
      } catch {
        result.failed++;
      }
    }
  }));
  console.log(JSON.stringify(result));
  client.close();
  process.exit(0);
}

(process.argv[3] === "streams" ? streams(Number(process.argv[4]), Number(process.argv[5])) : main()).catch(
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
