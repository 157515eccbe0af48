import assert from "node:assert/strict";
import { TokenBucket } from "./rate_limit.ts";

Deno.test("TokenBucket allows a burst, then the refill rate, with an injected clock", () => {
  const b = new TokenBucket({ capacity: 3, refillPerSecond: 2 }, 1000);
  assert.equal(b.take(1000), true);
  assert.equal(b.take(1000), true);
  assert.equal(b.take(1000), true);
  assert.equal(b.take(1000), false);
  assert.equal(b.take(1400), false); // 0.8 tokens
  assert.equal(b.take(1500), true); // 1.0 token
  assert.equal(b.available(100_000), 3, "never above capacity");
  assert.equal(b.take(99_000), true, "a clock that goes backwards adds nothing and breaks nothing");
});

Deno.test("TokenBucket rejects nonsense settings", () => {
  assert.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }, 0), RangeError);
  assert.throws(() => new TokenBucket({ capacity: 1, refillPerSecond: -1 }, 0), RangeError);
});
