/**
 * Deno adapter: DNS over UDP in batches, through libc (`cns.udp_io = "ffi"`, Linux only). One `recvmmsg` takes up
 * to 64 queries, hot names are answered synchronously from the answer cache, and one `sendmmsg` sends their
 * answers: no promise and no op per packet. The rest go through the async {@linkcode QueryHandler.handle} and
 * are sent one by one when answered.
 *
 * Waiting costs nothing: before it sleeps the loop makes the socket `O_ASYNC`, so the kernel raises SIGIO for
 * this process when a datagram arrives, and a Deno signal listener wakes the loop (a lost signal is covered by
 * a 250 ms re-check); awake, the socket raises none. Under load the loop drains batch after batch, yielding to
 * the event loop every millisecond so the worker's other listeners and the queries waiting on the chain keep
 * running.
 *
 * All memory the kernel writes is `malloc`ed: V8 may move small typed arrays during garbage collection, and a
 * pointer into one kept across calls would send the kernel's writes into the heap.
 *
 * What it trades: the worker needs FFI permission (only this worker, only with this option; Deno's pointer
 * operations need it unscoped, so it cannot be narrowed to libc), and the code relies on Linux LP64 struct
 * layouts (x86_64, aarch64).
 *
 * @module
 */

import type { CnsMetrics } from "../resolver/cns_metrics.ts";
import type { QueryHandler } from "../resolver/query_handler.ts";
import { parseIp } from "../proto/ip_prefix.ts";
import { SigioWaiter } from "../../core/mod.ts";
import { decodeSockaddr, encodeSockaddr, SOCKADDR_MAX } from "./sockaddr.ts";

/** Options of {@linkcode FfiUdpListener}. */
export interface FfiUdpListenerOptions {
  /** An IP literal (`127.0.0.1`, `::`): no name lookups here. */
  readonly hostname: string;
  readonly port: number;
  /** libc to open (an absolute path). */
  readonly libcPath: string;
  /** Queries waiting on the async path at once; more are dropped. Default 1,024. */
  readonly maxInflight?: number;
  readonly metrics?: CnsMetrics;
  readonly onError?: (message: string, fields: Record<string, unknown>) => void;
}

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "pointer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "pointer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "pointer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  malloc: { parameters: ["usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

// Linux constants and LP64 layouts.
const SOCK_DGRAM = 2, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_SNDBUF = 7, SO_RCVBUF = 8;
const IPPROTO_IPV6 = 41, IPV6_V6ONLY = 26;
const F_SETFL = 4, F_SETOWN = 8, O_NONBLOCK = 0o4000, O_ASYNC = 0o20000;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11, EINTR = 4;
const MMSGHDR = 64, IOVEC = 16;
/** Datagrams per batch. */
const BATCH = 64;
/** Largest datagram read (as the Deno listener). */
const SLOT = 4096;
const SOCKET_BUFFER = 4 << 20;

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  13: "EACCES",
  22: "EINVAL",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
};

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

/** Message vectors in malloc'ed memory: `count` slots of mmsghdr + iovec + sockaddr + data. */
class Vectors {
  readonly base: bigint;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly msgs: Deno.PointerObject;
  readonly #iov: number;
  readonly #names: number;
  readonly #data: number;

  constructor(readonly libc: Libc, readonly count: number) {
    this.#iov = count * MMSGHDR;
    this.#names = this.#iov + count * IOVEC;
    this.#data = this.#names + count * SOCKADDR_MAX;
    const size = this.#data + count * SLOT;
    const ptr = libc.symbols.malloc(BigInt(size));
    if (ptr === null) throw new Error("Cannot allocate UDP batch buffers");
    this.msgs = ptr;
    this.base = BigInt(Deno.UnsafePointer.value(ptr));
    this.bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, size));
    this.view = new DataView(this.bytes.buffer);
    // malloc'ed memory is not zeroed: msg_control, msg_controllen and msg_flags must be.
    this.bytes.fill(0);
    for (let i = 0; i < count; i++) {
      const m = i * MMSGHDR;
      this.view.setBigUint64(m, this.base + BigInt(this.#names + i * SOCKADDR_MAX), true); // msg_name
      this.view.setBigUint64(m + 16, this.base + BigInt(this.#iov + i * IOVEC), true); // msg_iov
      this.view.setBigUint64(m + 24, 1n, true); // msg_iovlen
      this.view.setBigUint64(this.#iov + i * IOVEC, this.base + BigInt(this.#data + i * SLOT), true);
      this.arm(i, SLOT, SOCKADDR_MAX);
    }
  }

  /** Sets slot `i`'s data length and name length (before a receive: the room; before a send: the sizes). */
  arm(i: number, dataLen: number, nameLen: number): void {
    this.view.setUint32(i * MMSGHDR + 8, nameLen, true);
    this.view.setBigUint64(this.#iov + i * IOVEC + 8, BigInt(dataLen), true);
    this.view.setUint32(i * MMSGHDR + 48, 0, true); // msg_flags
  }

  /** Bytes received into slot `i` (msg_len). */
  received(i: number): number {
    return this.view.getUint32(i * MMSGHDR + 56, true);
  }

  nameLen(i: number): number {
    return this.view.getUint32(i * MMSGHDR + 8, true);
  }

  nameAt(i: number): number {
    return this.#names + i * SOCKADDR_MAX;
  }

  dataAt(i: number): number {
    return this.#data + i * SLOT;
  }

  /** A pointer to slot `i`'s mmsghdr (to send from the middle after a partial send). */
  slot(i: number): Deno.PointerObject {
    return Deno.UnsafePointer.create(this.base + BigInt(i * MMSGHDR)) ?? this.msgs;
  }

  free(): void {
    this.libc.symbols.free(this.msgs);
  }
}

/** The batched UDP listener (see the module doc). Listening starts in the constructor. */
export class FfiUdpListener {
  readonly #libc: Libc;
  #fd = -1;
  readonly #scratch: Deno.PointerObject;
  readonly #scratchView: DataView;
  readonly #handler: QueryHandler;
  readonly #opts: FfiUdpListenerOptions;
  readonly #recv: Vectors;
  readonly #send: Vectors;
  readonly #one: Vectors;
  readonly #addr: Deno.NetAddr;
  readonly #v4Names = new Map<number, string>();
  #sigio: SigioWaiter | undefined;
  readonly #yield = new MessageChannel();
  readonly #running = new Set<Promise<void>>();
  #closed = false;
  #lastReport = 0;
  readonly #loop: Promise<void>;

  /** Opens libc, binds and starts serving; throws a clear error when any step fails. */
  constructor(handler: QueryHandler, opts: FfiUdpListenerOptions) {
    if (Deno.build.os !== "linux" || (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64")) {
      throw new Error(`cns.udp_io = "ffi" needs Linux on x86_64 or aarch64 (this is ${Deno.build.target})`);
    }
    const ip = parseIp(opts.hostname);
    if (ip === undefined) {
      throw new Error(
        `cns.udp_io = "ffi" needs IP addresses in cns.listen, not ${JSON.stringify(opts.hostname)}`,
      );
    }
    this.#handler = handler;
    this.#opts = opts;
    try {
      this.#libc = Deno.dlopen(opts.libcPath, SYMBOLS);
    } catch (error) {
      throw new Error(
        `cns.udp_io = "ffi" cannot open ${opts.libcPath} (${
          error instanceof Error ? error.message : error
        }); ` +
          `set cns.udp_ffi_libc to libc's path`,
        { cause: error },
      );
    }
    const c = this.#libc.symbols;
    this.#recv = new Vectors(this.#libc, BATCH);
    this.#send = new Vectors(this.#libc, BATCH);
    this.#one = new Vectors(this.#libc, 1);
    const scratch = c.malloc(128n);
    if (scratch === null) throw new Error("Cannot allocate UDP socket scratch memory");
    this.#scratch = scratch;
    this.#scratchView = new DataView(Deno.UnsafePointerView.getArrayBuffer(scratch, 128));
    new Uint8Array(this.#scratchView.buffer).fill(0);
    const family = ip.length === 4 ? 2 : 10;
    let fd = -1;
    try {
      fd = c.socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) this.#fail("socket", opts);
      this.#fd = fd;
      this.#setInt(SOL_SOCKET, SO_REUSEADDR, 1);
      // Larger buffers absorb bursts; the kernel caps them at net.core.{r,w}mem_max (best effort).
      this.#setInt(SOL_SOCKET, SO_RCVBUF, SOCKET_BUFFER);
      this.#setInt(SOL_SOCKET, SO_SNDBUF, SOCKET_BUFFER);
      if (family === 10) this.#setInt(IPPROTO_IPV6, IPV6_V6ONLY, 0);
      const sa = encodeSockaddr(ip, opts.port);
      const bytes = new Uint8Array(this.#scratchView.buffer);
      bytes.set(sa, 0);
      if (c.bind(fd, scratch, sa.length) !== 0) this.#fail("bind", opts);
      this.#scratchView.setUint32(64, SOCKADDR_MAX, true);
      const lenPtr = Deno.UnsafePointer.create(BigInt(Deno.UnsafePointer.value(scratch)) + 64n);
      if (c.getsockname(fd, scratch, lenPtr) !== 0) this.#fail("getsockname", opts);
      const bound = decodeSockaddr(bytes, 0, SOCKADDR_MAX);
      this.#addr = { transport: "udp", hostname: opts.hostname, port: bound?.port ?? opts.port };
      // SIGIO for this process when a datagram arrives; the listener exists before the first one can.
      this.#sigio = new SigioWaiter();
      if (c.fcntl(fd, F_SETOWN, c.getpid()) !== 0) this.#fail("fcntl(F_SETOWN)", opts);
      if (c.fcntl(fd, F_SETFL, O_NONBLOCK) !== 0) this.#fail("fcntl(F_SETFL)", opts);
    } catch (error) {
      this.#sigio?.close();
      if (fd >= 0) c.close(fd);
      this.#release();
      throw error;
    }
    this.#loop = this.#run();
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  #errno(): number {
    const p = this.#libc.symbols.__errno_location();
    return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
  }

  #fail(what: string, opts: FfiUdpListenerOptions): never {
    const e = this.#errno();
    throw new Error(
      `Cannot listen on UDP ${opts.hostname}:${opts.port}: ${what} failed (${ERRNO_NAMES[e] ?? e})`,
    );
  }

  #setInt(level: number, name: number, value: number): void {
    this.#scratchView.setInt32(96, value, true);
    const ptr = Deno.UnsafePointer.create(BigInt(Deno.UnsafePointer.value(this.#scratch)) + 96n);
    this.#libc.symbols.setsockopt(this.#fd, level, name, ptr, 4);
  }

  /** Lets the event loop run (timers, other sockets, answers from the chain) without a timer's delay. */
  #yieldNow(): Promise<void> {
    return new Promise((resolve) => {
      this.#yield.port1.onmessage = () => resolve();
      this.#yield.port2.postMessage(0);
    });
  }

  async #run(): Promise<void> {
    const c = this.#libc.symbols;
    let lastYield = performance.now();
    while (!this.#closed) {
      this.#sigio?.clear();
      const n = c.recvmmsg(this.#fd, this.#recv.msgs, BATCH, MSG_DONTWAIT, null);
      if (n > 0) {
        this.#batch(n);
        // Busy for a while: let the event loop run (the wait below yields too, whenever the socket is empty).
        const now = performance.now();
        if (now - lastYield >= 1) {
          await this.#yieldNow();
          lastYield = performance.now();
        }
        continue;
      }
      lastYield = performance.now();
      const e = this.#errno();
      if (n < 0 && e !== EAGAIN && e !== EINTR) {
        // e.g. ICMP errors surfacing on the socket: keep serving, without spinning (told once a second at most).
        const now = Date.now();
        if (now - this.#lastReport >= 1000) {
          this.#lastReport = now;
          this.#opts.onError?.("UDP receive failed", { errno: ERRNO_NAMES[e] ?? e });
        }
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (this.#sigio?.pending || this.#closed) continue;
      // SIGIO only while asleep: a signal per datagram under load would cost more than the datagram. Armed, the
      // socket is read once more, since datagrams queued before arming raise no signal.
      c.fcntl(this.#fd, F_SETFL, O_NONBLOCK | O_ASYNC);
      const late = c.recvmmsg(this.#fd, this.#recv.msgs, BATCH, MSG_DONTWAIT, null);
      if (late > 0) {
        c.fcntl(this.#fd, F_SETFL, O_NONBLOCK);
        this.#batch(late);
        continue;
      }
      await this.#sigio?.wait();
      c.fcntl(this.#fd, F_SETFL, O_NONBLOCK);
    }
  }

  #address(b: Uint8Array, at: number, len: number): { hostname: string; port: number } | undefined {
    // Most traffic comes from few clients: the text of an IPv4 address is kept by its 32 bits (bounded).
    const port = ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0);
    if (b[at] === 2 && b[at + 1] === 0 && len >= 16) {
      const key =
        (((b[at + 4] ?? 0) << 24) | ((b[at + 5] ?? 0) << 16) | ((b[at + 6] ?? 0) << 8) | (b[at + 7] ?? 0)) >>>
        0;
      let hostname = this.#v4Names.get(key);
      if (hostname === undefined) {
        hostname = `${b[at + 4]}.${b[at + 5]}.${b[at + 6]}.${b[at + 7]}`;
        if (this.#v4Names.size >= 4096) this.#v4Names.clear();
        this.#v4Names.set(key, hostname);
      }
      return { hostname, port };
    }
    return decodeSockaddr(b, at, len);
  }

  #batch(n: number): void {
    const r = this.#recv, s = this.#send;
    const started = performance.now();
    let out = 0;
    for (let i = 0; i < n; i++) {
      const len = r.received(i);
      const nameLen = Math.min(r.nameLen(i), SOCKADDR_MAX);
      const from = this.#address(r.bytes, r.nameAt(i), nameLen);
      const data = r.bytes.subarray(r.dataAt(i), r.dataAt(i) + len);
      r.arm(i, SLOT, SOCKADDR_MAX);
      // RFC 5452 §4 / common practice: never answer to source port 0.
      if (from === undefined || from.port === 0) continue;
      const client = { address: from.hostname, transport: "udp" as const };
      // Hot names are written straight into the send vector.
      const written = this.#handler.answerCachedInto(data, client, s.bytes, s.dataAt(out), started);
      if (written === undefined) {
        this.#miss(data.slice(), r.bytes.slice(r.nameAt(i), r.nameAt(i) + nameLen), client);
      } else if (written !== null) {
        s.bytes.set(r.bytes.subarray(r.nameAt(i), r.nameAt(i) + nameLen), s.nameAt(out));
        s.arm(out, written, nameLen);
        out++;
      }
    }
    if (out > 0) {
      this.#sendBatch(out);
      this.#handler.observeCached("udp", out, (performance.now() - started) / 1000);
    }
  }

  #sendBatch(count: number): void {
    const c = this.#libc.symbols;
    let done = 0;
    // A partial send (the socket buffer filled) is retried once from where it stopped; the rest are dropped.
    for (let tries = 0; done < count && tries < 2; tries++) {
      const sent = c.sendmmsg(
        this.#fd,
        done === 0 ? this.#send.msgs : this.#send.slot(done),
        count - done,
        0,
      );
      if (sent <= 0) break;
      done += sent;
    }
    if (done < count) this.#dropped(count - done, "send_failed");
  }

  #dropped(n: number, reason: string): void {
    this.#opts.metrics?.dropped.inc(n, { transport: "udp", reason });
  }

  #miss(query: Uint8Array, name: Uint8Array, client: { address: string; transport: "udp" }): void {
    if (this.#running.size >= (this.#opts.maxInflight ?? 1024)) {
      this.#dropped(1, "overload");
      return;
    }
    const task = (async () => {
      const response = await this.#handler.handle(query, client);
      if (response === null || this.#closed || response.length > SLOT) return;
      // Written and sent synchronously: the one-slot vector is never shared across an await.
      const one = this.#one;
      one.bytes.set(response, one.dataAt(0));
      one.bytes.set(name, one.nameAt(0));
      one.arm(0, response.length, name.length);
      if (this.#libc.symbols.sendmmsg(this.#fd, one.msgs, 1, 0) !== 1) this.#dropped(1, "send_failed");
      one.arm(0, SLOT, SOCKADDR_MAX);
    })();
    this.#running.add(task);
    task.finally(() => this.#running.delete(task));
  }

  /** Stops receiving, waits for queries in flight (until `deadlineMs`, epoch ms), closes the socket. */
  async close(deadlineMs = Date.now() + 1000): Promise<void> {
    if (this.#closed) return;
    const c = this.#libc.symbols;
    c.fcntl(this.#fd, F_SETFL, O_NONBLOCK); // no more SIGIO from this socket
    const wait = Math.max(0, deadlineMs - Date.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(this.#running), new Promise<void>((r) => timer = setTimeout(r, wait))]);
    clearTimeout(timer);
    this.#closed = true;
    this.#sigio?.wake();
    await this.#loop;
    this.#sigio?.close();
    this.#yield.port1.close();
    this.#yield.port2.close();
    c.close(this.#fd);
    this.#release();
  }

  #release(): void {
    this.#libc.symbols.free(this.#scratch);
    this.#recv.free();
    this.#send.free();
    this.#one.free();
    this.#libc.close();
  }
}
