// Load generator for the bridge benchmark: grpc-js under Node, against interop.Echo at a target.
//   node load.js unary HOST:PORT CONCURRENCY CALLS BUDGET_MS   -> {"n","perSec","p50","p99"}
//   node load.js stream HOST:PORT MESSAGES                      -> {"n","perSec"}
"use strict";
const { grpc, Echo, OPTIONS } = require("./_load.js");

const [mode, target, a, b, c] = process.argv.slice(2);
const client = new Echo(target, grpc.credentials.createInsecure(), OPTIONS);
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;

function unaryOnce() {
  return new Promise((resolve, reject) =>
    client.Unary({ text: "x".repeat(32), n: 1 }, (err) => (err ? reject(err) : resolve()))
  );
}

async function unary(concurrency, calls, budgetMs) {
  for (let i = 0; i < 100; i++) await unaryOnce(); // warm-up: connection, JIT
  const lat = [];
  let left = calls;
  const end = performance.now() + budgetMs;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left > 0 && performance.now() < end) {
      left--;
      const s = performance.now();
      await unaryOnce();
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  return { n: lat.length, perSec: lat.length / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

function stream(n) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = 0;
    const s = client.ServerStream({ text: "x".repeat(32), n });
    s.on("data", () => got++);
    s.on("end", () => resolve({ n: got, perSec: got / ((performance.now() - t0) / 1000) }));
    s.on("error", reject);
  });
}

(async () => {
  const r = mode === "unary" ? await unary(Number(a), Number(b), Number(c)) : await stream(Number(a));
  console.log(JSON.stringify(r));
  client.close();
})().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
