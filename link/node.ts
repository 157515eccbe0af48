/**
 * Deno adapter: a ghostlink node. One `Deno.QuicEndpoint` both listens and dials, so the NAT mapping an
 * outgoing packet makes also serves packets coming in. Every QUIC connection starts with the session
 * handshake on its first stream (`handshake.ts`); the listener tells the dialer the address it saw
 * (identify), so a node behind a NAT learns its public address.
 *
 * A node can serve as a **rendezvous**: every node that connects to it for control is remembered by its key
 * and observed address. When A asks for B (CONNECT_REQ), the rendezvous tells each the other's address
 * (CONNECT), and both dial at once. With a cone NAT on both sides the crossing packets open both mappings and
 * one connection completes (the one dialed by the lower key is the link; the other side's dial is only a
 * punch). With a symmetric NAT it does not, and `connect` falls back to the rendezvous as a **relay**: a new
 * stream on the control link starting with RELAY_OPEN is joined to a stream to the target (RELAY_IN), at a
 * bounded rate per link and with bounded links per member, and the session handshake runs through it, so the
 * relay forwards ciphertext it cannot read or forge. `Link.path` says which.
 *
 * @module
 */

import { encodeFrame, FrameDecoder, type LinkFrame, type Purpose } from "./wire.ts";
import { HandshakeError, initiate, type LinkIdentity, respond } from "./handshake.ts";
import type { LinkSession } from "./session.ts";
import { fragment, Reassembler } from "./fragment.ts";
import { fromHex, toHex } from "../core/mod.ts";
import {
  ALPHA,
  byDistance,
  decodePeerRecord,
  type DhtContact,
  encodePeerRecord,
  K,
  makePeerRecord,
  type PeerLocation,
  type PeerRecord,
  RecordStore,
  RoutingTable,
} from "./dht.ts";
import { dhtKeyOf } from "./peer.ts";
import { MAX_NODES } from "./wire.ts";

/** A control link to a rendezvous. */
interface Control {
  readonly io: FrameIo;
  readonly conn: Deno.QuicConn;
  /** The rendezvous's key (hex) and address. */
  readonly key: string;
  readonly addr: string;
}

/** Rendezvous joined besides the configured one, to reach peers registered there. */
const MAX_EXTRA_RENDEZVOUS = 8;

/** ALPN of ghostlink connections. */
export const LINK_ALPN = "ghostlink/1";

/** A keep-alive every 10 s on connections this node dials; 30 s of silence ends one. */
const KEEPALIVE_MS = 10_000, IDLE_TIMEOUT_MS = 30_000;

/** A link failure with a reason a user can act on. */
export class LinkError extends Error {
  override readonly name = "LinkError";
}

/** Options of {@linkcode LinkNode.start}. */
export interface LinkNodeOptions {
  readonly identity: LinkIdentity;
  readonly hostname: string;
  readonly port: number;
  /** TLS certificate and key this node serves (QUIC needs TLS; who is who is the handshake's job). */
  readonly cert: string;
  readonly key: string;
  /** CA certificates trusted for the TLS layer, and the server name to ask for. */
  readonly caCerts: readonly string[];
  readonly serverName: string;
  /** A node both sides reach, to coordinate punching. */
  readonly rendezvous?: { readonly hostname: string; readonly port: number; readonly publicKey: Uint8Array };
  /** How long a punch may take, ms. Default 4,000. */
  readonly punchTimeoutMs?: number;
  /**
   * As a rendezvous: the UDP port of a second endpoint that dials members back (AutoNAT): a dial from an
   * address the member never sent to tells whether strangers can reach it. 0 picks one; absent, no dial-backs.
   */
  readonly dialBackPort?: number;
  /** Connections accepted at once; more are refused before their handshake. Default 1,000. */
  readonly maxConnections?: number;
  /** As a relay: bytes per second per relayed link (each direction). Default 1 MiB/s. */
  readonly relayBytesPerSecond?: number;
  /** As a relay: relayed links at once, per member and in all. Defaults 8 and 64. */
  readonly relayCircuitsPerMember?: number;
  readonly relayCircuits?: number;
  /** DHT servers to start from (the rendezvous is one too). */
  readonly seeds?: readonly DhtContact[];
  /** When the rendezvous cannot be reached at start: keep trying in the background instead of failing. */
  readonly retryRendezvous?: boolean;
  /** Told about the rendezvous link going down and up again. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
  /** Fresh session keys on every link this often, ms (the side that opened it starts). Default 120,000. */
  readonly rekeyAfterMs?: number;
}

/** How a link reaches its peer: straight, or through the rendezvous relaying its (encrypted) bytes. */
export type LinkPath = "direct" | "relayed";

/** An authenticated, encrypted link to one peer. */
export interface Link {
  /** The peer's identity key (proven by the handshake). */
  readonly peer: Uint8Array;
  readonly path: LinkPath;
  /** The peer's address as this node reaches it. */
  readonly remote: string;
  /** Sends one message (sealed with the session's keys). */
  send(message: Uint8Array): Promise<void>;
  /** The next message, or null when the link ended. Packets that fail to open are dropped and counted. */
  receive(): Promise<Uint8Array | null>;
  /**
   * Sends one IP packet: in QUIC datagrams on a direct link (lost packets stay lost, as on any link), on the
   * stream when relayed.
   */
  sendPacket(packet: Uint8Array): Promise<void>;
  /** The next packet sent with sendPacket, or null when the link ended. */
  receivePacket(): Promise<Uint8Array | null>;
  /** Messages dropped because they failed to open (forged, replayed). */
  readonly refused: number;
  /** Rekeys completed (fresh session keys, the link kept). */
  readonly rekeys: number;
  /** Runs a rekey now; only the side that opened the link starts them. */
  rekey(): Promise<void>;
  close(): void;
}

/** Frames on one QUIC stream. */
class FrameIo {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #decoder = new FrameDecoder();
  readonly #queue: LinkFrame[] = [];

  constructor(stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }) {
    this.#reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
  }

  write(f: LinkFrame): Promise<void> {
    return this.#writer.write(encodeFrame(f));
  }

  async read(): Promise<LinkFrame | null> {
    while (this.#queue.length === 0) {
      const r = await this.#reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) return null;
      this.#queue.push(...this.#decoder.push(r.value));
      if (this.#decoder.buffered > 70_000) throw new LinkError("A peer sent a frame larger than allowed");
    }
    return this.#queue.shift() ?? null;
  }

  close(): void {
    this.#writer.close().catch(() => {});
    this.#reader.cancel().catch(() => {});
  }
}

function addrText(a: Deno.Addr): string {
  const n = a as Deno.NetAddr;
  return n.hostname.includes(":") ? `[${n.hostname}]:${n.port}` : `${n.hostname}:${n.port}`;
}

function splitAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { hostname: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) };
}

/** Who starts rekeys on a link (the side that opened it), how often, and with which identity. */
interface RekeyPlan {
  readonly identity: LinkIdentity;
  readonly initiator: boolean;
  readonly everyMs: number;
}

/** Messages a link holds for a slow reader before it stops reading its stream (backpressure). */
const INBOX_MAX = 256;

/** A queue with one reader: put() waits while it holds INBOX_MAX; take() gives null once ended and empty. */
class Inbox {
  readonly #items: Uint8Array[] = [];
  #ready: (() => void) | undefined;
  #space: (() => void) | undefined;
  #ended = false;

  get length(): number {
    return this.#items.length;
  }

  async put(item: Uint8Array): Promise<void> {
    this.#items.push(item);
    this.#ready?.();
    if (this.#items.length >= INBOX_MAX) await new Promise<void>((r) => (this.#space = r));
  }

  async take(): Promise<Uint8Array | null> {
    for (;;) {
      const m = this.#items.shift();
      if (m !== undefined) {
        const w = this.#space;
        this.#space = undefined;
        w?.();
        return m;
      }
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#ready = r));
      this.#ready = undefined;
    }
  }

  end(): void {
    this.#ended = true;
    this.#ready?.();
    this.#space?.();
  }
}

/**
 * A link over one session at a time: a pump reads the stream (DATA into the inbox; the rekey handshake,
 * HELLO_INIT/RESP/FIN and REKEYED, handled here), datagrams carry packets on direct links. A rekey runs the
 * session handshake again over the link: the opener sends INIT, the other side answers and switches its
 * sending keys on FIN, and the opener switches on REKEYED. Packets are opened with the newest keys first and the
 * two before them, so none sealed during the switch is refused.
 */
class SessionLink implements Link {
  readonly peer: Uint8Array;
  readonly path: LinkPath;
  readonly remote: string;
  refused = 0;
  rekeys = 0;
  readonly #io: FrameIo;
  readonly #close: () => void;
  readonly #conn: Deno.QuicConn | undefined;
  readonly #plan: RekeyPlan | undefined;
  #sealer: LinkSession;
  /** Sessions that may open what comes in, newest first (at most 3). */
  #openers: LinkSession[];
  #nextId = 0;
  readonly #reassembler = new Reassembler();
  readonly #inbox = new Inbox();
  /** Packets on a relayed link's stream (PACKET frames), apart from messages. */
  readonly #packets = new Inbox();
  #ended = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** As the opener: a rekey in flight (its handshake, then its new session). */
  #initiating: ReturnType<typeof initiate> | undefined;
  #next: LinkSession | undefined;
  #rekeyDone: Array<() => void> = [];
  /** As the other side: the answer to a rekey INIT, waiting for its FIN. */
  #responding: ReturnType<typeof respond> | undefined;

  constructor(
    io: FrameIo,
    close: () => void,
    session: LinkSession,
    remote: string,
    path: LinkPath,
    conn: Deno.QuicConn | undefined,
    plan: RekeyPlan | undefined,
  ) {
    this.#io = io;
    this.#close = close;
    this.#sealer = session;
    this.#openers = [session];
    this.peer = session.peer;
    this.remote = remote;
    this.path = path;
    this.#conn = conn;
    this.#plan = plan;
    void this.#pump();
    if (plan?.initiator === true) {
      this.#timer = setInterval(() => void this.rekey().catch(() => {}), plan.everyMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  #open(sealed: Uint8Array): Uint8Array | undefined {
    for (const s of this.#openers) {
      const plain = s.open(sealed);
      if (typeof plain !== "string") return plain;
      // A packet that another session's keys do not open is "forged" for it; replays fail the right one.
      if (plain !== "forged") break;
    }
    this.refused++;
    return undefined;
  }

  #use(session: LinkSession): void {
    if (toHex(session.peer) !== toHex(this.peer)) throw new HandshakeError("A rekey proved a different key");
    if (!this.#openers.includes(session)) this.#openers = [session, ...this.#openers].slice(0, 3);
  }

  async #pump(): Promise<void> {
    try {
      for (let f = await this.#io.read(); f !== null; f = await this.#io.read()) {
        if (f.type === 30) {
          const plain = this.#open(f.packet);
          if (plain !== undefined) await this.#inbox.put(plain);
        } else if (f.type === 31) {
          // A packet may be lost, as on any link: a full packet queue drops it rather than stall messages.
          const plain = this.#open(f.packet);
          if (plain !== undefined && this.#packets.length < INBOX_MAX) void this.#packets.put(plain);
        } else if (f.type === 1 && this.#plan !== undefined && !this.#plan.initiator) {
          this.#responding = respond(this.#plan.identity, f.init);
          await this.#io.write({ type: 2, resp: this.#responding.resp, observed: "" });
        } else if (f.type === 2 && this.#initiating !== undefined) {
          const { fin, session } = this.#initiating.onResponse(f.resp);
          this.#initiating = undefined;
          this.#use(session);
          this.#next = session;
          await this.#io.write({ type: 3, fin, purpose: 1 });
        } else if (f.type === 3 && this.#responding !== undefined) {
          const session = this.#responding.onFinish(f.fin);
          this.#responding = undefined;
          this.#use(session);
          this.#sealer = session;
          this.rekeys++;
          await this.#io.write({ type: 4 });
        } else if (f.type === 4 && this.#next !== undefined) {
          this.#sealer = this.#next;
          this.#next = undefined;
          this.rekeys++;
          for (const done of this.#rekeyDone.splice(0)) done();
        }
      }
    } catch {
      // A bad frame or a failed rekey ends the link; its owner reopens it.
    }
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    this.#inbox.end();
    this.#packets.end();
    this.#io.close();
    this.#close();
  }

  /** Runs a rekey now (the opener's side); resolves once both sides seal with the new keys. */
  rekey(): Promise<void> {
    const plan = this.#plan;
    if (plan === undefined || !plan.initiator) {
      return Promise.reject(new LinkError("Only the side that opened a link starts its rekeys"));
    }
    const done = new Promise<void>((resolve) => this.#rekeyDone.push(resolve));
    if (this.#initiating === undefined && this.#next === undefined) {
      this.#initiating = initiate(plan.identity, this.peer);
      this.#io.write({ type: 1, init: this.#initiating.init }).catch(() => this.#end());
    }
    return withTimeout(done, 10_000, "the peer did not answer the rekey");
  }

  send(m: Uint8Array): Promise<void> {
    return this.#io.write({ type: 30, packet: this.#sealer.seal(m) });
  }

  receive(): Promise<Uint8Array | null> {
    return this.#inbox.take();
  }

  // Direct links carry packets in QUIC datagrams (sealed whole, then cut to the datagram size the path allows);
  // relayed ones on the stream.
  async sendPacket(p: Uint8Array): Promise<void> {
    const conn = this.#conn;
    if (conn === undefined) return await this.#io.write({ type: 31, packet: this.#sealer.seal(p) });
    this.#nextId = (this.#nextId + 1) & 0xffff;
    for (const f of fragment(this.#sealer.seal(p), this.#nextId, conn.maxDatagramSize)) {
      await conn.sendDatagram(f);
    }
  }

  async receivePacket(): Promise<Uint8Array | null> {
    const conn = this.#conn;
    if (conn === undefined) return await this.#packets.take();
    for (;;) {
      let d: Uint8Array;
      try {
        d = await conn.readDatagram();
      } catch {
        return null;
      }
      const whole = this.#reassembler.push(d, performance.now());
      if (whole === undefined) continue;
      const plain = this.#open(whole);
      if (plain !== undefined) return plain;
    }
  }

  close(): void {
    this.#end();
  }
}

/** A token bucket over bytes: `take(n)` waits until n bytes may pass. */
class ByteBucket {
  #tokens: number;
  #at = performance.now();
  constructor(readonly rate: number, readonly burst: number) {
    this.#tokens = burst;
  }
  async take(n: number): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    this.#tokens -= n;
    if (this.#tokens < 0) await new Promise((r) => setTimeout(r, (-this.#tokens / this.rate) * 1000));
  }
}

/** Copies one stream into another at the bucket's pace; closes the writer at the end. */
async function pipe(
  from: ReadableStreamDefaultReader<Uint8Array>,
  to: WritableStreamDefaultWriter<Uint8Array>,
  bucket: ByteBucket,
  first: Uint8Array,
): Promise<void> {
  try {
    if (first.length > 0) {
      await bucket.take(first.length);
      await to.write(first);
    }
    for (;;) {
      const r = await from.read();
      if (r.done) break;
      await bucket.take(r.value.length);
      await to.write(r.value);
    }
    await to.close();
  } catch {
    to.abort().catch(() => {});
    from.cancel().catch(() => {});
  }
}

/** A running node (see the module doc). */
export class LinkNode {
  readonly #o: LinkNodeOptions;
  readonly #ep: Deno.QuicEndpoint;
  readonly #listener: Deno.QuicListener;
  /** Members of this rendezvous: key hex -> their control stream, connection and observed address. */
  readonly #members = new Map<string, { io: FrameIo; addr: string; conn: Deno.QuicConn; circuits: number }>();
  #circuits = 0;
  /** Data links accepted from peers, waiting for accept(). */
  readonly #accepted: Link[] = [];
  #acceptWaiter: ((l: Link) => void) | undefined;
  /** Links this node waits for from a given peer (it dialed only a punch). */
  readonly #awaitInbound = new Map<string, (l: Link) => void>();
  /** CONNECT answers awaited by key hex. */
  readonly #awaitConnect = new Map<string, (addr: string) => void>();
  #control: Control | undefined;
  /** Other rendezvous joined to reach peers registered there (found through the DHT), by key hex. */
  readonly #extra = new Map<string, Control>();
  /** The DHT: servers by distance, and the peer records this node keeps for others. */
  readonly #table: RoutingTable;
  readonly #store = new RecordStore();
  #reachable: boolean | undefined;
  #refresher: ReturnType<typeof setInterval> | undefined;
  readonly #dialBack: Deno.QuicEndpoint | undefined;
  readonly #awaitDialBack: Array<(reachable: boolean) => void> = [];
  /** This node's public address as the rendezvous saw it. */
  observed = "";
  #closed = false;
  /** Connections this node accepted that are still open. */
  #open = 0;

  private constructor(o: LinkNodeOptions) {
    this.#o = o;
    this.#table = new RoutingTable(o.identity.publicKey);
    this.#bootstrap();
    this.#ep = new Deno.QuicEndpoint({ hostname: o.hostname, port: o.port });
    this.#listener = this.#ep.listen({
      cert: o.cert,
      key: o.key,
      alpnProtocols: [LINK_ALPN],
      keepAliveInterval: KEEPALIVE_MS,
      maxIdleTimeout: IDLE_TIMEOUT_MS,
    });
    this.#dialBack = o.dialBackPort === undefined
      ? undefined
      : new Deno.QuicEndpoint({ hostname: o.hostname, port: o.dialBackPort });
  }

  /**
   * Asks the rendezvous to dial this node back from another address (AutoNAT): true when that reached it
   * (no NAT, or one that lets strangers in), false when only peers this node contacted first can.
   */
  async reachable(): Promise<boolean> {
    const control = this.#control;
    if (control === undefined) throw new LinkError("Cannot check reachability without a rendezvous");
    let waiter: (reachable: boolean) => void = () => {};
    const answer = new Promise<boolean>((resolve) => this.#awaitDialBack.push(waiter = resolve));
    try {
      await control.io.write({ type: 13 });
      this.#reachable = await withTimeout(
        answer,
        10_000,
        "the rendezvous did not answer the dial-back request",
      );
      return this.#reachable;
    } finally {
      // A request that timed out leaves the queue (answers carry no id: one at a time is the use).
      const at = this.#awaitDialBack.indexOf(waiter);
      if (at >= 0) this.#awaitDialBack.splice(at, 1);
    }
  }

  /** Starts a node; with a rendezvous configured it registers there first. */
  static async start(o: LinkNodeOptions): Promise<LinkNode> {
    const node = new LinkNode(o);
    void node.#acceptLoop();
    if (o.rendezvous) {
      try {
        await node.#join(o.rendezvous);
      } catch (error) {
        if (o.retryRendezvous !== true) {
          node.close();
          throw error;
        }
        // A service starts anyway and keeps trying: the rendezvous may come up later.
        void node.#rejoin(
          o.rendezvous,
          `rendezvous unreachable: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
    // The DHT: find the servers near this node, publish where it can be reached, and again every 10 minutes.
    if ((o.seeds ?? []).length > 0 || o.rendezvous !== undefined) {
      void node.refresh().catch(() => {});
      node.#refresher = setInterval(() => void node.refresh().catch(() => {}), 10 * 60_000);
      Deno.unrefTimer(node.#refresher);
    }
    return node;
  }

  /** Whether this node serves the DHT: it has no rendezvous (a public node), or strangers can reach it. */
  get #serving(): boolean {
    return this.#o.rendezvous === undefined || this.#reachable === true;
  }

  /** The DHT as this node sees it: servers in its table, records it keeps for others. */
  get dhtStats(): { contacts: number; records: number } {
    return { contacts: this.#table.size, records: this.#store.size };
  }

  /** One DHT request to `c` on a connection of its own (the handshake proves `c`'s key), with its answer. */
  async #ask(c: DhtContact, request: LinkFrame): Promise<LinkFrame> {
    const r = await withTimeout(this.#dial(c.addr, 3, c.key), 3000, `DHT node ${c.addr} did not answer`);
    try {
      if (this.observed === "") this.observed = r.observed;
      await r.io.write(request);
      const answer = await withTimeout(r.io.read(), 3000, `DHT node ${c.addr} did not answer`);
      if (answer === null) throw new LinkError(`DHT node ${c.addr} closed the stream`);
      this.#table.add(c, Date.now());
      return answer;
    } finally {
      r.io.close();
      r.conn.close({ closeCode: 0, reason: "" });
    }
  }

  /** Kademlia's iterative lookup: the K servers nearest to a DHT key that answered. */
  async #lookup(target: Uint8Array): Promise<DhtContact[]> {
    const self = toHex(this.publicKey);
    const known = new Map<string, DhtContact>();
    for (const c of this.#table.closest(target, K)) known.set(toHex(c.key), c);
    const asked = new Set<string>(), answered = new Set<string>();
    for (let round = 0; round < 16; round++) {
      const next = byDistance(target, [...known.values()]).slice(0, K).filter((c) => !asked.has(toHex(c.key)))
        .slice(0, ALPHA);
      if (next.length === 0) break;
      await Promise.all(next.map(async (c) => {
        asked.add(toHex(c.key));
        try {
          const f = await this.#ask(c, { type: 40, target, serving: this.#serving });
          if (f.type !== 41) return;
          answered.add(toHex(c.key));
          for (const n of f.nodes) {
            if (toHex(n.key) !== self && !known.has(toHex(n.key))) known.set(toHex(n.key), n);
          }
        } catch {
          this.#table.remove(c.key);
          known.delete(toHex(c.key));
        }
      }));
    }
    return byDistance(target, [...known.values()].filter((c) => answered.has(toHex(c.key)))).slice(0, K);
  }

  /** Puts the seeds and the rendezvous in the routing table (again, once lookups emptied it). */
  #bootstrap(): void {
    const now = Date.now();
    for (const seed of this.#o.seeds ?? []) this.#table.add(seed, now);
    const rdv = this.#o.rendezvous;
    if (rdv) this.#table.add({ key: rdv.publicKey, addr: addrText({ transport: "udp", ...rdv }) }, now);
  }

  /** Fills the routing table around this node and publishes its record to the servers nearest to it. */
  async refresh(): Promise<void> {
    if (this.#table.size === 0) this.#bootstrap();
    const near = await this.#lookup(dhtKeyOf(this.publicKey));
    const loc: PeerLocation | undefined = this.#serving && this.observed !== ""
      ? { direct: this.observed }
      : this.#control !== undefined
      ? { rendezvous: { key: fromHex(this.#control.key), addr: this.#control.addr } }
      : undefined;
    if (loc === undefined) return;
    const record = makePeerRecord(this.#o.identity, loc, Date.now());
    if (this.#serving) this.#store.put(record, Date.now());
    const bytes = encodePeerRecord(record);
    await Promise.all(near.map((c) => this.#ask(c, { type: 42, record: bytes }).catch(() => undefined)));
  }

  /** A peer's signed record: kept here, or from the DHT servers nearest to its key. */
  async findPeer(peer: Uint8Array): Promise<PeerRecord | undefined> {
    const here = this.#store.get(peer, Date.now());
    if (here !== undefined) return here;
    const want = toHex(peer);
    for (const c of await this.#lookup(dhtKeyOf(peer))) {
      const f = await this.#ask(c, { type: 44, key: peer }).catch(() => undefined);
      if (f?.type !== 45 || f.record.length === 0) continue;
      const r = decodePeerRecord(f.record);
      if (r !== undefined && toHex(r.key) === want) return r;
    }
    return undefined;
  }

  /** As a DHT server: answers a connection's queries (at most 64, idle 10 s). */
  async #dhtServe(io: FrameIo, peer: Uint8Array, observed: string): Promise<void> {
    for (let n = 0; n < 64; n++) {
      const f = await withTimeout(io.read(), 10_000, "idle").catch(() => null);
      if (f === null) break;
      const now = Date.now();
      if (f.type === 40) {
        if (f.serving) this.#table.add({ key: peer, addr: observed }, now);
        const nodes = this.#table.closest(f.target, MAX_NODES).filter((c) => toHex(c.key) !== toHex(peer));
        await io.write({ type: 41, nodes });
      } else if (f.type === 42) {
        const r = decodePeerRecord(f.record);
        await io.write({ type: 43, stored: r !== undefined && this.#store.put(r, now) });
      } else if (f.type === 44) {
        const r = this.#store.get(f.key, now);
        await io.write({ type: 45, record: r === undefined ? new Uint8Array(0) : encodePeerRecord(r) });
      } else break;
    }
    io.close();
  }

  /** Registers with the rendezvous (within 5 s); when that control link ends, the node registers again. */
  async #join(rdv: NonNullable<LinkNodeOptions["rendezvous"]>): Promise<void> {
    const r = await withTimeout(
      this.#dial(addrText({ transport: "udp", ...rdv }), 0, rdv.publicKey),
      5000,
      `the rendezvous at ${addrText({ transport: "udp", ...rdv })} did not answer`,
    );
    if (this.#closed) {
      r.conn.close({ closeCode: 0, reason: "" });
      return;
    }
    this.#control = {
      io: r.io,
      conn: r.conn,
      key: toHex(rdv.publicKey),
      addr: addrText({ transport: "udp", ...rdv }),
    };
    this.observed = r.observed;
    void this.#relayedIn(r.conn);
    void this.#controlLoop(r.io).catch(() => {}).finally(() => {
      r.io.close();
      r.conn.close({ closeCode: 0, reason: "" });
      if (this.#control?.io === r.io) this.#control = undefined;
      if (!this.#closed) void this.#rejoin(rdv, "rendezvous lost");
    });
  }

  /** Tries to register again, backing off from 0.5 s to 30 s, until it works or the node closes. */
  async #rejoin(rdv: NonNullable<LinkNodeOptions["rendezvous"]>, why: string): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      this.#o.onEvent?.(why, { attempt });
      await new Promise((ok) => setTimeout(ok, Math.min(30_000, 500 * 2 ** attempt)));
      if (this.#closed) return;
      try {
        await this.#join(rdv);
        this.#o.onEvent?.("rendezvous joined", { observed: this.observed });
        // Where this node is reachable may have changed with it: publish again.
        void this.refresh().catch(() => {});
        return;
      } catch (error) {
        why = `rendezvous unreachable: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  }

  /** Whether this node is registered with its rendezvous right now. */
  get joined(): boolean {
    return this.#control !== undefined;
  }

  /** As a rendezvous: its members now, and the links it relays. */
  get rendezvousStats(): { members: number; relayedLinks: number } {
    return { members: this.#members.size, relayedLinks: this.#circuits };
  }

  #rekeyPlan(initiator: boolean): RekeyPlan {
    return { identity: this.#o.identity, initiator, everyMs: this.#o.rekeyAfterMs ?? 120_000 };
  }

  /** The bound UDP address. */
  get addr(): Deno.NetAddr {
    return this.#ep.addr;
  }

  /** This node's identity key. */
  get publicKey(): Uint8Array {
    return this.#o.identity.publicKey;
  }

  /** The next link a peer opened to this node. */
  accept(): Promise<Link> {
    const l = this.#accepted.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve) => (this.#acceptWaiter = resolve));
  }

  /**
   * Opens a link to the peer with identity key `peer`, through the rendezvous (see the module doc): direct
   * when a punch works, else relayed (with `directOnly`, a failed punch is an error instead).
   */
  async connect(peer: Uint8Array, options: { readonly directOnly?: boolean } = {}): Promise<Link> {
    const id = toHex(peer);
    const control = this.#control;
    let via: Control | undefined = control;
    let addr = control === undefined ? "" : await this.#introduce(control, peer);
    if (addr === "") {
      // Not a member of our rendezvous (or none): where the peer's signed DHT record says it is.
      const record = await this.findPeer(peer).catch(() => undefined);
      if (record === undefined) {
        throw new LinkError(
          control !== undefined
            ? `The rendezvous does not know peer ${id.slice(0, 16)}… (not connected to it), nor does the DHT`
            : this.#o.rendezvous === undefined && this.#table.size === 0
            ? "Cannot connect to a peer by key without a rendezvous or DHT seeds"
            : `Peer ${id.slice(0, 16)}… is not registered with our rendezvous (yet) nor found in the DHT`,
        );
      }
      const loc = record.location;
      if ("direct" in loc) {
        const r = await withTimeout(
          this.#dial(loc.direct, 1, peer),
          this.#o.punchTimeoutMs ?? 4000,
          `no answer from ${loc.direct}`,
        );
        return new SessionLink(
          r.io,
          () => r.conn.close({ closeCode: 0, reason: "" }),
          r.session,
          loc.direct,
          "direct",
          r.conn,
          this.#rekeyPlan(true),
        );
      }
      via = await this.#controlAt(loc.rendezvous.key, loc.rendezvous.addr);
      addr = await this.#introduce(via, peer);
      if (addr === "") throw new LinkError(`Peer ${id.slice(0, 16)}… left the rendezvous its record names`);
    }
    try {
      return await this.#punch(peer, addr);
    } catch (error) {
      if (!(error instanceof LinkError) || options.directOnly === true || via === undefined) throw error;
      // No direct path (a symmetric NAT): through the rendezvous, still end to end.
      return await this.#relayTo(peer, error.message, via.conn);
    }
  }

  /** Asks a rendezvous for a peer's address (it tells the peer ours); "" when it does not know the peer. */
  async #introduce(control: Control, peer: Uint8Array): Promise<string> {
    const id = toHex(peer);
    const answer = new Promise<string>((resolve) => this.#awaitConnect.set(id, resolve));
    try {
      await control.io.write({ type: 10, target: peer });
      return await withTimeout(answer, 5000, `the rendezvous did not introduce ${id.slice(0, 16)}`);
    } finally {
      this.#awaitConnect.delete(id);
    }
  }

  /** Our control link to the rendezvous `key` at `addr`: the configured one, or another joined on demand. */
  async #controlAt(key: Uint8Array, addr: string): Promise<Control> {
    const hex = toHex(key);
    if (this.#control?.key === hex) return this.#control;
    const held = this.#extra.get(hex);
    if (held !== undefined) return held;
    if (this.#extra.size >= MAX_EXTRA_RENDEZVOUS) throw new LinkError("Too many other rendezvous joined");
    const r = await withTimeout(this.#dial(addr, 0, key), 5000, `the rendezvous at ${addr} did not answer`);
    const c: Control = { io: r.io, conn: r.conn, key: hex, addr };
    this.#extra.set(hex, c);
    void this.#relayedIn(r.conn);
    void this.#controlLoop(r.io).catch(() => {}).finally(() => {
      this.#extra.delete(hex);
      r.conn.close({ closeCode: 0, reason: "" });
    });
    return c;
  }

  /** A link through the rendezvous: the handshake runs over the relayed stream, so the relay sees ciphertext. */
  async #relayTo(peer: Uint8Array, why: string, conn: Deno.QuicConn): Promise<Link> {
    const io = new FrameIo(await conn.createBidirectionalStream());
    const hs = initiate(this.#o.identity, peer);
    await io.write({ type: 20, target: peer });
    await io.write({ type: 1, init: hs.init });
    const resp = await withTimeout(io.read(), 5000, "the relay did not answer");
    if (resp?.type === 12) throw new LinkError(`${why}; the relay refused: ${resp.reason}`);
    if (resp === null || resp.type !== 2) throw new LinkError(`${why}; the relayed handshake failed`);
    const { fin, session } = hs.onResponse(resp.resp);
    await io.write({ type: 3, fin, purpose: 1 });
    const r = conn.remoteAddr as Deno.NetAddr;
    return new SessionLink(
      io,
      () => {},
      session,
      `relay ${r.hostname}:${r.port}`,
      "relayed",
      undefined,
      this.#rekeyPlan(true),
    );
  }

  /** As a member: links relayed to this node (RELAY_IN, then the handshake as responder). */
  async #relayedIn(conn: Deno.QuicConn): Promise<void> {
    const streams = conn.incomingBidirectionalStreams.getReader();
    for (;;) {
      const next = await streams.read().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      const io = new FrameIo(next.value);
      void (async () => {
        const hello = await io.read();
        if (hello === null || hello.type !== 21) return io.close();
        const init = await io.read();
        if (init === null || init.type !== 1) return io.close();
        const hs = respond(this.#o.identity, init.init);
        await io.write({ type: 2, resp: hs.resp, observed: "relayed" });
        const fin = await io.read();
        if (fin === null || fin.type !== 3) return io.close();
        const session = hs.onFinish(fin.fin);
        // The relay names the opener; the handshake proves it.
        if (toHex(session.peer) !== toHex(hello.from)) return io.close();
        this.#deliver(
          new SessionLink(io, () => {}, session, "relayed", "relayed", undefined, this.#rekeyPlan(false)),
        );
      })().catch(() => io.close());
    }
  }

  #deliver(link: Link): void {
    if (this.#acceptWaiter !== undefined) {
      const w = this.#acceptWaiter;
      this.#acceptWaiter = undefined;
      w(link);
    } else this.#accepted.push(link);
  }

  /** Both sides dial; the link is the connection dialed by the lower key, the other dial only opens the NAT. */
  async #punch(peer: Uint8Array, addr: string): Promise<Link> {
    const id = toHex(peer);
    const timeout = this.#o.punchTimeoutMs ?? 4000;
    const mine = toHex(this.publicKey) < id;
    if (mine) {
      const r = await this.#staggeredDial(
        addr,
        peer,
        timeout,
        `no direct path to ${id.slice(0, 16)}… at ${addr} (a symmetric NAT on the way?)`,
      );
      return new SessionLink(
        r.io,
        () => r.conn.close({ closeCode: 0, reason: "" }),
        r.session,
        addr,
        "direct",
        r.conn,
        this.#rekeyPlan(true),
      );
    }
    const inbound = new Promise<Link>((resolve) => this.#awaitInbound.set(id, resolve));
    this.#dial(addr, 2, peer).then((r) => r.conn.close({ closeCode: 0, reason: "" }), () => {});
    try {
      return await withTimeout(
        inbound,
        timeout,
        `no direct path from ${id.slice(0, 16)}… at ${addr} (a symmetric NAT on the way?)`,
      );
    } finally {
      this.#awaitInbound.delete(id);
    }
  }

  /**
   * The punching dial: a first attempt at once, more at 150 and 400 ms. The first Initial often reaches the
   * peer's NAT before the peer's own punch has opened it and is dropped; QUIC would resend it only after about
   * a second. The first attempt to connect does the handshake; the others close without one, so the peer gets
   * one link.
   */
  async #staggeredDial(
    addr: string,
    peer: Uint8Array,
    timeoutMs: number,
    why: string,
  ): Promise<{ conn: Deno.QuicConn; io: FrameIo; session: LinkSession; observed: string }> {
    // Set once an attempt connects or the time is up: a later connection closes without a handshake.
    let won = false;
    const attempt = async (delayMs: number) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (won) throw new LinkError("another attempt connected");
      return await this.#dial(addr, 1, peer, this.#ep, () => {
        if (won) return false;
        won = true;
        return true;
      });
    };
    try {
      return await withTimeout(Promise.any([0, 150, 400].map(attempt)), timeoutMs, why);
    } catch (error) {
      won = true;
      if (!(error instanceof AggregateError)) throw error;
      throw error.errors.find((x) => x instanceof LinkError && x.message !== "another attempt connected") ??
        error.errors[0];
    }
  }

  async #dial(
    addr: string,
    purpose: Purpose,
    expected: Uint8Array,
    endpoint: Deno.QuicEndpoint = this.#ep,
    /** Asked once connected: false closes the connection before any handshake. */
    proceed?: () => boolean,
  ): Promise<{ conn: Deno.QuicConn; io: FrameIo; session: LinkSession; observed: string }> {
    const { hostname, port } = splitAddr(addr);
    const conn = await Deno.connectQuic({
      endpoint,
      hostname,
      port,
      alpnProtocols: [LINK_ALPN],
      caCerts: [...this.#o.caCerts],
      serverName: this.#o.serverName,
      // Keep-alives hold the NATs' mappings open (many expire UDP after 30 s) and idle links alive.
      keepAliveInterval: KEEPALIVE_MS,
      maxIdleTimeout: IDLE_TIMEOUT_MS,
    });
    if (proceed !== undefined && !proceed()) {
      conn.close({ closeCode: 0, reason: "" });
      throw new LinkError("another attempt connected");
    }
    try {
      const io = new FrameIo(await conn.createBidirectionalStream());
      const hs = initiate(this.#o.identity, expected);
      await io.write({ type: 1, init: hs.init });
      const resp = await io.read();
      if (resp === null || resp.type !== 2) throw new LinkError("The peer did not answer the handshake");
      const { fin, session } = hs.onResponse(resp.resp);
      await io.write({ type: 3, fin, purpose });
      return { conn, io, session, observed: resp.observed };
    } catch (error) {
      conn.close({ closeCode: 1, reason: "handshake failed" });
      throw error;
    }
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.QuicConn;
      try {
        const incoming = await this.#listener.incoming();
        // Over the cap, refused before any TLS work (RFC 9000 §5.2.2: CONNECTION_REFUSED).
        if (this.#open >= (this.#o.maxConnections ?? 1000)) {
          incoming.refuse();
          continue;
        }
        conn = await incoming.accept();
      } catch {
        if (this.#closed) return;
        continue;
      }
      this.#open++;
      conn.closed.finally(() => this.#open--).catch(() => {});
      void this.#serve(conn).catch(() => conn.close({ closeCode: 1, reason: "handshake failed" }));
    }
  }

  async #serve(conn: Deno.QuicConn): Promise<void> {
    const streams = conn.incomingBidirectionalStreams.getReader();
    const first = await withTimeout(streams.read(), 5000, "no handshake stream");
    if (first.done) return;
    const io = new FrameIo(first.value);
    const init = await io.read();
    if (init === null || init.type !== 1) throw new HandshakeError("The dialer did not start the handshake");
    const hs = respond(this.#o.identity, init.init);
    const observed = addrText(conn.remoteAddr);
    await io.write({ type: 2, resp: hs.resp, observed });
    const fin = await io.read();
    if (fin === null || fin.type !== 3) throw new HandshakeError("The dialer did not finish the handshake");
    const session = hs.onFinish(fin.fin);
    const id = toHex(session.peer);
    if (fin.purpose === 0) {
      this.#members.set(id, { io, addr: observed, conn, circuits: 0 });
      void this.#relayStreams(id, streams);
      await this.#memberLoop(id, io);
    } else if (fin.purpose === 1) {
      const link = new SessionLink(
        io,
        () => conn.close({ closeCode: 0, reason: "" }),
        session,
        observed,
        "direct",
        conn,
        this.#rekeyPlan(false),
      );
      const waiting = this.#awaitInbound.get(id);
      if (waiting !== undefined) waiting(link);
      else this.#deliver(link);
    } else if (fin.purpose === 3) {
      await this.#dhtServe(io, session.peer, observed);
      conn.close({ closeCode: 0, reason: "" });
    } else {
      conn.close({ closeCode: 0, reason: "" });
    }
  }

  /** As a relay: a member's new streams that start with RELAY_OPEN are joined to a stream to the target. */
  async #relayStreams(
    id: string,
    streams: ReadableStreamDefaultReader<Deno.QuicBidirectionalStream>,
  ): Promise<void> {
    for (;;) {
      const next = await streams.read().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      void this.#relay(id, next.value).catch(() => {});
    }
  }

  async #relay(id: string, stream: Deno.QuicBidirectionalStream): Promise<void> {
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    const refuse = async (reason: string): Promise<void> => {
      await writer.write(encodeFrame({ type: 12, reason })).catch(() => {});
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
    };
    // The header, read as a frame; whatever came after it is forwarded as bytes.
    const decoder = new FrameDecoder();
    decoder.stopAfterFirst = true;
    let header: LinkFrame | undefined;
    while (header === undefined) {
      const r = await withTimeout(reader.read(), 5000, "no relay header");
      if (r.done) return;
      header = decoder.push(r.value)[0];
      if (decoder.buffered > 1024) return await refuse("bad relay header");
    }
    if (header.type !== 20) return await refuse("a stream on a control link must start with RELAY_OPEN");
    const from = this.#members.get(id);
    const to = this.#members.get(toHex(header.target));
    if (from === undefined || to === undefined) {
      return await refuse("the target is not connected to this relay");
    }
    const perMember = this.#o.relayCircuitsPerMember ?? 8;
    if (
      this.#circuits >= (this.#o.relayCircuits ?? 64) || from.circuits >= perMember ||
      to.circuits >= perMember
    ) {
      return await refuse("too many relayed links");
    }
    this.#circuits++;
    from.circuits++;
    to.circuits++;
    try {
      const out = await to.conn.createBidirectionalStream();
      const outWriter = out.writable.getWriter();
      await outWriter.write(encodeFrame({ type: 21, from: fromHex(id) }));
      const rate = this.#o.relayBytesPerSecond ?? 1 << 20;
      await Promise.all([
        pipe(reader, outWriter, new ByteBucket(rate, Math.min(rate, 64 << 10)), decoder.takeRest()),
        pipe(
          out.readable.getReader(),
          writer,
          new ByteBucket(rate, Math.min(rate, 64 << 10)),
          new Uint8Array(0),
        ),
      ]);
    } finally {
      this.#circuits--;
      from.circuits--;
      to.circuits--;
    }
  }

  /** As a rendezvous: introduces members to each other. */
  async #memberLoop(id: string, io: FrameIo): Promise<void> {
    try {
      for (let f = await io.read(); f !== null; f = await io.read()) {
        if (f.type === 13) {
          void this.#dialBackTo(id, io);
          continue;
        }
        if (f.type !== 10) continue;
        const me = this.#members.get(id);
        const target = this.#members.get(toHex(f.target));
        if (me === undefined || target === undefined) {
          // An empty address: the rendezvous does not know that peer.
          await io.write({ type: 11, peer: f.target, addr: "" });
          continue;
        }
        // The addresses the members' connections come from now: QUIC follows a member whose NAT moved it.
        await target.io.write({ type: 11, peer: fromHex(id), addr: currentAddr(me) });
        await io.write({ type: 11, peer: f.target, addr: currentAddr(target) });
      }
    } finally {
      this.#members.delete(id);
    }
  }

  /** As a rendezvous: dials a member back from the second endpoint and tells it whether that worked. */
  async #dialBackTo(id: string, io: FrameIo): Promise<void> {
    const ep = this.#dialBack;
    const member = this.#members.get(id);
    let reachable = false;
    if (ep !== undefined && member !== undefined) {
      // The member must prove its key: reaching some host at that address is not reaching the member.
      const dial = this.#dial(currentAddr(member), 2, fromHex(id), ep).then((r) => {
        r.conn.close({ closeCode: 0, reason: "" });
        return true;
      });
      reachable = await withTimeout(dial, 3000, "dial-back timed out").catch(() => false);
    }
    await io.write({ type: 14, reachable }).catch(() => {});
  }

  /** As a member: introductions from the rendezvous (answers to ours, and others who ask for us). */
  async #controlLoop(io: FrameIo): Promise<void> {
    for (let f = await io.read(); f !== null; f = await io.read()) {
      if (f.type === 14) {
        this.#awaitDialBack.shift()?.(f.reachable);
        continue;
      }
      if (f.type !== 11) continue;
      const id = toHex(f.peer);
      const waiting = this.#awaitConnect.get(id);
      if (waiting !== undefined) {
        this.#awaitConnect.delete(id);
        waiting(f.addr);
      } else {
        // Someone asked for us: punch towards them; their link arrives through accept() or our dial.
        // (Without a direct path the opener relays; that link arrives through RELAY_IN.)
        void this.#punch(f.peer, f.addr).then((link) => this.#deliver(link), () => {});
      }
    }
  }

  /** Closes every connection and the endpoint. */
  close(): void {
    this.#closed = true;
    this.#control?.io.close();
    for (const c of this.#extra.values()) c.io.close();
    clearInterval(this.#refresher);
    for (const ep of [this.#ep, this.#dialBack]) {
      try {
        ep?.close();
      } catch {
        // closed
      }
    }
  }
}

/** A member's address as its connection is seen now (it moves when the member's NAT rebinds). */
function currentAddr(m: { readonly conn: Deno.QuicConn; readonly addr: string }): string {
  try {
    return addrText(m.conn.remoteAddr);
  } catch {
    return m.addr;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => timer = setTimeout(() => reject(new LinkError(what)), ms)),
  ]).finally(() => clearTimeout(timer));
}
