/**
 * {@linkcode PrivValidator}: the double-sign guard between the consensus engine and a validator key (CometBFT's
 * `priv_validator_state`). It remembers the last height / round / step it signed and the block hash and signature
 * of that message, and refuses to sign anything at an earlier height / round / step or anything different at the
 * same one (the same message is answered with the same signature, so a replay after a crash is harmless).
 *
 * Sans-IO: `sign` is injected, and the state to persist is read with {@linkcode PrivValidator.takeDirty}. The
 * adapter's rule is **persist the state before any signature it produced leaves the process**: a crash before
 * the write loses only signatures nobody saw; a crash after it cannot sign a conflicting message on restart.
 *
 * @module
 */
import type { ConsensusSigner, Proposal, Vote } from "./consensus.ts";
import { PRECOMMIT } from "./consensus.ts";
import { proposalSignBytes, voteSignBytes } from "./consensus_codec.ts";
import { bytesEqual, fromHex, toHex } from "./_pb.ts";

/** Step numbers in signing order within a round. */
export const SIGN_STEP = { proposal: 1, prevote: 2, precommit: 3 } as const;

/** The last signed message's coordinates (what is persisted). */
export interface LastSignState {
  readonly height: number;
  readonly round: number;
  /** 1 proposal, 2 prevote, 3 precommit. */
  readonly step: number;
  /** The signed block hash (empty for nil) and, for proposals, the POL round. */
  readonly blockHash: Uint8Array;
  readonly polRound: number;
  readonly signature: Uint8Array;
}

/** The state before anything was signed. */
export const EMPTY_SIGN_STATE: LastSignState = {
  height: 0,
  round: 0,
  step: 0,
  blockHash: new Uint8Array(0),
  polRound: -1,
  signature: new Uint8Array(0),
};

/** Encodes a sign state as JSON text (the file format). */
export function encodeSignState(s: LastSignState): string {
  return JSON.stringify({
    height: s.height,
    round: s.round,
    step: s.step,
    block_hash: toHex(s.blockHash),
    pol_round: s.polRound,
    signature: toHex(s.signature),
  }) + "\n";
}

/** Decodes a sign state; throws a TypeError on anything malformed (a validator must not start on a bad file). */
export function decodeSignState(text: string): LastSignState {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== "object" || raw === null) throw new TypeError("Invalid sign state: not an object");
  const o = raw as Record<string, unknown>;
  const int = (k: string, min: number): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw new TypeError(`Invalid sign state: ${k}`);
    }
    return v;
  };
  const hex = (k: string): Uint8Array => {
    const v = o[k];
    if (typeof v !== "string") throw new TypeError(`Invalid sign state: ${k}`);
    return fromHex(v, k);
  };
  return {
    height: int("height", 0),
    round: int("round", 0),
    step: int("step", 0),
    blockHash: hex("block_hash"),
    polRound: int("pol_round", -1),
    signature: hex("signature"),
  };
}

function compareHrs(a: LastSignState, h: number, r: number, s: number): number {
  return a.height !== h ? a.height - h : a.round !== r ? a.round - r : a.step - s;
}

/** The guard (see the module doc). */
export class PrivValidator implements ConsensusSigner {
  readonly publicKey: Uint8Array;
  readonly #chainId: string;
  readonly #sign: (payload: Uint8Array) => Uint8Array;
  #state: LastSignState;
  #dirty = false;
  /** Signatures refused (each a conflicting request the engine made). */
  refused = 0;

  constructor(
    chainId: string,
    publicKey: Uint8Array,
    sign: (payload: Uint8Array) => Uint8Array,
    state: LastSignState = EMPTY_SIGN_STATE,
  ) {
    this.#chainId = chainId;
    this.publicKey = publicKey;
    this.#sign = sign;
    this.#state = state;
  }

  /** The last signed coordinates. */
  get state(): LastSignState {
    return this.#state;
  }

  /** The state to persist if it changed since the last call (then clears the flag). */
  takeDirty(): LastSignState | undefined {
    if (!this.#dirty) return undefined;
    this.#dirty = false;
    return this.#state;
  }

  #guard(
    height: number,
    round: number,
    step: number,
    blockHash: Uint8Array,
    polRound: number,
    payload: () => Uint8Array,
  ): Uint8Array | undefined {
    const c = compareHrs(this.#state, height, round, step);
    if (c > 0) {
      this.refused++;
      return undefined;
    }
    if (c === 0) {
      if (bytesEqual(this.#state.blockHash, blockHash) && this.#state.polRound === polRound) {
        return this.#state.signature;
      }
      this.refused++;
      return undefined;
    }
    const signature = this.#sign(payload());
    this.#state = { height, round, step, blockHash, polRound, signature };
    this.#dirty = true;
    return signature;
  }

  signVote(v: Omit<Vote, "validator" | "signature">): Uint8Array | undefined {
    const step = v.type === PRECOMMIT ? SIGN_STEP.precommit : SIGN_STEP.prevote;
    return this.#guard(v.height, v.round, step, v.blockHash, -1, () => voteSignBytes(this.#chainId, v));
  }

  signProposal(p: Omit<Proposal, "proposer" | "signature" | "block" | "polVotes">): Uint8Array | undefined {
    return this.#guard(
      p.height,
      p.round,
      SIGN_STEP.proposal,
      p.blockHash,
      p.polRound,
      () => proposalSignBytes(this.#chainId, p),
    );
  }
}
