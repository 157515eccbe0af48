// A small chain node for the SIGKILL test (tests/integration/chain_crash_test.ts): a validator over Deno KV
// in the directory given as the first argument, producing blocks of transfers as fast as it can and
// printing "committed height N" only after each block's atomic commit resolved. Runs until killed.
import { DenoKvChainStore } from "./deno_kv_store.ts";
import { ChainNode } from "./node.ts";
import { CRASH_VALIDATOR, crashGenesis, crashKeys } from "./_crash_genesis.ts";
import { readAccount } from "./state.ts";
import { signTransaction } from "./transaction.ts";
import { verifyAll } from "./_test_util.ts";

const dir = Deno.args[0];
if (dir === undefined) throw new TypeError("usage: _crash_node.ts <dir>");
const store = await DenoKvChainStore.open(`${dir}/chain.kv`);
let t = Date.now();
const node = await ChainNode.open({
  store,
  genesis: crashGenesis(),
  verify: verifyAll,
  now: () => Math.max(t, Date.now()),
  schedule: queueMicrotask,
  validatorKey: CRASH_VALIDATOR,
});
node.subscribe((b) => console.log(`committed height ${b.header.height}`));
console.log(`opened height ${node.height}`);
const keys = crashKeys();
for (let round = 0;; round++) {
  t++;
  await Promise.all(keys.map((k, i) => {
    const to = keys[(i + 1 + round) % keys.length] as typeof k;
    const nonce = readAccount(node.state, k.address).nonce;
    const tx = signTransaction({
      chainId: "crash",
      nonce,
      fee: 1n,
      sender: k.pub,
      body: { kind: "transfer", to: to.address, amount: BigInt(1 + (round % 7)) },
    }, k.secret);
    return node.submit(tx.bytes).catch(() => {});
  }));
  await node.produceBlock();
}
