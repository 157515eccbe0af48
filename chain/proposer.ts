/**
 * Who proposes a height and round (consensus-relevant): smooth weighted round robin over the validator set.
 *
 * @module
 */
import { ChainError } from "./errors.ts";
import type { Validator } from "./state.ts";

/** The smooth weighted round-robin sequence a validator set's proposers follow (cached per set). */
const schedules = new WeakMap<readonly Validator[], number[]>();

function proposerSchedule(validators: readonly Validator[]): number[] {
  const cached = schedules.get(validators);
  if (cached !== undefined) return cached;
  const total = validators.reduce((s, v) => s + v.power, 0n);
  const cap = 4096n;
  const weights = validators.map((v) => {
    const w = total <= cap ? v.power : (v.power * cap) / total;
    return Number(w < 1n ? 1n : w);
  });
  const sum = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const seq: number[] = [];
  for (let i = 0; i < sum; i++) {
    let best = 0;
    for (let j = 0; j < weights.length; j++) {
      current[j] = (current[j] ?? 0) + (weights[j] ?? 0);
      if ((current[j] ?? 0) > (current[best] ?? 0)) best = j;
    }
    current[best] = (current[best] ?? 0) - sum;
    seq.push(best);
  }
  schedules.set(validators, seq);
  return seq;
}

/**
 * The proposer of `height` / `round` (consensus-relevant): smooth weighted round robin over the validator set,
 * position `height + round`. With equal powers it is `validators[(height + round) % n]`, the proof-of-authority
 * rotation earlier blocks used. Powers summing to more than 4096 are scaled down (each at least 1).
 */
export function proposerOf(validators: readonly Validator[], height: number, round: number): Validator {
  const seq = proposerSchedule(validators);
  const v = validators[seq[(height + round) % seq.length] ?? 0];
  if (v === undefined) throw new ChainError("FAILED_PRECONDITION", "GENESIS", "No validators");
  return v;
}

/** The proposer of `height` in round 0 (see {@linkcode proposerOf}). */
export function proposerFor(validators: readonly Validator[], height: number): Validator {
  return proposerOf(validators, height, 0);
}

/** Whether `power` is more than 2/3 of `total` (a quorum). */
export function isQuorum(power: bigint, total: bigint): boolean {
  return 3n * power > 2n * total;
}
