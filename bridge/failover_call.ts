/**
 * A {@linkcode BridgeCall} that picks an instance, and when an attempt fails in a way {@linkcode mayRetry}
 * allows, replays the buffered request on another instance (README "Failover"). Request messages are buffered
 * until the first response event reaches the caller or the buffer limit is passed; then the call can no longer
 * move.
 *
 * @module
 */

import { type BridgeCall, failedCall, type ResponseEvent, status } from "./call.ts";
import { GrpcStatus } from "./errors.ts";
import type { CallHead } from "./frame_payloads.ts";
import { mayRetry } from "./retry_policy.ts";

/** One instance an attempt can go to. */
export interface AttemptTarget {
  /** Registry key of the instance. */
  readonly key: string;
  /** Opens the attempt. */
  open(head: CallHead): BridgeCall;
}

/** Options of {@linkcode FailoverCall}. */
export interface FailoverOptions {
  /** Most attempts per call. */
  readonly maxAttempts: number;
  /** Request bytes kept for replay; past this the call stops being retryable. */
  readonly replayBufferBytes: number;
  /** Picks a healthy instance not in `exclude`. */
  pick(exclude: ReadonlySet<string>): AttemptTarget | undefined;
  /** An attempt on `key` started / ended (outstanding counts). */
  onStart?(key: string): void;
  onEnd?(key: string): void;
  /** An attempt could not reach `key`: take it out until its health check passes. */
  onUnreachable?(key: string): void;
  /** Clock in ms for deadline bookkeeping across attempts. Default `performance.now`. */
  now?(): number;
}

/** The balanced, failing-over call. */
export class FailoverCall implements BridgeCall {
  readonly #head: CallHead;
  readonly #opts: FailoverOptions;
  readonly #tried = new Set<string>();
  readonly #started: number;
  #key: string | undefined;
  #call: BridgeCall;
  #buffer: Uint8Array[] = [];
  #bufferBytes = 0;
  #replayable = true;
  #ended = false;
  #delivered = false;
  #cancelled = false;
  #attempts = 0;
  #switching: Promise<void> = Promise.resolve();
  #final: ResponseEvent | undefined;

  /** Starts the first attempt (or fails with UNAVAILABLE when no instance is healthy). */
  constructor(head: CallHead, opts: FailoverOptions) {
    this.#head = head;
    this.#opts = opts;
    this.#started = this.#now();
    this.#call = this.#attempt() ?? failedCall(
      status(GrpcStatus.UNAVAILABLE, `No healthy instance of ${serviceOf(head.path)}`, {
        notProcessed: true,
      }),
    );
  }

  #now(): number {
    return this.#opts.now?.() ?? performance.now();
  }

  #attempt(): BridgeCall | undefined {
    const target = this.#opts.pick(this.#tried);
    if (!target) return undefined;
    this.#tried.add(target.key);
    this.#attempts++;
    this.#key = target.key;
    this.#opts.onStart?.(target.key);
    let timeoutMs = this.#head.timeoutMs;
    if (timeoutMs > 0) timeoutMs = Math.max(1, timeoutMs - (this.#now() - this.#started));
    return target.open({ ...this.#head, timeoutMs });
  }

  async write(data: Uint8Array): Promise<void> {
    await this.#switching;
    if (this.#replayable && !this.#delivered) {
      if (this.#bufferBytes + data.length <= this.#opts.replayBufferBytes) {
        this.#buffer.push(data);
        this.#bufferBytes += data.length;
      } else {
        this.#dropBuffer();
      }
    }
    await this.#call.write(data);
  }

  end(): void {
    this.#ended = true;
    void this.#switching.then(() => this.#call.end());
  }

  cancel(code?: number, message?: string): void {
    this.#cancelled = true;
    this.#call.cancel(code, message);
  }

  async next(): Promise<ResponseEvent> {
    if (this.#final) return this.#final;
    for (;;) {
      const ev = await this.#call.next();
      if (ev.type !== "status") {
        this.#delivered = true;
        this.#dropBuffer();
        return ev;
      }
      const key = this.#key;
      const failed = ev.status.code !== GrpcStatus.OK;
      const retry = failed && !this.#cancelled && mayRetry({
        responseDelivered: this.#delivered,
        replayable: this.#replayable,
        notProcessed: ev.status.notProcessed,
        transportFailure: ev.transportFailure === true,
        idempotent: this.#head.idempotent,
        attempts: this.#attempts,
        maxAttempts: this.#opts.maxAttempts,
      });
      if (key !== undefined) {
        if (
          failed &&
          (ev.transportFailure || (ev.status.notProcessed && ev.status.code === GrpcStatus.UNAVAILABLE))
        ) {
          this.#opts.onUnreachable?.(key);
        }
        this.#opts.onEnd?.(key);
        this.#key = undefined;
      }
      if (retry) {
        const next = this.#attempt();
        if (next) {
          this.#switching = this.#replay(next);
          await this.#switching;
          continue;
        }
      }
      this.#final = ev;
      this.#buffer = [];
      return ev;
    }
  }

  async #replay(call: BridgeCall): Promise<void> {
    this.#call = call;
    for (const m of this.#buffer) await call.write(m);
    if (this.#ended) call.end();
  }

  #dropBuffer(): void {
    this.#replayable = false;
    this.#buffer = [];
    this.#bufferBytes = 0;
  }
}

/** `pkg.Service` of `/pkg.Service/Method`. */
export function serviceOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(1, slash) : "";
}
