/**
 * A deterministic simulator of consensus: validators running the real engine ({@linkcode Tendermint}) behind the
 * real crash discipline ({@linkcode ConsensusHost}, {@linkcode PrivValidator}) on an in-memory network with a
 * virtual clock. Everything random comes from one seed, so a failing run is replayed exactly from its seed.
 *
 * Faults until `healAtMs`: seeded delays (reordering), drops, duplicates, partitions into two groups, crashes of
 * honest validators at any point of a step (after the WAL write, after the sign-state write) and restarts from
 * their "disk", and Byzantine validators (under 1/3 of the power) that equivocate, stay silent, propose invalid
 * blocks, withhold precommits or send votes for other heights and rounds. After `healAtMs` the network is
 * reliable and every honest validator is up.
 *
 * Checked on every run:
 * - safety: no two honest validators commit different blocks at one height, and every commit carries more than
 *   2/3 of the power in valid precommits for it;
 * - no double signing: no honest validator's signed messages (as they left the node, across restarts) conflict
 *   at one height / round / step, and no evidence ever names an honest validator;
 * - liveness: after healing, every honest validator commits at least `progressAfterHeal` more heights within
 *   `livenessMs`.
 *
 * @module
 */
import { blake3 } from "../crypto/mod.ts";
import {
  type ConsensusInput,
  type ConsensusMessage,
  type ConsensusOutput,
  type ConsensusSigner,
  type Decision,
  isQuorum,
  PRECOMMIT,
  PREVOTE,
  Tendermint,
  type Vote,
} from "./consensus.ts";
import { ConsensusHost, type HostStep, messageHeight } from "./consensus_host.ts";
import { proposalSignBytes, voteSignBytes } from "./consensus_codec.ts";
import { EMPTY_SIGN_STATE, type LastSignState, PrivValidator } from "./privval.ts";
import { bytesEqual, concat, toHex } from "./_pb.ts";
import type { Validator } from "./state.ts";

const CHAIN = "sim";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A small, fast seeded PRNG (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    const x = xs[Math.floor(this.next() * xs.length)];
    if (x === undefined) throw new RangeError("empty");
    return x;
  }
}

/** Byzantine behaviours. */
export type Byzantine = "equivocate" | "split" | "silent" | "invalid" | "noise" | "withhold";

/** A scenario (derived from the seed unless given). */
export interface SimOptions {
  readonly validators?: number;
  /** Crash every honest validator at once at this time (and restart them). */
  readonly crashAllAtMs?: number;
  readonly healAtMs?: number;
  readonly livenessMs?: number;
  readonly progressAfterHeal?: number;
  readonly byzantine?: boolean;
  readonly faults?: boolean;
  /** Called with a line per notable event (replaying a seed to debug it). */
  readonly trace?: (line: string) => void;
}

/** The outcome of one run. */
export interface SimResult {
  readonly seed: number;
  readonly violations: string[];
  /** Committed height per honest validator at the end. */
  readonly heights: number[];
  readonly description: string;
  readonly evidence: number;
  readonly crashes: number;
  readonly maxRound: number;
}

interface Disk {
  chain: Decision[];
  wal: { height: number; entries: ConsensusInput[] };
  signState: LastSignState;
}

type NetMessage =
  | { readonly kind: "consensus"; readonly message: ConsensusMessage }
  | { readonly kind: "status"; readonly height: number }
  | { readonly kind: "decided"; readonly decision: Decision };

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

class EventQueue {
  #heap: Event[] = [];
  #seq = 0;
  push(at: number, run: () => void): void {
    const h = this.#heap;
    h.push({ at, seq: this.#seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#less(h[i], h[p])) {
        [h[i], h[p]] = [h[p] as Event, h[i] as Event];
        i = p;
      } else break;
    }
  }
  #less(a: Event | undefined, b: Event | undefined): boolean {
    if (a === undefined || b === undefined) return false;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  pop(): Event | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (this.#less(h[l], h[m])) m = l;
        if (this.#less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Event, h[i] as Event];
        i = m;
      }
    }
    return top;
  }
  get size(): number {
    return this.#heap.length;
  }
}

function simSign(secret: Uint8Array, payload: Uint8Array): Uint8Array {
  const a = blake3(concat(secret, payload));
  return concat(a, blake3(a));
}

/** Runs one seeded simulation. */
export function simulate(seed: number, opts: SimOptions = {}): SimResult {
  const rng = new Rng(seed);
  const n = opts.validators ?? rng.int(4, 7);
  const equalPower = rng.chance(0.4);
  const powers = Array.from({ length: n }, () => BigInt(equalPower ? 1 : rng.int(1, 10)));
  const total = powers.reduce((a, b) => a + b, 0n);
  const secrets = Array.from({ length: n }, (_, i) => blake3(enc.encode(`sim-secret-${seed}-${i}`)));
  const keys = secrets.map((s) => blake3(concat(enc.encode("pub"), s)));
  const validators: Validator[] = keys.map((publicKey, i) => ({ publicKey, power: powers[i] ?? 1n }));
  const indexOf = new Map(keys.map((k, i) => [toHex(k), i]));
  const faults = opts.faults ?? true;

  // Byzantine validators: a random subset with strictly less than 1/3 of the power.
  const byz = new Map<number, Byzantine>();
  if (opts.byzantine ?? rng.chance(0.7)) {
    let byzPower = 0n;
    for (const i of [...Array(n).keys()].sort(() => rng.next() - 0.5)) {
      const p = powers[i] ?? 0n;
      if (3n * (byzPower + p) < total && rng.chance(0.6)) {
        byzPower += p;
        byz.set(
          i,
          rng.pick(["equivocate", "split", "split", "silent", "invalid", "noise", "withhold"] as const),
        );
      }
    }
  }
  const healAt = opts.healAtMs ?? (faults ? rng.int(500, 6000) : 0);
  const livenessMs = opts.livenessMs ?? 120_000;
  const progress = opts.progressAfterHeal ?? 3;
  const dropP = faults ? rng.next() * 0.3 : 0;
  const dupP = faults ? rng.next() * 0.2 : 0;
  const maxDelay = faults ? rng.int(5, 300) : 10;
  const crashP = faults ? rng.next() * 0.004 : 0;
  const partitions: Array<{ from: number; to: number; side: boolean[] }> = [];
  if (faults && rng.chance(0.5)) {
    for (let k = rng.int(1, 3); k > 0; k--) {
      const from = rng.int(0, healAt);
      partitions.push({
        from,
        to: Math.min(healAt, from + rng.int(100, 3000)),
        side: keys.map(() => rng.chance(0.5)),
      });
    }
  }
  const description = `seed=${seed} n=${n} powers=[${powers.join(",")}] byzantine={${
    [...byz].map(([i, b]) => `${i}:${b}`).join(",")
  }} heal=${healAt}ms drop=${dropP.toFixed(2)} dup=${dupP.toFixed(2)} delay<=${maxDelay}ms crashP=${
    crashP.toFixed(4)
  } partitions=${partitions.length}${
    opts.crashAllAtMs !== undefined ? ` crashAll@${opts.crashAllAtMs}` : ""
  }`;

  const trace = opts.trace;
  const short = (h: Uint8Array) => h.length === 0 ? "nil" : toHex(h).slice(0, 6);
  const traceOutput = (idx: number, o: ConsensusOutput): void => {
    const e = nodes[idx]?.host?.engine;
    const at = `${now}ms n${idx} h${e?.height}/r${e?.round}/${e?.currentStep} lock=${e?.lockedRound}:`;
    if (o.kind === "broadcast") {
      const m = o.message;
      trace?.(
        m.kind === "vote"
          ? `${at} vote ${m.vote.type === PREVOTE ? "prevote" : "precommit"} r${m.vote.round} ${
            short(m.vote.blockHash)
          }`
          : `${at} propose r${m.proposal.round} pol${m.proposal.polRound} ${short(m.proposal.blockHash)}`,
      );
    } else if (o.kind === "decide") {
      trace?.(`${at} DECIDE ${short(o.decision.blockHash)} r${o.decision.round}`);
    } else if (o.kind === "schedule") trace?.(`${at} timer ${o.step} r${o.round} ${o.ms}ms`);
    else trace?.(`${at} ${o.kind}`);
  };
  const q = new EventQueue();
  let now = 0;
  const violations: string[] = [];
  const committed = new Map<number, string>();
  const signedByHonest = new Map<string, string>();
  let evidenceCount = 0, crashes = 0, maxRound = 0;
  const timeouts = { proposeMs: 120, proposeDeltaMs: 60, voteMs: 60, voteDeltaMs: 40 };
  const hashBlock = (b: Uint8Array) => blake3(b);

  const verifyMessage = (m: ConsensusMessage): boolean => {
    if (m.kind === "vote") {
      const i = indexOf.get(toHex(m.vote.validator));
      if (i === undefined) return false;
      return bytesEqual(m.vote.signature, simSign(secrets[i] as Uint8Array, voteSignBytes(CHAIN, m.vote)));
    }
    const i = indexOf.get(toHex(m.proposal.proposer));
    if (i === undefined) return false;
    if (!m.proposal.polVotes.every((vote) => verifyMessage({ kind: "vote", vote }))) return false;
    return bytesEqual(
      m.proposal.signature,
      simSign(secrets[i] as Uint8Array, proposalSignBytes(CHAIN, m.proposal)),
    );
  };
  const verifyDecision = (d: Decision): boolean => {
    let power = 0n;
    const seen = new Set<string>();
    for (const v of d.precommits) {
      const k = toHex(v.validator);
      const i = indexOf.get(k);
      if (i === undefined || seen.has(k)) return false;
      if (v.type !== PRECOMMIT || v.height !== d.height || v.round !== d.round) return false;
      if (!bytesEqual(v.blockHash, d.blockHash) || !verifyMessage({ kind: "vote", vote: v })) return false;
      seen.add(k);
      power += powers[i] ?? 0n;
    }
    return isQuorum(power, total) && bytesEqual(blake3(d.block), d.blockHash);
  };

  class Node {
    readonly idx: number;
    readonly byz: Byzantine | undefined;
    readonly disk: Disk = { chain: [], wal: { height: 0, entries: [] }, signState: EMPTY_SIGN_STATE };
    up = false;
    epoch = 0;
    host: ConsensusHost | undefined;
    readonly lastHelp = new Map<string, number>();

    constructor(idx: number) {
      this.idx = idx;
      this.byz = byz.get(idx);
    }

    get height(): number {
      return this.disk.chain.length;
    }

    start(): void {
      this.up = true;
      this.epoch++;
      const secret = secrets[this.idx] as Uint8Array;
      const sign = (p: Uint8Array) => simSign(secret, p);
      const pub = keys[this.idx] as Uint8Array;
      let signer: ConsensusSigner;
      let privval: PrivValidator | undefined;
      if (this.byz === undefined) {
        privval = new PrivValidator(CHAIN, pub, sign, this.disk.signState);
        signer = privval;
      } else {
        // A Byzantine validator signs whatever it is asked.
        signer = {
          publicKey: pub,
          signVote: (v) => sign(voteSignBytes(CHAIN, v)),
          signProposal: (p) => sign(proposalSignBytes(CHAIN, p)),
        };
      }
      this.host = new ConsensusHost(new Tendermint({ signer, hashBlock, timeouts }), privval);
      const height = this.height + 1;
      const old = this.disk.wal;
      const s = this.host.start(height, validators);
      this.disk.wal = { height, entries: [...(old.height === height ? old.entries : []), ...s.wal] };
      const r = old.height === height ? this.host.replay(old.entries) : { signState: undefined, outputs: [] };
      trace?.(`${now}ms n${this.idx} START h${height} wal h${old.height} ${old.entries.length} entries`);
      const state = r.signState ?? s.signState;
      if (state !== undefined) this.disk.signState = state;
      this.#act(s.outputs);
      this.#act(r.outputs);
      const epoch = this.epoch;
      const gossip = () => {
        if (this.epoch !== epoch || !this.up) return;
        for (const m of this.host?.engine.gossip() ?? []) this.#send(m);
        for (let to = 0; to < n; to++) {
          if (to !== this.idx) deliver(this.idx, to, { kind: "status", height: this.height + 1 });
        }
        q.push(now + 150, gossip);
      };
      q.push(now + 150, gossip);
    }

    crash(): void {
      if (!this.up) return;
      trace?.(`${now}ms n${this.idx} CRASH`);
      crashes++;
      this.up = false;
      this.epoch++;
      this.host = undefined;
    }

    /** Applies a step's results in the crash-safe order; may crash between the writes. */
    #process(s: HostStep): void {
      const mayCrash = this.byz === undefined && now < healAt;
      this.disk.wal.entries.push(...s.wal);
      if (mayCrash && rng.chance(crashP)) return this.#crashAndRestart();
      if (s.signState !== undefined) this.disk.signState = s.signState;
      if (mayCrash && rng.chance(crashP)) return this.#crashAndRestart();
      this.#act(s.outputs);
    }

    #crashAndRestart(): void {
      this.crash();
      const down = rng.int(10, 800);
      q.push(Math.min(now + down, Math.max(now + 1, healAt)), () => this.up || this.start());
    }

    input(i: ConsensusInput, epoch: number): void {
      if (!this.up || epoch !== this.epoch || this.host === undefined) return;
      this.#process(this.host.step(i));
    }

    #send(m: ConsensusMessage): void {
      const msgs: Array<{ to: number; m: ConsensusMessage }> = [];
      const peers = [...Array(n).keys()].filter((i) => i !== this.idx);
      if (this.byz === undefined) {
        recordSigned(this.idx, m);
        for (const to of peers) msgs.push({ to, m });
      } else {
        for (const x of this.#byzantine(m, peers)) msgs.push(x);
      }
      for (const { to, m: x } of msgs) deliver(this.idx, to, { kind: "consensus", message: x });
    }

    #byzantine(m: ConsensusMessage, peers: number[]): Array<{ to: number; m: ConsensusMessage }> {
      const all = peers.map((to) => ({ to, m }));
      const sign = (p: Uint8Array) => simSign(secrets[this.idx] as Uint8Array, p);
      switch (this.byz) {
        case "silent":
          return [];
        case "withhold": {
          // Precommits reach one peer only: that peer may decide while the others time out (the case locks
          // exist for).
          if (m.kind !== "vote" || m.vote.type !== PRECOMMIT) return all;
          return [{ to: rng.pick(peers), m }];
        }
        case "equivocate": {
          if (m.kind !== "vote") return all;
          const other = rng.chance(0.5) ? new Uint8Array(0) : blake3(enc.encode(`junk${rng.next()}`));
          const base = { type: m.vote.type, height: m.vote.height, round: m.vote.round, blockHash: other };
          const twin: Vote = {
            ...base,
            validator: m.vote.validator,
            signature: sign(voteSignBytes(CHAIN, base)),
          };
          return peers.map((to, k) => ({ to, m: k % 2 === 0 ? m : { kind: "vote", vote: twin } }));
        }
        case "split": {
          // Colluding Byzantine validators split the honest ones in two (even / odd index): each side sees a
          // different valid block and Byzantine votes for "its" block, the attack quorum intersection defeats.
          const k = `${messageHeight(m)}/${m.kind === "vote" ? m.vote.round : m.proposal.round}`;
          const known = splitHashes.get(k) ?? [];
          splitHashes.set(k, known);
          if (m.kind === "proposal") {
            const block = enc.encode(`${m.proposal.height}|${m.proposal.round}|split|${rng.next()}`);
            const base = { ...m.proposal, block, blockHash: blake3(block), polRound: -1, polVotes: [] };
            const alt = { ...base, signature: sign(proposalSignBytes(CHAIN, base)) };
            known.push(m.proposal.blockHash, alt.blockHash);
            return peers.map((to) => ({ to, m: to % 2 === 0 ? m : { kind: "proposal", proposal: alt } }));
          }
          const forSide = (side: number): ConsensusMessage => {
            const hash = known[side] ?? (side === 0 ? m.vote.blockHash : new Uint8Array(0));
            const base = { type: m.vote.type, height: m.vote.height, round: m.vote.round, blockHash: hash };
            return {
              kind: "vote",
              vote: { ...base, validator: m.vote.validator, signature: sign(voteSignBytes(CHAIN, base)) },
            };
          };
          return peers.map((to) => ({ to, m: forSide(to % 2) }));
        }
        case "invalid": {
          if (m.kind !== "proposal") return all;
          const block = enc.encode(`bad|${m.proposal.height}|${rng.next()}`);
          const p = { ...m.proposal, block, blockHash: blake3(block), polRound: -1, polVotes: [] };
          return peers.map((to) => ({
            to,
            m: { kind: "proposal", proposal: { ...p, signature: sign(proposalSignBytes(CHAIN, p)) } },
          }));
        }
        case "noise": {
          const out = [...all];
          if (m.kind === "vote") {
            for (let k = 0; k < 3; k++) {
              const v = {
                type: rng.chance(0.5) ? PREVOTE : PRECOMMIT,
                height: m.vote.height + rng.pick([-1, 0, 1, 5]),
                round: m.vote.round + rng.int(0, 30),
                blockHash: rng.chance(0.3) ? new Uint8Array(0) : blake3(enc.encode(`noise${rng.next()}`)),
              } as const;
              const vote: Vote = {
                ...v,
                validator: m.vote.validator,
                signature: sign(voteSignBytes(CHAIN, v)),
              };
              out.push({ to: rng.pick(peers), m: { kind: "vote", vote } });
            }
          }
          return out;
        }
        default:
          return all;
      }
    }

    #act(outputs: readonly ConsensusOutput[]): void {
      const epoch = this.epoch;
      for (const o of outputs) {
        if (trace !== undefined) traceOutput(this.idx, o);
        switch (o.kind) {
          case "broadcast":
            this.#send(o.message);
            break;
          case "schedule":
            maxRound = Math.max(maxRound, o.round);
            q.push(
              now + o.ms,
              () => this.input({ kind: "timeout", height: o.height, round: o.round, step: o.step }, epoch),
            );
            break;
          case "build":
            q.push(now + rng.int(0, 5), () =>
              this.input({
                kind: "built",
                height: o.height,
                round: o.round,
                block: enc.encode(`${o.height}|${o.round}|${this.idx}|${rng.next()}`),
              }, epoch));
            break;
          case "validate": {
            const valid = dec.decode(o.block).startsWith(`${o.height}|`);
            q.push(
              now + rng.int(0, 5),
              () => this.input({ kind: "validated", height: o.height, blockHash: o.blockHash, valid }, epoch),
            );
            break;
          }
          case "decide":
            this.commit(o.decision);
            break;
          case "evidence": {
            evidenceCount++;
            const i = indexOf.get(toHex(o.first.validator));
            if (i !== undefined && !byz.has(i)) {
              violations.push(`evidence against honest validator ${i} at ${o.first.height}/${o.first.round}`);
            }
            break;
          }
        }
      }
    }

    commit(d: Decision): void {
      if (d.height !== this.height + 1) return;
      if (!verifyDecision(d)) {
        if (this.byz === undefined) {
          violations.push(`node ${this.idx} decided ${d.height} without a valid quorum`);
        }
        return;
      }
      if (this.byz === undefined) {
        const h = toHex(d.blockHash);
        const prior = committed.get(d.height);
        if (prior === undefined) committed.set(d.height, h);
        else if (prior !== h) {
          violations.push(`fork at height ${d.height}: ${prior.slice(0, 8)} vs ${h.slice(0, 8)}`);
        }
        if (!dec.decode(d.block).startsWith(`${d.height}|`)) {
          violations.push(`invalid block committed at ${d.height}`);
        }
      }
      this.disk.chain.push(d); // atomic with respect to crashes
      const epoch = this.epoch;
      q.push(now + 20, () => {
        if (!this.up || epoch !== this.epoch || this.host === undefined) return;
        const height = this.height + 1;
        const s = this.host.start(height, validators);
        this.disk.wal = { height, entries: [] };
        this.#process(s);
      });
    }

    receive(from: number, msg: NetMessage): void {
      if (!this.up || this.host === undefined) return;
      if (msg.kind === "decided") {
        if (msg.decision.height === this.height + 1) {
          this.commit(msg.decision);
        }
        return;
      }
      if (msg.kind === "status") return this.#help(from, msg.height);
      if (!verifyMessage(msg.message)) return;
      const m = msg.message;
      if (this.byz === "split" && m.kind === "proposal") {
        const k = `${m.proposal.height}/${m.proposal.round}`;
        const known = splitHashes.get(k) ?? [];
        if (!known.some((x) => bytesEqual(x, m.proposal.blockHash))) known.push(m.proposal.blockHash);
        splitHashes.set(k, known);
      }
      const h = messageHeight(m);
      if (h <= this.height) return this.#help(from, h);
      this.#process(this.host.step({ kind: "message", message: m }));
    }

    /** A peer works on height `h`: if it is behind, send it the decision it lacks (once per 100 ms). */
    #help(from: number, h: number): void {
      if (h <= this.height) {
        // The sender is behind: send it the decision it lacks (at most once per 100 ms per peer).
        const d = this.disk.chain[h - 1];
        const k = `${from}`;
        if (d !== undefined && (this.lastHelp.get(k) ?? -1e9) + 100 <= now) {
          this.lastHelp.set(k, now);
          deliver(this.idx, from, { kind: "decided", decision: d });
        }
      }
    }
  }

  const nodes = keys.map((_, i) => new Node(i));
  const splitHashes = new Map<string, Uint8Array[]>();
  const honest = nodes.filter((x) => x.byz === undefined);

  const recordSigned = (idx: number, m: ConsensusMessage): void => {
    const [h, r, s, hash] = m.kind === "vote"
      ? [m.vote.height, m.vote.round, m.vote.type + 1, toHex(m.vote.blockHash)]
      : [m.proposal.height, m.proposal.round, 1, `${toHex(m.proposal.blockHash)}/${m.proposal.polRound}`];
    const k = `${idx}/${h}/${r}/${s}`;
    const prior = signedByHonest.get(k);
    if (prior === undefined) signedByHonest.set(k, hash);
    else if (prior !== hash) violations.push(`honest validator ${idx} double-signed ${h}/${r}/step ${s}`);
  };

  const partitioned = (a: number, b: number): boolean =>
    partitions.some((p) => now >= p.from && now < p.to && p.side[a] !== p.side[b]);

  const deliver = (from: number, to: number, msg: NetMessage): void => {
    const faulty = now < healAt;
    if (faulty && (rng.chance(dropP) || partitioned(from, to))) return;
    const copies = faulty && rng.chance(dupP) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = faulty ? rng.int(1, maxDelay) : rng.int(1, 10);
      q.push(now + delay, () => nodes[to]?.receive(from, msg));
    }
  };

  for (const node of nodes) q.push(rng.int(0, 50), () => node.start());
  if (faults) {
    for (const node of honest) {
      if (rng.chance(0.3)) {
        const at = rng.int(0, healAt);
        q.push(at, () => {
          if (!node.up) return;
          node.crash();
          q.push(Math.min(now + rng.int(10, 2000), Math.max(now + 1, healAt)), () => node.up || node.start());
        });
      }
    }
  }
  if (opts.crashAllAtMs !== undefined) {
    q.push(opts.crashAllAtMs, () => {
      for (const node of honest) node.crash();
      q.push(now + rng.int(10, 500), () => {
        for (const node of honest) if (!node.up) node.start();
      });
    });
  }

  let heightsAtHeal: number[] | undefined;
  const deadline = Math.max(healAt, opts.crashAllAtMs ?? 0) + livenessMs;
  const done = () =>
    heightsAtHeal !== undefined && honest.every((x, i) => x.height >= (heightsAtHeal?.[i] ?? 0) + progress);
  while (q.size > 0 && violations.length === 0) {
    const e = q.pop();
    if (e === undefined) break;
    now = e.at;
    if (heightsAtHeal === undefined && now >= Math.max(healAt, (opts.crashAllAtMs ?? -1) + 600)) {
      heightsAtHeal = honest.map((x) => x.height);
      for (const node of honest) if (!node.up) node.start();
    }
    if (now > deadline) break;
    e.run();
    if (done()) break;
  }
  if (violations.length === 0 && !done()) {
    violations.push(
      `no liveness: heights at heal ${JSON.stringify(heightsAtHeal)}, now ${
        JSON.stringify(honest.map((x) => x.height))
      } after ${livenessMs} ms`,
    );
  }
  return {
    seed,
    violations,
    heights: honest.map((x) => x.height),
    description,
    evidence: evidenceCount,
    crashes,
    maxRound,
  };
}
