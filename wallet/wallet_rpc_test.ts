import assert from "node:assert/strict";
import fc from "fast-check";
import { WalletServiceError } from "./errors.ts";
import {
  createWalletCallHandler,
  decodeWalletRequest,
  decodeWalletResponse,
  encodeWalletMessage,
  WALLET_METHODS,
  WALLET_SERVICE_NAME,
  walletProtoRoot,
} from "./wallet_rpc.ts";
import { WalletService } from "./wallet_service.ts";
import { MemoryWalletStore } from "./wallet_store.ts";

const KDF = { n: 1024, r: 8, p: 1 };

Deno.test("wallet.proto declares exactly WALLET_METHODS", () => {
  const service = walletProtoRoot().lookupService(WALLET_SERVICE_NAME);
  assert.deepEqual(Object.keys(service.methods), [...WALLET_METHODS]);
});

async function expectStatus(p: Promise<unknown>, status: string): Promise<void> {
  await assert.rejects(p, (e) => e instanceof WalletServiceError && e.status === status);
}

Deno.test("handleWalletCall() serves the journey over protobuf bytes and counts calls", async () => {
  const counts: string[] = [];
  const handle = createWalletCallHandler(
    new WalletService({ store: new MemoryWalletStore(), kdf: KDF }),
    { onCall: (m, c) => counts.push(`${m}:${c}`) },
  );
  const call = async (method: (typeof WALLET_METHODS)[number], req: Record<string, unknown>) =>
    decodeWalletResponse(method, await handle(method, encodeWalletMessage(method, "request", req)));
  await call("CreateWallet", { passphrase: "pw" });
  const created = await call("CreateAccount", { label: "a", keyType: "KEY_TYPE_SECP256K1", wordCount: 12 });
  const account = created.account as Record<string, unknown>;
  assert.equal(account.keyType, "KEY_TYPE_SECP256K1");
  assert.equal(String(created.mnemonic).split(" ").length, 12);
  const list = await call("ListAccounts", {});
  assert.equal((list.accounts as unknown[]).length, 1);
  const signed = await call("SignMessage", { message: new TextEncoder().encode("hi") });
  const verified = await call("VerifyMessage", { signedMessage: signed.signedMessage });
  assert.equal(verified.valid, true);
  assert.equal(verified.address, account.address);
  // Full method paths work too.
  const path = `/${WALLET_SERVICE_NAME}/Lock`;
  const locked = decodeWalletResponse("Lock", await handle(path, encodeWalletMessage("Lock", "request", {})));
  assert.equal(locked.wasUnlocked, true);
  await expectStatus(call("SignMessage", { message: new Uint8Array([1]) }), "FAILED_PRECONDITION");
  await expectStatus(call("Unlock", { passphrase: "bad" }), "UNAUTHENTICATED");
  await expectStatus(call("GetBalance", { address: account.address }), "UNAVAILABLE");
  assert.deepEqual(counts.slice(-3), [
    "SignMessage:FAILED_PRECONDITION",
    "Unlock:UNAUTHENTICATED",
    "GetBalance:UNAVAILABLE",
  ]);
  assert.ok(counts.includes("CreateAccount:OK"));
});

Deno.test("handleWalletCall() rejects unknown methods, oversized and undecodable requests", async () => {
  const handle = createWalletCallHandler(new WalletService({ store: new MemoryWalletStore(), kdf: KDF }), {
    maxRequestBytes: 64,
  });
  await expectStatus(handle("Nope", new Uint8Array()), "UNIMPLEMENTED");
  await expectStatus(handle("/other.Service/ListAccounts", new Uint8Array()), "UNIMPLEMENTED");
  await expectStatus(handle("SignMessage", new Uint8Array(65)), "RESOURCE_EXHAUSTED");
  await expectStatus(handle("ListAccounts", new Uint8Array([0x0a, 0x7f])), "INVALID_ARGUMENT");
  assert.equal(decodeWalletRequest("ListAccounts", new Uint8Array()).wallet, "");
});

Deno.test("handleWalletCall() turns random request bytes only into WalletServiceError", async () => {
  const handle = createWalletCallHandler(new WalletService({ store: new MemoryWalletStore(), kdf: KDF }));
  // Methods that never touch a wallet's secrets (no KDF), so random input stays cheap.
  const methods = [
    "ListAccounts",
    "VerifyMessage",
    "GetBalance",
    "CreateMultisig",
    "CombineMultisig",
    "VerifyMultisig",
    "Lock",
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...methods),
      fc.uint8Array({ maxLength: 200 }),
      async (method, bytes) => {
        try {
          await handle(method, bytes);
        } catch (error) {
          assert.ok(error instanceof WalletServiceError, String(error));
          assert.notEqual(error.status, "INTERNAL", error.message);
        }
      },
    ),
    { numRuns: 300 },
  );
});
