/**
 * A sparse Merkle tree over 256-bit paths `BLAKE3(key)`, the commitment behind every block's state root.
 *
 * Construction (consensus-relevant; the same as Diem's Jellyfish/"compressed" SMT, binary):
 * ```
 * EMPTY          = 32 zero bytes                           an empty subtree
 * leaf(k, v)     = BLAKE3(0x00 || BLAKE3(k) || BLAKE3(v))   a subtree holding exactly one entry
 * node(l, r)     = BLAKE3(0x01 || l || r)                   a subtree holding two or more entries
 * ```
 * Bit i of the path (most significant bit of byte 0 first) chooses the side at depth i (0 = left). A subtree
 * with exactly one entry is represented by that entry's leaf at the subtree's root, so depth is about
 * log2(n) rather than 256. The shape, and therefore the root, depends only on the set of (key, value) pairs:
 * inserts split a leaf only as deep as the paths agree, and deletes collapse a node left with a single leaf.
 *
 * Proofs ({@linkcode StateProof}) list the sibling hashes from the root down to where the path ends, plus the
 * leaf found there (if any). {@linkcode verifyStateProof} checks membership (the leaf is the key's) or
 * non-membership (the path ends in EMPTY, or in another key's leaf that shares the walked prefix).
 *
 * @module
 */

import { blake3 } from "../crypto/mod.ts";
import { bytesEqual, malformed, PbReader, PbWriter } from "./_pb.ts";

/** The hash of an empty subtree (and the root of an empty tree). */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(32);

interface Leaf {
  readonly leaf: true;
  readonly path: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly hash: Uint8Array;
}

interface Branch {
  readonly leaf: false;
  left: Node;
  right: Node;
  hash: Uint8Array | null;
}

type Node = Leaf | Branch | null;

function bit(path: Uint8Array, depth: number): number {
  return ((path[depth >> 3] ?? 0) >> (7 - (depth & 7))) & 1;
}

/** The leaf hash of a path and value hash. */
export function smtLeafHash(path: Uint8Array, valueHash: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = 0;
  buf.set(path, 1);
  buf.set(valueHash, 33);
  return blake3(buf);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 33);
  return blake3(buf);
}

function makeLeaf(path: Uint8Array, valueHash: Uint8Array): Leaf {
  return { leaf: true, path, valueHash, hash: smtLeafHash(path, valueHash) };
}

function hashOf(n: Node): Uint8Array {
  if (n === null) return EMPTY_ROOT;
  if (n.leaf) return n.hash;
  if (n.hash === null) n.hash = nodeHash(hashOf(n.left), hashOf(n.right));
  return n.hash;
}

/** The tree path of a state key. */
export function smtPath(key: Uint8Array): Uint8Array {
  return blake3(key);
}

/** A membership or non-membership proof. */
export interface StateProof {
  /** Sibling hashes from the root down (EMPTY for empty siblings). At most 256. */
  readonly siblings: readonly Uint8Array[];
  /** The leaf where the walk ended, or null when it ended in an empty subtree. */
  readonly leaf: { readonly path: Uint8Array; readonly valueHash: Uint8Array } | null;
}

/** An in-memory sparse Merkle tree (see the module doc). Hashes are computed lazily and cached. */
export class SparseMerkleTree {
  #root: Node = null;
  #size = 0;

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /** The root hash. */
  root(): Uint8Array {
    return hashOf(this.#root);
  }

  /** Sets `path` to a value with hash `valueHash`. */
  set(path: Uint8Array, valueHash: Uint8Array): void {
    this.#root = this.#insert(this.#root, makeLeaf(path, valueHash), 0);
  }

  /** Removes `path` (no-op when absent). */
  delete(path: Uint8Array): void {
    this.#root = this.#remove(this.#root, path, 0);
  }

  #insert(node: Node, leaf: Leaf, depth: number): Node {
    if (node === null) {
      this.#size++;
      return leaf;
    }
    if (node.leaf) {
      if (bytesEqual(node.path, leaf.path)) return leaf;
      this.#size++;
      return split(node, leaf, depth);
    }
    if (bit(leaf.path, depth) === 0) node.left = this.#insert(node.left, leaf, depth + 1);
    else node.right = this.#insert(node.right, leaf, depth + 1);
    node.hash = null;
    return node;
  }

  #remove(node: Node, path: Uint8Array, depth: number): Node {
    if (node === null) return null;
    if (node.leaf) {
      if (!bytesEqual(node.path, path)) return node;
      this.#size--;
      return null;
    }
    if (bit(path, depth) === 0) node.left = this.#remove(node.left, path, depth + 1);
    else node.right = this.#remove(node.right, path, depth + 1);
    node.hash = null;
    // Canonical shape: a node left with one leaf and one empty side becomes that leaf.
    if (node.left === null && (node.right === null || node.right.leaf)) return node.right;
    if (node.right === null && node.left !== null && node.left.leaf) return node.left;
    return node;
  }

  /** A proof for `path` against {@linkcode root}. */
  prove(path: Uint8Array): StateProof {
    const siblings: Uint8Array[] = [];
    let node = this.#root;
    let depth = 0;
    while (node !== null && !node.leaf) {
      if (bit(path, depth) === 0) {
        siblings.push(hashOf(node.right));
        node = node.left;
      } else {
        siblings.push(hashOf(node.left));
        node = node.right;
      }
      depth++;
    }
    return { siblings, leaf: node === null ? null : { path: node.path, valueHash: node.valueHash } };
  }
}

function split(a: Leaf, b: Leaf, depth: number): Node {
  // Both paths agree up to `depth`; build nodes until they differ (paths are distinct 256-bit hashes).
  const ba = bit(a.path, depth);
  const bb = bit(b.path, depth);
  const node: Branch = { leaf: false, left: null, right: null, hash: null };
  if (ba === bb) {
    const child = split(a, b, depth + 1);
    if (ba === 0) node.left = child;
    else node.right = child;
  } else if (ba === 0) {
    node.left = a;
    node.right = b;
  } else {
    node.left = b;
    node.right = a;
  }
  return node;
}

/**
 * Verifies `proof` for `key` against `root`. `value` is the expected value bytes for a membership proof, or
 * `null` to check that the key is absent. Never throws; false means the proof does not show the claim.
 */
export function verifyStateProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
): boolean {
  if (proof.siblings.length > 256 || root.length !== 32) return false;
  const path = smtPath(key);
  let h: Uint8Array;
  if (value !== null) {
    if (proof.leaf === null || !bytesEqual(proof.leaf.path, path)) return false;
    if (!bytesEqual(proof.leaf.valueHash, blake3(value))) return false;
    h = smtLeafHash(path, proof.leaf.valueHash);
  } else if (proof.leaf === null) {
    h = EMPTY_ROOT;
  } else {
    // Another key's leaf ends the walk: it must sit on our path's prefix and not be our key.
    const other = proof.leaf;
    if (other.path.length !== 32 || other.valueHash.length !== 32 || bytesEqual(other.path, path)) {
      return false;
    }
    for (let d = 0; d < proof.siblings.length; d++) if (bit(other.path, d) !== bit(path, d)) return false;
    h = smtLeafHash(other.path, other.valueHash);
  }
  for (let d = proof.siblings.length - 1; d >= 0; d--) {
    const s = proof.siblings[d] as Uint8Array;
    if (s.length !== 32) return false;
    h = bit(path, d) === 0 ? nodeHash(h, s) : nodeHash(s, h);
  }
  return bytesEqual(h, root);
}

/**
 * Encodes a proof (`StateProof` in ghostchain.proto): `repeated bytes siblings = 1` (an empty element stands
 * for EMPTY), `bytes leaf_path = 2`, `bytes leaf_value_hash = 3`.
 */
export function encodeStateProof(proof: StateProof): Uint8Array {
  const w = new PbWriter();
  for (const s of proof.siblings) w.bytes(1, bytesEqual(s, EMPTY_ROOT) ? new Uint8Array(0) : s, true);
  if (proof.leaf !== null) w.bytes(2, proof.leaf.path).bytes(3, proof.leaf.valueHash);
  return w.finish();
}

/** Decodes a proof; at most 256 siblings of 32 bytes. */
export function decodeStateProof(bytes: Uint8Array): StateProof {
  if (bytes.length > 256 * 34 + 70) throw malformed("state proof", `${bytes.length} bytes exceeds the limit`);
  const r = new PbReader(bytes, "state proof");
  const siblings: Uint8Array[] = [];
  let path: Uint8Array | undefined;
  let valueHash: Uint8Array | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1: {
        const s = r.bytes(32, true);
        if (s.length !== 0 && s.length !== 32) throw malformed("state proof", "sibling is not 32 bytes");
        if (siblings.length >= 256) throw malformed("state proof", "more than 256 siblings");
        siblings.push(s.length === 0 ? EMPTY_ROOT : s.slice());
        break;
      }
      case 2:
        path = r.fixed(32).slice();
        break;
      case 3:
        valueHash = r.fixed(32).slice();
        break;
      default:
        r.unknown();
    }
  }
  if ((path === undefined) !== (valueHash === undefined)) {
    throw malformed("state proof", "leaf path and value hash must come together");
  }
  return {
    siblings,
    leaf: path !== undefined && valueHash !== undefined ? { path, valueHash } : null,
  };
}
