import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeBlock } from "./block.ts";
import { ChainError } from "./errors.ts";
import { ghostchainProtoRoot } from "./proto.ts";
import { decodeSignedTransaction, decodeTransaction } from "./transaction.ts";
import { decodeRecords } from "./names.ts";
import { ALICE, BOB, testNode, transfer, tx } from "./_test_util.ts";
import { nameCommitment } from "./names.ts";

function reencode(type: string, bytes: Uint8Array): Uint8Array {
  const t = ghostchainProtoRoot().lookupType(`ghostchain.v1.${type}`);
  return Uint8Array.from(t.encode(t.decode(bytes)).finish());
}

Deno.test("protobufjs decodes our canonical bytes and re-encodes them byte for byte", async () => {
  const samples = [
    transfer(ALICE, 0, BOB, 5n),
    transfer(ALICE, 123456789, BOB, 0xffff_ffff_ffff_ffffn, 7n),
    tx(ALICE, 1, {
      kind: "name_commit",
      commitment: nameCommitment("abc.ghost", ALICE.address, new Uint8Array(32)),
    }),
    tx(ALICE, 2, {
      kind: "name_register",
      name: "abc.ghost",
      secret: new Uint8Array(32).fill(1),
      durationBlocks: 100n,
      records: {
        aaaa: [new Uint8Array(16)],
        a: [new Uint8Array([1, 2, 3, 4])],
        txt: ["x", ""],
        cname: "",
        mx: [{ preference: 0, exchange: "mx.example" }],
        srv: [{ priority: 1, weight: 0, port: 443, target: "a.b" }],
      },
      znsContract: new Uint8Array(0),
    }),
    tx(ALICE, 3, { kind: "name_renew", name: "abc.ghost", durationBlocks: 5n }),
  ];
  for (const s of samples) {
    assert.deepEqual(reencode("SignedTransaction", s.bytes), s.bytes);
    assert.deepEqual(reencode("Transaction", s.bodyBytes), s.bodyBytes);
  }
  const v = await testNode();
  await v.submit(samples[0]?.bytes ?? new Uint8Array(0));
  await v.submit(transfer(ALICE, 1, BOB, 6n).bytes);
  const b = await v.produceBlock();
  assert.ok(b);
  assert.deepEqual(reencode("Block", b.bytes), b.bytes);
  const j = ghostchainProtoRoot().lookupType("ghostchain.v1.Block").toObject(
    ghostchainProtoRoot().lookupType("ghostchain.v1.Block").decode(b.bytes),
    { longs: String },
  );
  assert.equal(j.header.height, "1");
});

Deno.test("decoders refuse non-canonical encodings", () => {
  const s = transfer(ALICE, 1, BOB, 5n);
  // explicit default (nonce = 0 written), unknown field, out-of-order fields, non-minimal varint
  const body = s.bodyBytes;
  assert.throws(() => decodeTransaction(new Uint8Array([...body, 0x10, 0x00])), ChainError);
  assert.throws(() => decodeTransaction(new Uint8Array([...body, 0xf8, 0x01, 0x01])), ChainError);
  assert.throws(() => decodeTransaction(new Uint8Array([0x18, 0x01, ...body])), ChainError);
  assert.throws(() => decodeTransaction(new Uint8Array([0x0a, 0x81, 0x00])), ChainError);
});

Deno.test("decoders on random bytes throw only ChainError", () => {
  const decoders = [decodeSignedTransaction, decodeTransaction, decodeBlock, decodeRecords];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(decoders.length - 1), (bytes, i) => {
      try {
        (decoders[i] as (b: Uint8Array) => unknown)(bytes);
      } catch (e) {
        assert.ok(e instanceof ChainError, `${e}`);
      }
    }),
    { numRuns: 2000 },
  );
});
