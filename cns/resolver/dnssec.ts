/**
 * Online DNSSEC signing of a zone with Ed25519 (algorithm 15, RFC 8080), so `.ghost` answers can be verified
 * by any validating resolver given the zone's trust anchor.
 *
 * - One combined signing key (CSK): a DNSKEY with flags 257 (zone key + secure entry point), protocol 3,
 *   algorithm 15 (RFC 4034 §2). Its trust anchor is the DNSKEY itself (`trust-anchors { ghost. static-key ...}`)
 *   or its DS (SHA-256 digest, RFC 4509), and it is published on chain (cns/README.md "Trust chain").
 * - RRSIGs are computed on the fly over the canonical form of each RRset (RFC 4034 §6: lowercase owner and
 *   embedded names, original TTL, RRs sorted by RDATA), valid from one hour ago for `validityS` (default 7 days),
 *   and cached until half their validity has passed.
 * - Authenticated denial uses minimal NSEC records generated on demand ("black lies", the approach of RFC 4470
 *   with its NSEC form, as CDNs deploy it): a name that does not exist is answered NOERROR with an NSEC at the
 *   name whose next name is `\000.<name>` (one zero byte label) and whose bitmap holds only RRSIG and NSEC; a missing type at an
 *   existing name gets the same NSEC listing the types the name has. No zone walking is possible, and no
 *   wildcard proof is needed because the NSEC covers exactly the name asked.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { Buffer } from "node:buffer";
import { dnsPacket } from "../proto/_dns_packet.ts";
import type { DnsRecord } from "../proto/message.ts";
import { RCODE } from "../proto/message.ts";
import type { ResolveResult } from "./resolver.ts";

export { CHAIN_ZONES, zoneKeySeed } from "./dnssec_anchors.ts";

/** The chain name whose TXT records anchor the zone keys: `<zone>-dnskey=<base64 Ed25519 public key>`. */
export const DNS_ANCHOR_NAME = "dns.ghost";

/** Whether `txt` (the anchor name's TXT records) anchors `signer`'s key for its zone. */
export function anchoredOnChain(signer: ZoneSigner, txt: readonly string[]): boolean {
  return txt.includes(`${signer.origin}-dnskey=${btoa(String.fromCharCode(...signer.publicKey))}`);
}

/** DNSSEC algorithm number of Ed25519 (RFC 8080). */
export const ALGORITHM_ED25519 = 15;
/** DNSKEY flags: zone key (bit 7) + secure entry point (bit 15). */
export const CSK_FLAGS = 257;

/** Options of {@linkcode ZoneSigner}. */
export interface ZoneSignerOptions {
  /** Signature validity, seconds. Default 7 days. */
  readonly validityS?: number;
  /** TTL of the DNSKEY RRset. Default 3600. */
  readonly dnskeyTtl?: number;
  /** Clock (ms). */
  readonly now?: () => number;
}

/** The wire RDATA of one record (after owner, type, class, TTL and RDLENGTH). */
function rdataOf(wire: Uint8Array): Uint8Array {
  let i = 0;
  while (i < wire.length && wire[i] !== 0) i += (wire[i] ?? 0) + 1;
  return wire.subarray(i + 1 + 10);
}

function lower(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

/** A copy of `r` in canonical form (RFC 4034 §6.2): lowercase owner and embedded domain names. */
function canonical(r: DnsRecord, ttl: number): DnsRecord {
  let data = r.data;
  if (r.type === "CNAME" && typeof data === "string") data = lower(data);
  if (r.type === "MX" && typeof data === "object" && data !== null) {
    data = { ...data, exchange: lower(String((data as { exchange: unknown }).exchange)) };
  }
  if (r.type === "SRV" && typeof data === "object" && data !== null) {
    data = { ...data, target: lower(String((data as { target: unknown }).target)) };
  }
  if (r.type === "SOA" && typeof data === "object" && data !== null) {
    const d = data as { mname: unknown; rname: unknown };
    data = { ...data, mname: lower(String(d.mname)), rname: lower(String(d.rname)) };
  }
  return { name: lower(r.name), type: r.type, class: "IN", ttl, data };
}

function encodeRecord(r: DnsRecord): Uint8Array {
  return new Uint8Array(dnsPacket.answer.encode(r));
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return a.length - b.length;
}

/** RFC 4034 Appendix B key tag of DNSKEY RDATA. */
export function keyTag(rdata: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += (i & 1) ? (rdata[i] ?? 0) : (rdata[i] ?? 0) << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

function labelCount(owner: string): number {
  const n = lower(owner);
  return n === "" ? 0 : n.split(".").filter((l) => l !== "*").length;
}

/** Signs a zone's answers (see the module doc). */
export class ZoneSigner {
  /** The zone origin, lowercase, no trailing dot. */
  readonly origin: string;
  /** The DNSKEY record of the zone. */
  readonly dnskey: DnsRecord;
  /** Its key tag. */
  readonly keyTag: number;
  readonly #secret: Uint8Array;
  readonly #validityS: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { rrsig: DnsRecord; refreshAt: number }>();

  /** Builds the signer from a 32-byte Ed25519 seed. */
  constructor(origin: string, seed: Uint8Array, opts: ZoneSignerOptions = {}) {
    if (seed.length !== 32) throw new RangeError(`Cannot use zone key: seed is ${seed.length} bytes, not 32`);
    this.origin = lower(origin);
    this.#secret = seed.slice();
    this.#validityS = opts.validityS ?? 7 * 86_400;
    this.#now = opts.now ?? Date.now;
    this.dnskey = {
      name: this.origin,
      type: "DNSKEY",
      class: "IN",
      ttl: opts.dnskeyTtl ?? 3600,
      data: { flags: CSK_FLAGS, algorithm: ALGORITHM_ED25519, key: Buffer.from(ed25519.getPublicKey(seed)) },
    };
    this.keyTag = keyTag(rdataOf(encodeRecord(this.dnskey)));
  }

  /** The raw 32-byte public key. */
  get publicKey(): Uint8Array {
    return new Uint8Array((this.dnskey.data as { key: Uint8Array }).key);
  }

  /** The DS RDATA fields (SHA-256 digest, RFC 4509) of the key. */
  ds(): { keyTag: number; algorithm: number; digestType: number; digest: string } {
    const owner = encodeRecord({ ...this.dnskey, name: this.origin });
    const rdata = rdataOf(owner);
    const nameWire = owner.subarray(0, owner.length - rdata.length - 10);
    const input = new Uint8Array(nameWire.length + rdata.length);
    input.set(nameWire);
    input.set(rdata, nameWire.length);
    const digest = Array.from(sha256(input), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
    return { keyTag: this.keyTag, algorithm: ALGORITHM_ED25519, digestType: 2, digest };
  }

  /** A BIND / unbound trust anchor line for the zone (a static DNSKEY). */
  trustAnchor(): string {
    const key = btoa(String.fromCharCode(...this.publicKey));
    return `trust-anchors { ${this.origin}. static-key ${CSK_FLAGS} 3 ${ALGORITHM_ED25519} "${key}"; };`;
  }

  /** The RRSIG over one RRset (all records share owner, type and class). */
  sign(rrset: readonly DnsRecord[]): DnsRecord {
    const first = rrset[0];
    if (first === undefined) throw new RangeError("Cannot sign an empty RRset");
    const ttl = Math.min(...rrset.map((r) => r.ttl ?? 0));
    const wires = rrset.map((r) => encodeRecord(canonical(r, ttl)));
    // RFC 4034 §6.3: sorted by RDATA; duplicates removed.
    const sorted = wires.map((w) => ({ w, rd: rdataOf(w) })).sort((a, b) => compare(a.rd, b.rd))
      .filter((x, i, all) => i === 0 || compare(x.rd, all[i - 1]?.rd ?? new Uint8Array(0)) !== 0);
    const key = `${lower(first.name)}|${first.type}|${
      sorted.map((x) => Array.from(x.rd).join(",")).join(";")
    }|${ttl}`;
    const nowMs = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.refreshAt > nowMs) return { ...hit.rrsig, name: first.name };
    const now = Math.floor(nowMs / 1000);
    const inception = now - 3600;
    const expiration = now + this.#validityS;
    const base = {
      typeCovered: first.type,
      algorithm: ALGORITHM_ED25519,
      labels: labelCount(first.name),
      originalTTL: ttl,
      expiration,
      inception,
      keyTag: this.keyTag,
      signersName: this.origin,
    };
    // RFC 4034 §3.1.8.1: signature = sign(RRSIG_RDATA without the signature | RR(1) | RR(2) ...).
    const head = rdataOf(encodeRecord({
      name: lower(first.name),
      type: "RRSIG",
      class: "IN",
      ttl,
      data: { ...base, signature: Buffer.alloc(0) },
    }));
    const total = head.length + sorted.reduce((n, x) => n + x.w.length, 0);
    const input = new Uint8Array(total);
    input.set(head);
    let at = head.length;
    for (const x of sorted) {
      input.set(x.w, at);
      at += x.w.length;
    }
    const signature = ed25519.sign(input, this.#secret);
    const rrsig: DnsRecord = {
      name: first.name,
      type: "RRSIG",
      class: "IN",
      ttl,
      data: { ...base, signature: Buffer.from(signature) },
    };
    this.#cache.set(key, { rrsig, refreshAt: nowMs + (this.#validityS * 1000) / 2 });
    if (this.#cache.size > 100_000) this.#cache.clear();
    return rrsig;
  }

  /**
   * Signs an answer for a client that set DO: an RRSIG after every RRset of the answer and authority sections;
   * NXDOMAIN and NODATA become NOERROR with the SOA and a minimal NSEC at the name (both signed). `types` are
   * the types the name has (empty for a name that does not exist).
   */
  signResult(result: ResolveResult, qname: string, types: readonly string[]): ResolveResult {
    if (result.rcode !== RCODE.NOERROR && result.rcode !== RCODE.NXDOMAIN) return result;
    const negative = result.answers.length === 0;
    const authorities = [...result.authorities];
    if (negative) {
      const bitmap = [...new Set([...types, "RRSIG", "NSEC"])];
      const soaTtl = authorities.find((r) => r.type === "SOA")?.ttl ?? 30;
      authorities.push({
        name: qname,
        type: "NSEC",
        class: "IN",
        ttl: soaTtl,
        data: { nextDomain: `\u0000.${lower(qname)}`, rrtypes: bitmap },
      });
    }
    return {
      ...result,
      rcode: RCODE.NOERROR,
      answers: this.#withSignatures(result.answers),
      authorities: this.#withSignatures(authorities),
    };
  }

  #withSignatures(records: readonly DnsRecord[]): DnsRecord[] {
    const out: DnsRecord[] = [];
    const sets = new Map<string, DnsRecord[]>();
    for (const r of records) {
      const k = `${lower(r.name)}|${r.type}`;
      const list = sets.get(k);
      if (list) list.push(r);
      else sets.set(k, [r]);
    }
    for (const set of sets.values()) out.push(...set, this.sign(set));
    return out;
  }
}
