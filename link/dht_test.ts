import assert from "node:assert/strict";
import fc from "fast-check";
import { toHex } from "../core/mod.ts";
import { decodePeerRecord, encodePeerRecord, K, makePeerRecord, RecordStore, RoutingTable } from "./dht.ts";
import { linkIdentity } from "./handshake.ts";
import { dhtKeyOf, xorDistance } from "./peer.ts";

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const cmp = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
};

Deno.test("dht property: closest() is the n nearest contacts by XOR distance, nearest first", () => {
  fc.assert(
    fc.property(
      key,
      fc.uniqueArray(key, { maxLength: 60, selector: toHex }),
      key,
      fc.nat(30),
      (self, ks, target, n) => {
        const t = new RoutingTable(self);
        const added = ks.filter((k) => t.add({ key: k, addr: `10.0.0.1:${k[0]}` }, 0));
        const got = t.closest(target, n);
        const want = added.map((k) => ({ k, d: xorDistance(dhtKeyOf(k), target) }))
          .sort((a, b) => cmp(a.d, b.d)).slice(0, n).map((x) => toHex(x.k));
        assert.deepEqual(got.map((c) => toHex(c.key)), want);
        assert.equal(t.size, added.length);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("dht: a bucket holds K contacts; a full one takes a new contact only in place of a stale one", () => {
  const self = new Uint8Array(32);
  const t = new RoutingTable(self, 1000);
  // Keys whose DHT keys differ from self's in the top bit all land in bucket 255: find K + 1 of them.
  const selfId = dhtKeyOf(self);
  const far: Uint8Array[] = [];
  for (let i = 1; far.length < K + 1; i++) {
    const k = new Uint8Array(32).fill(i & 0xff);
    k[1] = i >> 8;
    if (((dhtKeyOf(k)[0] ?? 0) ^ (selfId[0] ?? 0)) & 0x80) far.push(k);
  }
  for (const k of far.slice(0, K)) assert.ok(t.add({ key: k, addr: "a:1" }, 0));
  const last = far[K] ?? new Uint8Array(32);
  assert.equal(t.add({ key: last, addr: "a:1" }, 500), false, "the bucket's contacts are fresh");
  assert.equal(t.add({ key: last, addr: "a:1" }, 2000), true, "the least recently seen is stale");
  assert.equal(t.size, K);
  assert.equal(t.add({ key: self, addr: "a:1" }, 0), false, "never itself");
  t.remove(last);
  assert.equal(t.size, K - 1);
});

Deno.test("dht: peer records round-trip, verify, and refuse tampering", () => {
  const id = linkIdentity(new Uint8Array(32).fill(7));
  const rdv = linkIdentity(new Uint8Array(32).fill(8)).publicKey;
  for (
    const loc of [{ direct: "203.0.113.5:4490" }, { rendezvous: { key: rdv, addr: "[2001:db8::1]:4490" } }]
  ) {
    const r = makePeerRecord(id, loc, 1_700_000_000_000);
    const bytes = encodePeerRecord(r);
    assert.deepEqual(decodePeerRecord(bytes), r);
    for (const at of [0, 35, 45, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at] = (bad[at] ?? 0) ^ 1;
      assert.equal(decodePeerRecord(bad), undefined, `flipped byte ${at}`);
    }
  }
});

Deno.test("dht property: any bytes decode to a verified record or undefined, never an exception", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
    const r = decodePeerRecord(b);
    assert.ok(r === undefined || r.key.length === 32);
  }));
});

Deno.test("dht: the record store keeps the newest record per peer, refuses stale and future ones, is bounded", () => {
  const id = linkIdentity(new Uint8Array(32).fill(7));
  const now = 1_700_000_000_000;
  const s = new RecordStore(2, 60_000);
  assert.ok(s.put(makePeerRecord(id, { direct: "1.1.1.1:1" }, now), now));
  assert.equal(s.put(makePeerRecord(id, { direct: "2.2.2.2:2" }, now - 1), now), false, "older");
  assert.ok(s.put(makePeerRecord(id, { direct: "3.3.3.3:3" }, now + 1), now));
  assert.deepEqual(s.get(id.publicKey, now)?.location, { direct: "3.3.3.3:3" });
  const other = (n: number) => linkIdentity(new Uint8Array(32).fill(n));
  assert.equal(s.put(makePeerRecord(other(9), { direct: "x:1" }, now + 10 * 60_000), now), false, "future");
  assert.equal(s.put(makePeerRecord(other(9), { direct: "x:1" }, now - 120_000), now), false, "stale");
  assert.ok(s.put(makePeerRecord(other(9), { direct: "x:1" }, now), now));
  assert.equal(s.put(makePeerRecord(other(10), { direct: "x:1" }, now), now), false, "full");
  assert.ok(s.put(makePeerRecord(other(10), { direct: "x:1" }, now + 70_000), now + 70_000), "after expiry");
  assert.equal(s.get(id.publicKey, now + 70_000), undefined, "expired");
});
