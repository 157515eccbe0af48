/**
 * {@linkcode Tendermint}: the BFT consensus of one validator for one height at a time, as a sans-IO state machine.
 * Inputs (verified messages, fired timeouts, built and validated blocks) go in through {@linkcode Tendermint.step};
 * outputs (messages to broadcast, timeouts to schedule, blocks to build or validate, the decision, evidence) come
 * out. It never reads a clock, a socket or randomness, so a simulator can drive thousands of seeded runs and a
 * write-ahead log of its inputs replays it exactly after a crash.
 *
 * The algorithm is the one of "The latest gossip on BFT consensus" (Buchman, Kwon, Milosevic, 2018), the paper
 * behind CometBFT: rounds of propose / prevote / precommit; a validator locks on a block when it precommits it
 * and only unlocks on a later proof-of-lock (more than 2/3 of the power prevoting another block in a later round);
 * a block is decided — final, never reverted — when more than 2/3 of the voting power precommits it in one round.
 * Rules are evaluated after every input until none applies (the paper's "upon" clauses); line numbers in comments
 * refer to the paper's Algorithm 1.
 *
 * Safety needs fewer than 1/3 of the power Byzantine and that no honest validator signs two different messages
 * for one height / round / step: that is the signer's job ({@linkcode ConsensusSigner}, privval.ts), which may
 * refuse to sign. Liveness needs messages to arrive eventually; timeouts grow with the round so that after the
 * network heals some round is long enough, and `gossip()` names the messages to send again.
 *
 * Memory is bounded: proposals only from the round's proposer (at most 4 per round), one vote per validator,
 * type and round (a second, different one is evidence, kept once), at most {@linkcode MAX_FUTURE_ROUNDS} rounds
 * ahead of the current one per validator. Messages for other heights are dropped (the host keeps the next
 * height's, consensus_host.ts).
 *
 * @module
 */
import { bytesEqual, fromHex, toHex } from "./_pb.ts";
import type { Validator } from "./state.ts";
import { isQuorum, proposerOf } from "./proposer.ts";

export { isQuorum, proposerOf };

/** A prevote. */
export const PREVOTE = 1;
/** A precommit. */
export const PRECOMMIT = 2;
/** The two vote types. */
export type VoteType = typeof PREVOTE | typeof PRECOMMIT;

/** A signed vote; an empty `blockHash` is a vote for nil. */
export interface Vote {
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly validator: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * A signed proposal of `block` (its encoding) in a round. `polRound` is -1 for a new block, or the round in which
 * more than 2/3 of the power prevoted this block (a proof-of-lock); then `polVotes` carries those prevotes, so a
 * validator that missed some of them (or got an equivocator's other vote) can still check the proof. The
 * signature covers everything but `block` (bound by `blockHash`) and `polVotes` (each signed by its validator).
 */
export interface Proposal {
  readonly height: number;
  readonly round: number;
  readonly polRound: number;
  readonly blockHash: Uint8Array;
  readonly block: Uint8Array;
  readonly proposer: Uint8Array;
  readonly signature: Uint8Array;
  readonly polVotes: readonly Vote[];
}

/** What validators send each other (signatures already verified when it reaches the engine). */
export type ConsensusMessage =
  | { readonly kind: "proposal"; readonly proposal: Proposal }
  | { readonly kind: "vote"; readonly vote: Vote };

/** A round's steps. */
export type Step = "propose" | "prevote" | "precommit";

/** Inputs of {@linkcode Tendermint.step} (what a write-ahead log records). */
export type ConsensusInput =
  | { readonly kind: "message"; readonly message: ConsensusMessage }
  | { readonly kind: "timeout"; readonly height: number; readonly round: number; readonly step: Step }
  | { readonly kind: "built"; readonly height: number; readonly round: number; readonly block: Uint8Array }
  | {
    readonly kind: "validated";
    readonly height: number;
    readonly blockHash: Uint8Array;
    readonly valid: boolean;
  };

/** A decided block and the precommits that decided it (more than 2/3 of the power). */
export interface Decision {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly block: Uint8Array;
  readonly precommits: readonly Vote[];
}

/** Outputs of the engine. */
export type ConsensusOutput =
  | { readonly kind: "broadcast"; readonly message: ConsensusMessage }
  | {
    readonly kind: "schedule";
    readonly height: number;
    readonly round: number;
    readonly step: Step;
    readonly ms: number;
  }
  | { readonly kind: "build"; readonly height: number; readonly round: number }
  | {
    readonly kind: "validate";
    readonly height: number;
    readonly blockHash: Uint8Array;
    readonly block: Uint8Array;
  }
  | { readonly kind: "decide"; readonly decision: Decision }
  | { readonly kind: "evidence"; readonly first: Vote; readonly second: Vote };

/** Signs this validator's messages; returns undefined to refuse (signing would conflict with an earlier one). */
export interface ConsensusSigner {
  readonly publicKey: Uint8Array;
  signVote(v: Omit<Vote, "validator" | "signature">): Uint8Array | undefined;
  signProposal(p: Omit<Proposal, "proposer" | "signature" | "block" | "polVotes">): Uint8Array | undefined;
}

/** Round timeouts: `base + round * delta` ms per step. */
export interface ConsensusTimeouts {
  readonly proposeMs: number;
  readonly proposeDeltaMs: number;
  readonly voteMs: number;
  readonly voteDeltaMs: number;
}

/** Defaults tuned for a LAN (loopback devnets decide in a few ms; these only matter when something fails). */
export const DEFAULT_TIMEOUTS: ConsensusTimeouts = {
  proposeMs: 1000,
  proposeDeltaMs: 500,
  voteMs: 500,
  voteDeltaMs: 250,
};

/** Rounds above the current one kept per validator. */
export const MAX_FUTURE_ROUNDS = 8;
/** Proposals kept per round (an honest proposer sends one; more is equivocation). */
const MAX_PROPOSALS_PER_ROUND = 4;

/** Options of {@linkcode Tendermint}. */
export interface TendermintOptions {
  /** This validator's signer; without one the engine only follows (never votes or proposes). */
  readonly signer?: ConsensusSigner;
  /** The hash of an encoded block (a proposal whose `blockHash` differs is dropped). */
  readonly hashBlock: (block: Uint8Array) => Uint8Array;
  readonly timeouts?: Partial<ConsensusTimeouts>;
}

const NIL = "";

class VoteSet {
  readonly byValidator = new Map<string, Vote>();
  readonly power = new Map<string, bigint>();
  total = 0n;
}

interface RoundState {
  readonly proposals: Proposal[];
  readonly prevotes: VoteSet;
  readonly precommits: VoteSet;
  /** Validators that sent anything in this round, with their power (round skip, line 55). */
  readonly senders: Map<string, bigint>;
  prevoteTimeout: boolean;
  precommitTimeout: boolean;
  /** Line 36 fired in this round. */
  lockedHere: boolean;
}

function hashKey(hash: Uint8Array): string {
  return hash.length === 0 ? NIL : toHex(hash);
}

/** The engine (see the module doc). */
export class Tendermint {
  readonly #signer: ConsensusSigner | undefined;
  readonly #selfKey: string | undefined;
  readonly #hashBlock: (block: Uint8Array) => Uint8Array;
  readonly #t: ConsensusTimeouts;
  #height = 0;
  #round = 0;
  #step: Step = "propose";
  #validators: readonly Validator[] = [];
  #power = new Map<string, bigint>();
  #total = 0n;
  #lockedRound = -1;
  #lockedHash: string | undefined;
  #validRound = -1;
  #validHash: string | undefined;
  #decided: Decision | undefined;
  #awaitingBuild = false;
  #started = false;
  #rounds = new Map<number, RoundState>();
  /** Block bytes by hash (from the proposer of some round). */
  #blocks = new Map<string, Uint8Array>();
  #validity = new Map<string, boolean>();
  #requested = new Set<string>();
  #evidence = new Set<string>();
  #out: ConsensusOutput[] = [];

  constructor(opts: TendermintOptions) {
    this.#signer = opts.signer;
    this.#selfKey = opts.signer === undefined ? undefined : toHex(opts.signer.publicKey);
    this.#hashBlock = opts.hashBlock;
    this.#t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  }

  /** The current height. */
  get height(): number {
    return this.#height;
  }

  /** The current round. */
  get round(): number {
    return this.#round;
  }

  /** The current step. */
  get currentStep(): Step {
    return this.#step;
  }

  /** The round this validator is locked in (-1: not locked). */
  get lockedRound(): number {
    return this.#lockedRound;
  }

  /** The decision of the current height, once there is one. */
  get decision(): Decision | undefined {
    return this.#decided;
  }

  /** The validator set of the current height. */
  get validators(): readonly Validator[] {
    return this.#validators;
  }

  /** The last vote of `validator` at the current height (highest round, precommit over prevote). */
  lastVote(validator: Uint8Array): Vote | undefined {
    const k = toHex(validator);
    let best: Vote | undefined;
    for (const rs of this.#rounds.values()) {
      for (const set of [rs.prevotes, rs.precommits]) {
        const v = set.byValidator.get(k);
        if (
          v !== undefined &&
          (best === undefined || v.round > best.round || (v.round === best.round && v.type > best.type))
        ) {
          best = v;
        }
      }
    }
    return best;
  }

  /** Starts `height` with its validator set: buffered messages for it are processed, then round 0 starts. */
  startHeight(height: number, validators: readonly Validator[]): ConsensusOutput[] {
    if (validators.length === 0) throw new RangeError("Cannot start a height with no validators");
    this.#height = height;
    this.#validators = validators;
    this.#power = new Map(validators.map((v) => [toHex(v.publicKey), v.power]));
    this.#total = validators.reduce((s, v) => s + v.power, 0n);
    this.#round = 0;
    this.#step = "propose";
    this.#lockedRound = -1;
    this.#lockedHash = undefined;
    this.#validRound = -1;
    this.#validHash = undefined;
    this.#decided = undefined;
    this.#awaitingBuild = false;
    this.#rounds.clear();
    this.#blocks.clear();
    this.#validity.clear();
    this.#requested.clear();
    this.#evidence.clear();
    this.#started = true;
    this.#startRound(0);
    this.#run();
    return this.#flush();
  }

  /** Processes one input. */
  step(input: ConsensusInput): ConsensusOutput[] {
    if (!this.#started) return [];
    switch (input.kind) {
      case "message":
        this.#receive(input.message);
        break;
      case "timeout":
        this.#timeout(input.height, input.round, input.step);
        break;
      case "built":
        this.#built(input.height, input.round, input.block);
        break;
      case "validated":
        if (input.height === this.#height) {
          const k = hashKey(input.blockHash);
          if (!this.#validity.has(k)) this.#validity.set(k, input.valid);
        }
        break;
    }
    this.#run();
    return this.#flush();
  }

  /** This validator's own messages of the current and previous round, to send again (gossip). */
  gossip(): ConsensusMessage[] {
    const out: ConsensusMessage[] = [];
    if (this.#selfKey === undefined) return out;
    const rounds = this.#decided !== undefined ? [this.#decided.round] : [this.#round - 1, this.#round];
    for (const r of rounds) {
      const rs = this.#rounds.get(r);
      if (rs === undefined) continue;
      for (const p of rs.proposals) {
        if (toHex(p.proposer) === this.#selfKey) out.push({ kind: "proposal", proposal: p });
      }
      for (const set of [rs.prevotes, rs.precommits]) {
        const v = set.byValidator.get(this.#selfKey);
        if (v !== undefined) out.push({ kind: "vote", vote: v });
      }
    }
    return out;
  }

  #flush(): ConsensusOutput[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** The height a message is for. */
  #messageHeight(m: ConsensusMessage): number {
    return m.kind === "proposal" ? m.proposal.height : m.vote.height;
  }

  #roundState(r: number): RoundState {
    let rs = this.#rounds.get(r);
    if (rs === undefined) {
      rs = {
        proposals: [],
        prevotes: new VoteSet(),
        precommits: new VoteSet(),
        senders: new Map(),
        prevoteTimeout: false,
        precommitTimeout: false,
        lockedHere: false,
      };
      this.#rounds.set(r, rs);
    }
    return rs;
  }

  /** Whether `validator` may add a message at round `r` (bounds rounds ahead of the current one). */
  #roundAllowed(validator: string, r: number): boolean {
    if (r <= this.#round || this.#rounds.has(r) && (this.#rounds.get(r)?.senders.has(validator) ?? false)) {
      return true;
    }
    let ahead = 0;
    for (const [round, rs] of this.#rounds) if (round > this.#round && rs.senders.has(validator)) ahead++;
    return ahead < MAX_FUTURE_ROUNDS;
  }

  #receive(m: ConsensusMessage): void {
    const h = this.#messageHeight(m);
    if (h !== this.#height || this.#decided !== undefined) return;
    if (m.kind === "proposal") this.#addProposal(m.proposal);
    else this.#addVote(m.vote);
  }

  #addProposal(p: Proposal): void {
    const key = toHex(p.proposer);
    if (p.round < 0 || p.polRound < -1 || p.polRound >= p.round) return;
    if (!bytesEqual(proposerOf(this.#validators, p.height, p.round).publicKey, p.proposer)) return;
    if (!this.#roundAllowed(key, p.round)) return;
    const hash = this.#hashBlock(p.block);
    if (!bytesEqual(hash, p.blockHash)) return;
    const rs = this.#roundState(p.round);
    if (rs.proposals.some((q) => bytesEqual(q.blockHash, p.blockHash) && q.polRound === p.polRound)) return;
    if (rs.proposals.length >= MAX_PROPOSALS_PER_ROUND) return;
    if (p.polRound >= 0 && !this.#isPolCertificate(p)) return;
    rs.proposals.push(p);
    rs.senders.set(key, this.#power.get(key) ?? 0n);
    for (const v of p.polVotes) this.#addVote(v);
    const hk = toHex(hash);
    if (!this.#blocks.has(hk)) this.#blocks.set(hk, p.block);
  }

  /** Whether a proposal's `polVotes` are more than 2/3 of the power prevoting its block in `polRound`. */
  #isPolCertificate(p: Proposal): boolean {
    const seen = new Set<string>();
    let power = 0n;
    for (const v of p.polVotes) {
      const k = toHex(v.validator);
      const w = this.#power.get(k);
      if (w === undefined || seen.has(k) || v.type !== PREVOTE || v.height !== p.height) return false;
      if (v.round !== p.polRound || !bytesEqual(v.blockHash, p.blockHash)) return false;
      seen.add(k);
      power += w;
    }
    return isQuorum(power, this.#total);
  }

  #addVote(v: Vote): void {
    const key = toHex(v.validator);
    const power = this.#power.get(key);
    if (power === undefined || v.round < 0) return;
    if (v.type !== PREVOTE && v.type !== PRECOMMIT) return;
    if (v.blockHash.length !== 0 && v.blockHash.length !== 32) return;
    if (!this.#roundAllowed(key, v.round)) return;
    const rs = this.#roundState(v.round);
    const set = v.type === PREVOTE ? rs.prevotes : rs.precommits;
    const prior = set.byValidator.get(key);
    if (prior !== undefined) {
      if (!bytesEqual(prior.blockHash, v.blockHash)) {
        const ek = `${key}/${v.round}/${v.type}`;
        if (!this.#evidence.has(ek)) {
          this.#evidence.add(ek);
          this.#out.push({ kind: "evidence", first: prior, second: v });
        }
      }
      return;
    }
    set.byValidator.set(key, v);
    const hk = hashKey(v.blockHash);
    set.power.set(hk, (set.power.get(hk) ?? 0n) + power);
    set.total += power;
    rs.senders.set(key, power);
  }

  #quorum(power: bigint | undefined): boolean {
    return power !== undefined && isQuorum(power, this.#total);
  }

  #isProposer(round: number): boolean {
    return this.#selfKey !== undefined &&
      toHex(proposerOf(this.#validators, this.#height, round).publicKey) === this.#selfKey;
  }

  #isValidator(): boolean {
    return this.#selfKey !== undefined && this.#power.has(this.#selfKey);
  }

  /** Validity of a known block: true/false, or undefined while its validation is pending (requested once). */
  #valid(hk: string): boolean | undefined {
    const v = this.#validity.get(hk);
    if (v !== undefined) return v;
    const block = this.#blocks.get(hk);
    if (block !== undefined && !this.#requested.has(hk)) {
      this.#requested.add(hk);
      this.#out.push({ kind: "validate", height: this.#height, blockHash: fromHex(hk), block });
    }
    return undefined;
  }

  #schedule(step: Step, round: number): void {
    const ms = step === "propose"
      ? this.#t.proposeMs + round * this.#t.proposeDeltaMs
      : this.#t.voteMs + round * this.#t.voteDeltaMs;
    this.#out.push({ kind: "schedule", height: this.#height, round, step, ms });
  }

  #startRound(round: number): void {
    this.#round = round;
    this.#step = "propose";
    this.#awaitingBuild = false;
    if (this.#isProposer(round) && this.#isValidator()) {
      const vh = this.#validHash;
      const block = vh === undefined ? undefined : this.#blocks.get(vh);
      if (vh !== undefined && block !== undefined) this.#propose(round, this.#validRound, vh, block);
      else {
        this.#awaitingBuild = true;
        this.#out.push({ kind: "build", height: this.#height, round });
      }
    }
    this.#schedule("propose", round);
  }

  #built(height: number, round: number, block: Uint8Array): void {
    if (
      height !== this.#height || round !== this.#round || !this.#awaitingBuild || this.#step !== "propose"
    ) return;
    this.#awaitingBuild = false;
    const hk = toHex(this.#hashBlock(block));
    this.#blocks.set(hk, block);
    this.#validity.set(hk, true);
    this.#propose(round, -1, hk, block);
  }

  #propose(round: number, polRound: number, hk: string, block: Uint8Array): void {
    const signer = this.#signer;
    if (signer === undefined) return;
    const blockHash = fromHex(hk);
    const sig = signer.signProposal({ height: this.#height, round, polRound, blockHash });
    if (sig === undefined) return;
    const pol = this.#rounds.get(polRound)?.prevotes.byValidator.values() ?? [];
    const proposal: Proposal = {
      polVotes: [...pol].filter((v) => toHex(v.blockHash) === hk),
      height: this.#height,
      round,
      polRound,
      blockHash,
      block,
      proposer: signer.publicKey,
      signature: sig,
    };
    this.#addProposal(proposal);
    this.#out.push({ kind: "broadcast", message: { kind: "proposal", proposal } });
  }

  #vote(type: VoteType, hk: string): void {
    const signer = this.#signer;
    if (signer === undefined || !this.#isValidator()) return;
    const unsigned = {
      type,
      height: this.#height,
      round: this.#round,
      blockHash: hk === NIL ? new Uint8Array(0) : fromHex(hk),
    };
    const signature = signer.signVote(unsigned);
    if (signature === undefined) return;
    const vote: Vote = { ...unsigned, validator: signer.publicKey, signature };
    this.#addVote(vote);
    this.#out.push({ kind: "broadcast", message: { kind: "vote", vote } });
  }

  #timeout(height: number, round: number, step: Step): void {
    if (height !== this.#height || round !== this.#round || this.#decided !== undefined) return;
    if (step === "propose" && this.#step === "propose") {
      this.#vote(PREVOTE, NIL); // line 57
      this.#step = "prevote";
    } else if (step === "prevote" && this.#step === "prevote") {
      this.#vote(PRECOMMIT, NIL); // line 61
      this.#step = "precommit";
    } else if (step === "precommit") {
      this.#startRound(round + 1); // line 65
    }
  }

  /** The proposal of round `r` from its proposer carrying block `hk`, if any. */
  #proposalWith(rs: RoundState, hk: string): Proposal | undefined {
    return rs.proposals.find((p) => toHex(p.blockHash) === hk);
  }

  /** Evaluates the rules until none applies. */
  #run(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      if (this.#decided !== undefined) return;
      if (this.#tryDecide() || this.#trySkipRound() || this.#tryRoundRules()) continue;
      return;
    }
  }

  /** Line 49: a block with more than 2/3 precommits in some round, known and valid, is decided. */
  #tryDecide(): boolean {
    for (const [r, rs] of this.#rounds) {
      for (const [hk, power] of rs.precommits.power) {
        if (hk === NIL || !this.#quorum(power)) continue;
        const block = this.#blocks.get(hk);
        if (block === undefined) continue;
        if (this.#valid(hk) !== true) continue;
        const precommits = [...rs.precommits.byValidator.values()].filter((v) => hashKey(v.blockHash) === hk);
        this.#decided = { height: this.#height, round: r, blockHash: fromHex(hk), block, precommits };
        this.#out.push({ kind: "decide", decision: this.#decided });
        return true;
      }
    }
    return false;
  }

  /** Line 55: more than 1/3 of the power is in a later round: go there. */
  #trySkipRound(): boolean {
    let target = -1;
    for (const [r, rs] of this.#rounds) {
      if (r <= this.#round || r <= target) continue;
      let power = 0n;
      for (const p of rs.senders.values()) power += p;
      if (3n * power > this.#total) target = r;
    }
    if (target < 0) return false;
    this.#startRound(target);
    return true;
  }

  #tryRoundRules(): boolean {
    const r = this.#round;
    const rs = this.#roundState(r);
    if (this.#step === "propose") {
      for (const p of rs.proposals) {
        const hk = toHex(p.blockHash);
        if (p.polRound === -1) {
          // Line 22.
          const valid = this.#valid(hk);
          if (valid === undefined) continue;
          const ok = valid && (this.#lockedRound === -1 || this.#lockedHash === hk);
          this.#vote(PREVOTE, ok ? hk : NIL);
          this.#step = "prevote";
          return true;
        }
        // Line 28: a proposal backed by a proof-of-lock from an earlier round (checked on arrival: polVotes).
        const valid = this.#valid(hk);
        if (valid === undefined) continue;
        const ok = valid && (this.#lockedRound <= p.polRound || this.#lockedHash === hk);
        this.#vote(PREVOTE, ok ? hk : NIL);
        this.#step = "prevote";
        return true;
      }
    }
    if (this.#step === "prevote" && !rs.prevoteTimeout && this.#quorum(rs.prevotes.total)) {
      rs.prevoteTimeout = true; // line 34
      this.#schedule("prevote", r);
    }
    if (!rs.lockedHere) {
      // Line 36: more than 2/3 prevoted a valid proposal of this round.
      for (const [hk, power] of rs.prevotes.power) {
        if (hk === NIL || !this.#quorum(power) || this.#proposalWith(rs, hk) === undefined) continue;
        if (this.#valid(hk) !== true) continue;
        if (this.#step === "propose") break; // only once we prevoted
        rs.lockedHere = true;
        if (this.#step === "prevote") {
          this.#lockedHash = hk;
          this.#lockedRound = r;
          this.#vote(PRECOMMIT, hk);
          this.#step = "precommit";
        }
        this.#validHash = hk;
        this.#validRound = r;
        return true;
      }
    }
    if (this.#step === "prevote" && this.#quorum(rs.prevotes.power.get(NIL))) {
      this.#vote(PRECOMMIT, NIL); // line 44
      this.#step = "precommit";
      return true;
    }
    if (!rs.precommitTimeout && this.#quorum(rs.precommits.total)) {
      rs.precommitTimeout = true; // line 47
      this.#schedule("precommit", r);
    }
    return false;
  }
}
