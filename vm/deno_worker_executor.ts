/**
 * The wall-clock backstop: {@linkcode WorkerExecutor} runs executions in a permission-less Worker and
 * terminates it if one takes longer than `timeoutMs`, rejecting with {@linkcode VmError} TIMEOUT.
 *
 * Gas is the primary guard and is deterministic: every loop back-edge and every host call is metered, memory
 * is capped, recursion is bounded by the stack budget, so an execution ends within its gas. The backstop
 * exists for what gas cannot price exactly (a pathological engine slowdown, a host bug). A timeout is not a
 * consensus result (it depends on the machine): a node that hits it must not record an outcome for the
 * transaction, only report the failure. State goes in as a snapshot and comes back as an
 * {@linkcode ExecutionResult}'s changes, so the worker never touches the chain.
 *
 * @module
 */

import { VmError } from "./errors.ts";
import type { ExecutionContext, ExecutionResult } from "./execute.ts";
import type { ExecutionLimits } from "./limits.ts";
import type { MemoryState } from "./memory_state.ts";
import type { WorkerReply, WorkerRequest } from "./worker.ts";

/** Options of {@linkcode WorkerExecutor}. */
export interface WorkerExecutorOptions {
  /** Wall-clock limit per execution in ms (default 5000). */
  readonly timeoutMs?: number;
}

/** One execution for the backstop. */
export interface WorkerExecuteRequest {
  readonly code: Uint8Array;
  readonly method: string;
  readonly input: Uint8Array;
  readonly gasLimit: number;
  readonly context: ExecutionContext;
  /** Sent as a snapshot; not modified (apply the result yourself). */
  readonly state: MemoryState;
  readonly limits?: ExecutionLimits;
}

/** Runs executions in a Worker with a wall-clock limit. One execution at a time; calls queue. */
export class WorkerExecutor {
  readonly #timeoutMs: number;
  #worker: { worker: Worker; ready: Promise<void> } | undefined;
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();

  /** Creates an executor; the worker starts on first use. */
  constructor(options: WorkerExecutorOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  #spawn(): { worker: Worker; ready: Promise<void> } {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      deno: { permissions: "none" },
    } as WorkerOptions);
    // Loading the worker's modules is not execution time: the deadline starts after its "ready".
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (e: MessageEvent<WorkerReply>): void => {
        if (e.data.id !== 0) return;
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
        resolve();
      };
      const onError = (e: ErrorEvent): void => {
        e.preventDefault();
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
        reject(new VmError("WORKER", `Worker failed to start: ${e.message}`));
      };
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
    });
    this.#worker = { worker, ready };
    return this.#worker;
  }

  /** Runs one execution; rejects with VmError TIMEOUT (and restarts the worker) past the deadline. */
  execute(req: WorkerExecuteRequest): Promise<ExecutionResult> {
    const run = this.#queue.then(() => this.#run(req));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(req: WorkerExecuteRequest): Promise<ExecutionResult> {
    const { worker, ready } = this.#spawn();
    try {
      await ready;
    } catch (e) {
      this.#kill();
      throw e;
    }
    const id = this.#nextId++;
    const msg: WorkerRequest = {
      id,
      code: req.code,
      method: req.method,
      input: req.input,
      gasLimit: req.gasLimit,
      context: req.context,
      state: req.state.snapshot(),
      ...(req.limits === undefined ? {} : { limits: req.limits }),
    };
    return new Promise<ExecutionResult>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
      };
      const onMessage = (e: MessageEvent<WorkerReply>): void => {
        if (e.data.id !== id) return;
        cleanup();
        if ("ready" in e.data) return;
        if ("result" in e.data) resolve(e.data.result);
        else reject(new VmError("WORKER", `Worker execution failed: ${e.data.failure}`));
      };
      const onError = (e: ErrorEvent): void => {
        e.preventDefault();
        cleanup();
        this.#kill();
        reject(new VmError("WORKER", `Worker crashed: ${e.message}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        this.#kill();
        reject(new VmError("TIMEOUT", `Execution exceeded the wall-clock backstop of ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
      worker.postMessage(msg);
    });
  }

  #kill(): void {
    this.#worker?.worker.terminate();
    this.#worker = undefined;
  }

  /** Terminates the worker. */
  close(): void {
    this.#kill();
  }
}
