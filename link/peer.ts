/**
 * Who a peer is and where it lives in the mesh, pure: a peer is its Ed25519 key; its id is the key's `ghost1`
 * address (the wallet's identities), its DHT key is BLAKE3 of the key, and its mesh address is an IPv6 unique
 * local address (RFC 4193): the mesh's /48 prefix (`fd` + 40 bits from the mesh name) and a 64-bit interface
 * id from the key, so every member computes every other member's address from its key alone (as text:
 * `formatIp` in core/).
 *
 * @module
 */

import { addressFromPublicKey, blake3, parsePublicKey } from "../crypto/mod.ts";
import { concatBytes } from "../core/mod.ts";

/** A peer's id: the `ghost1...` address of its Ed25519 key. */
export function peerIdOf(publicKey: Uint8Array): string {
  return addressFromPublicKey(parsePublicKey("ed25519", publicKey));
}

/** The 32-byte key under which the DHT stores and finds a peer. */
export function dhtKeyOf(publicKey: Uint8Array): Uint8Array {
  return blake3(publicKey);
}

/** XOR distance of two DHT keys, as a 256-bit big-endian number's bytes (Kademlia). */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError("Cannot compare DHT keys of different lengths");
  return a.map((x, i) => x ^ (b[i] ?? 0));
}

/** The Kademlia bucket of `other` seen from `self`: 255 minus the number of leading equal bits; -1 for self. */
export function bucketOf(self: Uint8Array, other: Uint8Array): number {
  const d = xorDistance(self, other);
  for (let i = 0; i < d.length; i++) {
    const byte = d[i] ?? 0;
    if (byte !== 0) return (d.length - i) * 8 - 1 - (Math.clz32(byte) - 24);
  }
  return -1;
}

/** The mesh's /48 unique local prefix: `fd` and 40 bits of BLAKE3 of the mesh's name (RFC 4193 §3.2). */
export function meshPrefix(meshName: string): Uint8Array {
  const h = blake3(new TextEncoder().encode(`ghostlink mesh ${meshName}`));
  return Uint8Array.of(0xfd, ...h.subarray(0, 5));
}

/** A member's IPv6 address: the mesh prefix, subnet 0, and 64 bits of BLAKE3 of its key. */
export function meshAddress(meshName: string, publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(meshPrefix(meshName), 0);
  out.set(blake3(concatBytes(new TextEncoder().encode("ghostlink iid "), publicKey)).subarray(0, 8), 8);
  return out;
}
