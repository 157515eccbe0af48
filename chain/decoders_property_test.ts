// Property tests for the chain's network- and disk-facing decoders: random bytes and mutations of valid
// encodings give a value or a ChainError (INVALID_ARGUMENT), never another exception.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChainError } from "./errors.ts";
import { decodeCommit, decodeHeader } from "./block.ts";
import { decodeReceipt, encodeReceipt } from "./receipt.ts";
import {
  decodeAccount,
  decodeCommitment,
  decodeNameEntry,
  decodeParams,
  decodeValidators,
  encodeAccount,
} from "./state.ts";
import { decodeRpcRequest, decodeRpcResponse, encodeRpcRequest, encodeRpcResponse } from "./sync.ts";
import { parseGenesis } from "./genesis.ts";

const DECODERS: Record<string, (b: Uint8Array) => unknown> = {
  decodeRpcRequest,
  decodeRpcResponse,
  decodeHeader,
  decodeCommit,
  decodeReceipt,
  decodeAccount,
  decodeNameEntry,
  decodeCommitment,
  decodeParams,
  decodeValidators,
};

function onlyChainErrors(name: string, decode: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    decode(bytes);
  } catch (error) {
    assert.ok(error instanceof ChainError, `${name} threw ${String(error)}`);
  }
}

Deno.test("chain decoders give only ChainErrors on random bytes (property)", () => {
  for (const [name, decode] of Object.entries(DECODERS)) {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyChainErrors(name, decode, b)), {
      numRuns: 300,
    });
  }
});

/** Flips, cuts or extends a valid encoding. */
const mutation = fc.record({
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  cut: fc.nat(),
  extra: fc.uint8Array({ maxLength: 8 }),
});
function mutate(
  valid: Uint8Array,
  m: { at: number; byte: number; cut: number; extra: Uint8Array },
): Uint8Array {
  const b = new Uint8Array([...valid, ...m.extra]);
  if (b.length > 0) b[m.at % b.length] = m.byte;
  return b.subarray(0, b.length - (m.cut % (b.length + 1)));
}

Deno.test("the sync envelope, receipts and accounts give only ChainErrors when mutated (property)", () => {
  const valid: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
    ["decodeRpcRequest", decodeRpcRequest, encodeRpcRequest("GetBlock", new Uint8Array([8, 1]))],
    ["decodeRpcResponse", decodeRpcResponse, encodeRpcResponse(new Uint8Array([1, 2, 3]))],
    [
      "decodeRpcResponse",
      decodeRpcResponse,
      encodeRpcResponse(
        new ChainError("NOT_FOUND", "UNKNOWN_BLOCK" as ChainError["reason"], "no such block"),
      ),
    ],
    ["decodeReceipt", decodeReceipt, encodeReceipt({ status: 0, reason: "", feePaid: 10n, gasUsed: 5n })],
    [
      "decodeAccount",
      decodeAccount,
      encodeAccount({ balance: 100n, nonce: 3n } as Parameters<typeof encodeAccount>[0]),
    ],
  ];
  for (const [name, decode, bytes] of valid) {
    fc.assert(fc.property(mutation, (m) => onlyChainErrors(name, decode, mutate(bytes, m))), {
      numRuns: 300,
    });
  }
});

Deno.test("decodeRpcRequest() round-trips what encodeRpcRequest() wrote (property)", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 64 }), fc.uint8Array({ maxLength: 200 }), (method, request) => {
      fc.pre(new TextEncoder().encode(method).length <= 64);
      const back = decodeRpcRequest(encodeRpcRequest(method, request));
      assert.equal(back.method, method);
      assert.deepEqual([...back.request], [...request]);
    }),
  );
});

Deno.test("parseGenesis() gives a genesis or a ChainError naming the key on any JSON (property)", () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  const shaped = fc.record({
    chain_id: fc.oneof(fc.string(), fc.integer()),
    validators: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    accounts: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    names: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
    params: fc.jsonValue({ maxDepth: 2 }),
  }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.oneof(json, shaped), (raw) => {
      try {
        parseGenesis(raw);
      } catch (error) {
        assert.ok(error instanceof ChainError, String(error));
      }
    }),
    { numRuns: 1000 },
  );
});
