import assert from "node:assert/strict";
import fc from "fast-check";
import { blake3 } from "../crypto/mod.ts";
import { utf8 } from "./_pb.ts";
import {
  decodeStateProof,
  EMPTY_ROOT,
  encodeStateProof,
  smtPath,
  SparseMerkleTree,
  verifyStateProof,
} from "./sparse_merkle_tree.ts";
import { ChainError } from "./errors.ts";

function build(entries: Array<[string, string]>): SparseMerkleTree {
  const t = new SparseMerkleTree();
  for (const [k, v] of entries) t.set(smtPath(utf8(k)), blake3(utf8(v)));
  return t;
}

Deno.test("SparseMerkleTree root is EMPTY when empty and depends only on the set", () => {
  assert.deepEqual(new SparseMerkleTree().root(), EMPTY_ROOT);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(fc.string(), fc.string()), { selector: (x) => x[0], maxLength: 40 }),
      (es) => {
        const a = build(es);
        const b = build([...es].reverse());
        assert.deepEqual(a.root(), b.root());
        assert.equal(a.size, es.length);
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("SparseMerkleTree delete restores the previous root (canonical collapse)", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 30 }), (keys) => {
      const t = build(keys.map((k) => [k, "v" + k]));
      const partial = build(keys.slice(1).map((k) => [k, "v" + k]));
      t.delete(smtPath(utf8(keys[0] as string)));
      assert.deepEqual(t.root(), partial.root());
    }),
    { numRuns: 50 },
  );
});

Deno.test("verifyStateProof() accepts membership and non-membership and rejects lies", () => {
  const keys = Array.from({ length: 200 }, (_, i) => `acct/${i}`);
  const t = build(keys.map((k) => [k, "value-" + k]));
  const root = t.root();
  for (const k of keys.slice(0, 50)) {
    const proof = decodeStateProof(encodeStateProof(t.prove(smtPath(utf8(k)))));
    assert.ok(verifyStateProof(root, utf8(k), utf8("value-" + k), proof));
    assert.ok(!verifyStateProof(root, utf8(k), utf8("other"), proof));
    assert.ok(!verifyStateProof(root, utf8(k), null, proof), "a member is not absent");
  }
  for (let i = 0; i < 50; i++) {
    const k = `absent/${i}`;
    const proof = decodeStateProof(encodeStateProof(t.prove(smtPath(utf8(k)))));
    assert.ok(verifyStateProof(root, utf8(k), null, proof));
    assert.ok(!verifyStateProof(root, utf8(k), utf8("x"), proof));
    // The same proof does not show absence of a present key.
    assert.ok(!verifyStateProof(root, utf8("acct/1"), null, proof));
  }
  const proof = t.prove(smtPath(utf8("acct/1")));
  const tampered = { ...proof, siblings: proof.siblings.map((s, i) => (i === 0 ? blake3(s) : s)) };
  assert.ok(!verifyStateProof(root, utf8("acct/1"), utf8("value-acct/1"), tampered));
});

Deno.test("decodeStateProof() on random bytes throws only ChainError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        decodeStateProof(b);
      } catch (e) {
        assert.ok(e instanceof ChainError, String(e));
      }
    }),
    { numRuns: 500 },
  );
});
