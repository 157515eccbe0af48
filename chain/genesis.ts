/**
 * Genesis: the config file that fixes a chain's id, parameters, validators, funded accounts and initial
 * names, and the height-0 block built from it.
 *
 * File format (JSON; `parseGenesis` turns it into a typed value or throws naming the key):
 * ```json
 * {
 *   "chainId": "ghostchain-devnet",
 *   "timeMs": 1767225600000,
 *   "params": { "minFee": "1", "minCommitAge": 1, "maxCommitAge": 10000, "gracePeriod": 1000,
 *               "namePricePerBlock": "1", "minNameDuration": 100, "maxNameDuration": 10000000,
 *               "maxBlockBytes": 524288, "maxBlockTxs": 300 },
 *   "validators": [{ "publicKey": "<64 hex>", "power": 1 }],
 *   "accounts": [{ "address": "ghost1...", "balance": "1000000000" }],
 *   "names": [{ "name": "dev.ghost", "owner": "ghost1...", "expiry": 100000000,
 *               "records": { "aaaa": ["::1"], "a": ["127.0.0.1"], "txt": ["hello"] } }]
 * }
 * ```
 * Every field but `chainId`, `validators` and `accounts` has a default. The genesis block (height 0) has no
 * transactions, no proposer and an empty commit; its state root commits to all of the above (params and
 * validators live in state), so two nodes agree on the genesis hash exactly when they agree on the file's
 * meaning. Consensus-relevant: the genesis hash identifies the chain to peers.
 *
 * @module
 */
import { isRecord } from "../core/mod.ts";

import { parseAddress } from "../crypto/mod.ts";
import { blockHash, type BlockHeader, encodeBlock, type VerifiedBlock } from "./block.ts";
import { ChainError } from "./errors.ts";
import { merkleRoot } from "./merkle.ts";
import { EMPTY_RECORDS, labelProblem, type NameRecords, parseName, recordsProblem } from "./names.ts";
import { fromHex, toHex } from "./_pb.ts";
import {
  accountKey,
  type ChainParams,
  ChainState,
  encodeAccount,
  encodeNameEntry,
  encodeParams,
  encodeValidators,
  nameKey,
  PARAMS_KEY,
  type Validator,
  VALIDATORS_KEY,
} from "./state.ts";

/** Default consensus parameters. */
export const DEFAULT_PARAMS: ChainParams = Object.freeze({
  minFee: 1n,
  minCommitAge: 1n,
  maxCommitAge: 10_000n,
  gracePeriod: 1_000n,
  namePricePerBlock: 1n,
  minNameDuration: 100n,
  maxNameDuration: 10_000_000n,
  maxBlockBytes: 512 * 1024,
  maxBlockTxs: 300,
  validatorAdmin: new Uint8Array(0),
});

/** A parsed genesis file. */
export interface Genesis {
  readonly chainId: string;
  readonly timeMs: number;
  readonly params: ChainParams;
  readonly validators: readonly Validator[];
  readonly accounts: readonly { readonly address: Uint8Array; readonly balance: bigint }[];
  readonly names: readonly {
    readonly name: string;
    readonly owner: Uint8Array;
    readonly expiry: bigint;
    readonly records: NameRecords;
    readonly znsContract: Uint8Array;
  }[];
}

function badGenesis(key: string, message: string): ChainError {
  return new ChainError("INVALID_ARGUMENT", "GENESIS", `Invalid genesis ${key}: ${message}`);
}

const bad = badGenesis;

function bigintOf(v: unknown, key: string, max = 0xffff_ffff_ffff_ffffn): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^\d{1,20}$/.test(v) && BigInt(v) <= max) return BigInt(v);
  throw bad(
    key,
    `${JSON.stringify(v)} is not an integer in 0..${max} (use a decimal string for large values)`,
  );
}

function intOf(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(key, `${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  }
  return v;
}

function addressOf(v: unknown, key: string): Uint8Array {
  try {
    return parseAddress(v).payload;
  } catch (e) {
    throw bad(key, `${JSON.stringify(v)} is not a ghost1 address (${e instanceof Error ? e.message : e})`);
  }
}

/** Parses an IPv4 dotted quad. */
export function parseIpv4(s: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  const out = m.slice(1).map(Number);
  return out.every((x) => x <= 255) ? Uint8Array.from(out) : undefined;
}

/** Parses an IPv6 address (RFC 4291 §2.2 text forms, with `::` and an embedded IPv4 tail). */
export function parseIpv6(s: string): Uint8Array | undefined {
  const parts = s.split("::");
  if (parts.length > 2) return undefined;
  const groups = (t: string): number[] | undefined => {
    if (t === "") return [];
    const out: number[] = [];
    const xs = t.split(":");
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] as string;
      if (i === xs.length - 1 && x.includes(".")) {
        const v4 = parseIpv4(x);
        if (v4 === undefined) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(x)) return undefined;
        out.push(parseInt(x, 16));
      }
    }
    return out;
  };
  const head = groups(parts[0] ?? "");
  const tail = parts.length === 2 ? groups(parts[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (parts.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(parts.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parses the JSON form of records (see the module doc); errors name `key` and say where it came from. */
export function parseRecordsJson(
  v: unknown,
  key: string,
  where: "genesis" | "records" = "genesis",
): NameRecords {
  // The same JSON comes from a genesis file or from a CLI's record flags: name the one it came from.
  const bad = (k: string, message: string): ChainError =>
    where === "genesis"
      ? badGenesis(k, message)
      : new ChainError("INVALID_ARGUMENT", "BAD_RECORDS", `Invalid ${k}: ${message}`);
  if (v === undefined) return EMPTY_RECORDS;
  if (!isRecord(v)) throw bad(key, "must be an object");
  const list = (k: string): unknown[] => {
    const x = v[k];
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw bad(`${key}.${k}`, "must be a list");
    return x;
  };
  const aaaa = list("aaaa").map((x, i) => {
    const b = typeof x === "string" ? parseIpv6(x) : undefined;
    if (b === undefined) throw bad(`${key}.aaaa[${i}]`, `${JSON.stringify(x)} is not an IPv6 address`);
    return b;
  });
  const a = list("a").map((x, i) => {
    const b = typeof x === "string" ? parseIpv4(x) : undefined;
    if (b === undefined) throw bad(`${key}.a[${i}]`, `${JSON.stringify(x)} is not an IPv4 address`);
    return b;
  });
  const txt = list("txt").map((x, i) => {
    if (typeof x !== "string") throw bad(`${key}.txt[${i}]`, "must be a string");
    return x;
  });
  const cname = v.cname === undefined ? "" : String(v.cname);
  const mx = list("mx").map((x, i) => {
    if (!isRecord(x)) throw bad(`${key}.mx[${i}]`, "must be {preference, exchange}");
    return {
      preference: intOf(x.preference, `${key}.mx[${i}].preference`, 0, 65535),
      exchange: String(x.exchange),
    };
  });
  const srv = list("srv").map((x, i) => {
    if (!isRecord(x)) throw bad(`${key}.srv[${i}]`, "must be {priority, weight, port, target}");
    return {
      priority: intOf(x.priority, `${key}.srv[${i}].priority`, 0, 65535),
      weight: intOf(x.weight, `${key}.srv[${i}].weight`, 0, 65535),
      port: intOf(x.port, `${key}.srv[${i}].port`, 0, 65535),
      target: String(x.target),
    };
  });
  const records = { aaaa, a, txt, cname, mx, srv };
  const p = recordsProblem(records);
  if (p !== undefined) throw bad(key, p);
  return records;
}

/** Parses a genesis file's JSON value. */
export function parseGenesis(raw: unknown): Genesis {
  if (!isRecord(raw)) throw bad("(root)", "must be a JSON object");
  const chainId = raw.chainId;
  if (typeof chainId !== "string" || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(chainId)) {
    throw bad("chainId", `${JSON.stringify(chainId)} must be 1..64 of a-z 0-9 . _ - starting alphanumeric`);
  }
  const timeMs = raw.timeMs === undefined ? 0 : intOf(raw.timeMs, "timeMs", 0, Number.MAX_SAFE_INTEGER);
  const p = raw.params === undefined ? {} : raw.params;
  if (!isRecord(p)) throw bad("params", "must be an object");
  const big = (
    k: keyof ChainParams,
  ): bigint => (p[k] === undefined ? DEFAULT_PARAMS[k] as bigint : bigintOf(p[k], `params.${k}`));
  const params: ChainParams = {
    minFee: big("minFee"),
    minCommitAge: big("minCommitAge"),
    maxCommitAge: big("maxCommitAge"),
    gracePeriod: big("gracePeriod"),
    namePricePerBlock: big("namePricePerBlock"),
    minNameDuration: big("minNameDuration"),
    maxNameDuration: big("maxNameDuration"),
    maxBlockBytes: p.maxBlockBytes === undefined
      ? DEFAULT_PARAMS.maxBlockBytes
      : intOf(p.maxBlockBytes, "params.maxBlockBytes", 1024, 600_000),
    maxBlockTxs: p.maxBlockTxs === undefined
      ? DEFAULT_PARAMS.maxBlockTxs
      : intOf(p.maxBlockTxs, "params.maxBlockTxs", 1, 900),
    validatorAdmin: p.validatorAdmin === undefined || p.validatorAdmin === ""
      ? new Uint8Array(0)
      : addressOf(p.validatorAdmin, "params.validatorAdmin"),
  };
  if (params.minCommitAge > params.maxCommitAge) throw bad("params.minCommitAge", "exceeds maxCommitAge");
  if (params.minNameDuration > params.maxNameDuration) {
    throw bad("params.minNameDuration", "exceeds maxNameDuration");
  }
  if (!Array.isArray(raw.validators) || raw.validators.length === 0 || raw.validators.length > 1024) {
    throw bad("validators", "must be a list of 1..1024 validators");
  }
  const seen = new Set<string>();
  const validators = raw.validators.map((v, i): Validator => {
    if (!isRecord(v) || typeof v.publicKey !== "string" || !/^[0-9a-f]{64}$/.test(v.publicKey)) {
      throw bad(`validators[${i}].publicKey`, "must be 64 lowercase hex characters (Ed25519 public key)");
    }
    if (seen.has(v.publicKey)) throw bad(`validators[${i}]`, "duplicate validator");
    seen.add(v.publicKey);
    const power = v.power === undefined ? 1n : bigintOf(v.power, `validators[${i}].power`);
    if (power === 0n) throw bad(`validators[${i}].power`, "must be at least 1");
    return { publicKey: fromHex(v.publicKey), power };
  });
  if (!Array.isArray(raw.accounts)) throw bad("accounts", "must be a list");
  let supply = 0n;
  const accountSeen = new Set<string>();
  const accounts = raw.accounts.map((a, i) => {
    if (!isRecord(a)) throw bad(`accounts[${i}]`, "must be {address, balance}");
    const address = addressOf(a.address, `accounts[${i}].address`);
    if (accountSeen.has(toHex(address))) throw bad(`accounts[${i}]`, "duplicate account");
    accountSeen.add(toHex(address));
    const balance = bigintOf(a.balance, `accounts[${i}].balance`);
    supply += balance;
    return { address, balance };
  });
  // Balances travel as uint64: keeping the supply within it keeps every balance within it.
  if (supply > 0xffff_ffff_ffff_ffffn) throw bad("accounts", "total supply exceeds 2^64 - 1");
  const namesRaw = raw.names === undefined ? [] : raw.names;
  if (!Array.isArray(namesRaw)) throw bad("names", "must be a list");
  const names = namesRaw.map((n, i) => {
    if (!isRecord(n) || typeof n.name !== "string") {
      throw bad(`names[${i}]`, "must be {name, owner, expiry, records}");
    }
    let parsed;
    try {
      parsed = parseName(n.name);
    } catch (e) {
      throw bad(`names[${i}].name`, e instanceof Error ? e.message : String(e));
    }
    const owner = addressOf(n.owner, `names[${i}].owner`);
    const expiry = bigintOf(n.expiry, `names[${i}].expiry`);
    const records = parseRecordsJson(n.records, `names[${i}].records`);
    const znsContract = n.znsContract === undefined
      ? new Uint8Array(0)
      : addressOf(n.znsContract, `names[${i}].znsContract`);
    if ((parsed.tld === "zns") !== (znsContract.length === 20)) {
      throw bad(`names[${i}]`, ".zns names need znsContract; .ghost names must not have one");
    }
    return { name: n.name, owner, expiry, records, znsContract };
  });
  return { chainId, timeMs, params, validators, accounts, names };
}

/** The genesis state as a change set. */
export function genesisChanges(g: Genesis): Map<string, Uint8Array | null> {
  const changes = new Map<string, Uint8Array | null>();
  changes.set(PARAMS_KEY, encodeParams(g.params));
  changes.set(VALIDATORS_KEY, encodeValidators(g.validators));
  for (const a of g.accounts) {
    if (a.balance > 0n) {
      changes.set(accountKey(a.address), encodeAccount({ balance: a.balance, nonce: 0n }));
    }
  }
  for (const n of g.names) {
    if (labelProblem(n.name.split(".")[0] ?? "") !== undefined) throw bad("names", `invalid ${n.name}`);
    changes.set(nameKey(n.name), encodeNameEntry(n));
  }
  return new Map([...changes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** Builds the genesis state and block. */
export function buildGenesis(
  g: Genesis,
): { state: ChainState; block: VerifiedBlock; changes: Map<string, Uint8Array | null> } {
  const state = new ChainState();
  const changes = genesisChanges(g);
  state.apply(changes);
  const header: BlockHeader = {
    chainId: g.chainId,
    height: 0,
    parentHash: new Uint8Array(32),
    timeMs: g.timeMs,
    proposer: new Uint8Array(0),
    txRoot: merkleRoot([]),
    receiptsRoot: merkleRoot([]),
    stateRoot: state.root(),
    round: 0,
  };
  const hash = blockHash(header);
  const commit = { round: 0, blockHash: hash, signatures: [] };
  const bytes = encodeBlock(header, [], commit);
  return {
    state,
    changes,
    block: { header, transactions: [], commit, evidence: [], hash, bytes, verified: true },
  };
}

/**
 * The JSON of a devnet genesis: one validator (`validatorKey`, hex), a dev account funded with
 * 10^15 units, and `dev.ghost` owned by it.
 */
export function devnetGenesisJson(
  opts: {
    readonly validatorKey: string;
    /** More validators (hex keys, power 1 each) after `validatorKey`: a local multi-validator network. */
    readonly moreValidators?: readonly string[];
    readonly devAddress: string;
    readonly timeMs: number;
    readonly chainId?: string;
    /** TXT records of the reserved name `dns.ghost`: the DNSSEC trust anchors of cns's zones. */
    readonly dnsAnchors?: readonly string[];
  },
): Record<string, unknown> {
  return {
    chainId: opts.chainId ?? "ghostchain-devnet",
    timeMs: opts.timeMs,
    params: {
      minFee: "1",
      minCommitAge: 1,
      maxCommitAge: 10_000,
      gracePeriod: 1_000,
      namePricePerBlock: "1",
      minNameDuration: 100,
      maxNameDuration: 10_000_000,
      maxBlockBytes: DEFAULT_PARAMS.maxBlockBytes,
      maxBlockTxs: DEFAULT_PARAMS.maxBlockTxs,
      // The dev account may change the devnet's validator set (validator_update transactions).
      validatorAdmin: opts.devAddress,
    },
    validators: [opts.validatorKey, ...(opts.moreValidators ?? [])].map((publicKey) => ({
      publicKey,
      power: 1,
    })),
    accounts: [{ address: opts.devAddress, balance: "1000000000000000" }],
    names: [
      {
        name: "dev.ghost",
        owner: opts.devAddress,
        expiry: 100_000_000,
        records: { aaaa: ["::1"], a: ["127.0.0.1"], txt: ["GhostChain devnet"] },
      },
      ...(opts.dnsAnchors && opts.dnsAnchors.length > 0
        ? [{
          name: "dns.ghost",
          owner: opts.devAddress,
          expiry: 100_000_000,
          records: { txt: opts.dnsAnchors },
        }]
        : []),
    ],
  };
}
