import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { zoneKeySeed, ZoneSigner } from "./dnssec.ts";
import { RCODE } from "../proto/message.ts";

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// RFC 8080 §6, example 1: Ed25519 key, DNSKEY, DS and the RRSIG over the MX RRset of example.com.
const RFC8080_SEED = b64("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=");

Deno.test("ZoneSigner reproduces the RFC 8080 example: DNSKEY, key tag, DS and the MX RRSIG", () => {
  const signer = new ZoneSigner("example.com", RFC8080_SEED, {
    // inception = now - 3600 = 1438207200; expiration = now + validity = 1440021600
    now: () => 1438210800 * 1000,
    validityS: 1440021600 - 1438210800,
    dnskeyTtl: 3600,
  });
  assert.equal(
    btoa(String.fromCharCode(...signer.publicKey)),
    "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
  );
  assert.equal(signer.keyTag, 3613);
  assert.equal(
    signer.ds().digest.toLowerCase(),
    "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
  );
  const rrsig = signer.sign([{
    name: "example.com",
    type: "MX",
    class: "IN",
    ttl: 3600,
    data: { preference: 10, exchange: "mail.example.com" },
  }]);
  const d = rrsig.data as { signature: Buffer; labels: number; keyTag: number; inception: number };
  assert.equal(d.labels, 2);
  assert.equal(d.keyTag, 3613);
  assert.equal(d.inception, 1438207200);
  assert.equal(
    Buffer.from(d.signature).toString("base64"),
    "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
  );
});

Deno.test("signResult() turns NXDOMAIN into a signed NODATA with a minimal NSEC at the name", () => {
  const signer = new ZoneSigner("ghost", new Uint8Array(32).fill(7), { now: () => 1_800_000_000_000 });
  const soa = {
    name: "ghost",
    type: "SOA",
    class: "IN",
    ttl: 30,
    data: {
      mname: "ns.ghost",
      rname: "hostmaster.ghost",
      serial: 5,
      refresh: 1,
      retry: 1,
      expire: 1,
      minimum: 30,
    },
  };
  const r = signer.signResult(
    {
      rcode: RCODE.NXDOMAIN,
      answers: [],
      authorities: [soa],
      additionals: [],
      authoritative: true,
      source: "zone",
    },
    "nobody.ghost",
    [],
  );
  assert.equal(r.rcode, RCODE.NOERROR);
  assert.deepEqual(r.authorities.map((x) => x.type), ["SOA", "RRSIG", "NSEC", "RRSIG"]);
  const nsec = r.authorities[2]?.data as { nextDomain: string; rrtypes: string[] };
  assert.equal(nsec.nextDomain, "\u0000.nobody.ghost");
  assert.deepEqual(nsec.rrtypes, ["RRSIG", "NSEC"]);
});

Deno.test("zoneKeySeed() is a stable derivation per zone, different from the service key", () => {
  const seed = "11".repeat(32);
  const a = zoneKeySeed(seed, "ghost");
  assert.deepEqual(a, zoneKeySeed(seed, "GHOST."));
  assert.notDeepEqual(a, zoneKeySeed(seed, "zns"));
  assert.notDeepEqual(a, new Uint8Array(32).fill(0x11));
  assert.throws(() => zoneKeySeed("abcd", "ghost"), RangeError);
});
