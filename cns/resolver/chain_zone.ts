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
import { type ChainName, ChainNameIndex } from "../../chain/mod.ts";

export {
  chainFeedFromClient,
  type ChainName,
  type ChainNameFeed,
  ChainNameIndex,
  type ChainNameIndexOptions,
  namesTouchedByBlock,
} from "../../chain/mod.ts";
import type { DnsQuestion, DnsRecord } from "../proto/message.ts";
import { RCODE } from "../proto/message.ts";
import { normalizeName } from "../proto/name.ts";
import type { ResolveResult } from "./resolver.ts";
import type { Zone } from "./zone.ts";
import type { ZoneSigner } from "./dnssec.ts";

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

  /** The index's version: answers cached from this zone are valid while it stays the same. */
  version(): number {
    return this.#index.version;
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
