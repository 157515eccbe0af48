/**
 * Binary Merkle root over an ordered list (transactions, receipts), RFC 6962 §2.1 with BLAKE3:
 * ```
 * MTH({})      = BLAKE3("")
 * MTH({d0})    = BLAKE3(0x00 || d0)                              leaf
 * MTH(D[n])    = BLAKE3(0x01 || MTH(D[0:k]) || MTH(D[k:n]))      k = largest power of two < n
 * ```
 * The 0x00 / 0x01 prefixes keep a leaf from being read as an inner node (second-preimage resistance); the
 * split rule makes the tree shape a function of `n` alone. Consensus-relevant: changing either changes every
 * block hash.
 *
 * @module
 */

import { blake3 } from "../crypto/mod.ts";
import { concat } from "./_pb.ts";

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/** The RFC 6962-style Merkle tree hash of `items` (each item is hashed as a leaf). */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return blake3(new Uint8Array(0));
  const leaves = items.map((d) => blake3(concat(LEAF, d)));
  return subtree(leaves, 0, leaves.length);
}

function subtree(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return leaves[start] as Uint8Array;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return blake3(concat(NODE, subtree(leaves, start, start + k), subtree(leaves, start + k, end)));
}
