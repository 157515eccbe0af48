/**
 * What an execution can end with (statuses, error codes, results) and the pieces the engine and its host
 * functions share: the halt signal, the per-execution environment, and the address length.
 *
 * @module
 */
import type { GasSchedule } from "./gas_schedule.ts";
import type { ExecutionLimits } from "./limits.ts";
import type { ModuleCache } from "./module_cache.ts";
import type { BalanceChange, ContractEvent, StateJournal, StorageChange, Transfer } from "./state_journal.ts";

/** Length of an account or contract address in bytes (a `ghost1...` address payload). */
export const ADDRESS_LENGTH = 20;

/** Stack units a `call_contract` takes from the caller's budget for the host's own frames. */
export const CALL_STACK_UNITS = 512;

/** How an execution ended. */
export type ExecutionStatus = "ok" | "revert" | "trap" | "out_of_gas" | "invalid";

/**
 * Codes in {@linkcode ExecutionError}.
 *
 * | code | status | meaning |
 * |---|---|---|
 * | REVERT | revert | the contract called `revert`; return data holds its reason |
 * | OUT_OF_GAS | out_of_gas | gas ran out (in wasm code or in a host function) |
 * | WASM_TRAP | trap | the engine trapped: unreachable, out-of-bounds memory, division by zero, bad indirect call |
 * | STACK_OVERFLOW | trap | the stack budget (`maxStackUnits`) ran out: recursion too deep |
 * | ABORT | trap | AssemblyScript `abort()` (an assertion or a runtime error); message decoded |
 * | HOST_OUT_OF_BOUNDS | trap | a host function got a pointer/length outside memory |
 * | HOST_LIMIT | trap | a host function's input is over an {@linkcode ExecutionLimits} limit (return data, key, value, event...) |
 * | HOST_ERROR | trap | the host failed unexpectedly (engine stack exhaustion, allocation failure); not expected in practice |
 * | NO_METHOD | invalid | the method is not an exported `() -> ()` function |
 * | BAD_INPUT | invalid | the input is over `maxInputBytes` |
 * | INVALID_MODULE | invalid | the code failed decoding, validation, limits or compilation (see `cause`) |
 */
export type ExecutionErrorCode =
  | "REVERT"
  | "OUT_OF_GAS"
  | "WASM_TRAP"
  | "STACK_OVERFLOW"
  | "ABORT"
  | "HOST_OUT_OF_BOUNDS"
  | "HOST_LIMIT"
  | "HOST_ERROR"
  | "NO_METHOD"
  | "BAD_INPUT"
  | "INVALID_MODULE";

/** Why an execution did not end with "ok". */
export interface ExecutionError {
  readonly code: ExecutionErrorCode;
  readonly message: string;
  /** For INVALID_MODULE: the typed decode/validation/limit error. */
  readonly cause?: unknown;
}

/** The outcome of one execution. On any status but "ok", the change lists are empty. */
export interface ExecutionResult {
  readonly status: ExecutionStatus;
  /** Return data (on "revert", the revert reason). */
  readonly returnData: Uint8Array;
  /** Gas used, all nested calls included; the whole limit on out_of_gas. */
  readonly gasUsed: number;
  readonly events: readonly ContractEvent[];
  /** Debug log lines (kept also on failure; not state). */
  readonly logs: readonly string[];
  readonly storageChanges: readonly StorageChange[];
  readonly balanceChanges: readonly BalanceChange[];
  readonly transfers: readonly Transfer[];
  readonly error?: ExecutionError;
}

/** Thrown from host functions to stop the contract; never escapes the VM. */
export class Halt {
  constructor(
    readonly status: "revert" | "trap" | "out_of_gas",
    readonly code: ExecutionErrorCode,
    readonly message: string,
    readonly data: Uint8Array = new Uint8Array(0),
  ) {}
}

export interface FrameOutcome {
  readonly status: ExecutionStatus;
  readonly returnData: Uint8Array;
  readonly gasUsed: bigint;
  readonly error?: ExecutionError;
}

export const EMPTY = new Uint8Array(0);
export const TEXT = new TextDecoder("utf-8", { fatal: false });
export const U16 = new TextDecoder("utf-16le", { fatal: false });

/**
 * Copies of contract memory for one execution, packed into shared chunks. Everything a host call keeps after
 * it returns (storage keys and values, events, return data, call inputs) is copied out of the instance's
 * memory, which is restored before its next use; a fresh `ArrayBuffer` per copy cost ~0.5 us each (allocation
 * plus its later collection), five times a bump allocation into a chunk. A kept copy keeps its chunk alive:
 * chunks start at 1 KiB and double up to 64 KiB, so what one execution pins is at most about twice what it
 * copied. Copies larger than a chunk get their own buffer.
 */
export class ByteArena {
  #chunk: Uint8Array = EMPTY;
  #used = 0;
  #next = 1024;

  /** A copy of `src` that does not alias contract memory. */
  copy(src: Uint8Array): Uint8Array {
    const n = src.length;
    if (n === 0) return EMPTY;
    if (n > 16384) return src.slice();
    if (this.#used + n > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.max(this.#next, n));
      this.#next = Math.min(this.#next * 2, 65536);
      this.#used = 0;
    }
    const out = this.#chunk.subarray(this.#used, this.#used + n);
    out.set(src);
    this.#used += n;
    return out;
  }
}

/** Shared by every frame of one execution. */
export interface Env {
  readonly journal: StateJournal;
  /** Where host calls copy what they keep of contract memory. */
  readonly arena: ByteArena;
  readonly cache: ModuleCache;
  readonly limits: ExecutionLimits;
  readonly schedule: GasSchedule;
  readonly blockHeight: bigint;
  readonly blockTime: bigint;
  readonly logs: string[];
}

export function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

export function outOfGas(): Halt {
  return new Halt("out_of_gas", "OUT_OF_GAS", "Out of gas");
}
