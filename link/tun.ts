/**
 * Deno adapter: a Linux TUN interface through libc (`Deno.dlopen`): `open("/dev/net/tun")`, `ioctl(TUNSETIFF)`
 * with `IFF_TUN | IFF_NO_PI` (bare IP packets), non-blocking reads while packets are queued and a `poll` on
 * Deno's blocking thread pool when none is (a SIGIO wake-up, as cns's batched listener uses, measured 0.1-0.3 ms
 * more mesh RTT here), writes of whole packets. The worker that opens it needs FFI
 * permission (unscoped: Deno's pointer operations need it) and CAP_NET_ADMIN (root) to create the interface.
 *
 * @module
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // Waiting runs on Deno's blocking thread pool, so the event loop never blocks; its pollfd is malloc'ed (a
  // pointer into a typed array could move while the call is in flight).
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32", nonblocking: true },
  malloc: { parameters: ["usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const O_RDWR = 2, O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000;
const TUNSETIFF = 0x400454can;
const IFF_TUN = 0x0001, IFF_NO_PI = 0x1000;
const EAGAIN = 11, EEXIST = 17, EINTR = 4;
const POLLIN = 0x1;
// Interface ioctls (linux/sockios.h), made on an AF_INET6 datagram socket.
const AF_INET6 = 10, SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913n, SIOCSIFFLAGS = 0x8914n, SIOCSIFADDR = 0x8916n, SIOCSIFMTU = 0x8922n;
const SIOCGIFINDEX = 0x8933n;
const IFF_UP = 0x1, IFF_RUNNING = 0x40;
/** Largest packet read (the interface's MTU is set lower). */
const READ_BYTES = 65_536;

/** A TUN interface (see the module doc). */
export class Tun {
  readonly name: string;
  readonly #libc: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly #fd: number;
  // A large buffer lives outside V8's heap, so a read through its pointer cannot land in moved memory.
  readonly #buf = new Uint8Array(READ_BYTES);
  readonly #pollfd: Deno.PointerObject;
  readonly #pollfdBytes: Uint8Array;
  #closed = false;

  /** Creates (or attaches to) interface `name` (at most 15 bytes). */
  constructor(name: string, libcPath: string) {
    if (Deno.build.os !== "linux") throw new Error("TUN interfaces need Linux");
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length > 15) {
      throw new RangeError(`Bad interface name ${JSON.stringify(name)}`);
    }
    this.name = name;
    this.#libc = Deno.dlopen(libcPath, SYMBOLS);
    const c = this.#libc.symbols;
    const fd = c.open(new TextEncoder().encode("/dev/net/tun\0"), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      this.#libc.close();
      throw new Error(`Cannot open /dev/net/tun (errno ${this.#errno()})`);
    }
    const ifr = new Uint8Array(64);
    ifr.set(bytes);
    new DataView(ifr.buffer).setUint16(16, IFF_TUN | IFF_NO_PI, true);
    if (c.ioctl(fd, TUNSETIFF, ifr) !== 0) {
      const e = this.#errno();
      c.close(fd);
      this.#libc.close();
      throw new Error(`Cannot create TUN interface ${name} (errno ${e}; it needs CAP_NET_ADMIN)`);
    }
    this.#fd = fd;
    const pollfd = c.malloc(8n);
    if (pollfd === null) {
      c.close(fd);
      this.#libc.close();
      throw new Error("Cannot allocate a pollfd");
    }
    this.#pollfd = pollfd;
    this.#pollfdBytes = new Uint8Array(8);
    new DataView(this.#pollfdBytes.buffer).setInt32(0, fd, true);
    new DataView(this.#pollfdBytes.buffer).setInt16(4, POLLIN, true);
  }

  #errno(): number {
    const p = this.#libc.symbols.__errno_location();
    return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
  }

  /**
   * Gives the interface its address, prefix and MTU and brings it up, as `ip -6 addr add ADDR/LEN dev NAME`
   * and `ip link set NAME mtu MTU up` would, through ioctls (`SIOCSIFMTU`, `SIOCSIFADDR` with an `in6_ifreq`,
   * `SIOCSIFFLAGS`). The prefix's route follows the address. An address already there is kept.
   */
  configure(o: { readonly address: Uint8Array; readonly prefixLength: number; readonly mtu: number }): void {
    if (o.address.length !== 16) throw new RangeError("An interface address must be IPv6 (16 bytes)");
    if (o.prefixLength < 1 || o.prefixLength > 128) throw new RangeError("Bad prefix length");
    const c = this.#libc.symbols;
    const sock = c.socket(AF_INET6, SOCK_DGRAM, 0);
    if (sock < 0) throw new Error(`Cannot open a socket to configure ${this.name} (errno ${this.#errno()})`);
    try {
      // struct ifreq: the name in 16 bytes, then a 24-byte union (flags, mtu, ifindex at its start).
      const ifr = new Uint8Array(40);
      ifr.set(new TextEncoder().encode(this.name));
      const view = new DataView(ifr.buffer);
      const call = (req: bigint, buf: Uint8Array, what: string, okErrno = -1): void => {
        if (c.ioctl(sock, req, buf) === 0) return;
        const e = this.#errno();
        if (e !== okErrno) {
          throw new Error(`Cannot ${what} of ${this.name} (errno ${e}; it needs CAP_NET_ADMIN)`);
        }
      };
      view.setInt32(16, o.mtu, true);
      call(SIOCSIFMTU, ifr, `set the MTU ${o.mtu}`);
      call(SIOCGIFINDEX, ifr, "find the index");
      const index = view.getInt32(16, true);
      // struct in6_ifreq: the address, its prefix length (u32), the interface's index (i32).
      const req6 = new Uint8Array(24);
      req6.set(o.address);
      new DataView(req6.buffer).setUint32(16, o.prefixLength, true);
      new DataView(req6.buffer).setInt32(20, index, true);
      call(SIOCSIFADDR, req6, "set the address", EEXIST);
      call(SIOCGIFFLAGS, ifr, "read the flags");
      view.setUint16(16, view.getUint16(16, true) | IFF_UP | IFF_RUNNING, true);
      call(SIOCSIFFLAGS, ifr, "bring up");
    } finally {
      c.close(sock);
    }
  }

  /**
   * The next IP packet the kernel routed into the interface, or null once closed. Reads while packets are
   * queued; when none is, waits in `poll` (on a blocking thread, 200 ms at a time so close() is seen).
   */
  async read(): Promise<Uint8Array | null> {
    const c = this.#libc.symbols;
    while (!this.#closed) {
      const n = Number(c.read(this.#fd, this.#buf, BigInt(READ_BYTES)));
      if (n > 0) return this.#buf.slice(0, n);
      if (n < 0 && this.#errno() !== EAGAIN) return null;
      const view = new Deno.UnsafePointerView(this.#pollfd);
      // struct pollfd { int fd; short events; short revents; }: POLLIN, revents cleared.
      new Uint8Array(view.getArrayBuffer(8)).set(this.#pollfdBytes);
      const r = await c.poll(this.#pollfd, 1n, 200);
      if (r < 0 && this.#errno() !== EINTR) return null;
    }
    return null;
  }

  /** Hands one IP packet to the kernel; false when it was not taken (dropped, as a link may). */
  write(packet: Uint8Array): boolean {
    if (this.#closed) return false;
    return Number(this.#libc.symbols.write(this.#fd, packet, BigInt(packet.length))) === packet.length;
  }

  /** Closes the interface (a TUN interface made by this process goes away with it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#libc.symbols.close(this.#fd);
    // A poll may still be in flight on its thread (at most 200 ms): free its pollfd and libc after it.
    setTimeout(() => {
      this.#libc.symbols.free(this.#pollfd);
      this.#libc.close();
    }, 500);
  }
}
