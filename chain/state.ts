/**
 * Chain state: accounts, the name registry, name commitments, parameters and validators, each a value under
 * a string key, all committed by one {@linkcode SparseMerkleTree} root.
 *
 * Keys (UTF-8; the tree path is `BLAKE3(key)`; consensus-relevant):
 * | key                       | value (ghostchain.proto)  |
 * |---------------------------|---------------------------|
 * | `acct/<hex address>`      | `Account`                 |
 * | `name/<name>`             | `NameEntry`               |
 * | `commit/<hex owner><hex commitment>` | `NameCommitment` |
 * | `params`                  | `ChainParams`             |
 * | `validators`              | `ValidatorSet`            |
 * | `vupd/<height>`           | `ValidatorSet` of updates taking effect at that height (power 0 removes) |
 * | `evidence/<hex key>/<height>/<round>/<type>` | `Evidence` recorded on chain |
 * | `code/<hex address>`      | contract wasm (contracts.ts) |
 * | `store/<hex address>/<hex key>` | contract storage value |
 *
 * {@linkcode ChainState} holds the committed state in memory (a map plus the tree, and an owner index for
 * ListNames); {@linkcode StateOverlay} collects one block's writes on top of it with checkpoints, so a failed
 * transaction body can be rolled back and a block can be executed without touching the committed state.
 *
 * @module
 */

import { blake3 } from "../crypto/mod.ts";
import { decodeRecords, EMPTY_RECORDS, encodeRecords, type NameRecords } from "./names.ts";
import { malformed, PbReader, PbWriter, toHex, utf8 } from "./_pb.ts";
import { smtPath, SparseMerkleTree, type StateProof } from "./sparse_merkle_tree.ts";

/** An account. */
export interface Account {
  readonly balance: bigint;
  /** The nonce the account's next transaction must carry. */
  readonly nonce: bigint;
}

/** A registered name. */
export interface NameEntry {
  readonly owner: Uint8Array;
  /** Block height at which the name expires. */
  readonly expiry: bigint;
  readonly records: NameRecords;
  /** .zns names: the contract address. */
  readonly znsContract: Uint8Array;
}

/** A pending name commitment. */
export interface NameCommitmentEntry {
  readonly owner: Uint8Array;
  readonly height: bigint;
}

/** Consensus parameters, fixed at genesis. */
export interface ChainParams {
  /** Smallest fee a transaction may carry. */
  readonly minFee: bigint;
  /** Blocks a commitment must age before its reveal. */
  readonly minCommitAge: bigint;
  /** Blocks after which a commitment can no longer be revealed. */
  readonly maxCommitAge: bigint;
  /** Blocks after expiry during which only renewal is possible. */
  readonly gracePeriod: bigint;
  /** Price per block of registration or renewal (burned). */
  readonly namePricePerBlock: bigint;
  readonly minNameDuration: bigint;
  readonly maxNameDuration: bigint;
  /** Largest encoded block (bytes). */
  readonly maxBlockBytes: number;
  /** Most transactions per block. */
  readonly maxBlockTxs: number;
  /** The account allowed to change the validator set (`validator_update`); empty: nobody. */
  readonly validatorAdmin: Uint8Array;
}

/** A validator. */
export interface Validator {
  /** Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly power: bigint;
}

/** State key of an account. */
export function accountKey(address: Uint8Array): string {
  return `acct/${toHex(address)}`;
}
/** State key of a name. */
export function nameKey(name: string): string {
  return `name/${name}`;
}
/** State key of the parameters. */
export const PARAMS_KEY = "params";
/** State key of the validator set. */
export const VALIDATORS_KEY = "validators";

/** The state key of the validator updates that take effect at `height`. */
export function validatorUpdatesKey(height: bigint): string {
  return `vupd/${height}`;
}

/** The state key of recorded evidence against `validator` for one height / round / vote type. */
export function evidenceKey(validator: Uint8Array, height: number, round: number, type: number): string {
  return `evidence/${toHex(validator)}/${height}/${round}/${type}`;
}

/** Encodes an account. */
export function encodeAccount(a: Account): Uint8Array {
  return new PbWriter().uint64(1, a.balance).uint64(2, a.nonce).finish().slice();
}
/** Decodes an account. */
export function decodeAccount(bytes: Uint8Array): Account {
  const r = new PbReader(bytes, "account");
  let balance = 0n, nonce = 0n;
  while (r.next()) {
    if (r.field === 1) balance = r.uint64();
    else if (r.field === 2) nonce = r.uint64();
    else r.unknown();
  }
  return { balance, nonce };
}

/** Encodes a name entry. */
export function encodeNameEntry(e: NameEntry): Uint8Array {
  return new PbWriter().bytes(1, e.owner).uint64(2, e.expiry).bytes(3, encodeRecords(e.records))
    .bytes(4, e.znsContract).finish().slice();
}
/** Decodes a name entry. */
export function decodeNameEntry(bytes: Uint8Array): NameEntry {
  const r = new PbReader(bytes, "name entry");
  let owner = new Uint8Array(0), expiry = 0n, records = EMPTY_RECORDS, znsContract = new Uint8Array(0);
  while (r.next()) {
    if (r.field === 1) owner = r.fixed(20).slice();
    else if (r.field === 2) expiry = r.uint64();
    else if (r.field === 3) records = decodeRecords(r.bytes(4096));
    else if (r.field === 4) znsContract = r.fixed(20).slice();
    else r.unknown();
  }
  if (owner.length !== 20) throw malformed("name entry", "missing owner");
  return { owner, expiry, records, znsContract };
}

/** Encodes a commitment entry. */
export function encodeCommitment(c: NameCommitmentEntry): Uint8Array {
  return new PbWriter().bytes(1, c.owner).uint64(2, c.height).finish().slice();
}
/** Decodes a commitment entry. */
export function decodeCommitment(bytes: Uint8Array): NameCommitmentEntry {
  const r = new PbReader(bytes, "name commitment");
  let owner = new Uint8Array(0), height = 0n;
  while (r.next()) {
    if (r.field === 1) owner = r.fixed(20).slice();
    else if (r.field === 2) height = r.uint64();
    else r.unknown();
  }
  return { owner, height };
}

/** Encodes parameters. */
export function encodeParams(p: ChainParams): Uint8Array {
  return new PbWriter().uint64(1, p.minFee).uint64(2, p.minCommitAge).uint64(3, p.maxCommitAge)
    .uint64(4, p.gracePeriod).uint64(5, p.namePricePerBlock).uint64(6, p.minNameDuration)
    .uint64(7, p.maxNameDuration).uint32(8, p.maxBlockBytes).uint32(9, p.maxBlockTxs)
    .bytes(10, p.validatorAdmin).finish().slice();
}
/** Decodes parameters. */
export function decodeParams(bytes: Uint8Array): ChainParams {
  const r = new PbReader(bytes, "chain params");
  const v = [0n, 0n, 0n, 0n, 0n, 0n, 0n];
  let maxBlockBytes = 0, maxBlockTxs = 0, validatorAdmin = new Uint8Array(0);
  while (r.next()) {
    if (r.field >= 1 && r.field <= 7) v[r.field - 1] = r.uint64();
    else if (r.field === 8) maxBlockBytes = r.uint32();
    else if (r.field === 9) maxBlockTxs = r.uint32();
    else if (r.field === 10) validatorAdmin = r.fixed(20).slice();
    else r.unknown();
  }
  const [
    minFee,
    minCommitAge,
    maxCommitAge,
    gracePeriod,
    namePricePerBlock,
    minNameDuration,
    maxNameDuration,
  ] = v as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  return {
    minFee,
    minCommitAge,
    maxCommitAge,
    gracePeriod,
    namePricePerBlock,
    minNameDuration,
    maxNameDuration,
    maxBlockBytes,
    maxBlockTxs,
    validatorAdmin,
  };
}

/** Encodes the validator set (order is the proposer rotation order). */
export function encodeValidators(vs: readonly Validator[]): Uint8Array {
  const w = new PbWriter();
  for (const v of vs) w.message(1, new PbWriter().bytes(1, v.publicKey).uint64(2, v.power).finish());
  return w.finish().slice();
}
/** Decodes the validator set (at most 1024). */
export function decodeValidators(bytes: Uint8Array): Validator[] {
  const r = new PbReader(bytes, "validator set");
  const out: Validator[] = [];
  while (r.next()) {
    if (r.field !== 1) r.unknown();
    if (out.length >= 1024) throw malformed("validator set", "more than 1024 validators");
    const m = new PbReader(r.message(64, true), "validator");
    let publicKey = new Uint8Array(0), power = 0n;
    while (m.next()) {
      if (m.field === 1) publicKey = m.fixed(32).slice();
      else if (m.field === 2) power = m.uint64();
      else m.unknown();
    }
    out.push({ publicKey, power });
  }
  return out;
}

/** Read access to state values. */
export interface StateReader {
  get(key: string): Uint8Array | undefined;
}

/** The committed state, in memory, with its sparse Merkle tree and an owner -> names index. */
export class ChainState implements StateReader {
  readonly #values = new Map<string, Uint8Array>();
  readonly #tree = new SparseMerkleTree();
  readonly #owners = new Map<string, Set<string>>();

  /** Value of `key`. */
  get(key: string): Uint8Array | undefined {
    return this.#values.get(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.#values.size;
  }

  /** The state root. */
  root(): Uint8Array {
    return this.#tree.root();
  }

  /** A proof for `key` against {@linkcode root}. */
  prove(key: string): StateProof {
    return this.#tree.prove(smtPath(utf8(key)));
  }

  /** Applies a change set (value or null = delete). */
  apply(changes: ReadonlyMap<string, Uint8Array | null>): void {
    for (const [key, value] of changes) {
      const old = this.#values.get(key);
      if (key.startsWith("name/") && old !== undefined) this.#unindex(key, old);
      if (value === null) {
        this.#values.delete(key);
        this.#tree.delete(smtPath(utf8(key)));
      } else {
        this.#values.set(key, value);
        this.#tree.set(smtPath(utf8(key)), blake3(value));
        if (key.startsWith("name/")) this.#index(key, value);
      }
    }
  }

  /** Names owned by `owner` (sorted). */
  namesOf(owner: Uint8Array): string[] {
    return [...(this.#owners.get(toHex(owner)) ?? [])].sort();
  }

  /** Every registered name, sorted (for listing; O(names) per call). */
  allNames(): string[] {
    return [...this.#owners.values()].flatMap((set) => [...set]).sort();
  }

  /** Every entry, sorted by key (for tests and dumps). */
  entries(): Array<[string, Uint8Array]> {
    return [...this.#values.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  #index(key: string, value: Uint8Array): void {
    const owner = toHex(decodeNameEntry(value).owner);
    let set = this.#owners.get(owner);
    if (set === undefined) this.#owners.set(owner, set = new Set());
    set.add(key.slice(5));
  }

  #unindex(key: string, value: Uint8Array): void {
    const owner = toHex(decodeNameEntry(value).owner);
    this.#owners.get(owner)?.delete(key.slice(5));
  }
}

/** UTF-8 length of a state key (keys are ASCII but for unusual contract keys). */
export function keyBytes(key: string): number {
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) > 0x7f) return new TextEncoder().encode(key).length;
  }
  return key.length;
}

/**
 * Pending writes over a base state, with nested checkpoints. Execution reads and writes through it; the
 * result is an ordered change set. Keys are applied in sorted order so the change set is deterministic.
 */
export class StateOverlay implements StateReader {
  readonly #base: StateReader;
  readonly #writes = new Map<string, Uint8Array | null>();
  readonly #journal: Array<[string, Uint8Array | null | undefined]> = [];
  readonly #marks: number[] = [];
  #writeBytes = 0;

  /** An empty overlay over `base`. */
  constructor(base: StateReader) {
    this.#base = base;
  }

  /** Current value. */
  get(key: string): Uint8Array | undefined {
    const w = this.#writes.get(key);
    if (w === null) return undefined;
    return w ?? this.#base.get(key);
  }

  /** Sets a value (null deletes). */
  set(key: string, value: Uint8Array | null): void {
    const had = this.#writes.has(key);
    const prev = this.#writes.get(key);
    if (this.#marks.length > 0) this.#journal.push([key, had ? prev ?? null : undefined]);
    this.#writeBytes += had ? -(prev?.length ?? 0) : keyBytes(key) + 8;
    this.#writeBytes += value?.length ?? 0;
    this.#writes.set(key, value);
  }

  /**
   * `sum(utf8 length of key + 8 + value length)` over the written keys, kept as writes happen (the block
   * producer checks the storage budget after every transaction; recomputing it each time was quadratic).
   */
  get writeBytes(): number {
    return this.#writeBytes;
  }

  /** Starts a checkpoint. */
  checkpoint(): void {
    this.#marks.push(this.#journal.length);
  }

  /** Keeps the writes since the last checkpoint. */
  commitCheckpoint(): void {
    const mark = this.#marks.pop();
    if (mark === undefined) throw new Error("No checkpoint to commit");
    if (this.#marks.length === 0) this.#journal.length = 0;
  }

  /** Undoes the writes since the last checkpoint. */
  revertCheckpoint(): void {
    const mark = this.#marks.pop();
    if (mark === undefined) throw new Error("No checkpoint to revert");
    while (this.#journal.length > mark) {
      const [key, prev] = this.#journal.pop() as [string, Uint8Array | null | undefined];
      this.#writeBytes -= this.#writes.get(key)?.length ?? 0;
      if (prev === undefined) {
        this.#writes.delete(key);
        this.#writeBytes -= keyBytes(key) + 8;
      } else {
        this.#writes.set(key, prev);
        this.#writeBytes += prev?.length ?? 0;
      }
    }
  }

  /** The change set, keys sorted. */
  changes(): Map<string, Uint8Array | null> {
    return new Map([...this.#writes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }

  /** Number of distinct keys written. */
  get writeCount(): number {
    return this.#writes.size;
  }

  /** Typed helpers. */
  account(address: Uint8Array): Account {
    const b = this.get(accountKey(address));
    return b === undefined ? { balance: 0n, nonce: 0n } : decodeAccount(b);
  }

  /** Writes an account (an all-zero account is deleted, keeping state small and canonical). */
  setAccount(address: Uint8Array, a: Account): void {
    this.set(accountKey(address), a.balance === 0n && a.nonce === 0n ? null : encodeAccount(a));
  }
}

/** Reads an account from any state reader. */
export function readAccount(state: StateReader, address: Uint8Array): Account {
  const b = state.get(accountKey(address));
  return b === undefined ? { balance: 0n, nonce: 0n } : decodeAccount(b);
}

/** Reads the parameters (throws when missing: the state was not made by genesis). */
export function readParams(state: StateReader): ChainParams {
  const b = state.get(PARAMS_KEY);
  if (b === undefined) throw new Error("State has no params (not initialised by genesis)");
  return decodeParams(b);
}

/** Reads the validator set. */
export function readValidators(state: StateReader): Validator[] {
  const b = state.get(VALIDATORS_KEY);
  return b === undefined ? [] : decodeValidators(b);
}
