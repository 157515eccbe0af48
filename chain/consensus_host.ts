/**
 * {@linkcode ConsensusHost}: the crash-safety discipline around the engine, shared by the Deno adapter and the
 * simulator, still sans-IO. For each input it returns a {@linkcode HostStep}:
 * 1. `wal`: entries to append to the write-ahead log of the height **before** anything else happens — the input
 *    itself, then every message this validator signed while processing it;
 * 2. `signState`: the double-sign guard's state to persist (after the WAL, before sending);
 * 3. `outputs`: only now may broadcasts leave, timers be set, blocks be built or validated.
 * The adapter must finish (1) and (2) — written and flushed — before acting on (3).
 *
 * Restart: open the engine at the next height after the store's head and {@linkcode ConsensusHost.replay} the
 * WAL if it is for that height. Replay feeds the same inputs in the same order, so the engine reaches the same
 * locks and round; a message it signed before the crash comes back from the WAL as a message (the guard refuses
 * to sign it twice, or returns the same signature), never as a conflicting one.
 *
 * @module
 */
import type { ConsensusInput, ConsensusMessage, ConsensusOutput, Tendermint } from "./consensus.ts";
import type { LastSignState, PrivValidator } from "./privval.ts";

/** What to do with one input's results, in this order (see the module doc). */
export interface HostStep {
  readonly wal: readonly ConsensusInput[];
  readonly signState: LastSignState | undefined;
  readonly outputs: readonly ConsensusOutput[];
}

/** Messages for the next height kept until it starts. */
export const MAX_BUFFERED = 4096;

/** The height a consensus message is for. */
export function messageHeight(m: ConsensusMessage): number {
  return m.kind === "proposal" ? m.proposal.height : m.vote.height;
}

/** Engine plus guard (see the module doc). */
export class ConsensusHost {
  readonly engine: Tendermint;
  readonly privval: PrivValidator | undefined;
  #next: ConsensusMessage[] = [];

  constructor(engine: Tendermint, privval: PrivValidator | undefined) {
    this.engine = engine;
    this.privval = privval;
  }

  #own(outputs: readonly ConsensusOutput[]): ConsensusInput[] {
    const wal: ConsensusInput[] = [];
    for (const o of outputs) if (o.kind === "broadcast") wal.push({ kind: "message", message: o.message });
    return wal;
  }

  /**
   * Starts a height; the WAL is reset to this height before the returned entries. Messages for this height that
   * arrived while the previous one ran are processed now, and logged like any input.
   */
  start(height: number, validators: Parameters<Tendermint["startHeight"]>[1]): HostStep {
    const outputs = this.engine.startHeight(height, validators);
    const wal = this.#own(outputs);
    const buffered = this.#next;
    this.#next = [];
    for (const message of buffered) {
      if (messageHeight(message) !== height) continue;
      const input: ConsensusInput = { kind: "message", message };
      const out = this.engine.step(input);
      wal.push(input, ...this.#own(out));
      outputs.push(...out);
    }
    return { wal, signState: this.privval?.takeDirty(), outputs };
  }

  /** Processes one input; a message for the next height is kept (bounded) for `start`, not logged yet. */
  step(input: ConsensusInput): HostStep {
    if (input.kind === "message" && messageHeight(input.message) === this.engine.height + 1) {
      if (this.#next.length < MAX_BUFFERED) this.#next.push(input.message);
      return { wal: [], signState: undefined, outputs: [] };
    }
    const outputs = this.engine.step(input);
    return { wal: [input, ...this.#own(outputs)], signState: this.privval?.takeDirty(), outputs };
  }

  /**
   * Replays a WAL of the current height (after `start`); returns the outputs still to act on. Nothing needs
   * logging: every message the replay signs was logged (after its input) before it could have left.
   */
  replay(entries: readonly ConsensusInput[]): Omit<HostStep, "wal"> {
    const outputs: ConsensusOutput[] = [];
    for (const e of entries) outputs.push(...this.engine.step(e));
    return { signState: this.privval?.takeDirty(), outputs };
  }
}
