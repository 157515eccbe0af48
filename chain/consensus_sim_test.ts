/**
 * Seeded simulations of consensus (chain/_consensus_sim.ts): safety, no double signing and liveness over
 * thousands of runs with network faults, crashes and Byzantine validators. A failure prints its seed; replay it
 * with `SIM_SEED=<seed> ./deno test -A chain/consensus_sim_test.ts`. `SIM_RUNS` sets the number of runs.
 */
import assert from "node:assert/strict";
import { type SimOptions, type SimResult, simulate } from "./_consensus_sim.ts";

const RUNS = Number(Deno.env.get("SIM_RUNS") ?? "1500");
const ONLY = Deno.env.get("SIM_SEED");

function runMany(name: string, base: number, runs: number, opts: SimOptions = {}): SimResult[] {
  const seeds = ONLY !== undefined ? [Number(ONLY)] : Array.from({ length: runs }, (_, i) => base + i);
  const results: SimResult[] = [];
  for (const seed of seeds) {
    const r = simulate(seed, opts);
    if (r.violations.length > 0) {
      assert.fail(
        `${name}: ${
          r.violations.join("; ")
        }\n  ${r.description}\n  replay: SIM_SEED=${seed} ./deno test -A chain/consensus_sim_test.ts`,
      );
    }
    results.push(r);
  }
  return results;
}

Deno.test("consensus sim: no faults, honest validators decide every height", () => {
  const rs = runMany("clean", 1, 50, { faults: false, byzantine: false, healAtMs: 0, progressAfterHeal: 10 });
  for (const r of rs) assert.ok(r.heights.every((h) => h >= 10), r.description);
});

Deno.test("consensus sim: faults, crashes and Byzantine validators — safe and live after healing", () => {
  const rs = runMany("faults", 1000, RUNS);
  // The runs must actually exercise what they claim.
  assert.ok(rs.some((r) => r.evidence > 0), "no run produced equivocation evidence");
  assert.ok(rs.some((r) => r.crashes > 0), "no run crashed a validator");
  assert.ok(rs.some((r) => r.maxRound > 0), "no run needed a second round");
});

Deno.test("consensus sim: every honest validator crashes mid-round and restarts — no equivocation, no fork", () => {
  runMany("crash-all", 50_000, Math.max(50, Math.floor(RUNS / 6)), { crashAllAtMs: 700, healAtMs: 400 });
});
