import assert from "node:assert/strict";
import { formatHostPort, formatIp, parseHostPort } from "./host_port.ts";

Deno.test("formatIp() writes IPv4 dotted and IPv6 in RFC 5952 form (its §4 examples)", () => {
  assert.equal(formatIp(new Uint8Array([192, 0, 2, 1])), "192.0.2.1");
  const v6 = (groups: number[]): Uint8Array => new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));
  assert.equal(formatIp(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])), "2001:db8::1");
  assert.equal(formatIp(v6([0, 0, 0, 0, 0, 0, 0, 1])), "::1");
  assert.equal(formatIp(v6([0, 0, 0, 0, 0, 0, 0, 0])), "::");
  // §4.2.2: a single zero group is not shortened; §4.2.3: the first of equal runs.
  assert.equal(formatIp(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), "2001:db8:0:1:1:1:1:1");
  assert.equal(formatIp(v6([0x2001, 0, 0, 1, 0, 0, 1, 1])), "2001::1:0:0:1:1");
  assert.equal(formatIp(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])), "2001:db8::1:0:0:1");
  assert.throws(() => formatIp(new Uint8Array(5)), RangeError);
});

Deno.test("parseHostPort() and formatHostPort() round-trip", () => {
  for (const t of ["127.0.0.1:53", "[::1]:853", "node-1.example:7000"]) {
    const hp = parseHostPort(t);
    assert.ok(hp);
    assert.equal(formatHostPort(hp), t);
  }
});
