/**
 * The gas schedule: what every instruction class, memory page, bulk-memory byte and host call costs.
 * These numbers are consensus: a node that charges differently computes different results. One unit of gas is
 * roughly one simple integer instruction; the other prices are relative to that and to the host work they pay for.
 *
 * | class | gas | instructions |
 * |---|---|---|
 * | free | 0 | `nop`, `block`, `loop`, `else`, `end`, `unreachable` |
 * | const | 1 | `i32.const`, `i64.const` |
 * | local | 1 | `local.get`, `local.set`, `local.tee` |
 * | global | 2 | `global.get`, `global.set` |
 * | alu | 1 | add, sub, and, or, xor, shifts, rotates, clz, ctz, popcnt, compares, eqz, wrap, extend, sign-extension, `drop`, `select` |
 * | mul | 3 | `i32.mul`, `i64.mul` |
 * | div | 10 | `div_s`, `div_u`, `rem_s`, `rem_u` |
 * | load | 3 | every integer load |
 * | store | 3 | every integer store |
 * | branch | 2 | `br`, `br_if`, `if`, `return` |
 * | br_table | 5 | `br_table` |
 * | call | 10 | `call` (plus the callee's own instructions, or the host function's price) |
 * | call_indirect | 15 | `call_indirect` |
 * | memory.size | 2 | `memory.size` |
 * | memory.grow | 100 | `memory.grow`, plus {@linkcode GasSchedule.memoryGrowPage} per page requested |
 * | bulk | 20 | `memory.copy`, `memory.fill`, plus 1 per {@linkcode GasSchedule.bulkBytesPerGas} bytes (rounded up) |
 *
 * @module
 */

import type { OpClass } from "./wasm_instructions.ts";

/** Prices of host functions: a base per call plus a price per byte moved or hashed. */
export interface HostGasCosts {
  /** Every host call. */
  readonly base: number;
  /** Per byte copied between contract memory and the host (input, return data, logs, events, call input). */
  readonly perByte: number;
  /** `storage_read`: on top of base. */
  readonly storageRead: number;
  /** `storage_read`: per byte of key and value. */
  readonly storageReadPerByte: number;
  /** `storage_write`: on top of base. */
  readonly storageWrite: number;
  /** `storage_write`: per byte of key and value. */
  readonly storageWritePerByte: number;
  /** `storage_remove`: on top of base. */
  readonly storageRemove: number;
  /** `emit_event`: on top of base and per-byte. */
  readonly event: number;
  /** `blake3` / `sha256`: on top of base. */
  readonly hash: number;
  /** `blake3` / `sha256`: per byte hashed. */
  readonly hashPerByte: number;
  /** `ed25519_verify`: on top of base (plus hashPerByte per message byte). */
  readonly ed25519Verify: number;
  /** `balance`. */
  readonly balance: number;
  /** `transfer`. */
  readonly transfer: number;
  /** `call_contract`: on top of base, plus the callee's gas used. */
  readonly call: number;
}

/** The full schedule. */
export interface GasSchedule {
  /** Version tag; part of the compiled-module cache key. */
  readonly version: number;
  /** Per instruction class. */
  readonly instr: Readonly<Record<OpClass, number>>;
  /** Per 64 KiB page passed to `memory.grow` (charged before growing, also when growing fails). */
  readonly memoryGrowPage: number;
  /** `memory.copy` / `memory.fill` charge 1 gas per this many bytes, rounded up. */
  readonly bulkBytesPerGas: number;
  /** Host calls. */
  readonly host: HostGasCosts;
}

/** ZVM's gas schedule, version 1. */
export const DEFAULT_GAS_SCHEDULE: GasSchedule = Object.freeze({
  version: 1,
  instr: Object.freeze({
    free: 0,
    const: 1,
    local: 1,
    global: 2,
    alu: 1,
    mul: 3,
    div: 10,
    load: 3,
    store: 3,
    branch: 2,
    br_table: 5,
    call: 10,
    call_indirect: 15,
    "memory.size": 2,
    "memory.grow": 100,
    bulk: 20,
  }),
  memoryGrowPage: 8192,
  bulkBytesPerGas: 8,
  host: Object.freeze({
    base: 50,
    perByte: 1,
    storageRead: 500,
    storageReadPerByte: 2,
    storageWrite: 2000,
    storageWritePerByte: 20,
    storageRemove: 1000,
    event: 500,
    hash: 100,
    hashPerByte: 2,
    ed25519Verify: 30000,
    balance: 500,
    transfer: 3000,
    call: 5000,
  }),
});
