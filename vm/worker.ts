/**
 * Worker entry of the wall-clock backstop (see `deno_worker_executor.ts`): receives one request at a time,
 * runs it with {@linkcode executeContract} against a {@linkcode MemoryState} rebuilt from the snapshot, and
 * posts the result back. Runs with no permissions.
 *
 * @module
 */

import { executeContract, type ExecutionContext, type ExecutionResult } from "./execute.ts";
import type { ExecutionLimits } from "./limits.ts";
import { MemoryState, type MemoryStateSnapshot } from "./memory_state.ts";
import { ModuleCache } from "./module_cache.ts";

/** A request to the worker. */
export interface WorkerRequest {
  readonly id: number;
  readonly code: Uint8Array;
  readonly method: string;
  readonly input: Uint8Array;
  readonly gasLimit: number;
  readonly context: ExecutionContext;
  readonly state: MemoryStateSnapshot;
  readonly limits?: ExecutionLimits;
}

/** The worker's reply. */
export type WorkerReply =
  | { readonly id: 0; readonly ready: true }
  | { readonly id: number; readonly result: ExecutionResult }
  | { readonly id: number; readonly failure: string };

/** Drops `error.cause` (may not be cloneable) so the result can be posted. */
export function cloneableResult(r: ExecutionResult): ExecutionResult {
  if (r.error === undefined || r.error.cause === undefined) return r;
  return { ...r, error: { code: r.error.code, message: r.error.message } };
}

const cache = new ModuleCache();

// deno-lint-ignore no-explicit-any
const scope = self as any as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(m: WorkerReply): void;
};

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  scope.onmessage = async (e: MessageEvent<WorkerRequest>) => {
    const req = e.data;
    try {
      const base = {
        code: req.code,
        method: req.method,
        input: req.input,
        gasLimit: req.gasLimit,
        state: MemoryState.fromSnapshot(req.state),
        context: req.context,
        cache,
      };
      const result = await executeContract(req.limits === undefined ? base : { ...base, limits: req.limits });
      scope.postMessage({ id: req.id, result: cloneableResult(result) });
    } catch (err) {
      scope.postMessage({ id: req.id, failure: err instanceof Error ? err.message : String(err) });
    }
  };
  scope.postMessage({ id: 0, ready: true }); // loaded: the executor starts its clock only now
}
