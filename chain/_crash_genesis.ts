// Genesis and keys shared by the SIGKILL test and its node script.
import { ed25519PublicKey } from "../crypto/mod.ts";
import { type Genesis, parseGenesis } from "./genesis.ts";
import { toHex } from "./_pb.ts";
import { type TestKey, testKey } from "./_test_util.ts";

export const CRASH_VALIDATOR: Uint8Array = new Uint8Array(32).fill(200);

export function crashKeys(): TestKey[] {
  return Array.from({ length: 40 }, (_, i) => testKey(10 + i));
}

export function crashGenesis(): Genesis {
  return parseGenesis({
    chainId: "crash",
    timeMs: 1,
    validators: [{ publicKey: toHex(ed25519PublicKey(CRASH_VALIDATOR)) }],
    accounts: crashKeys().map((k) => ({ address: k.bech32, balance: "1000000000" })),
  });
}
