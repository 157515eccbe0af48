// HPACK against RFC 7541's own examples (Appendix C), byte for byte in both directions, plus limits and properties.
import assert from "node:assert/strict";
import fc from "fast-check";
import { fromHex, toHex } from "../../core/mod.ts";
import {
  decodeInteger,
  encodeInteger,
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
  HpackError,
} from "./hpack.ts";
import { huffmanDecode, huffmanEncode, HuffmanError } from "./hpack_huffman.ts";

Deno.test("integers: RFC 7541 C.1 examples (10 in 5 bits, 1337 in 5 bits, 42 at an octet boundary)", () => {
  const cases: [number, number, string][] = [[10, 5, "0a"], [1337, 5, "1f9a0a"], [42, 8, "2a"]];
  for (const [value, prefix, hex] of cases) {
    const out: number[] = [];
    encodeInteger(value, prefix, 0, out);
    assert.equal(toHex(Uint8Array.from(out)), hex);
    assert.deepEqual(decodeInteger(fromHex(hex), 0, prefix), [value, hex.length / 2]);
  }
});

const C2: [string, string, HeaderField, "index" | "no" | "never"][] = [
  ["C.2.1", "400a637573746f6d2d6b65790d637573746f6d2d686561646572", ["custom-key", "custom-header"], "index"],
  ["C.2.2", "040c2f73616d706c652f70617468", [":path", "/sample/path"], "no"],
  ["C.2.3", "100870617373776f726406736563726574", ["password", "secret"], "never"],
  ["C.2.4", "82", [":method", "GET"], "index"],
];

Deno.test("header field representations: RFC 7541 C.2 examples", () => {
  for (const [name, hex, field, how] of C2) {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(fromHex(hex)), [field], name);
    assert.equal(d.table.length, how === "index" && name !== "C.2.4" ? 1 : 0, name);
    const e = new HpackEncoder({ huffman: false, indexing: () => how });
    assert.equal(toHex(e.encode([field])), hex, name);
  }
});

const REQUESTS: HeaderField[][] = [
  [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]],
  [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], [
    "cache-control",
    "no-cache",
  ]],
  [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], [
    "custom-key",
    "custom-value",
  ]],
];
const RESPONSES: HeaderField[][] = [
  [[":status", "302"], ["cache-control", "private"], ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], [
    "location",
    "https://www.example.com",
  ]],
  [[":status", "307"], ["cache-control", "private"], ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], [
    "location",
    "https://www.example.com",
  ]],
  [
    [":status", "200"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
    ["location", "https://www.example.com"],
    ["content-encoding", "gzip"],
    ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
  ],
];

const SEQUENCES: {
  name: string;
  huffman: boolean;
  tableSize: number;
  blocks: string[];
  fields: HeaderField[][];
  sizes: number[];
}[] = [
  {
    name: "C.3 requests without Huffman",
    huffman: false,
    tableSize: 4096,
    blocks: [
      "828684410f7777772e6578616d706c652e636f6d",
      "828684be58086e6f2d6361636865",
      "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    ],
    fields: REQUESTS,
    sizes: [57, 110, 164],
  },
  {
    name: "C.4 requests with Huffman",
    huffman: true,
    tableSize: 4096,
    blocks: [
      "828684418cf1e3c2e5f23a6ba0ab90f4ff",
      "828684be5886a8eb10649cbf",
      "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    ],
    fields: REQUESTS,
    sizes: [57, 110, 164],
  },
  {
    name: "C.5 responses without Huffman (table 256: evictions)",
    huffman: false,
    tableSize: 256,
    blocks: [
      "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
      "4803333037c1c0bf",
      "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
    ],
    fields: RESPONSES,
    sizes: [222, 222, 215],
  },
  {
    name: "C.6 responses with Huffman (table 256: evictions)",
    huffman: true,
    tableSize: 256,
    blocks: [
      "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
      "4883640effc1c0bf",
      "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    ],
    fields: RESPONSES,
    sizes: [222, 222, 215],
  },
];

Deno.test("request and response sequences: RFC 7541 C.3-C.6 byte for byte, with the tables' sizes", () => {
  for (const seq of SEQUENCES) {
    const d = new HpackDecoder({ maxTableSize: seq.tableSize });
    const e = new HpackEncoder({
      maxTableSize: seq.tableSize,
      huffman: seq.huffman,
      indexing: () => "index",
    });
    seq.blocks.forEach((hex, i) => {
      assert.deepEqual(d.decode(fromHex(hex)), seq.fields[i], `${seq.name} #${i + 1} decode`);
      assert.equal(d.table.size, seq.sizes[i], `${seq.name} #${i + 1} decoder table size`);
      assert.equal(toHex(e.encode(seq.fields[i] ?? [])), hex, `${seq.name} #${i + 1} encode`);
      assert.equal(e.table.size, seq.sizes[i], `${seq.name} #${i + 1} encoder table size`);
    });
  }
});

Deno.test("Huffman: RFC 7541 C.4.1 string, padding and EOS rules", () => {
  const www = new TextEncoder().encode("www.example.com");
  assert.equal(toHex(huffmanEncode(www)), "f1e3c2e5f23a6ba0ab90f4ff");
  assert.deepEqual(huffmanDecode(fromHex("f1e3c2e5f23a6ba0ab90f4ff"), 100), www);
  // Padding of 8 or more bits, or padding that is not all ones, is an error (§5.2).
  assert.throws(() => huffmanDecode(fromHex("f1e3c2e5f23a6ba0ab90f4ffff"), 100), HuffmanError);
  assert.throws(() => huffmanDecode(fromHex("f1e3c2e5f23a6ba0ab90f4fe"), 100), HuffmanError);
  // EOS (30 ones) inside a string is an error.
  assert.throws(() => huffmanDecode(fromHex("ffffffff"), 100), HuffmanError);
  assert.throws(() => huffmanDecode(fromHex("f1e3c2e5f23a6ba0ab90f4ff"), 5), /longer than 5/);
});

Deno.test("HpackDecoder bounds the header list, string lengths, indexes and table size updates", () => {
  const big = new HpackEncoder({ huffman: false }).encode([["x-big", "a".repeat(5000)]]);
  assert.throws(
    () => new HpackDecoder({ maxHeaderListSize: 4096 }).decode(big),
    /header list exceeds 4096|exceeds/,
  );
  // A bomb: one table entry referenced many times grows the list without growing the block.
  const e = new HpackEncoder({ huffman: false });
  const block = e.encode(Array.from({ length: 200 }, () => ["x-bomb", "b".repeat(1000)] as HeaderField));
  assert.ok(block.length < 3000, `block ${block.length} bytes`);
  assert.throws(
    () => new HpackDecoder({ maxHeaderListSize: 64 * 1024 }).decode(block),
    /header list exceeds/,
  );
  assert.throws(() => new HpackDecoder().decode(fromHex("80")), /index 0/);
  assert.throws(() => new HpackDecoder().decode(fromHex("be")), /out of range/);
  // A size update above what we advertised, or after a field, is an error.
  assert.throws(() => new HpackDecoder({ maxTableSize: 100 }).decode(fromHex("3fe11f")), /exceeds 100/);
  assert.throws(() => new HpackDecoder().decode(fromHex("8220")), /after a field/);
  assert.deepEqual(new HpackDecoder().decode(fromHex("2082")), [[":method", "GET"]]);
  // A string longer than what is left of the block.
  assert.throws(() => new HpackDecoder().decode(fromHex("400a6162")), /truncated/);
});

Deno.test("HpackDecoder gives only HpackError on random and mutated blocks (property)", () => {
  const valid = SEQUENCES.flatMap((s) => s.blocks.map((b) => fromHex(b)));
  const check = (block: Uint8Array): void => {
    try {
      new HpackDecoder({ maxHeaderListSize: 8192 }).decode(block);
    } catch (error) {
      assert.ok(error instanceof HpackError, String(error));
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 }), (b, at, v) => {
      const m = b.slice();
      m[at % m.length] = v;
      check(m);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("HPACK round-trips any header list through an encoder and decoder pair (property)", () => {
  const name = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
  const value = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));
  fc.assert(
    fc.property(fc.array(fc.array(fc.tuple(name, value), { maxLength: 10 }), { maxLength: 5 }), (blocks) => {
      const e = new HpackEncoder({ maxTableSize: 256 });
      const d = new HpackDecoder({ maxTableSize: 256 });
      for (const fields of blocks) {
        assert.deepEqual(d.decode(e.encode(fields)), fields);
        assert.equal(d.table.size, e.table.size);
      }
    }),
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    assert.deepEqual(huffmanDecode(huffmanEncode(bytes), 1000), bytes);
  }));
});
