import assert from "node:assert/strict";
import fc from "fast-check";
import { AF_INET, AF_INET6, decodeSockaddr, encodeSockaddr } from "./sockaddr.ts";
import { parseIp } from "../proto/ip_prefix.ts";

Deno.test("sockaddr: IPv4 and IPv6 round-trip through the kernel layout", () => {
  const v4 = encodeSockaddr(parseIp("192.0.2.7") ?? new Uint8Array(), 5353);
  assert.deepEqual([...v4.subarray(0, 8)], [AF_INET, 0, 0x14, 0xe9, 192, 0, 2, 7]);
  assert.deepEqual(decodeSockaddr(v4, 0, 16), { hostname: "192.0.2.7", port: 5353 });
  const v6 = encodeSockaddr(parseIp("2001:db8::1") ?? new Uint8Array(), 53);
  assert.equal(v6.length, 28);
  assert.equal(v6[0], AF_INET6);
  assert.deepEqual(decodeSockaddr(v6, 0, 28), { hostname: "2001:db8:0:0:0:0:0:1", port: 53 });
  // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6: they are plain IPv4 to RRL and allow-lists.
  const mapped = encodeSockaddr(new Uint8Array(16), 1);
  mapped.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1], 8);
  assert.deepEqual(decodeSockaddr(mapped, 0, 28), { hostname: "127.0.0.1", port: 1 });
  assert.equal(decodeSockaddr(Uint8Array.of(1, 0, 0, 0), 0, 4), undefined, "AF_UNIX is not an address here");
  assert.equal(decodeSockaddr(v6, 0, 16), undefined, "a short IPv6 address");
});

Deno.test("sockaddr property: any address and port decode to what parseIp reads back; any bytes never throw", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.ipV4(), fc.ipV6()),
      fc.integer({ min: 0, max: 65535 }),
      (ip, port) => {
        const bytes = parseIp(ip);
        if (bytes === undefined) return;
        const sa = encodeSockaddr(bytes, port);
        const back = decodeSockaddr(sa, 0, sa.length);
        assert.equal(back?.port, port);
        assert.deepEqual(parseIp(back?.hostname ?? ""), bytes);
      },
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(40), (b, len) => {
      decodeSockaddr(b, 0, len);
    }),
    { numRuns: 500 },
  );
});
