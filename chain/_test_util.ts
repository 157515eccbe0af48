// Shared test helpers: deterministic keys, a genesis, a node over a MemoryChainStore.
import {
  addressFromPublicKey,
  type Ed25519BatchItem,
  ed25519PublicKey,
  ed25519Verify,
  parsePublicKey,
} from "../crypto/mod.ts";
import { MemoryChainStore } from "./chain_store.ts";
import { type Genesis, parseGenesis } from "./genesis.ts";
import { ChainNode } from "./node.ts";
import { toHex } from "./_pb.ts";
import { accountOf, signTransaction, type TxBody, type VerifiedTransaction } from "./transaction.ts";
import type { SignatureVerifier } from "./transaction.ts";

export function seed(n: number): Uint8Array {
  const s = new Uint8Array(32).fill(n & 0xff);
  new DataView(s.buffer).setUint32(0, n);
  return s;
}

export interface TestKey {
  readonly secret: Uint8Array;
  readonly pub: Uint8Array;
  readonly address: Uint8Array;
  readonly bech32: string;
}

export function testKey(n: number): TestKey {
  const secret = seed(n);
  const pub = ed25519PublicKey(secret);
  return {
    secret,
    pub,
    address: accountOf(pub),
    bech32: addressFromPublicKey(parsePublicKey("ed25519", pub)),
  };
}

export const VALIDATOR = testKey(1);
export const ALICE = testKey(2);
export const BOB = testKey(3);
export const CHAIN_ID = "ghostchain-test";

export const verifyAll: SignatureVerifier = (items: readonly Ed25519BatchItem[]): Promise<boolean[]> =>
  Promise.all(items.map((i) => ed25519Verify(i.publicKey, i.message, i.signature)));

export function testGenesisJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    chainId: CHAIN_ID,
    timeMs: 1_000,
    params: { minCommitAge: 2, maxCommitAge: 20, gracePeriod: 5, minNameDuration: 10, maxNameDuration: 1000 },
    validators: [{ publicKey: toHex(VALIDATOR.pub) }],
    accounts: [{ address: ALICE.bech32, balance: "1000000" }, { address: BOB.bech32, balance: "500" }],
    names: [{
      name: "dev.ghost",
      owner: ALICE.bech32,
      expiry: 1000,
      records: { aaaa: ["::1"], a: ["127.0.0.1"] },
    }],
    ...extra,
  };
}

export function testGenesis(extra: Record<string, unknown> = {}): Genesis {
  return parseGenesis(testGenesisJson(extra));
}

export function tx(
  key: TestKey,
  nonce: number,
  body: TxBody,
  fee = 10n,
  chainId = CHAIN_ID,
): VerifiedTransaction {
  return signTransaction({ chainId, nonce: BigInt(nonce), fee, sender: key.pub, body }, key.secret);
}

export function transfer(
  key: TestKey,
  nonce: number,
  to: TestKey,
  amount: bigint,
  fee = 10n,
): VerifiedTransaction {
  return tx(key, nonce, { kind: "transfer", to: to.address, amount }, fee);
}

export async function testNode(
  opts: { validator?: boolean; clock?: { t: number } } = {},
): Promise<ChainNode> {
  const clock = opts.clock ?? { t: 10_000 };
  return await ChainNode.open({
    store: new MemoryChainStore(),
    genesis: testGenesis(),
    verify: verifyAll,
    now: () => clock.t++,
    schedule: (fn) => queueMicrotask(fn),
    ...(opts.validator === false ? {} : { validatorKey: VALIDATOR.secret }),
  });
}
