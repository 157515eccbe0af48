// The engine's rules on hand-fed messages: proposer rotation by power, a round that decides, locking (a locked
// validator prevotes nil for another block; a later proof-of-lock unlocks it), round skip on 1/3 of the power,
// evidence for two votes in one round, the double-sign guard, and the codecs (round trips, strict decoding).
import assert from "node:assert/strict";
import fc from "fast-check";
import { blake3 } from "../crypto/mod.ts";
import {
  type ConsensusOutput,
  PRECOMMIT,
  PREVOTE,
  type Proposal,
  proposerOf,
  Tendermint,
  type Vote,
} from "./consensus.ts";
import {
  decodeGossip,
  decodeWalInput,
  encodeGossip,
  encodeWalInput,
  proposalSignBytes,
  voteSignBytes,
} from "./consensus_codec.ts";
import { decodeSignState, encodeSignState, PrivValidator } from "./privval.ts";
import type { Validator } from "./state.ts";

const enc = new TextEncoder();
const key = (i: number) => blake3(enc.encode(`validator-${i}`));
const VALS: Validator[] = [0, 1, 2, 3].map((i) => ({ publicKey: key(i), power: 1n }));
const sig = new Uint8Array(64);

function vote(i: number, type: 1 | 2, round: number, hash: Uint8Array, height = 1): Vote {
  return { type, height, round, blockHash: hash, validator: key(i), signature: sig };
}

function block(name: string): { bytes: Uint8Array; hash: Uint8Array } {
  const bytes = enc.encode(name);
  return { bytes, hash: blake3(bytes) };
}

function proposal(
  round: number,
  b: { bytes: Uint8Array; hash: Uint8Array },
  polRound = -1,
  polVotes: Vote[] = [],
): Proposal {
  const proposer = proposerOf(VALS, 1, round).publicKey;
  return {
    height: 1,
    round,
    polRound,
    blockHash: b.hash,
    block: b.bytes,
    proposer,
    signature: sig,
    polVotes,
  };
}

/** An engine for validator `self` that signs everything (no guard) and validates every block. */
function engine(self: number): Tendermint {
  return new Tendermint({
    hashBlock: (b) => blake3(b),
    signer: {
      publicKey: key(self),
      signVote: () => sig,
      signProposal: () => sig,
    },
  });
}

function votes(out: ConsensusOutput[]): Vote[] {
  return out.flatMap((o) => (o.kind === "broadcast" && o.message.kind === "vote" ? [o.message.vote] : []));
}

function feed(e: Tendermint, out: ConsensusOutput[]): ConsensusOutput[] {
  // Answer validation requests: every block is valid.
  const all: ConsensusOutput[] = [...out];
  for (const o of out) {
    if (o.kind === "validate") {
      all.push(
        ...feed(e, e.step({ kind: "validated", height: o.height, blockHash: o.blockHash, valid: true })),
      );
    }
  }
  return all;
}

function msg(e: Tendermint, m: Proposal | Vote): ConsensusOutput[] {
  const message = "block" in m
    ? { kind: "proposal" as const, proposal: m }
    : { kind: "vote" as const, vote: m };
  return feed(e, e.step({ kind: "message", message }));
}

Deno.test("proposerOf(): equal powers rotate by height + round; weights give proportional turns", () => {
  assert.deepEqual(proposerOf(VALS, 1, 0), VALS[1]);
  assert.deepEqual(proposerOf(VALS, 1, 2), VALS[3]);
  const weighted: Validator[] = [{ publicKey: key(0), power: 3n }, { publicKey: key(1), power: 1n }];
  const turns = Array.from({ length: 40 }, (_, h) => proposerOf(weighted, h, 0) === weighted[0] ? 1 : 0);
  assert.equal(turns.reduce<number>((a, b) => a + b, 0), 30);
});

Deno.test("Tendermint: a round with a valid proposal and 2/3+ votes decides it", () => {
  const e = engine(0);
  const b = block("A");
  feed(e, e.startHeight(1, VALS));
  const out1 = msg(e, proposal(0, b));
  assert.deepEqual(votes(out1).map((v) => [v.type, v.round]), [[PREVOTE, 0]]);
  msg(e, vote(1, PREVOTE, 0, b.hash));
  const out2 = msg(e, vote(2, PREVOTE, 0, b.hash));
  assert.deepEqual(votes(out2).map((v) => v.type), [PRECOMMIT]);
  assert.equal(e.lockedRound, 0);
  msg(e, vote(1, PRECOMMIT, 0, b.hash));
  const out3 = msg(e, vote(2, PRECOMMIT, 0, b.hash));
  const d = out3.find((o) => o.kind === "decide");
  assert.ok(d && d.kind === "decide");
  assert.deepEqual(d.decision.blockHash, b.hash);
  assert.equal(d.decision.precommits.length, 3);
});

Deno.test("Tendermint: a locked validator prevotes nil for another block until a later proof-of-lock", () => {
  const e = engine(0);
  const a = block("A"), b = block("B");
  feed(e, e.startHeight(1, VALS));
  msg(e, proposal(0, a));
  msg(e, vote(1, PREVOTE, 0, a.hash));
  msg(e, vote(2, PREVOTE, 0, a.hash)); // locks on A in round 0
  assert.equal(e.lockedRound, 0);
  // Round 0 ends without a decision.
  msg(e, vote(1, PRECOMMIT, 0, new Uint8Array(0)));
  msg(e, vote(2, PRECOMMIT, 0, new Uint8Array(0)));
  feed(e, e.step({ kind: "timeout", height: 1, round: 0, step: "precommit" }));
  assert.equal(e.round, 1);
  // A fresh proposal of B in round 1: locked on A, so nil.
  const r1 = msg(e, proposal(1, b));
  assert.deepEqual(votes(r1).map((v) => [v.type, v.round, v.blockHash.length]), [[PREVOTE, 1, 0]]);
  // Round 1 sees 2/3+ prevotes for B (a proof-of-lock) without this validator; round 2 re-proposes B with it.
  msg(e, vote(1, PREVOTE, 1, b.hash));
  msg(e, vote(2, PREVOTE, 1, b.hash));
  msg(e, vote(3, PREVOTE, 1, b.hash));
  feed(e, e.step({ kind: "timeout", height: 1, round: 1, step: "prevote" }));
  feed(e, e.step({ kind: "timeout", height: 1, round: 1, step: "precommit" }));
  assert.equal(e.round, 2);
  const pol = [1, 2, 3].map((i) => vote(i, PREVOTE, 1, b.hash));
  const r2 = msg(e, proposal(2, b, 1, pol));
  assert.deepEqual(votes(r2).map((v) => [v.type, v.round]), [[PREVOTE, 2]]);
  assert.deepEqual(votes(r2)[0]?.blockHash, b.hash);
  // A proposal claiming a proof-of-lock it does not carry is ignored.
  const e2 = engine(0);
  feed(e2, e2.startHeight(1, VALS));
  feed(e2, e2.step({ kind: "timeout", height: 1, round: 0, step: "propose" }));
  msg(e2, vote(1, PRECOMMIT, 0, new Uint8Array(0)));
  msg(e2, vote(2, PRECOMMIT, 0, new Uint8Array(0)));
  feed(e2, e2.step({ kind: "timeout", height: 1, round: 0, step: "precommit" }));
  assert.equal(votes(msg(e2, proposal(1, b, 0, pol.slice(0, 2)))).length, 0);
});

Deno.test("Tendermint: votes from 1/3+ of the power in a later round move the validator there; evidence for equivocation", () => {
  const e = engine(0);
  feed(e, e.startHeight(1, VALS));
  msg(e, vote(1, PREVOTE, 5, new Uint8Array(0)));
  assert.equal(e.round, 0);
  msg(e, vote(2, PREVOTE, 5, new Uint8Array(0)));
  assert.equal(e.round, 5);
  const x = block("X"), y = block("Y");
  msg(e, vote(3, PREVOTE, 5, x.hash));
  const out = msg(e, vote(3, PREVOTE, 5, y.hash));
  const ev = out.find((o) => o.kind === "evidence");
  assert.ok(ev && ev.kind === "evidence");
  assert.deepEqual(ev.first.blockHash, x.hash);
  assert.deepEqual(ev.second.blockHash, y.hash);
  // Votes from outside the set, and messages for other heights, change nothing.
  const before = e.round;
  msg(e, { ...vote(1, PREVOTE, 9, x.hash), validator: key(42) });
  msg(e, vote(1, PREVOTE, 9, x.hash, 7));
  msg(e, vote(2, PREVOTE, 9, x.hash, 7));
  assert.equal(e.round, before);
});

Deno.test("PrivValidator: never signs two different messages for one height/round/step, nor goes back", () => {
  let signed = 0;
  const pv = new PrivValidator("c", key(0), () => (signed++, new Uint8Array(64).fill(signed)));
  const a = block("A").hash, b = block("B").hash;
  const s1 = pv.signVote({ type: PREVOTE, height: 5, round: 1, blockHash: a });
  assert.ok(s1);
  assert.deepEqual(
    pv.signVote({ type: PREVOTE, height: 5, round: 1, blockHash: a }),
    s1,
    "same vote, same signature",
  );
  assert.equal(pv.signVote({ type: PREVOTE, height: 5, round: 1, blockHash: b }), undefined);
  assert.equal(pv.signVote({ type: PREVOTE, height: 5, round: 0, blockHash: a }), undefined);
  assert.equal(
    pv.signProposal({ height: 5, round: 1, polRound: -1, blockHash: a }),
    undefined,
    "proposal step is earlier",
  );
  assert.ok(pv.signVote({ type: PRECOMMIT, height: 5, round: 1, blockHash: new Uint8Array(0) }));
  assert.equal(pv.refused, 3);
  // The persisted state survives a restart and keeps refusing.
  const text = encodeSignState(pv.takeDirty() ?? pv.state);
  const again = new PrivValidator("c", key(0), () => new Uint8Array(64), decodeSignState(text));
  assert.equal(again.signVote({ type: PRECOMMIT, height: 5, round: 1, blockHash: a }), undefined);
  assert.ok(again.signVote({ type: PREVOTE, height: 5, round: 2, blockHash: a }));
  assert.throws(() => decodeSignState('{"height":-1}'), TypeError);
});

Deno.test("consensus codecs: gossip and WAL inputs round-trip; sign bytes differ by type and context", () => {
  const a = block("A");
  const v = { ...vote(1, PRECOMMIT, 3, a.hash), signature: new Uint8Array(64).fill(7) };
  const p = {
    ...proposal(2, a, 1, [{ ...vote(2, PREVOTE, 1, a.hash), signature: new Uint8Array(64).fill(1) }]),
    signature: new Uint8Array(64).fill(9),
  };
  for (const m of [{ kind: "vote" as const, vote: v }, { kind: "proposal" as const, proposal: p }]) {
    assert.deepEqual(decodeGossip(encodeGossip(m)), m);
    assert.deepEqual(decodeWalInput(encodeWalInput({ kind: "message", message: m })), {
      kind: "message",
      message: m,
    });
  }
  for (
    const i of [
      { kind: "timeout" as const, height: 9, round: 2, step: "prevote" as const },
      { kind: "built" as const, height: 9, round: 0, block: a.bytes },
      { kind: "validated" as const, height: 9, blockHash: a.hash, valid: true },
    ]
  ) assert.deepEqual(decodeWalInput(encodeWalInput(i)), i);
  const prevote = voteSignBytes("c", { ...v, type: PREVOTE });
  assert.notDeepEqual(prevote, voteSignBytes("c", v));
  assert.notDeepEqual(
    proposalSignBytes("c", { height: 3, round: 0, polRound: -1, blockHash: a.hash }),
    prevote,
  );
});

Deno.test("consensus codecs: random bytes decode or fail with a clear error, never anything else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      for (const decode of [decodeGossip, decodeWalInput]) {
        try {
          decode(bytes);
        } catch (e) {
          assert.ok(
            e instanceof Error &&
              /Invalid|malformed|gossip|wal|vote|proposal|status|evidence|batch/i.test(e.message),
            String(e),
          );
        }
      }
    }),
    { numRuns: 3000 },
  );
});
