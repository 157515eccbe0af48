/**
 * `deno task bench [--quick] [area...]`: runs each area's benchmark side by side with its named peer and
 * prints one markdown document (a table per area). Areas: transport, wallet, cns, bridge, chain, vm, wraith, wraith-edge,
 * scorecard (the seed's success metrics on a whole devnet under a mixed load), link (ghostlink in network
 * namespaces; root only).
 *
 * Benchmarks are measurements, not tests: they assert nothing about speed and report ratios against a peer
 * measured in the same run, because these machines are shared and noisy.
 *
 * @module
 */

import { type BenchRow, markdownTable } from "./_table.ts";

export { type BenchRow, markdownTable };

type Runner = (opts: { quick: boolean }) => Promise<readonly BenchRow[]>;

const AREAS: Readonly<Record<string, () => Promise<Runner>>> = {
  transport: async () => (await import("./transport_bench.ts")).runTransportBench as Runner,
  wallet: async () => (await import("./wallet_bench.ts")).runWalletBench as Runner,
  cns: async () => (await import("./cns_bench.ts")).runCnsBench as Runner,
  bridge: async () => (await import("./bridge_bench.ts")).runBridgeBench as Runner,
  chain: async () => (await import("./chain_bench.ts")).runChainBench as Runner,
  vm: async () => (await import("./vm_bench.ts")).runVmBench as Runner,
  wraith: async () => (await import("./wraith_bench.ts")).runWraithBench as Runner,
  "wraith-edge": async () => (await import("./wraith_edge_bench.ts")).runWraithEdgeBench as Runner,
  scorecard: async () => (await import("./scorecard_bench.ts")).runScorecardBench as Runner,
  link: async () => (await import("./link_bench.ts")).runLinkBench as Runner,
};

async function main(args: string[]): Promise<number> {
  const quick = args.includes("--quick");
  const names = args.filter((a) => !a.startsWith("--"));
  const unknown = names.filter((n) => !(n in AREAS));
  if (unknown.length > 0) {
    console.error(`error: Unknown bench area ${unknown.join(", ")}; areas: ${Object.keys(AREAS).join(", ")}`);
    return 2;
  }
  const selected = names.length > 0 ? names : Object.keys(AREAS);
  console.log(
    `# GhostChain Edge benchmarks\n\n${new Date().toISOString()}, deno ${Deno.version.deno}, ` +
      `${navigator.hardwareConcurrency} cores${quick ? ", --quick" : ""}\n`,
  );
  let failed = 0;
  for (const name of selected) {
    const load = AREAS[name];
    if (load === undefined) continue;
    console.log(`## ${name}\n`);
    try {
      const rows = await (await load())({ quick });
      console.log(markdownTable(rows) + "\n");
    } catch (err) {
      failed++;
      console.log(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
