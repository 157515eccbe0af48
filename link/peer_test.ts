import assert from "node:assert/strict";
import fc from "fast-check";
import { linkIdentity } from "./handshake.ts";
import { bucketOf, dhtKeyOf, meshAddress, meshPrefix, peerIdOf, xorDistance } from "./peer.ts";
import { formatIp } from "../core/mod.ts";
import { parseIp } from "../cns/mod.ts";

const key = (n: number): Uint8Array => linkIdentity(new Uint8Array(32).fill(n)).publicKey;

Deno.test("peer: id is the key's ghost1 address; mesh address is a ULA in the mesh's /48, the same for everyone", () => {
  assert.match(peerIdOf(key(1)), /^ghost1[0-9a-z]+$/);
  assert.notEqual(peerIdOf(key(1)), peerIdOf(key(2)));
  const a = meshAddress("home", key(1));
  assert.equal(a[0], 0xfd, "RFC 4193: fd00::/8, locally assigned");
  assert.deepEqual(a.subarray(0, 6), meshPrefix("home"));
  assert.deepEqual([...a.subarray(6, 8)], [0, 0], "subnet 0");
  assert.deepEqual(meshAddress("home", key(1)), a);
  assert.notDeepEqual(meshAddress("home", key(2)), a);
  assert.notDeepEqual(meshPrefix("work"), meshPrefix("home"));
});

Deno.test("peer: RFC 5952 text of IPv6 addresses", () => {
  const t = (s: string) => formatIp(parseIp(s) ?? new Uint8Array(16));
  assert.equal(t("2001:db8:0:0:0:0:2:1"), "2001:db8::2:1");
  assert.equal(t("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1", "one zero group is not shortened");
  assert.equal(t("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1", "the longest run");
  assert.equal(t("::"), "::");
  assert.equal(t("::1"), "::1");
  assert.equal(t("fd12:3456:789a:0:0:0:0:0"), "fd12:3456:789a::");
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
    assert.deepEqual(
      parseIp(formatIp(b)),
      b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff ? b.slice(12) : b,
    );
  }));
});

Deno.test("peer: Kademlia distance and buckets", () => {
  const self = dhtKeyOf(key(1));
  assert.equal(bucketOf(self, self), -1);
  const flip = (bit: number) => {
    const k = self.slice();
    k[31 - (bit >> 3)] = (k[31 - (bit >> 3)] ?? 0) ^ (1 << (bit & 7));
    return k;
  };
  assert.equal(bucketOf(self, flip(255)), 255);
  assert.equal(bucketOf(self, flip(0)), 0);
  assert.equal(bucketOf(self, flip(100)), 100);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (a, b) => {
        assert.deepEqual(xorDistance(a, b), xorDistance(b, a));
        assert.equal(bucketOf(a, b), bucketOf(b, a));
      },
    ),
  );
});
