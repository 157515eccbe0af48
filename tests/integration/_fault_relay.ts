// A UDP relay that injects faults between two QUIC endpoints on loopback (these machines have no tc netem):
// datagrams from clients to `listen` go to `target` from one upstream socket per client, and answers go back.
// `blocked` drops everything (a partition); `loss` drops that fraction; `delayMs` holds each datagram up to
// that long (so it reorders too). Randomness is seeded, so a failing run can be repeated.

/** One relay. */
export class FaultRelay {
  readonly port: number;
  blocked = false;
  loss = 0;
  delayMs = 0;
  readonly #sock: Deno.DatagramConn;
  readonly #target: Deno.NetAddr;
  readonly #upstreams = new Map<string, Deno.DatagramConn>();
  #closed = false;
  #seed: number;

  constructor(targetPort: number, seed = 1) {
    this.#sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    this.port = (this.#sock.addr as Deno.NetAddr).port;
    this.#target = { transport: "udp", hostname: "127.0.0.1", port: targetPort };
    this.#seed = seed >>> 0;
    this.#pump().catch(() => {});
  }

  #random(): number {
    this.#seed = (this.#seed + 0x6d2b79f5) >>> 0;
    let t = this.#seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  #forward(sock: Deno.DatagramConn, data: Uint8Array, to: Deno.Addr): void {
    if (this.blocked || this.#random() < this.loss) return;
    const send = () => void sock.send(data, to).catch(() => {});
    if (this.delayMs > 0) setTimeout(send, Math.floor(this.#random() * this.delayMs));
    else send();
  }

  async #pump(): Promise<void> {
    for await (const [data, from] of this.#sock) {
      if (this.#closed) break;
      const key = `${(from as Deno.NetAddr).hostname}:${(from as Deno.NetAddr).port}`;
      let up = this.#upstreams.get(key);
      if (up === undefined) {
        const conn = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
        this.#upstreams.set(key, conn);
        up = conn;
        (async () => {
          for await (const [back] of conn) this.#forward(this.#sock, back, from);
        })().catch(() => {});
      }
      this.#forward(up, data, this.#target);
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#sock.close();
    } catch {
      // closed
    }
    for (const u of this.#upstreams.values()) {
      try {
        u.close();
      } catch {
        // closed
      }
    }
  }
}
