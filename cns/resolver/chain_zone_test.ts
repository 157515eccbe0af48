import assert from "node:assert/strict";
import { EMPTY_RECORDS, type NameRecords } from "../../chain/mod.ts";
import { type ChainName, type ChainNameFeed, ChainNameIndex, ChainZone, ipv6Text } from "./chain_zone.ts";
import { RCODE } from "../proto/message.ts";

/** A chain in memory: names by height, blocks pushed by the test. */
class FakeChain implements ChainNameFeed {
  names = new Map<string, ChainName>();
  height = 0;
  failNext = 0;
  #blocks: Array<{ height: number; names: string[] }> = [];
  #wake: (() => void) | undefined;

  headHeight(): Promise<number> {
    return Promise.resolve(this.height);
  }
  listNames(startAfter: string): Promise<{ names: string[]; next: string }> {
    const all = [...this.names.keys()].sort().filter((n) => n > startAfter);
    // Pages of one, to exercise the cursor.
    return Promise.resolve({ names: all.slice(0, 1), next: all.length > 1 ? all[0] ?? "" : "" });
  }
  resolveName(name: string): Promise<ChainName | undefined> {
    return Promise.resolve(this.names.get(name));
  }
  async *streamBlocks(from: number, signal: AbortSignal): AsyncIterable<{ height: number; names: string[] }> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("stream refused");
    }
    let next = from;
    while (!signal.aborted) {
      const b = this.#blocks.find((x) => x.height === next);
      if (b) {
        next++;
        yield b;
        continue;
      }
      await new Promise<void>((r) => {
        this.#wake = r;
        signal.addEventListener("abort", () => r(), { once: true });
      });
    }
  }
  /** Commits a block that changes `changes` (undefined = the name is gone). */
  commit(changes: Record<string, ChainName | undefined>): void {
    this.height++;
    for (const [n, e] of Object.entries(changes)) e ? this.names.set(n, e) : this.names.delete(n);
    this.#blocks.push({ height: this.height, names: Object.keys(changes) });
    this.#wake?.();
  }
}

const rec = (r: Partial<NameRecords>, expiry = 1000n, zns = new Uint8Array(0)): ChainName => ({
  records: { ...EMPTY_RECORDS, ...r },
  znsContract: zns,
  expiry,
});
const v6 = (last: number) => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), last]);

async function settle(index: ChainNameIndex, height: number): Promise<void> {
  for (let i = 0; i < 200 && index.height < height; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(index.height, height);
}

Deno.test("ChainZone answers SERVFAIL until the index has loaded, then from the snapshot", async () => {
  const chain = new FakeChain();
  chain.names.set("alice.ghost", rec({ aaaa: [v6(7)], txt: ["hi"] }));
  chain.names.set("bob.ghost", rec({ cname: "alice.ghost" }));
  chain.names.set("token.zns", rec({}, 1000n, new Uint8Array(20).fill(0xab)));
  const index = new ChainNameIndex(chain, { backoffMs: 5 });
  const ghost = new ChainZone("ghost", index);
  assert.equal(ghost.lookup({ name: "alice.ghost", type: "AAAA" }).rcode, RCODE.SERVFAIL);
  index.start();
  await index.whenReady(2_000);
  try {
    const a = ghost.lookup({ name: "alice.ghost", type: "AAAA" });
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.equal(a.authoritative, true);
    assert.deepEqual(a.answers.map((r) => [r.name, r.type, r.ttl, r.data]), [[
      "alice.ghost",
      "AAAA",
      30,
      "2001:db8::7",
    ]]);
    // A CNAME is followed inside the zone.
    const c = ghost.lookup({ name: "bob.ghost", type: "AAAA" });
    assert.deepEqual(c.answers.map((r) => `${r.name} ${r.type} ${r.data}`), [
      "bob.ghost CNAME alice.ghost",
      "alice.ghost AAAA 2001:db8::7",
    ]);
    // NODATA and NXDOMAIN carry the SOA, whose serial is the chain height.
    const nodata = ghost.lookup({ name: "alice.ghost", type: "MX" });
    assert.equal(nodata.rcode, RCODE.NOERROR);
    assert.equal(nodata.answers.length, 0);
    assert.equal(nodata.authorities[0]?.type, "SOA");
    assert.equal(ghost.lookup({ name: "carol.ghost", type: "A" }).rcode, RCODE.NXDOMAIN);
    assert.equal(ghost.lookup({ name: "x.alice.ghost", type: "A" }).rcode, RCODE.NXDOMAIN);
    const zns = new ChainZone("zns", index).lookup({ name: "token.zns", type: "TXT" });
    assert.deepEqual(zns.answers.map((r) => r.data), [`zns=0x${"ab".repeat(20)}`]);
  } finally {
    await index.close();
  }
});

Deno.test("ChainNameIndex follows blocks: registrations, updates, deletions, expiry, and a lost stream", async () => {
  const chain = new FakeChain();
  chain.failNext = 1;
  const index = new ChainNameIndex(chain, { backoffMs: 5 });
  const zone = new ChainZone("ghost", index);
  index.start();
  await index.whenReady(2_000);
  try {
    chain.commit({ "new.ghost": rec({ a: [Uint8Array.from([10, 0, 0, 1])] }, 3n) });
    await settle(index, 1);
    assert.deepEqual(zone.lookup({ name: "NEW.ghost.", type: "A" }).answers.map((r) => r.data), ["10.0.0.1"]);
    chain.commit({ "new.ghost": rec({ a: [Uint8Array.from([10, 0, 0, 2])] }, 3n) });
    await settle(index, 2);
    assert.deepEqual(zone.lookup({ name: "new.ghost", type: "A" }).answers.map((r) => r.data), ["10.0.0.2"]);
    // Expiry is by height: at height 4 > expiry 3 the name no longer resolves.
    chain.commit({});
    chain.commit({});
    await settle(index, 4);
    assert.equal(zone.lookup({ name: "new.ghost", type: "A" }).rcode, RCODE.NXDOMAIN);
    chain.commit({ "new.ghost": undefined });
    await settle(index, 5);
    assert.equal(index.get("new.ghost"), undefined);
  } finally {
    await index.close();
  }
});

Deno.test("ipv6Text() writes RFC 5952 text", () => {
  assert.equal(ipv6Text(v6(1)), "2001:db8::1");
  assert.equal(ipv6Text(new Uint8Array(16)), "::");
  assert.equal(ipv6Text(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), "::1");
  // A single zero group is not compressed; the longest run is (RFC 5952 §4.2.2, §4.2.3).
  assert.equal(
    ipv6Text(Uint8Array.from([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])),
    "2001:db8:0:1::1",
  );
});
