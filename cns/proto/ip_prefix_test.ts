import assert from "node:assert/strict";
import { AllowList, clientPrefix, parseCidr, parseIp } from "./ip_prefix.ts";

Deno.test("parseIp() reads v4, v6, mapped and rejects junk", () => {
  assert.deepEqual(parseIp("192.0.2.1"), Uint8Array.of(192, 0, 2, 1));
  assert.equal(parseIp("::1")?.length, 16);
  assert.equal(parseIp("[2001:db8::1]")?.[2], 0x0d);
  assert.deepEqual(parseIp("::ffff:10.1.2.3"), Uint8Array.of(10, 1, 2, 3));
  assert.equal(parseIp("1.2.3"), undefined);
  assert.equal(parseIp("1::2::3"), undefined);
  assert.equal(parseIp("256.0.0.1"), undefined);
});

Deno.test("clientPrefix() groups by /24 and /56", () => {
  assert.equal(clientPrefix("192.0.2.1"), clientPrefix("192.0.2.200"));
  assert.notEqual(clientPrefix("192.0.2.1"), clientPrefix("192.0.3.1"));
  assert.equal(clientPrefix("2001:db8:0:ab00::1"), clientPrefix("2001:db8:0:abff::2"));
  assert.notEqual(clientPrefix("2001:db8:0:ab00::1"), clientPrefix("2001:db8:0:ac00::1"));
});

Deno.test("AllowList allows only addresses inside its ranges", () => {
  const list = new AllowList(["127.0.0.0/8", "::1", "10.0.0.0/9"]);
  assert.ok(list.allows("127.5.5.5"));
  assert.ok(list.allows("::1"));
  assert.ok(list.allows("10.127.0.1"));
  assert.ok(!list.allows("10.128.0.1"));
  assert.ok(!list.allows("::2"));
  assert.ok(!list.allows("nonsense"));
  assert.throws(() => parseCidr("10.0.0.0/33"), RangeError);
  assert.throws(() => parseCidr("foo/8"), RangeError);
});
