import assert from "node:assert/strict";
import { ResponseRateLimiter } from "./rate_limiter.ts";
import { ConnectionLimiter } from "./connection_limiter.ts";
import { ednsOf, udpResponseLimit } from "../proto/edns.ts";

Deno.test("ResponseRateLimiter limits per /24 with slip and refills over time", () => {
  const rrl = new ResponseRateLimiter({ responsesPerSecond: 2, slip: 2 });
  assert.equal(rrl.check("192.0.2.1", 0), "send");
  assert.equal(rrl.check("192.0.2.2", 0), "send");
  assert.equal(rrl.check("192.0.2.3", 0), "drop");
  assert.equal(rrl.check("192.0.2.4", 0), "slip");
  assert.equal(rrl.check("198.51.100.1", 0), "send", "another prefix has its own bucket");
  assert.equal(rrl.check("192.0.2.1", 500), "send", "half a second refills one token");
  assert.equal(rrl.check("192.0.2.1", 500), "drop");
});

Deno.test("ResponseRateLimiter with rate 0 never limits and bounds its table", () => {
  assert.equal(new ResponseRateLimiter({ responsesPerSecond: 0 }).check("::1", 0), "send");
  const rrl = new ResponseRateLimiter({ responsesPerSecond: 1, maxPrefixes: 3 });
  for (let i = 0; i < 10; i++) rrl.check(`10.0.${i}.1`, 0);
  assert.equal(rrl.tracked, 3);
});

Deno.test("ConnectionLimiter enforces per-client and total limits", () => {
  const l = new ConnectionLimiter({ maxTotal: 3, maxPerClient: 2 });
  assert.ok(l.tryAcquire("a"));
  assert.ok(l.tryAcquire("a"));
  assert.ok(!l.tryAcquire("a"));
  assert.ok(l.tryAcquire("b"));
  assert.ok(!l.tryAcquire("c"));
  l.release("a");
  assert.ok(l.tryAcquire("c"));
  assert.equal(l.total, 3);
});

Deno.test("udpResponseLimit() is 512 without EDNS and the capped client size with it", () => {
  assert.equal(udpResponseLimit(ednsOf({}), 1232), 512);
  const opt = (size: number) => ({ additionals: [{ name: ".", type: "OPT", udpPayloadSize: size }] });
  assert.equal(udpResponseLimit(ednsOf(opt(4096)), 1232), 1232);
  assert.equal(udpResponseLimit(ednsOf(opt(100)), 1232), 512);
  assert.equal(udpResponseLimit(ednsOf(opt(800)), 1232), 800);
});
