/**
 * {@linkcode Ed25519BatchVerifier}: verifies many independent Ed25519 signatures over a pool of Web Workers,
 * one per core by default, and returns one verdict per item. Every verdict follows the same rule as
 * {@linkcode ed25519Verify} (the workers call it), so batch and single verification never disagree.
 *
 * This is not the "batch verification" equation of the Ed25519 paper (one random linear combination that
 * fails as a whole); it is parallel single verification, which tells exactly which items are bad.
 *
 * @module
 */

import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, ed25519Verify } from "./ed25519.ts";
import {
  type Ed25519BatchItem,
  packVerifyBatch,
  type VerifyRequest,
  type VerifyResponse,
} from "./_verify_batch_codec.ts";

export type { Ed25519BatchItem };

/** Options of {@linkcode Ed25519BatchVerifier}. */
export interface Ed25519BatchVerifierOptions {
  /** Worker count. Default `navigator.hardwareConcurrency` (at least 1, at most 16). */
  readonly workers?: number;
  /** Batches smaller than this are verified on the calling thread. Default 64. */
  readonly minBatchForWorkers?: number;
  /** Items per message to a worker. Default 256. */
  readonly chunkSize?: number;
}

interface PendingJob {
  readonly resolve: (results: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  readonly slot: WorkerSlot;
}

interface WorkerSlot {
  readonly worker: Worker;
  inFlight: number;
}

/**
 * A pool of verify workers, started lazily on the first large batch and stopped by {@linkcode close}.
 *
 * @example
 * ```ts
 * const verifier = new Ed25519BatchVerifier();
 * const verdicts = await verifier.verify(items); // boolean per item, in order
 * verifier.close();
 * ```
 */
export class Ed25519BatchVerifier {
  readonly #workerLimit: number;
  readonly #minBatch: number;
  readonly #chunkSize: number;
  readonly #slots: WorkerSlot[] = [];
  readonly #pending = new Map<number, PendingJob>();
  #nextId = 1;
  #closed = false;

  /** Creates a verifier; no worker starts until a batch needs one. */
  constructor(options: Ed25519BatchVerifierOptions = {}) {
    const cores = typeof navigator === "object" ? navigator.hardwareConcurrency : 1;
    this.#workerLimit = clampInt(options.workers ?? cores, 1, 16, "workers");
    this.#minBatch = clampInt(
      options.minBatchForWorkers ?? 64,
      0,
      Number.MAX_SAFE_INTEGER,
      "minBatchForWorkers",
    );
    this.#chunkSize = clampInt(options.chunkSize ?? 256, 1, 1 << 20, "chunkSize");
  }

  /** Workers currently running. */
  get workerCount(): number {
    return this.#slots.length;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Verifies every item; `result[i]` is the verdict for `items[i]`. Malformed items (wrong key or signature
   * length) are `false`, never an exception.
   */
  async verify(items: readonly Ed25519BatchItem[]): Promise<boolean[]> {
    if (this.#closed) throw new TypeError("Cannot verify: the batch verifier is closed");
    const results: boolean[] = new Array<boolean>(items.length).fill(false);
    if (items.length < this.#minBatch) {
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        if (it !== undefined) results[i] = await ed25519Verify(it.publicKey, it.message, it.signature);
      }
      return results;
    }
    // Only well-formed items travel to workers; the others stay false.
    const indices: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (
        it !== undefined && it.publicKey.length === ED25519_PUBLIC_KEY_LENGTH &&
        it.signature.length === ED25519_SIGNATURE_LENGTH
      ) indices.push(i);
    }
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < indices.length; start += this.#chunkSize) {
      const chunk = indices.slice(start, start + this.#chunkSize);
      const packed = packVerifyBatch(chunk.map((i) => items[i] as Ed25519BatchItem));
      jobs.push(
        this.#dispatch(packed).then((verdicts) => {
          chunk.forEach((itemIndex, k) => {
            results[itemIndex] = verdicts[k] === 1;
          });
        }),
      );
    }
    await Promise.all(jobs);
    return results;
  }

  /** Terminates the workers; batches still in flight reject. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) slot.worker.terminate();
    this.#slots.length = 0;
    const error = new Error("Batch verifier closed before the batch finished");
    for (const job of this.#pending.values()) job.reject(error);
    this.#pending.clear();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Starts every worker now and waits until each has loaded its module and answered one (dummy) item, so the
   * first real batch does not pay for worker start-up (about a second here). A long-lived node calls it once.
   */
  async warm(): Promise<void> {
    if (this.#closed) throw new TypeError("Cannot warm: the batch verifier is closed");
    while (this.#slots.length < this.#workerLimit) this.#spawn();
    const dummy = {
      publicKey: new Uint8Array(32),
      message: new Uint8Array(1),
      signature: new Uint8Array(64),
    };
    await Promise.all(this.#slots.map((slot) => this.#dispatch(packVerifyBatch([dummy]), slot)));
  }

  #dispatch(buffer: ArrayBuffer, slot: WorkerSlot = this.#pickSlot()): Promise<Uint8Array> {
    const id = this.#nextId++;
    slot.inFlight++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, slot });
      const request: VerifyRequest = { id, buffer };
      slot.worker.postMessage(request, [buffer]);
    });
  }

  #pickSlot(): WorkerSlot {
    if (this.#slots.length < this.#workerLimit) {
      const idle = this.#slots.find((s) => s.inFlight === 0);
      if (idle !== undefined) return idle;
      return this.#spawn();
    }
    let best = this.#slots[0] as WorkerSlot;
    for (const s of this.#slots) if (s.inFlight < best.inFlight) best = s;
    return best;
  }

  #spawn(): WorkerSlot {
    const worker = new Worker(new URL("./ed25519_verify_worker.ts", import.meta.url), { type: "module" });
    const slot: WorkerSlot = { worker, inFlight: 0 };
    worker.onmessage = (event: MessageEvent<VerifyResponse>) => {
      const job = this.#pending.get(event.data.id);
      if (job === undefined) return;
      this.#pending.delete(event.data.id);
      job.slot.inFlight--;
      job.resolve(event.data.results);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#failSlot(slot, new Error(`Verify worker failed: ${event.message}`));
    };
    this.#slots.push(slot);
    return slot;
  }

  #failSlot(slot: WorkerSlot, error: Error): void {
    slot.worker.terminate();
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    for (const [id, job] of this.#pending) {
      if (job.slot === slot) {
        this.#pending.delete(id);
        job.reject(error);
      }
    }
  }
}

function clampInt(value: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot create batch verifier: ${name} ${value} is not an integer in [${min}, ${max}]`,
    );
  }
  return value;
}
