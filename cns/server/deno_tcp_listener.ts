/**
 * Deno adapter: DNS over TCP (RFC 1035 §4.2.2 two-byte length prefix, RFC 7766). Queries on one connection are
 * pipelined and answered as they complete, possibly out of order (RFC 7766 §6.2.1.1); a connection has a
 * bounded number of queries in flight (reading pauses at the bound, so TCP flow control pushes back), an idle
 * timeout (§6.2.3), and the listener bounds connections per client address and in total (§6.2.2).
 *
 * @module
 */

import { concatBytes } from "../../core/mod.ts";
import { encodeLengthPrefixed, LengthPrefixedDecoder } from "../../transport/mod.ts";
import { AcceptBackoff } from "./_accept_backoff.ts";
import type { CnsMetrics } from "../resolver/cns_metrics.ts";
import { ConnectionLimiter } from "../resolver/connection_limiter.ts";
import { MAX_STREAM_MESSAGE, type QueryHandler } from "../resolver/query_handler.ts";

/** Options of {@linkcode TcpListener}. */
export interface TcpListenerOptions {
  readonly hostname: string;
  readonly port: number;
  /** Milliseconds a connection may sit with nothing in flight before we close it. Default 10,000. */
  readonly idleTimeoutMs?: number;
  /** Open connections in total. Default 1,000. */
  readonly maxConnections?: number;
  /** Open connections per client address. Default 20. */
  readonly maxConnectionsPerClient?: number;
  /** Queries in flight per connection. Default 16. */
  readonly maxInflight?: number;
  readonly metrics?: CnsMetrics;
}

/** A TCP listener. Listening starts in the constructor. */
export class TcpListener {
  readonly #listener: Deno.TcpListener;
  readonly #handler: QueryHandler;
  readonly #limiter: ConnectionLimiter;
  readonly #idleMs: number;
  readonly #maxInflight: number;
  readonly #metrics: CnsMetrics | undefined;
  readonly #conns = new Map<Deno.TcpConn, Promise<void>>();
  readonly #loop: Promise<void>;
  #closed = false;

  /** Binds and starts serving. */
  constructor(handler: QueryHandler, options: TcpListenerOptions) {
    this.#handler = handler;
    this.#idleMs = options.idleTimeoutMs ?? 10_000;
    this.#maxInflight = options.maxInflight ?? 16;
    this.#metrics = options.metrics;
    this.#limiter = new ConnectionLimiter({
      maxTotal: options.maxConnections ?? 1000,
      maxPerClient: options.maxConnectionsPerClient ?? 20,
    });
    this.#listener = Deno.listen({ transport: "tcp", hostname: options.hostname, port: options.port });
    this.#loop = this.#accept();
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#conns.size;
  }

  async #accept(): Promise<void> {
    const backoff = new AcceptBackoff();
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoff.reset();
      } catch {
        if (this.#closed) return;
        await backoff.wait(); // EMFILE and friends: back off instead of spinning
        continue;
      }
      const client = conn.remoteAddr.hostname;
      if (!this.#limiter.tryAcquire(client)) {
        this.#metrics?.connectionsRefused.inc(1, { transport: "tcp" });
        try {
          conn.close();
        } catch {
          // gone
        }
        continue;
      }
      this.#metrics?.connections.inc(1, { transport: "tcp" });
      const task = this.#serve(conn, client).finally(() => {
        this.#limiter.release(client);
        this.#metrics?.connections.dec(1, { transport: "tcp" });
        this.#conns.delete(conn);
      });
      this.#conns.set(conn, task);
    }
  }

  async #serve(conn: Deno.TcpConn, client: string): Promise<void> {
    const decoder = new LengthPrefixedDecoder({
      prefix: 2,
      maxMessageBytes: MAX_STREAM_MESSAGE,
      name: "DNS message",
    });
    const buf = new Uint8Array(16 * 1024);
    let inflight = 0;
    let slotFreed: (() => void) | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      try {
        conn.close();
      } catch {
        // already closed
      }
    };
    // The idle timer is armed once and re-armed when it fires early: activity only stamps the time (a
    // clearTimeout/setTimeout pair per answer was 2% of a pipelined connection's thread).
    let lastActive = performance.now();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const onIdle = (): void => {
      const quiet = performance.now() - lastActive;
      if (inflight > 0 || quiet < this.#idleMs) {
        idle = setTimeout(onIdle, inflight > 0 ? this.#idleMs : this.#idleMs - quiet);
      } else close();
    };
    const armIdle = (): void => {
      lastActive = performance.now();
      idle ??= setTimeout(onIdle, this.#idleMs);
    };
    // Answers finished while a write is under way go out together in the next write: one syscall and one
    // segment for many pipelined answers, in completion order (RFC 7766 §6.2.1.1). Each answer resolves when
    // the write that carries it is done.
    let pending: Uint8Array[] = [];
    let batch: Promise<void> | undefined;
    const send = (framed: Uint8Array): Promise<void> => {
      pending.push(framed);
      if (batch === undefined) {
        batch = writing.then(async () => {
          const parts = pending;
          pending = [];
          batch = undefined;
          if (!open) return;
          const bytes = parts.length === 1 ? parts[0] as Uint8Array : concatBytes(...parts);
          let off = 0;
          while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        }).catch(close);
        writing = batch;
      }
      return batch;
    };
    const answer = async (query: Uint8Array): Promise<void> => {
      try {
        const response = await this.#handler.handle(query, { address: client, transport: "tcp" });
        if (response === null) {
          // Unreadable or not a query: the stream cannot be trusted any more.
          close();
          return;
        }
        await send(encodeLengthPrefixed(response, 2));
      } finally {
        inflight--;
        armIdle();
        slotFreed?.();
      }
    };
    armIdle();
    try {
      while (open && !this.#closed) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch {
          break;
        }
        if (n === null) break;
        armIdle();
        let messages: Uint8Array[];
        try {
          messages = decoder.push(buf.slice(0, n));
        } catch {
          break; // a length we cannot accept: close
        }
        for (const m of messages) {
          inflight++;
          answer(m);
        }
        // Back-pressure: stop reading while the connection has too many queries in flight.
        while (inflight >= this.#maxInflight && open) {
          await new Promise<void>((r) => slotFreed = r);
        }
      }
      // The client finished sending (half-close) or we stop: let in-flight answers go out first.
      while (inflight > 0 && open) await new Promise<void>((r) => slotFreed = r);
      await writing;
    } finally {
      clearTimeout(idle);
      close();
    }
  }

  /** Stops accepting, lets connections finish until `deadlineMs` (epoch ms), then closes what is left. */
  async close(deadlineMs = Date.now() + 1000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#loop;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#conns.values()),
      new Promise<void>((r) => timer = setTimeout(r, Math.max(0, deadlineMs - Date.now()))),
    ]);
    clearTimeout(timer);
    for (const conn of this.#conns.keys()) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(this.#conns.values());
  }
}
