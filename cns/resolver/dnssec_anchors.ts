/**
 * The keys of cns's DNSSEC-signed chain zones, derived from its mesh key seed, and the trust anchors the chain's
 * devnet genesis publishes for them (TXT of `dns.ghost`). Small on purpose: the supervisor's descriptor reads it.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { blake3 } from "@noble/hashes/blake3.js";
import { toBase64 } from "../../core/mod.ts";

/** The zones cns serves from the chain (and signs). */
export const CHAIN_ZONES = ["ghost", "zns"] as const;

/**
 * The zone key seed of `origin`, derived from a service key seed (hex) with keyed BLAKE3, so the DNSSEC key is
 * separate from the key it comes from (which signs GhostBridge transcripts) yet needs no file of its own.
 */
export function zoneKeySeed(serviceSeedHex: string, origin: string): Uint8Array {
  const key = Uint8Array.from(serviceSeedHex.match(/../g) ?? [], (b) => parseInt(b, 16));
  if (key.length !== 32) throw new RangeError("Cannot derive zone key: the service seed is not 32 bytes");
  const name = origin.replace(/\.$/, "").toLowerCase();
  return blake3(new TextEncoder().encode(`ghostchain/v1/dnssec-zone-key/${name}`), { key });
}

/** The TXT anchors of the chain zones (`<zone>-dnskey=<base64 Ed25519 key>`) for a cns mesh key seed (hex). */
export function dnsAnchors(cnsSeedHex: string): string[] {
  return CHAIN_ZONES.map((zone) =>
    `${zone}-dnskey=${toBase64(ed25519.getPublicKey(zoneKeySeed(cnsSeedHex, zone)))}`
  );
}
