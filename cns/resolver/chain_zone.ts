/**
 * `.ghost` and `.zns` answered from the chain's name registry, out of memory.
 *
 * {@linkcode ChainNameIndex} keeps every live name's records in memory, fed by a {@linkcode ChainNameFeed}:
 * at start it lists every name and resolves each (one snapshot at the chain's head), then follows
 * StreamBlocks from the next height; for every block it re-resolves the names that block's transactions touch
 * (register, update, transfer, renew), so an answer follows a new block as soon as the block arrives. Names
 * expire by height: past its expiry height a name is NXDOMAIN (during the chain's grace period only renewal is
 * possible, so it does not resolve either). Until the index has caught up once, the zones answer SERVFAIL
 * rather than a false NXDOMAIN; after a lost stream they keep answering from memory while reconnecting with
 * backoff from the last height seen.
 *
 * {@linkcode ChainZone} is the {@linkcode Zone} over the index for one TLD; the record mapping is in
 * cns/README.md ("GHOST / ZNS / ETH record mapping"). The feed's adapter over chain/'s BlockchainClient is
 * {@linkcode chainFeedFromClient}; it reaches the chain through the cns worker's GhostBridge node.
 *
 * @module
 */
import { formatIp } from "../../core/mod.ts";
import {
  type BlockchainClient,
  decodeBlock,
  decodeBlockResponse,
  decodeResolvedName,
  decodeSignedTransaction,
  type NameRecords,
} from "../../chain/mod.ts";
import type { DnsQuestion, DnsRecord } from "../proto/message.ts";
import { RCODE } from "../proto/message.ts";
import { normalizeName } from "../proto/name.ts";
import type { ResolveResult } from "./resolver.ts";
import type { Zone } from "./zone.ts";
import type { ZoneSigner } from "./dnssec.ts";

/** One name as the chain holds it. */
export interface ChainName {
  readonly records: NameRecords;
  /** .zns: the 20-byte contract address; empty otherwise. */
  readonly znsContract: Uint8Array;
  /** Last height at which the name resolves. */
  readonly expiry: bigint;
}

/** What the index needs from the chain (injected; the worker wires it to the bridge). */
export interface ChainNameFeed {
  /** The chain's head height. */
  headHeight(signal: AbortSignal): Promise<number>;
  /** One page of every registered name, after `startAfter`; `next` is "" at the end. */
  listNames(startAfter: string, signal: AbortSignal): Promise<{ names: string[]; next: string }>;
  /** A name's current entry, or `undefined` when it does not exist. */
  resolveName(name: string, signal: AbortSignal): Promise<ChainName | undefined>;
  /** Blocks from `fromHeight`, then live: each block's height and the names its transactions touch. */
  streamBlocks(fromHeight: number, signal: AbortSignal): AsyncIterable<{ height: number; names: string[] }>;
}

/** Options of {@linkcode ChainNameIndex}. */
export interface ChainNameIndexOptions {
  /** Delay before the first reconnect; doubles up to `maxBackoffMs`. Default 250. */
  readonly backoffMs?: number;
  /** Default 10,000. */
  readonly maxBackoffMs?: number;
  /** Reports follow problems (lost stream, failed resolve) for logs. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/** The in-memory registry mirror (see the module doc). */
export class ChainNameIndex {
  readonly #feed: ChainNameFeed;
  readonly #opts: ChainNameIndexOptions;
  readonly #names = new Map<string, ChainName>();
  readonly #abort = new AbortController();
  #height = 0;
  #ready = false;
  #running: Promise<void> | undefined;
  readonly #readyWaiters: Array<() => void> = [];

  /** Builds over `feed`; call {@linkcode ChainNameIndex.start}. */
  constructor(feed: ChainNameFeed, opts: ChainNameIndexOptions = {}) {
    this.#feed = feed;
    this.#opts = opts;
  }

  /** Whether the index has caught up with the chain at least once. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The last block height applied. */
  get height(): number {
    return this.#height;
  }

  /** Names held (live or expired but not yet removed). */
  get size(): number {
    return this.#names.size;
  }

  /** A live name (not past its expiry at the current height). */
  get(name: string): ChainName | undefined {
    const e = this.#names.get(name);
    return e !== undefined && BigInt(this.#height) <= e.expiry ? e : undefined;
  }

  /** Starts following (idempotent). */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Resolves once the index is ready (or rejects after `timeoutMs`). */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Chain name index not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops following. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => {});
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let delay = this.#opts.backoffMs ?? 250;
    const maxDelay = this.#opts.maxBackoffMs ?? 10_000;
    let snapshotTaken = false;
    while (!signal.aborted) {
      try {
        if (!snapshotTaken) {
          await this.#snapshot(signal);
          snapshotTaken = true;
        }
        for await (const block of this.#feed.streamBlocks(this.#height + 1, signal)) {
          await this.#refresh(block.names, signal);
          this.#height = Math.max(this.#height, block.height);
          delay = this.#opts.backoffMs ?? 250;
        }
        if (signal.aborted) return;
        this.#opts.onEvent?.("chain stream ended", { height: this.#height });
      } catch (error) {
        if (signal.aborted) return;
        this.#opts.onEvent?.("chain feed failed", {
          height: this.#height,
          error: error instanceof Error ? error.message : String(error),
          retryInMs: delay,
        });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      delay = Math.min(maxDelay, delay * 2);
    }
  }

  /** Every name at the head, then ready. */
  async #snapshot(signal: AbortSignal): Promise<void> {
    const head = await this.#feed.headHeight(signal);
    const all: string[] = [];
    let after = "";
    for (;;) {
      const page = await this.#feed.listNames(after, signal);
      all.push(...page.names);
      if (page.next === "" || page.names.length === 0) break;
      after = page.next;
    }
    this.#names.clear();
    await this.#refresh(all, signal);
    this.#height = head;
    this.#ready = true;
    for (const w of this.#readyWaiters.splice(0)) w();
    this.#opts.onEvent?.("chain names loaded", { height: head, names: this.#names.size });
  }

  async #refresh(names: readonly string[], signal: AbortSignal): Promise<void> {
    for (const name of new Set(names)) {
      const entry = await this.#feed.resolveName(name, signal);
      if (entry === undefined) this.#names.delete(name);
      else this.#names.set(name, entry);
    }
  }
}

/** TTL of chain answers: short, because a new block may change them. */
export const CHAIN_ANSWER_TTL = 30;

function ipv4Text(b: Uint8Array): string {
  return Array.from(b).join(".");
}

/** RFC 5952 text form of a 16-byte IPv6 address (the shared formatter of `core/`). */
export function ipv6Text(b: Uint8Array): string {
  return formatIp(b);
}

/** The DNS records of a chain name (GHOST / ZNS mapping of cns/README.md). */
export function chainNameRecords(owner: string, entry: ChainName, ttl = CHAIN_ANSWER_TTL): DnsRecord[] {
  const r = entry.records;
  const out: DnsRecord[] = [];
  const rec = (type: string, data: unknown): void => {
    out.push({ name: owner, type, class: "IN", ttl, data });
  };
  if (r.cname !== "") {
    // RFC 1034 §3.6.2: a CNAME owner holds nothing else (the chain refuses records beside a CNAME).
    rec("CNAME", r.cname);
    return out;
  }
  for (const a of r.aaaa) rec("AAAA", ipv6Text(a));
  for (const a of r.a) rec("A", ipv4Text(a));
  for (const t of r.txt) rec("TXT", t);
  for (const m of r.mx) rec("MX", { preference: m.preference, exchange: m.exchange });
  for (const s of r.srv) {
    rec("SRV", { priority: s.priority, weight: s.weight, port: s.port, target: s.target });
  }
  if (entry.znsContract.length > 0) {
    rec("TXT", `zns=0x${Array.from(entry.znsContract, (x) => x.toString(16).padStart(2, "0")).join("")}`);
  }
  return out;
}

/** The zone of one chain TLD (`ghost` or `zns`) over a {@linkcode ChainNameIndex}. */
export class ChainZone implements Zone {
  /** `ghost` or `zns`. */
  readonly origin: string;
  readonly #index: ChainNameIndex;
  readonly #signer: ZoneSigner | undefined;

  /** Answers for names under `origin` from `index`; signs for DO queries when a `signer` is given. */
  constructor(origin: "ghost" | "zns", index: ChainNameIndex, signer?: ZoneSigner) {
    this.origin = origin;
    this.#index = index;
    this.#signer = signer;
  }

  /** Answers a question for a name in this zone (DNSSEC-signed when the client set DO and a signer exists). */
  lookup(
    question: DnsQuestion,
    _signal?: AbortSignal,
    opts?: { readonly dnssecOk?: boolean },
  ): ResolveResult {
    const signer = this.#signer;
    if (signer === undefined || opts?.dnssecOk !== true || !this.#index.ready) return this.#lookup(question);
    const qtype = question.type.toUpperCase();
    const name = normalizeName(question.name);
    if (name === this.origin) {
      if (qtype === "DNSKEY") {
        return signer.signResult(this.#result(RCODE.NOERROR, [signer.dnskey], []), name, []);
      }
      return signer.signResult(this.#lookup(question), name, ["SOA", "DNSKEY"]);
    }
    const entry = this.#index.get(name);
    const types = entry ? [...new Set(chainNameRecords(name, entry).map((r) => r.type))] : [];
    return signer.signResult(this.#lookup(question), question.name.replace(/\.$/, ""), types);
  }

  #lookup(question: DnsQuestion): ResolveResult {
    if (!this.#index.ready) return this.#result(RCODE.SERVFAIL, [], []);
    const qtype = question.type.toUpperCase();
    const name = normalizeName(question.name);
    if (name === this.origin) {
      return qtype === "SOA" || qtype === "ANY"
        ? this.#result(RCODE.NOERROR, [this.#soa()], [])
        : this.#result(RCODE.NOERROR, [], [this.#negativeSoa()]);
    }
    // Only second-level names exist on chain (chain/names.ts): deeper names and unknown names are NXDOMAIN.
    const entry = this.#index.get(name);
    if (entry === undefined) return this.#result(RCODE.NXDOMAIN, [], [this.#negativeSoa()]);
    const records = chainNameRecords(question.name.replace(/\.$/, ""), entry);
    const cname = records.find((r) => r.type === "CNAME");
    if (cname !== undefined && qtype !== "CNAME" && qtype !== "ANY") {
      const answers = [cname];
      const target = normalizeName(String(cname.data));
      const next = target !== name && target.endsWith(`.${this.origin}`)
        ? this.#index.get(target)
        : undefined;
      if (next !== undefined) {
        answers.push(...chainNameRecords(target, next).filter((r) => r.type === qtype));
      }
      return this.#result(RCODE.NOERROR, answers, []);
    }
    const matching = qtype === "ANY" ? records : records.filter((r) => r.type === qtype);
    if (matching.length === 0) return this.#result(RCODE.NOERROR, [], [this.#negativeSoa()]);
    return this.#result(RCODE.NOERROR, matching, []);
  }

  #soa(): DnsRecord {
    return {
      name: this.origin,
      type: "SOA",
      class: "IN",
      ttl: CHAIN_ANSWER_TTL,
      data: {
        mname: `ns.${this.origin}`,
        rname: `hostmaster.${this.origin}`,
        // The serial is the chain height the answers come from (wraps at 2^32 as RFC 1982 allows).
        serial: this.#index.height % 2 ** 32,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: CHAIN_ANSWER_TTL,
      },
    };
  }

  /** RFC 2308 §3: negative answers carry the SOA. */
  #negativeSoa(): DnsRecord {
    return this.#soa();
  }

  #result(rcode: number, answers: DnsRecord[], authorities: DnsRecord[]): ResolveResult {
    return { rcode, answers, authorities, additionals: [], authoritative: true, source: "zone" };
  }
}

const NAME_BODIES = new Set(["name_register", "name_update", "name_transfer", "name_renew"]);

/** Names a block's transactions touch (bounded by the block's own limits). */
export function namesTouchedByBlock(blockBytes: Uint8Array): string[] {
  const names: string[] = [];
  for (const txBytes of decodeBlock(blockBytes).transactions) {
    const body = decodeSignedTransaction(txBytes).tx.body;
    if (NAME_BODIES.has(body.kind) && "name" in body) names.push(body.name);
  }
  return names;
}

/** A {@linkcode ChainNameFeed} over chain/'s BlockchainClient (through a bridge). */
export function chainFeedFromClient(client: BlockchainClient): ChainNameFeed {
  return {
    headHeight: async (signal) => (await client.status(signal)).height,
    listNames: (startAfter, signal) => client.listNames("", { startAfter, limit: 1000, signal }),
    resolveName: async (name, signal) => {
      const r = decodeResolvedName(await client.resolveName(name, signal));
      return r.found ? { records: r.records, znsContract: r.znsContract, expiry: r.expiry } : undefined;
    },
    streamBlocks: async function* (fromHeight, signal) {
      for await (const bytes of client.streamBlocks(fromHeight, signal)) {
        const resp = decodeBlockResponse(bytes);
        yield { height: resp.height, names: namesTouchedByBlock(resp.block) };
      }
    },
  };
}
