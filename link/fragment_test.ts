import assert from "node:assert/strict";
import fc from "fast-check";
import { fragment, FRAGMENT_HEADER, MAX_FRAGMENTS, Reassembler } from "./fragment.ts";

Deno.test("fragment: a 1,280-byte IPv6 packet crosses 1,162-byte datagrams in two pieces", () => {
  const packet = crypto.getRandomValues(new Uint8Array(1280));
  const parts = fragment(packet, 7, 1162);
  assert.equal(parts.length, 2);
  assert.ok(parts.every((p) => p.length <= 1162));
  const r = new Reassembler();
  assert.equal(r.push(parts[1] ?? new Uint8Array(), 0), undefined);
  assert.deepEqual(r.push(parts[0] ?? new Uint8Array(), 1), packet);
  assert.deepEqual(fragment(Uint8Array.of(1, 2), 1, 1162).length, 1);
  assert.throws(() => fragment(new Uint8Array(100 * MAX_FRAGMENTS), 1, 100), /more than 8 fragments/);
});

Deno.test("fragment: duplicates, malformed fragments, expiry and the pending bound", () => {
  const r = new Reassembler({ maxPending: 2, timeoutMs: 100 });
  const a = fragment(new Uint8Array(300).fill(1), 1, 120);
  r.push(a[0] ?? new Uint8Array(), 0);
  assert.equal(r.push(a[0] ?? new Uint8Array(), 0), undefined, "a duplicate");
  assert.equal(r.push(Uint8Array.of(0, 1, 5, 3), 0), undefined);
  assert.equal(r.push(Uint8Array.of(0, 1), 0), undefined);
  assert.equal(r.malformed, 2);
  // Too late: the packet's first fragment expired.
  assert.equal(r.push(a[1] ?? new Uint8Array(), 500), undefined);
  assert.equal(r.push(a[2] ?? new Uint8Array(), 500), undefined);
  assert.ok(r.dropped >= 1);
  // Past the bound the oldest incomplete packet goes.
  for (let id = 10; id < 14; id++) {
    r.push((fragment(new Uint8Array(300), id, 120)[0]) ?? new Uint8Array(), 600);
  }
  assert.ok(r.dropped >= 3);
});

Deno.test("fragment property: any packet, any datagram size, any delivery order, comes back whole", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.integer({ min: FRAGMENT_HEADER + 400, max: 1500 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      (packet, size, id, reverse) => {
        const parts = fragment(packet, id, size);
        if (reverse) parts.reverse();
        const r = new Reassembler();
        let out: Uint8Array | undefined;
        for (const p of parts) out = r.push(p, 0) ?? out;
        assert.deepEqual(out, packet);
      },
    ),
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (junk) => {
    new Reassembler().push(junk, 0);
  }));
});
