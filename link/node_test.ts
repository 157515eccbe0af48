// LinkNode on loopback (no NAT): a rendezvous and two members link by key, messages cross sealed both ways,
// links rekey without dropping, an unknown key is a clear error, and a relay refuses a stream that does not start with RELAY_OPEN.
import assert from "node:assert/strict";
import { ensureDevPki } from "../transport/mod.ts";
import { linkIdentity, LinkNode, type LinkNodeOptions } from "./mod.ts";
import { toHex } from "../core/mod.ts";

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);

/** Nodes on loopback sharing one dev PKI; close() closes them all and removes the PKI. */
async function loopback(prefix: string): Promise<{
  start(n: number, extra?: Partial<LinkNodeOptions>): Promise<LinkNode>;
  rendezvousOf(node: LinkNode): NonNullable<LinkNodeOptions["rendezvous"]>;
  close(): Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix });
  const pki = await ensureDevPki({ dir });
  const nodes: LinkNode[] = [];
  return {
    async start(n, extra = {}) {
      const node = await LinkNode.start({
        identity: linkIdentity(seed(n)),
        hostname: "127.0.0.1",
        port: 0,
        cert: pki.certPem,
        key: pki.keyPem,
        caCerts: [pki.caPem],
        serverName: "localhost",
        ...extra,
      });
      nodes.push(node);
      return node;
    },
    rendezvousOf: (node) => ({ hostname: "127.0.0.1", port: node.addr.port, publicKey: node.publicKey }),
    async close() {
      for (const node of nodes) node.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "LinkNode: members of a rendezvous link by key on loopback; unknown keys are refused clearly",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const net = await loopback("link_node_");
    const rdv = await net.start(9, { dialBackPort: 0 });
    const a = await net.start(1, { rendezvous: net.rendezvousOf(rdv) });
    const b = await net.start(2, { rendezvous: net.rendezvousOf(rdv) });
    try {
      assert.equal(a.observed, `127.0.0.1:${a.addr.port}`, "identify: the rendezvous saw a here");
      assert.equal(await a.reachable(), true, "AutoNAT: no NAT on loopback, the dial-back gets through");
      const [la, lb] = await Promise.all([a.connect(b.publicKey), b.accept()]);
      assert.equal(la.path, "direct");
      assert.deepEqual(la.peer, b.publicKey);
      assert.deepEqual(lb.peer, a.publicKey);
      await la.send(new TextEncoder().encode("to b"));
      assert.equal(new TextDecoder().decode((await lb.receive()) ?? new Uint8Array()), "to b");
      await lb.send(new TextEncoder().encode("to a"));
      assert.equal(new TextDecoder().decode((await la.receive()) ?? new Uint8Array()), "to a");
      // IP packets go in QUIC datagrams on a direct link: a 1,280-byte one is sealed, cut and put back together.
      const packet = crypto.getRandomValues(new Uint8Array(1280));
      await la.sendPacket(packet);
      assert.deepEqual(await lb.receivePacket(), packet);
      await lb.sendPacket(packet.subarray(0, 60));
      assert.deepEqual(await la.receivePacket(), packet.subarray(0, 60));
      // A rekey: fresh session keys on the same link, no message lost on either path around it. The side that
      // dialed the link (the lower key's) starts rekeys.
      const [opener, other] = toHex(a.publicKey) < toHex(b.publicKey) ? [la, lb] : [lb, la];
      assert.equal(opener.rekeys, 0);
      await assert.rejects(other.rekey(), /Only the side that opened/);
      const sends = Promise.all([0, 1, 2, 3].map((i) => opener.sendPacket(packet.subarray(0, 100 + i))));
      await opener.rekey();
      await sends;
      for (let i = 0; i < 4; i++) assert.equal((await other.receivePacket())?.length, 100 + i);
      assert.equal(opener.rekeys, 1);
      assert.equal(other.rekeys, 1);
      await opener.sendPacket(packet);
      assert.deepEqual(await other.receivePacket(), packet, "new keys, opener -> other");
      await other.sendPacket(packet);
      assert.deepEqual(await opener.receivePacket(), packet, "new keys, other -> opener");
      await other.send(new TextEncoder().encode("after"));
      assert.equal(new TextDecoder().decode((await opener.receive()) ?? new Uint8Array()), "after");
      await opener.rekey();
      assert.equal(other.rekeys, 2);
      assert.equal(la.refused + lb.refused, 0, "nothing refused across two rekeys");
      await assert.rejects(a.connect(linkIdentity(seed(5)).publicKey), /does not know peer/);
      la.close();
      lb.close();
    } finally {
      await net.close();
    }
  },
});

Deno.test({
  name: "LinkNode: connections over maxConnections are refused before their handshake",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const net = await loopback("link_cap_");
    const rdv = await net.start(9, { maxConnections: 1 });
    await net.start(1, { rendezvous: net.rendezvousOf(rdv) });
    try {
      await assert.rejects(net.start(2, { rendezvous: net.rendezvousOf(rdv) }));
    } finally {
      await net.close();
    }
  },
});

Deno.test({
  name: "LinkNode: a peer registered with another rendezvous is found through the DHT and linked directly",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const net = await loopback("link_dht_");
    // Two public nodes (rendezvous, DHT servers); the second knows the first from its seeds.
    const r1 = await net.start(21);
    const r2 = await net.start(22, { seeds: [{ key: r1.publicKey, addr: `127.0.0.1:${r1.addr.port}` }] });
    const a = await net.start(23, { rendezvous: net.rendezvousOf(r1) });
    const b = await net.start(24, { rendezvous: net.rendezvousOf(r2) });
    try {
      await r2.refresh();
      await b.refresh();
      assert.equal(r1.dhtStats.contacts, 1, "r1 learned r2 (a serving node) from its query");
      const found = await a.findPeer(b.publicKey);
      assert.ok(found !== undefined && "rendezvous" in found.location, "b's record names its rendezvous");
      assert.deepEqual(found.location.rendezvous.key, r2.publicKey);
      const [la, lb] = await Promise.all([a.connect(b.publicKey), b.accept()]);
      assert.equal(la.path, "direct");
      assert.deepEqual(la.peer, b.publicKey);
      assert.deepEqual(lb.peer, a.publicKey);
      await la.send(new TextEncoder().encode("found you"));
      assert.equal(new TextDecoder().decode((await lb.receive()) ?? new Uint8Array()), "found you");
      // A key nobody published: a clear error, not a hang.
      await assert.rejects(a.connect(linkIdentity(seed(25)).publicKey), /nor does the DHT/);
      la.close();
      lb.close();
    } finally {
      await net.close();
    }
  },
});
