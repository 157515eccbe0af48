/**
 * Deno adapter: DNS over UDP (RFC 1035 §4.2.1). Receives datagrams, hands each to the {@linkcode QueryHandler}
 * and sends back what it returns. Queries are served concurrently up to a bound; beyond it new datagrams are
 * dropped (UDP clients retry), so a flood cannot queue unbounded work.
 *
 * @module
 */

import { AcceptBackoff } from "./_accept_backoff.ts";
import type { CnsMetrics } from "../resolver/cns_metrics.ts";
import type { QueryHandler } from "../resolver/query_handler.ts";

/** Options of {@linkcode UdpListener}. */
export interface UdpListenerOptions {
  readonly hostname: string;
  readonly port: number;
  /** Queries served at once; more are dropped. Default 1,024. */
  readonly maxInflight?: number;
  readonly metrics?: CnsMetrics;
  /** Told when an answer cannot be sent (e.g. `NotCapable`: the worker may not send to that client). */
  readonly onError?: (message: string, fields: Record<string, unknown>) => void;
}

/** Largest datagram we read: a query bigger than our EDNS maximum is not a query we want (RFC 6891 §6.2.5). */
const RECEIVE_BYTES = 4096;

/** A UDP listener. Listening starts in the constructor. */
export class UdpListener {
  readonly #conn: Deno.DatagramConn;
  readonly #handler: QueryHandler;
  readonly #max: number;
  readonly #metrics: CnsMetrics | undefined;
  readonly #onError: UdpListenerOptions["onError"];
  readonly #running = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  #closed = false;
  #sending = 0;

  /** Binds and starts serving. */
  constructor(handler: QueryHandler, options: UdpListenerOptions) {
    this.#handler = handler;
    this.#max = options.maxInflight ?? 1024;
    this.#metrics = options.metrics;
    this.#onError = options.onError;
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname: options.hostname, port: options.port });
    this.#loop = this.#run();
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#conn.addr as Deno.NetAddr;
  }

  async #run(): Promise<void> {
    const buf = new Uint8Array(RECEIVE_BYTES);
    const backoff = new AcceptBackoff();
    while (!this.#closed) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await this.#conn.receive(buf);
        backoff.reset();
      } catch {
        if (this.#closed) return;
        // e.g. ICMP port unreachable surfacing as an error: keep serving, without spinning on a lasting one.
        await backoff.wait();
        continue;
      }
      if (from.transport !== "udp") continue;
      // Hot names: the answer cache answers synchronously, straight from the receive buffer.
      if (from.port !== 0) {
        const cached = this.#handler.answerCached(data, { address: from.hostname, transport: "udp" });
        if (cached !== undefined) {
          if (cached !== null) this.#send(cached, from);
          continue;
        }
      }
      if (this.#running.size >= this.#max) {
        this.#metrics?.dropped.inc(1, { transport: "udp", reason: "overload" });
        continue;
      }
      // `receive(buf)` reuses buf: copy before the next receive.
      const query = data.slice();
      const task = this.#serve(query, from);
      this.#running.add(task);
      task.finally(() => this.#running.delete(task));
    }
  }

  async #serve(query: Uint8Array, from: Deno.NetAddr): Promise<void> {
    // RFC 5452 §4 / common practice: never answer to source port 0 (a classic reflection trick).
    if (from.port === 0) return;
    const response = await this.#handler.handle(query, { address: from.hostname, transport: "udp" });
    if (response === null || this.#closed) return;
    await this.#send(response, from);
  }

  /** Sends one answer; never throws. Sends beyond the bound are dropped (the kernel's buffer is full anyway). */
  async #send(response: Uint8Array, from: Deno.NetAddr): Promise<void> {
    if (this.#sending >= this.#max) {
      this.#metrics?.dropped.inc(1, { transport: "udp", reason: "overload" });
      return;
    }
    this.#sending++;
    try {
      await this.#conn.send(response, from);
    } catch (error) {
      // An unreachable client is routine; a permission refusal is a deployment error worth seeing.
      const reason = error instanceof Deno.errors.NotCapable ? "not_capable" : "send_failed";
      this.#metrics?.dropped.inc(1, { transport: "udp", reason });
      this.#onError?.("cannot send a UDP answer", {
        reason,
        to: `${from.hostname}:${from.port}`,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      this.#sending--;
    }
  }

  /** Stops receiving, waits for queries in flight (bounded by `deadlineMs`, epoch ms), closes the socket. */
  async close(deadlineMs = Date.now() + 1000): Promise<void> {
    if (this.#closed) return;
    const pending = Promise.all(this.#running);
    const wait = Math.max(0, deadlineMs - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([pending, new Promise<void>((r) => timer = setTimeout(r, wait))]);
    clearTimeout(timer);
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }
}
