/**
 * A bounded cache of compiled contracts keyed by code hash (BLAKE3 of the original bytes), so instantiating a
 * known contract costs one `new WebAssembly.Instance` and no validation, instrumentation or compilation.
 *
 * Lookups first try the identity of the `Uint8Array` (a chain that keeps its code objects pays no hashing),
 * then the hash. Rejected modules are cached too, so junk is not re-validated. Entries are evicted least
 * recently used beyond `maxEntries`. The cache is bound to one schedule and one set of module limits, since
 * both change the instrumented bytes.
 *
 * @module
 */

import { blake3 } from "@noble/hashes/blake3.js";
import { WasmValidationError } from "./errors.ts";
import { DEFAULT_GAS_SCHEDULE, type GasSchedule } from "./gas_schedule.ts";
import { DEFAULT_MODULE_LIMITS, type ModuleLimits } from "./limits.ts";
import { type PreparedModule, prepareModule, toHex } from "./prepare_module.ts";

/** A compiled contract. */
export interface CompiledContract {
  /** Validation and instrumentation output. */
  readonly prepared: PreparedModule;
  /** The compiled, instrumented module. */
  readonly module: WebAssembly.Module;
}

type Entry = { readonly ok: CompiledContract } | { readonly error: Error };

/** Options of {@linkcode ModuleCache}. */
export interface ModuleCacheOptions {
  /** Most entries kept (default 256). */
  readonly maxEntries?: number;
  /** Module limits (default {@linkcode DEFAULT_MODULE_LIMITS}). */
  readonly limits?: ModuleLimits;
  /** Gas schedule (default {@linkcode DEFAULT_GAS_SCHEDULE}). */
  readonly schedule?: GasSchedule;
}

/** Counters of a {@linkcode ModuleCache}. */
export interface ModuleCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

function compileError(e: unknown): WasmValidationError {
  const msg = e instanceof Error ? e.message : String(e);
  return new WasmValidationError("COMPILE", `Cannot accept wasm module: the engine rejected it: ${msg}`, {
    cause: e,
  });
}

/** Compiled-module cache keyed by BLAKE3 code hash. */
export class ModuleCache {
  readonly limits: ModuleLimits;
  readonly schedule: GasSchedule;
  readonly #max: number;
  readonly #byHash = new Map<string, Entry>();
  #byObject = new WeakMap<Uint8Array, Entry>();
  #hits = 0;
  #misses = 0;

  /** Creates an empty cache. */
  constructor(options: ModuleCacheOptions = {}) {
    this.#max = options.maxEntries ?? 256;
    this.limits = options.limits ?? DEFAULT_MODULE_LIMITS;
    this.schedule = options.schedule ?? DEFAULT_GAS_SCHEDULE;
  }

  /** Hit/miss counters and size. */
  get stats(): ModuleCacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#byHash.size };
  }

  #lookup(code: Uint8Array): Entry | { key: string } {
    const byObj = this.#byObject.get(code);
    if (byObj !== undefined) {
      this.#hits++;
      return byObj;
    }
    const key = toHex(blake3(code));
    const entry = this.#byHash.get(key);
    if (entry !== undefined) {
      this.#hits++;
      this.#byHash.delete(key); // LRU: move to the back
      this.#byHash.set(key, entry);
      this.#byObject.set(code, entry);
      return entry;
    }
    this.#misses++;
    return { key };
  }

  #store(key: string, code: Uint8Array, entry: Entry): Entry {
    this.#byHash.set(key, entry);
    this.#byObject.set(code, entry);
    while (this.#byHash.size > this.#max) {
      const oldest = this.#byHash.keys().next().value;
      if (oldest === undefined) break;
      this.#byHash.delete(oldest);
      this.#byObject = new WeakMap(); // identity hints may point at evicted entries; rebuild lazily
    }
    return entry;
  }

  #unwrap(entry: Entry): CompiledContract {
    if ("error" in entry) throw entry.error;
    return entry.ok;
  }

  #prepare(code: Uint8Array): PreparedModule | Error {
    try {
      return prepareModule(code, { limits: this.limits, schedule: this.schedule });
    } catch (e) {
      if (e instanceof Error) return e;
      return new WasmValidationError("COMPILE", "Cannot accept wasm module: unknown failure");
    }
  }

  /** Validates, instruments and compiles synchronously (used for nested calls); throws the typed error. */
  getSync(code: Uint8Array): CompiledContract {
    const found = this.#lookup(code);
    if (!("key" in found)) return this.#unwrap(found);
    const prepared = this.#prepare(code);
    if (prepared instanceof Error) return this.#unwrap(this.#store(found.key, code, { error: prepared }));
    let entry: Entry;
    try {
      entry = { ok: { prepared, module: new WebAssembly.Module(prepared.bytes as Uint8Array<ArrayBuffer>) } };
    } catch (e) {
      entry = { error: compileError(e) };
    }
    return this.#unwrap(this.#store(found.key, code, entry));
  }

  /** Like {@linkcode getSync} but compiles with the asynchronous `WebAssembly.compile`. */
  async get(code: Uint8Array): Promise<CompiledContract> {
    const found = this.#lookup(code);
    if (!("key" in found)) return this.#unwrap(found);
    const prepared = this.#prepare(code);
    if (prepared instanceof Error) return this.#unwrap(this.#store(found.key, code, { error: prepared }));
    let entry: Entry;
    try {
      entry = {
        ok: { prepared, module: await WebAssembly.compile(prepared.bytes as Uint8Array<ArrayBuffer>) },
      };
    } catch (e) {
      entry = { error: compileError(e) };
    }
    return this.#unwrap(this.#store(found.key, code, entry));
  }

  /** Whether a code hash (hex) is cached. */
  has(codeHashHex: string): boolean {
    return this.#byHash.has(codeHashHex);
  }

  /** Drops every entry. */
  clear(): void {
    this.#byHash.clear();
    this.#byObject = new WeakMap();
  }
}
