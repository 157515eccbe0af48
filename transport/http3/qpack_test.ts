// QPACK with the static table only: RFC 9204's own example, every representation, refusals and properties.
import assert from "node:assert/strict";
import fc from "fast-check";
import { fromHex, toHex } from "../../core/mod.ts";
import { decodeFieldSection, encodeFieldSection, type HeaderField, QpackError } from "./qpack.ts";
import { QPACK_STATIC_TABLE } from "./qpack_static_table.ts";

Deno.test("RFC 9204 B.1: a literal field line with a static name reference, byte for byte both ways", () => {
  const bytes = "0000510b2f696e6465782e68746d6c";
  assert.deepEqual(decodeFieldSection(fromHex(bytes)), [[":path", "/index.html"]]);
  assert.equal(toHex(encodeFieldSection([[":path", "/index.html"]], { huffman: false })), bytes);
});

Deno.test("the static table has RFC 9204 Appendix A's 99 entries at their indexes", () => {
  assert.equal(QPACK_STATIC_TABLE.length, 99);
  assert.deepEqual(QPACK_STATIC_TABLE[0], [":authority", ""]);
  assert.deepEqual(QPACK_STATIC_TABLE[17], [":method", "GET"]);
  assert.deepEqual(QPACK_STATIC_TABLE[25], [":status", "200"]);
  assert.deepEqual(QPACK_STATIC_TABLE[98], ["x-frame-options", "sameorigin"]);
});

Deno.test("each representation: indexed static line, name reference, literal name, never-indexed", () => {
  // :method GET is static index 17: 1 1 010001 = 0xd1.
  assert.equal(toHex(encodeFieldSection([[":method", "GET"]])), "0000d1");
  const fields: HeaderField[] = [
    [":method", "POST"],
    [":path", "/a.B/C"],
    ["content-type", "application/grpc"],
    ["x-custom", "value"],
    ["authorization", "Bearer secret"],
  ];
  for (const huffman of [true, false]) {
    const block = encodeFieldSection(fields, { huffman });
    assert.deepEqual(decodeFieldSection(block), fields);
  }
  // The secret travels with the N bit set (0 1 N=1 T=1 ...), never as an indexed line.
  const auth = encodeFieldSection([["authorization", "Bearer secret"]], { huffman: false });
  assert.equal((auth[2] ?? 0) & 0xf0, 0x70);
});

Deno.test("without a dynamic table, dynamic and post-base references and a non-zero Required Insert Count are refused", () => {
  for (const hex of ["0100", "000080", "000040", "000010", "000000"]) {
    assert.throws(() => decodeFieldSection(fromHex(hex)), QpackError, hex);
  }
  assert.throws(() => decodeFieldSection(fromHex("0000ff64")), /out of range/);
  assert.throws(() => decodeFieldSection(fromHex("00")), /truncated/);
});

Deno.test("the decoded field section is bounded (SETTINGS_MAX_FIELD_SECTION_SIZE)", () => {
  const block = encodeFieldSection(
    Array.from({ length: 50 }, (_, i) => [`x-${i}`, "v".repeat(500)] as HeaderField),
  );
  assert.throws(() => decodeFieldSection(block, { maxFieldSectionSize: 8192 }), /larger than 8192/);
  assert.equal(decodeFieldSection(block, { maxFieldSectionSize: 64 * 1024 }).length, 50);
});

Deno.test("QPACK round-trips any field list and gives only QpackError on any bytes (property)", () => {
  const name = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
  const value = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));
  const field = fc.oneof(fc.tuple(name, value), fc.constantFrom(...QPACK_STATIC_TABLE));
  fc.assert(fc.property(fc.array(field, { maxLength: 12 }), fc.boolean(), (fields, huffman) => {
    assert.deepEqual(decodeFieldSection(encodeFieldSection(fields, { huffman })), fields);
  }));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      try {
        decodeFieldSection(bytes, { maxFieldSectionSize: 4096 });
      } catch (error) {
        assert.ok(error instanceof QpackError, String(error));
      }
    }),
    { numRuns: 3000 },
  );
});
