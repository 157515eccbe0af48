/**
 * Who proposes a height: round-robin proof of authority over the genesis validator set (consensus-relevant).
 *
 * @module
 */
import { ChainError } from "./errors.ts";
import type { Validator } from "./state.ts";

/** The proposer of `height` (round-robin PoA; consensus-relevant). */
export function proposerFor(validators: readonly Validator[], height: number): Validator {
  const v = validators[height % validators.length];
  if (v === undefined) throw new ChainError("FAILED_PRECONDITION", "GENESIS", "No validators");
  return v;
}
