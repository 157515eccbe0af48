/**
 * The state transition: transactions and blocks applied to state. Pure and synchronous: no clock, no
 * randomness, no I/O; the same (state, block) always gives the same change set, receipts and roots.
 *
 * A transaction in a block (consensus-relevant):
 * 1. must be *includable*: chain id matches, fee >= `minFee`, nonce == the sender's account nonce, balance
 *    >= fee (and, for contract transactions, >= fee + the cost of the whole gas limit + the value). A block with a
 *    non-includable transaction is invalid.
 * 2. pays its fee (credited to the block's proposer) and bumps the sender's nonce, whatever happens next;
 * 3. runs its body inside a checkpoint; if the body fails (name taken, insufficient funds for the amount,
 *    ...) its writes are reverted and the receipt records the failure's gRPC status and reason.
 *
 * Storage budget (consensus-relevant): a block commits in ONE Deno KV atomic operation, which allows at most
 * 1,000 mutations and 800 KiB. {@linkcode storageCost} counts what a block writes; a block over
 * {@linkcode MAX_BLOCK_MUTATIONS} / {@linkcode MAX_BLOCK_WRITE_BYTES} is invalid, and the producer stops
 * adding transactions before reaching either.
 *
 * @module
 */

import { ChainError, type ChainErrorReason, GrpcStatus, type GrpcStatusName } from "./errors.ts";
import { nameCommitment, type NameRecords, parseName, recordsProblem, registrableProblem } from "./names.ts";
import { toHex } from "./_pb.ts";
import { isValidEd25519PublicKey } from "../crypto/mod.ts";
import type { Evidence } from "./consensus_codec.ts";
import {
  type ChainParams,
  decodeCommitment,
  decodeNameEntry,
  decodeValidators,
  encodeCommitment,
  encodeNameEntry,
  encodeValidators,
  evidenceKey,
  keyBytes,
  nameKey,
  readValidators,
  type StateOverlay,
  type Validator,
  VALIDATORS_KEY,
  validatorUpdatesKey,
} from "./state.ts";
import { accountOf, type TxBody, type VerifiedTransaction } from "./transaction.ts";
import { applyContract, contractExists, contractInclusionProblem } from "./contracts.ts";
import type { BlockContext, Receipt } from "./receipt.ts";

export * from "./receipt.ts";

/** Most KV mutations one block may cause (Deno KV's atomic limit is 1,000). */
export const MAX_BLOCK_MUTATIONS = 1000;
/** Most bytes one block may write (Deno KV's atomic limit is 819,200; the rest is margin for keys). */
export const MAX_BLOCK_WRITE_BYTES = 700_000;
/** Bytes per stored block chunk (Deno KV values are at most 64 KiB). */
export const BLOCK_CHUNK_BYTES = 60_000;

function fail(status: GrpcStatusName, reason: ChainErrorReason, message: string): ChainError {
  return new ChainError(status, reason, message);
}

/**
 * Why `tx` cannot be included next, or undefined when it can (step 1 of the module doc). Also used by the
 * mempool's stateful checks.
 */
export function inclusionProblem(
  state: StateOverlay,
  tx: VerifiedTransaction,
  chainId: string,
  params: ChainParams,
): ChainError | undefined {
  const t = tx.tx;
  if (t.chainId !== chainId) {
    return fail(
      "INVALID_ARGUMENT",
      "WRONG_CHAIN",
      `Cannot accept transaction: chain id ${t.chainId}, expected ${chainId}`,
    );
  }
  if (t.fee < params.minFee) {
    return fail(
      "INVALID_ARGUMENT",
      "FEE_TOO_LOW",
      `Cannot accept transaction: fee ${t.fee} is below the minimum ${params.minFee}`,
    );
  }
  const acct = state.account(tx.from);
  if (t.nonce !== acct.nonce) {
    return fail(
      "FAILED_PRECONDITION",
      "BAD_NONCE",
      `Cannot accept transaction: nonce ${t.nonce}, expected ${acct.nonce}${
        t.nonce < acct.nonce ? " (already used)" : ""
      }`,
    );
  }
  if (acct.balance < t.fee) {
    return fail(
      "FAILED_PRECONDITION",
      "INSUFFICIENT_FUNDS",
      `Cannot pay fee: balance ${acct.balance} < fee ${t.fee}`,
    );
  }
  if (t.body.kind === "contract_deploy" || t.body.kind === "contract_call") {
    // A contract transaction must be able to pay its whole gas limit up front (chain/contracts.ts).
    const problem = contractInclusionProblem(t.body, acct.balance - t.fee);
    if (problem !== undefined) {
      return fail("INVALID_ARGUMENT", "BAD_AMOUNT", `Cannot accept transaction: ${problem}`);
    }
  }
  return undefined;
}

/**
 * Applies an includable transaction (steps 2-3). Throws a ChainError when it is not includable (the caller
 * decides: the producer skips it, block verification rejects the block).
 */
export function applyTransaction(state: StateOverlay, tx: VerifiedTransaction, ctx: BlockContext): Receipt {
  const problem = inclusionProblem(state, tx, ctx.chainId, ctx.params);
  if (problem !== undefined) throw problem;
  const t = tx.tx;
  const sender = state.account(tx.from);
  state.setAccount(tx.from, { balance: sender.balance - t.fee, nonce: sender.nonce + 1n });
  const prop = state.account(ctx.proposer);
  state.setAccount(ctx.proposer, { balance: prop.balance + t.fee, nonce: prop.nonce });
  if (t.body.kind === "contract_deploy" || t.body.kind === "contract_call") {
    return applyContract(state, tx, t.body, ctx);
  }
  state.checkpoint();
  try {
    applyBody(state, tx.from, t.body, ctx);
    state.commitCheckpoint();
    return { status: 0, reason: "", feePaid: t.fee };
  } catch (error) {
    state.revertCheckpoint();
    if (!(error instanceof ChainError)) throw error;
    return { status: error.code, reason: error.reason, feePaid: t.fee };
  }
}

function debit(state: StateOverlay, from: Uint8Array, amount: bigint, what: string): void {
  const a = state.account(from);
  if (a.balance < amount) {
    throw fail(
      "FAILED_PRECONDITION",
      "INSUFFICIENT_FUNDS",
      `Cannot ${what}: balance ${a.balance} < ${amount}`,
    );
  }
  state.setAccount(from, { balance: a.balance - amount, nonce: a.nonce });
}

function commitmentStateKey(owner: Uint8Array, commitment: Uint8Array): string {
  // Keyed by committer too: copying someone's commitment from the mempool gains nothing.
  return `commit/${toHex(owner)}${toHex(commitment)}`;
}

/** The state key of a commitment made by `owner`. */
export function commitmentKeyOf(owner: Uint8Array, commitment: Uint8Array): string {
  return commitmentStateKey(owner, commitment);
}

function checkDuration(d: bigint, p: ChainParams): void {
  if (d < p.minNameDuration || d > p.maxNameDuration) {
    throw fail(
      "INVALID_ARGUMENT",
      "BAD_DURATION",
      `Cannot register name: duration ${d} blocks is outside ${p.minNameDuration}..${p.maxNameDuration}`,
    );
  }
}

/** A .zns name must point at a deployed contract (consensus). */
function checkZnsTarget(state: StateOverlay, tld: string, name: string, contract: Uint8Array): void {
  if (tld === "zns" && !contractExists(state, contract)) {
    throw fail(
      "FAILED_PRECONDITION",
      "BAD_RECORDS",
      `Cannot point ${name} at ${toHex(contract)}: no contract there`,
    );
  }
}

function checkContent(
  tld: string,
  body: { readonly records: NameRecords; readonly znsContract: Uint8Array },
): void {
  if (tld === "zns") {
    if (body.znsContract.length !== 20) {
      throw fail("INVALID_ARGUMENT", "BAD_RECORDS", "A .zns name needs a 20-byte contract address");
    }
    const r = body.records;
    if (r.aaaa.length + r.a.length + r.txt.length + r.mx.length + r.srv.length > 0 || r.cname !== "") {
      throw fail("INVALID_ARGUMENT", "BAD_RECORDS", "A .zns name holds a contract address, not DNS records");
    }
    return;
  }
  if (body.znsContract.length !== 0) {
    throw fail("INVALID_ARGUMENT", "BAD_RECORDS", "A .ghost name holds DNS records, not a contract address");
  }
  const p = recordsProblem(body.records);
  if (p !== undefined) throw fail("INVALID_ARGUMENT", "BAD_RECORDS", `Invalid records: ${p}`);
}

function liveEntry(state: StateOverlay, name: string, height: bigint, allowGrace: boolean, grace: bigint) {
  const b = state.get(nameKey(name));
  if (b === undefined) throw fail("NOT_FOUND", "NAME_NOT_FOUND", `Name ${name} is not registered`);
  const e = decodeNameEntry(b);
  const limit = allowGrace ? e.expiry + grace : e.expiry;
  if (height > limit) {
    throw fail("FAILED_PRECONDITION", "NAME_EXPIRED", `Name ${name} expired at height ${e.expiry}`);
  }
  return e;
}

function applyBody(state: StateOverlay, from: Uint8Array, body: TxBody, ctx: BlockContext): void {
  const p = ctx.params;
  switch (body.kind) {
    case "validator_update":
      return applyValidatorUpdate(state, from, body, ctx);
    case "transfer": {
      if (body.amount === 0n) throw fail("INVALID_ARGUMENT", "BAD_AMOUNT", "Cannot transfer: amount is 0");
      debit(state, from, body.amount, "transfer");
      const to = state.account(body.to);
      state.setAccount(body.to, { balance: to.balance + body.amount, nonce: to.nonce });
      return;
    }
    case "name_commit": {
      const key = commitmentStateKey(from, body.commitment);
      const old = state.get(key);
      if (old !== undefined && ctx.height - decodeCommitment(old).height <= p.maxCommitAge) {
        throw fail(
          "ALREADY_EXISTS",
          "COMMITMENT_EXISTS",
          "Cannot commit: the same commitment is still pending",
        );
      }
      state.set(key, encodeCommitment({ owner: from, height: ctx.height }));
      return;
    }
    case "name_register": {
      const parsed = parseName(body.name);
      const reserved = registrableProblem(parsed);
      if (reserved !== undefined) {
        throw fail("PERMISSION_DENIED", "NAME_RESERVED", `Cannot register ${body.name}: ${reserved}`);
      }
      if (body.secret.length !== 32) {
        throw fail("INVALID_ARGUMENT", "MALFORMED", "Cannot register: secret must be 32 bytes");
      }
      const key = commitmentStateKey(from, nameCommitment(body.name, from, body.secret));
      const cb = state.get(key);
      if (cb === undefined) {
        throw fail(
          "NOT_FOUND",
          "COMMITMENT_NOT_FOUND",
          `Cannot register ${body.name}: no matching commitment from this account`,
        );
      }
      const age = ctx.height - decodeCommitment(cb).height;
      if (age < p.minCommitAge) {
        throw fail(
          "FAILED_PRECONDITION",
          "COMMITMENT_TOO_NEW",
          `Cannot register ${body.name}: commitment is ${age} blocks old, needs ${p.minCommitAge}`,
        );
      }
      if (age > p.maxCommitAge) {
        throw fail(
          "FAILED_PRECONDITION",
          "COMMITMENT_TOO_OLD",
          `Cannot register ${body.name}: commitment is ${age} blocks old, limit ${p.maxCommitAge}`,
        );
      }
      checkDuration(body.durationBlocks, p);
      const existing = state.get(nameKey(body.name));
      if (existing !== undefined && ctx.height <= decodeNameEntry(existing).expiry + p.gracePeriod) {
        throw fail("ALREADY_EXISTS", "NAME_TAKEN", `Cannot register ${body.name}: name taken`);
      }
      checkContent(parsed.tld, body);
      checkZnsTarget(state, parsed.tld, body.name, body.znsContract);
      debit(state, from, p.namePricePerBlock * body.durationBlocks, `register ${body.name}`);
      state.set(key, null);
      state.set(
        nameKey(body.name),
        encodeNameEntry({
          owner: from,
          expiry: ctx.height + body.durationBlocks,
          records: body.records,
          znsContract: body.znsContract,
        }),
      );
      return;
    }
    case "name_update": {
      const parsed = parseName(body.name);
      const e = liveEntry(state, body.name, ctx.height, false, p.gracePeriod);
      if (!sameBytes(e.owner, from)) {
        throw fail("PERMISSION_DENIED", "NOT_OWNER", `Cannot update ${body.name}: not the owner`);
      }
      checkContent(parsed.tld, body);
      checkZnsTarget(state, parsed.tld, body.name, body.znsContract);
      state.set(
        nameKey(body.name),
        encodeNameEntry({ ...e, records: body.records, znsContract: body.znsContract }),
      );
      return;
    }
    case "name_transfer": {
      parseName(body.name);
      const e = liveEntry(state, body.name, ctx.height, false, p.gracePeriod);
      if (!sameBytes(e.owner, from)) {
        throw fail("PERMISSION_DENIED", "NOT_OWNER", `Cannot transfer ${body.name}: not the owner`);
      }
      state.set(nameKey(body.name), encodeNameEntry({ ...e, owner: body.newOwner }));
      return;
    }
    case "name_renew": {
      parseName(body.name);
      const e = liveEntry(state, body.name, ctx.height, true, p.gracePeriod);
      checkDuration(body.durationBlocks, p);
      const expiry = e.expiry + body.durationBlocks;
      if (expiry - ctx.height > p.maxNameDuration) {
        throw fail(
          "INVALID_ARGUMENT",
          "BAD_DURATION",
          `Cannot renew ${body.name}: would expire more than ${p.maxNameDuration} blocks ahead`,
        );
      }
      debit(state, from, p.namePricePerBlock * body.durationBlocks, `renew ${body.name}`);
      state.set(nameKey(body.name), encodeNameEntry({ ...e, expiry }));
      return;
    }
    default:
      // Contract bodies never get here: applyTransaction hands them to contracts.ts.
      throw fail("INTERNAL", "RESERVED_FEATURE", `Cannot apply ${body.kind} as a plain body`);
  }
}

/** Most validators a set may hold (a commit carries at most 1,024 signatures; this keeps blocks small). */
export const MAX_VALIDATORS = 100;

/** Queues a validator update for height `at` (a later one for the same key replaces it). */
function queueValidatorUpdate(state: StateOverlay, at: bigint, update: Validator): void {
  const key = validatorUpdatesKey(at);
  const prior = state.get(key);
  const list = prior === undefined ? [] : decodeValidators(prior);
  const rest = list.filter((v) => !sameBytes(v.publicKey, update.publicKey));
  state.set(key, encodeValidators([...rest, update]));
}

function applyValidatorUpdate(
  state: StateOverlay,
  from: Uint8Array,
  body: { readonly publicKey: Uint8Array; readonly power: bigint },
  ctx: BlockContext,
): void {
  const admin = ctx.params.validatorAdmin;
  if (admin.length === 0 || !sameBytes(admin, from)) {
    throw fail(
      "PERMISSION_DENIED",
      "NOT_ADMIN",
      "Cannot update validators: the sender is not the validator admin",
    );
  }
  if (!isValidEd25519PublicKey(body.publicKey)) {
    throw fail("INVALID_ARGUMENT", "BAD_VALIDATOR", "Cannot update validators: not an Ed25519 public key");
  }
  if (body.power > 1_000_000_000_000n) {
    throw fail("INVALID_ARGUMENT", "BAD_VALIDATOR", "Cannot update validators: power above 10^12");
  }
  // Takes effect at the height after next: the next height's set is already known to its validators.
  queueValidatorUpdate(state, ctx.height + 2n, { publicKey: body.publicKey, power: body.power });
}

/**
 * End of a block (consensus-relevant; the producer and every verifier run it after the block's transactions):
 * the validator updates queued for the next height replace the set. An update that would leave the set empty or
 * larger than {@linkcode MAX_VALIDATORS} is dropped, as a whole batch, deterministically.
 */
export function endBlock(state: StateOverlay, ctx: BlockContext): void {
  const key = validatorUpdatesKey(ctx.height + 1n);
  const queued = state.get(key);
  if (queued === undefined) return;
  state.set(key, null);
  const next = new Map(readValidators(state).map((v) => [toHex(v.publicKey), v]));
  for (const u of decodeValidators(queued)) {
    if (u.power === 0n) next.delete(toHex(u.publicKey));
    else next.set(toHex(u.publicKey), u);
  }
  if (next.size === 0 || next.size > MAX_VALIDATORS) return;
  state.set(VALIDATORS_KEY, encodeValidators([...next.values()]));
}

/**
 * Records equivocation evidence (already checked: two signed conflicting votes of a validator) and removes that
 * validator from the height after next, unless it is the last one. Throws BAD_BLOCK-worthy ChainError when the
 * same offence is already on chain.
 */
export function applyEvidence(
  state: StateOverlay,
  evidence: Evidence,
  bytes: Uint8Array,
  ctx: BlockContext,
): void {
  const v = evidence.first;
  const key = evidenceKey(v.validator, v.height, v.round, v.type);
  if (state.get(key) !== undefined) {
    throw fail(
      "ALREADY_EXISTS",
      "DUPLICATE",
      `Evidence for ${toHex(v.validator).slice(0, 16)} is already recorded`,
    );
  }
  state.set(key, bytes);
  if (readValidators(state).length > 1) {
    queueValidatorUpdate(state, ctx.height + 2n, { publicKey: v.validator, power: 0n });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** KV mutations and bytes a block causes (see the module doc). */
export function storageCost(
  changes: ReadonlyMap<string, Uint8Array | null>,
  txCount: number,
  blockBytes: number,
  receiptBytes = 0,
): { mutations: number; bytes: number } {
  let writeBytes = 0;
  for (const [k, v] of changes) writeBytes += keyBytes(k) + 8 + (v?.length ?? 0);
  return storageCostOf(changes.size, writeBytes, txCount, blockBytes, receiptBytes);
}

/**
 * {@linkcode storageCost} from the totals of the change set: `writes` keys written, `writeBytes` the sum of
 * `utf8(key) + 8 + value length` over them (what {@linkcode StateOverlay.writeBytes} keeps).
 */
export function storageCostOf(
  writes: number,
  writeBytes: number,
  txCount: number,
  blockBytes: number,
  receiptBytes = 0,
): { mutations: number; bytes: number } {
  const chunks = Math.max(1, Math.ceil(blockBytes / BLOCK_CHUNK_BYTES));
  // Receipts are stored in the tx index entries; contract receipts (events, return data) can be large.
  const bytes = blockBytes + chunks * 24 + receiptBytes + writeBytes + txCount * (32 + 16 + 40);
  // changes + tx index + block chunks + hash -> height + head pointer
  return { mutations: writes + txCount + chunks + 2, bytes: bytes + 256 };
}

/** Whether a storage cost fits the budget. */
export function withinStorageBudget(cost: { mutations: number; bytes: number }): boolean {
  return cost.mutations <= MAX_BLOCK_MUTATIONS && cost.bytes <= MAX_BLOCK_WRITE_BYTES;
}

/** The account address of a block proposer key. */
export function proposerAccount(proposer: Uint8Array): Uint8Array {
  return accountOf(proposer);
}

/** gRPC code -> name, for receipts. */
export function receiptStatusName(code: number): string {
  for (const [k, v] of Object.entries(GrpcStatus)) if (v === code) return k;
  return String(code);
}
