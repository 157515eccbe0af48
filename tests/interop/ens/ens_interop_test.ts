/**
 * `.eth` through ENS against a real local Ethereum node: ganache (npm, run under Node) with the ENS registry
 * (`@ensdomains/ens`, ENSRegistry) and public resolver (`@ensdomains/resolver`, PublicResolver) deployed from
 * their published build artifacts (the `@ensdomains/ens-contracts` package is not on the npm registry these
 * machines reach; these are its predecessors from the same organisation, with the same registry and resolver
 * interfaces). cns runs in process with `ens_rpc_url` pointing at ganache; dig and kdig ask it over UDP and TCP.
 *
 * The test runs `npm ci` in this folder when `node_modules` is missing; it skips with a message when node,
 * npm, dig or kdig are missing.
 */
import assert from "node:assert/strict";
import {
  bytesToHex,
  EnsResolver,
  jsonRpcEthCall,
  labelhash,
  namehash,
  parseCnsConfig,
  selector,
  startCnsServer,
} from "../../../cns/mod.ts";
import { freePort, hasTool, run } from "../dns/_tools.ts";

const HERE = new URL("./", import.meta.url).pathname;
const READY = hasTool("node") && hasTool("npm") && hasTool("dig") && hasTool("kdig");
if (!READY) console.warn("SKIP: the ENS interop test needs node, npm, dig and kdig");

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const msg = await res.json() as { result?: unknown; error?: { message: string } };
  if (msg.error) throw new Error(`${method}: ${msg.error.message}`);
  return msg.result;
}

const word = (hex: string): string => hex.replace(/^0x/, "").padStart(64, "0");
const addrWord = (a: string): string => word(a.toLowerCase());

/** ABI call data: selector + static words + (optionally) one trailing dynamic bytes argument. */
function callData(signature: string, words: string[], dynamic?: Uint8Array): string {
  let out = bytesToHex(selector(signature)) + words.join("");
  if (dynamic !== undefined) {
    const head = (words.length + 1) * 32;
    const padded = Array.from(dynamic, (b) => b.toString(16).padStart(2, "0")).join("").padEnd(
      Math.ceil(dynamic.length / 32) * 64,
      "0",
    );
    out += word(head.toString(16)) + word(dynamic.length.toString(16)) + padded;
  }
  return out;
}

async function send(url: string, from: string, data: string, to?: string): Promise<string | undefined> {
  const hash = await rpc(url, "eth_sendTransaction", [{
    from,
    data,
    gas: "0x5f5e10",
    ...(to ? { to } : {}),
  }]);
  const receipt = await rpc(url, "eth_getTransactionReceipt", [hash]) as {
    status: string;
    contractAddress?: string;
  };
  assert.equal(receipt.status, "0x1", `transaction to ${to ?? "(create)"} failed`);
  return receipt.contractAddress;
}

Deno.test({
  name: "interop ENS on ganache: dig and kdig resolve .eth addr and contenthash through cns",
  ignore: !READY,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    try {
      await Deno.stat(`${HERE}node_modules/ganache`);
    } catch {
      const ci = await run("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], {
        cwd: HERE,
        timeoutMs: 600_000,
      });
      assert.equal(ci.code, 0, `npm ci failed in tests/interop/ens: ${ci.stderr.slice(0, 500)}`);
    }
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const node = new Deno.Command("node", {
      args: [
        `${HERE}node_modules/ganache/dist/node/cli.js`,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--wallet.deterministic",
        "--logging.quiet",
        "--chain.chainId",
        "1337",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let cns: Awaited<ReturnType<typeof startCnsServer>> | undefined;
    try {
      let accounts: string[] = [];
      for (let i = 0; i < 120 && accounts.length === 0; i++) {
        accounts = await rpc(url, "eth_accounts", []).then((a) => a as string[]).catch(() => []);
        if (accounts.length === 0) await new Promise((r) => setTimeout(r, 250));
      }
      const me = accounts[0];
      assert.ok(me, "ganache did not come up");
      const artifact = async (path: string) =>
        JSON.parse(await Deno.readTextFile(`${HERE}node_modules/${path}`)) as { bytecode: string };
      const registry = await send(
        url,
        me,
        (await artifact("@ensdomains/ens/build/contracts/ENSRegistry.json")).bytecode,
      );
      assert.ok(registry);
      const resolverCode =
        (await artifact("@ensdomains/resolver/build/contracts/PublicResolver.json")).bytecode;
      const resolver = await send(url, me, resolverCode + addrWord(registry));
      assert.ok(resolver);
      // Root -> eth -> alice.eth, owned by us; alice.eth uses the public resolver.
      const root = "0".repeat(64);
      const hex = (b: Uint8Array) => bytesToHex(b).slice(2);
      await send(
        url,
        me,
        callData("setSubnodeOwner(bytes32,bytes32,address)", [root, hex(labelhash("eth")), addrWord(me)]),
        registry,
      );
      await send(
        url,
        me,
        callData("setSubnodeOwner(bytes32,bytes32,address)", [
          hex(namehash("eth")),
          hex(labelhash("alice")),
          addrWord(me),
        ]),
        registry,
      );
      const alice = hex(namehash("alice.eth"));
      await send(url, me, callData("setResolver(bytes32,address)", [alice, addrWord(resolver)]), registry);
      await send(url, me, callData("setTTL(bytes32,uint64)", [alice, word("3c")]), registry);
      const target = "0x1234567890abcdef1234567890abcdef12345678";
      await send(url, me, callData("setAddr(bytes32,address)", [alice, addrWord(target)]), resolver);
      // An IPFS contenthash (ENSIP-7: 0xe3 0x01 0x01 0x70 + multihash).
      const ch = Uint8Array.from([0xe3, 0x01, 0x01, 0x70, 0x12, 0x20, ...new Array(32).fill(0xab)]);
      await send(url, me, callData("setContenthash(bytes32,bytes)", [alice], ch), resolver);
      // bob.eth exists in the registry but has no resolver.
      await send(
        url,
        me,
        callData("setSubnodeOwner(bytes32,bytes32,address)", [
          hex(namehash("eth")),
          hex(labelhash("bob")),
          addrWord(me),
        ]),
        registry,
      );

      cns = await startCnsServer({
        config: parseCnsConfig({
          listen: ["127.0.0.1:0"],
          doq_listen: "",
          doh_listen: "",
          rrl_responses_per_second: 0,
          ens_rpc_url: url,
          ens_registry: registry,
        }),
        resolvers: [
          new EnsResolver({
            call: jsonRpcEthCall(url, { timeoutMs: 2000 }),
            registry: Uint8Array.from(registry.slice(2).match(/../g) ?? [], (b) => parseInt(b, 16)),
            ttlS: 300,
          }),
        ],
      });
      const dnsPort = cns.endpoints.find((e) => e.name === "udp")?.port ?? 0;
      const dig = (...args: string[]) =>
        run("dig", ["@127.0.0.1", "-p", String(dnsPort), "+time=3", "+tries=1", ...args]);

      const txt = await dig("alice.eth", "TXT");
      assert.match(txt.stdout, /status: NOERROR/);
      assert.match(txt.stdout, /flags: qr aa/);
      assert.match(txt.stdout, new RegExp(`alice\\.eth\\.\\s+60\\s+IN\\s+TXT\\s+"eth=${target}"`));
      assert.match(txt.stdout, new RegExp(`"contenthash=0xe30101701220${"ab".repeat(32)}"`));
      // ENSIP-15 normalisation: upper case folds to the same name (DNS case-insensitivity agrees).
      const upper = await run("kdig", ["@127.0.0.1", "-p", String(dnsPort), "+tcp", "ALICE.eth", "TXT"]);
      assert.equal(upper.code, 0, upper.stderr);
      assert.match(upper.stdout, new RegExp(`eth=${target}`));
      // No resolver, and not registered at all: NXDOMAIN with the eth. SOA.
      for (const name of ["bob.eth", "nobody-registered-this.eth"]) {
        const nx = await dig(name, "TXT");
        assert.match(nx.stdout, /status: NXDOMAIN/, name);
        assert.match(nx.stdout, /eth\.\s+\d+\s+IN\s+SOA\s+ns\.eth\. hostmaster\.eth\./);
      }
      // A name with data but no A record: NODATA.
      const a = await dig("alice.eth", "A");
      assert.match(a.stdout, /status: NOERROR/);
      assert.match(a.stdout, /ANSWER: 0/);

      // The RPC endpoint goes away: uncached names are SERVFAIL, never a crash; cached answers still serve.
      node.kill("SIGTERM");
      await node.status;
      const down = await dig("carol.eth", "TXT");
      assert.match(down.stdout, /status: SERVFAIL/);
      assert.match((await dig("alice.eth", "TXT", "+short")).stdout, new RegExp(`eth=${target}`));
    } finally {
      await cns?.close();
      try {
        node.kill("SIGKILL");
      } catch {
        // already gone
      }
      await node.status;
    }
  },
});
