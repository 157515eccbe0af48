/**
 * The VM's error classes. Callers branch on `code`, never on message text. Messages are sentence case,
 * name the cause and have no final period.
 *
 * - {@linkcode WasmDecodeError} (a `SyntaxError`): bytes that are not a well-formed WebAssembly binary.
 * - {@linkcode WasmValidationError} (a `TypeError`): a well-formed module outside ZVM's subset.
 * - {@linkcode WasmLimitError} (a `RangeError`): a module or an input over one of ZVM's limits.
 * - {@linkcode VmError} (an `Error`): misuse of the runtime API (unknown instance, destroyed instance...).
 *
 * Execution failures inside a contract (traps, out of gas, reverts) are not thrown: they are the `status`
 * of an {@linkcode ExecutionResult}.
 *
 * @module
 */
import { causeOf } from "../core/mod.ts";

/** Options shared by the VM's error classes. */
export interface VmErrorOptions {
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * Codes of {@linkcode WasmDecodeError}.
 *
 * | code | meaning |
 * |---|---|
 * | BAD_MAGIC | the first 8 bytes are not `\0asm` version 1 |
 * | TRUNCATED | the input ends inside a value, a section or a body |
 * | BAD_LEB128 | an LEB128 integer is over-long or out of range for its type |
 * | BAD_SECTION | a section id is unknown, out of order, repeated, or its size does not match its contents |
 * | BAD_VALUE | a byte that must be one of a fixed set (a value type, a limits flag...) is not |
 * | BAD_UTF8 | a name is not valid UTF-8 |
 * | BAD_OPCODE | an instruction's opcode is not a WebAssembly opcode ZVM knows |
 * | BAD_STRUCTURE | blocks do not nest (an `end` without a block, a body without its final `end`) |
 */
export const WasmDecodeErrorCode = {
  BAD_MAGIC: "BAD_MAGIC",
  TRUNCATED: "TRUNCATED",
  BAD_LEB128: "BAD_LEB128",
  BAD_SECTION: "BAD_SECTION",
  BAD_VALUE: "BAD_VALUE",
  BAD_UTF8: "BAD_UTF8",
  BAD_OPCODE: "BAD_OPCODE",
  BAD_STRUCTURE: "BAD_STRUCTURE",
} as const;

/** A {@linkcode WasmDecodeErrorCode} value. */
export type WasmDecodeErrorCode = typeof WasmDecodeErrorCode[keyof typeof WasmDecodeErrorCode];

/** Bytes that are not a well-formed WebAssembly binary; `offset` is where decoding stopped. */
export class WasmDecodeError extends SyntaxError {
  override name = "WasmDecodeError";
  /** What was wrong. */
  readonly code: WasmDecodeErrorCode;
  /** Byte offset in the module where the problem was found. */
  readonly offset: number;

  /** Creates an error; `message` reads "Cannot decode wasm module: ...". */
  constructor(code: WasmDecodeErrorCode, offset: number, message: string, options: VmErrorOptions = {}) {
    super(message, causeOf(options));
    this.code = code;
    this.offset = offset;
  }
}

/**
 * Codes of {@linkcode WasmValidationError}.
 *
 * | code | meaning |
 * |---|---|
 * | FLOAT | a float type or instruction (ZVM rejects floats, see README) |
 * | SIMD | a `v128` type or a 0xFD-prefixed instruction |
 * | THREADS | a shared memory or a 0xFE-prefixed (atomic) instruction |
 * | UNSUPPORTED | another feature outside ZVM's subset (reference types, multi-value, multiple memories, start section, data count misuse, ...) |
 * | BAD_IMPORT | an import that is not a host function ZVM provides, or has the wrong signature |
 * | BAD_EXPORT | a reserved export name (`__zvm_*`), or an exported method with a signature other than `() -> ()` |
 * | NO_MEMORY | the module neither defines nor exports its memory as `memory` |
 * | BAD_INDEX | an index (type, function, global, local, label, table, memory, segment) out of range |
 * | COMPILE | the engine rejected the instrumented module (type errors the structural check does not see) |
 */
export const WasmValidationErrorCode = {
  FLOAT: "FLOAT",
  SIMD: "SIMD",
  THREADS: "THREADS",
  UNSUPPORTED: "UNSUPPORTED",
  BAD_IMPORT: "BAD_IMPORT",
  BAD_EXPORT: "BAD_EXPORT",
  NO_MEMORY: "NO_MEMORY",
  BAD_INDEX: "BAD_INDEX",
  COMPILE: "COMPILE",
} as const;

/** A {@linkcode WasmValidationErrorCode} value. */
export type WasmValidationErrorCode = typeof WasmValidationErrorCode[keyof typeof WasmValidationErrorCode];

/** A well-formed WebAssembly module that uses something outside ZVM's documented subset. */
export class WasmValidationError extends TypeError {
  override name = "WasmValidationError";
  /** What was wrong. */
  readonly code: WasmValidationErrorCode;

  /** Creates an error; `message` reads "Cannot accept wasm module: ...". */
  constructor(code: WasmValidationErrorCode, message: string, options: VmErrorOptions = {}) {
    super(message, causeOf(options));
    this.code = code;
  }
}

/** A module or an input over one of ZVM's limits; `limit` names the {@linkcode ModuleLimits} key. */
export class WasmLimitError extends RangeError {
  override name = "WasmLimitError";
  /** Always "LIMIT". */
  readonly code = "LIMIT" as const;
  /** The limit's key, e.g. "maxModuleBytes". */
  readonly limit: string;
  /** The value found (a count or a size). */
  readonly actual: number;
  /** The largest value allowed. */
  readonly allowed: number;

  /** Creates an error; the message names the limit, the value and what is allowed. */
  constructor(limit: string, actual: number, allowed: number, what: string) {
    super(`Cannot accept wasm module: ${what} ${actual} exceeds ${limit} ${allowed}`);
    this.limit = limit;
    this.actual = actual;
    this.allowed = allowed;
  }
}

/**
 * Codes of {@linkcode VmError}.
 *
 * | code | meaning |
 * |---|---|
 * | BAD_ARGUMENT | an argument to the runtime API is malformed (gas limit, key size, context field) |
 * | NO_INSTANCE | the instance was destroyed or never created |
 * | WORKER | the worker backstop failed (could not start, or crashed) |
 * | TIMEOUT | the worker backstop's wall-clock limit passed; not a consensus outcome |
 */
export const VmErrorCode = {
  BAD_ARGUMENT: "BAD_ARGUMENT",
  NO_INSTANCE: "NO_INSTANCE",
  WORKER: "WORKER",
  TIMEOUT: "TIMEOUT",
} as const;

/** A {@linkcode VmErrorCode} value. */
export type VmErrorCode = typeof VmErrorCode[keyof typeof VmErrorCode];

/** Misuse of the runtime API. */
export class VmError extends Error {
  override name = "VmError";
  /** What was wrong. */
  readonly code: VmErrorCode;

  /** Creates an error. */
  constructor(code: VmErrorCode, message: string, options: VmErrorOptions = {}) {
    super(message, causeOf(options));
    this.code = code;
  }
}
