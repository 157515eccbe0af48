/**
 * Name rules of the GhostChain registry (consensus-relevant: every check here decides whether a transaction
 * succeeds, so any change is a hard fork).
 *
 * Names are exactly one label under a registry TLD: `<label>.ghost` (DNS records) or `<label>.zns` (a
 * contract address).
 *
 * Label policy (RFC 1035 §2.3.1 LDH, RFC 5891 for IDNA):
 * - 1..63 octets of `a-z`, `0-9`, `-`; no leading or trailing hyphen;
 * - lowercase only: uppercase is refused rather than folded, so one name has one spelling on chain;
 * - internationalised names are accepted only as already-encoded ASCII A-labels (`xn--...`, punycode done
 *   by the client, RFC 5891 §4.4); non-ASCII (U-labels) is refused. We do not decode punycode to check that
 *   an A-label round-trips: a malformed A-label is a valid LDH label that no IDNA-aware client will produce;
 * - hyphens in positions 3 and 4 are reserved for IDNA (RFC 5891 §4.2.3.1): only `xn--` may use them;
 * - labels shorter than {@linkcode MIN_REGISTRABLE_LENGTH} and the {@linkcode RESERVED_LABELS} cannot be
 *   registered by transactions (genesis may assign them).
 *
 * Registration is commit-reveal (as ENS does) so a watcher of the mempool cannot front-run a name:
 * 1. `NameCommit{commitment}` with `commitment = nameCommitment(name, owner, secret)`;
 * 2. `NameRegister{name, secret, ...}` from the same owner in a block with
 *    `commitHeight + minCommitAge <= height <= commitHeight + maxCommitAge`.
 * A name expires at `expiry` (a block height); until `expiry + gracePeriod` only renewal is possible (by
 * anyone); after that anyone can register it again.
 *
 * @module
 */

import { blake3 } from "../crypto/mod.ts";
import { ChainError } from "./errors.ts";
import { concat, malformed, PbReader, PbWriter, utf8 } from "./_pb.ts";

/** The registry TLDs. */
export const NAME_TLDS = ["ghost", "zns"] as const;
/** A registry TLD. */
export type NameTld = typeof NAME_TLDS[number];

/** Shortest label a transaction may register (shorter ones are reserved, as in ENS). */
export const MIN_REGISTRABLE_LENGTH = 3;

/** Labels no transaction may register (infrastructure and RFC 2606 / RFC 6761 names). */
export const RESERVED_LABELS: ReadonlySet<string> = new Set([
  "ghost",
  "zns",
  "eth",
  "www",
  "admin",
  "root",
  "localhost",
  "local",
  "wallet",
  "bridge",
  "chain",
  "cns",
  "wraith",
  "ghostchain",
  "ghostd",
  "example",
  "test",
  "invalid",
  "nic",
  "whois",
  "dns",
  "mail",
]);

/** A parsed registry name. */
export interface ParsedName {
  readonly name: string;
  readonly label: string;
  readonly tld: NameTld;
}

function nameError(reason: string, name: string): ChainError {
  return new ChainError(
    "INVALID_ARGUMENT",
    "NAME_INVALID",
    `Invalid name ${JSON.stringify(name.slice(0, 80))}: ${reason}`,
  );
}

/** Checks one DNS label under the policy above; returns a reason or undefined. */
export function labelProblem(label: string): string | undefined {
  if (label.length < 1 || label.length > 63) return `label length ${label.length} is outside 1..63`;
  if (!/^[a-z0-9-]+$/.test(label)) {
    if (/[A-Z]/.test(label)) return "uppercase is not allowed (use lowercase)";
    if ([...label].some((c) => c.charCodeAt(0) > 0x7f)) {
      return "non-ASCII is not allowed (use the punycode A-label, xn--...)";
    }
    return "only a-z, 0-9 and '-' are allowed";
  }
  if (label.startsWith("-") || label.endsWith("-")) return "a label cannot start or end with '-'";
  if (label.length >= 4 && label[2] === "-" && label[3] === "-" && !label.startsWith("xn--")) {
    return "'--' in positions 3-4 is reserved for IDNA A-labels (xn--)";
  }
  return undefined;
}

/** Parses `<label>.ghost` / `<label>.zns`; throws ChainError INVALID_ARGUMENT NAME_INVALID. */
export function parseName(name: string): ParsedName {
  if (typeof name !== "string" || name.length > 80) throw nameError("too long", String(name));
  const dot = name.lastIndexOf(".");
  if (dot < 0) throw nameError("missing TLD (.ghost or .zns)", name);
  const label = name.slice(0, dot);
  const tld = name.slice(dot + 1);
  if (tld !== "ghost" && tld !== "zns") throw nameError(`TLD .${tld} is not .ghost or .zns`, name);
  if (label.includes(".")) throw nameError("only second-level names can be registered", name);
  const problem = labelProblem(label);
  if (problem !== undefined) throw nameError(problem, name);
  return { name, label, tld };
}

/** Whether a transaction may register this label (length and reserved list). */
export function registrableProblem(parsed: ParsedName): string | undefined {
  if (parsed.label.length < MIN_REGISTRABLE_LENGTH) {
    return `labels shorter than ${MIN_REGISTRABLE_LENGTH} characters are reserved`;
  }
  if (RESERVED_LABELS.has(parsed.label)) return `"${parsed.label}" is a reserved name`;
  return undefined;
}

/** Checks a DNS host name used inside records (CNAME, MX, SRV targets): LDH labels, <= 253 octets. */
export function hostNameProblem(host: string): string | undefined {
  const h = host.endsWith(".") ? host.slice(0, -1) : host;
  if (h.length < 1 || h.length > 253) return `host name length ${h.length} is outside 1..253`;
  for (const label of h.split(".")) {
    const p = labelProblem(label);
    if (p !== undefined) return `host name ${JSON.stringify(h.slice(0, 80))}: ${p}`;
  }
  return undefined;
}

/**
 * `commitment = BLAKE3("ghostchain/v1/name-commit" || u8 len(name) || name || owner(20) || secret(32))`.
 * The owner binds the reveal to one account, the secret hides the name until the reveal.
 */
export function nameCommitment(name: string, owner: Uint8Array, secret: Uint8Array): Uint8Array {
  const n = utf8(name);
  return blake3(concat(utf8("ghostchain/v1/name-commit"), new Uint8Array([n.length]), n, owner, secret));
}

/** MX record. */
export interface MxRecord {
  readonly preference: number;
  readonly exchange: string;
}

/** SRV record. */
export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

/** The record set of a .ghost name (the GHOST record, cns/README.md: AAAA first, also A, TXT, CNAME, MX, SRV). */
export interface NameRecords {
  readonly aaaa: readonly Uint8Array[];
  readonly a: readonly Uint8Array[];
  readonly txt: readonly string[];
  readonly cname: string;
  readonly mx: readonly MxRecord[];
  readonly srv: readonly SrvRecord[];
}

/** No records. */
export const EMPTY_RECORDS: NameRecords = Object.freeze({
  aaaa: [],
  a: [],
  txt: [],
  cname: "",
  mx: [],
  srv: [],
});

/** At most this many records of each type. */
export const MAX_RECORDS_PER_TYPE = 16;
/** Largest encoded record set. */
export const MAX_RECORDS_BYTES = 4096;

/** Encodes `NameRecords` canonically. */
export function encodeRecords(r: NameRecords): Uint8Array {
  const w = new PbWriter();
  for (const x of r.aaaa) w.bytes(1, x, true);
  for (const x of r.a) w.bytes(2, x, true);
  for (const x of r.txt) w.string(3, x, true);
  w.string(4, r.cname);
  for (const m of r.mx) w.message(5, new PbWriter().uint32(1, m.preference).string(2, m.exchange).finish());
  for (const s of r.srv) {
    w.message(
      6,
      new PbWriter().uint32(1, s.priority).uint32(2, s.weight).uint32(3, s.port).string(4, s.target).finish(),
    );
  }
  return w.finish();
}

/** Decodes `NameRecords` (bounded by {@linkcode MAX_RECORDS_BYTES}); shape only, see {@linkcode recordsProblem}. */
export function decodeRecords(bytes: Uint8Array): NameRecords {
  if (bytes.length > MAX_RECORDS_BYTES) {
    throw malformed("records", `${bytes.length} bytes exceeds ${MAX_RECORDS_BYTES}`);
  }
  const r = new PbReader(bytes, "records");
  const aaaa: Uint8Array[] = [],
    a: Uint8Array[] = [],
    txt: string[] = [],
    mx: MxRecord[] = [],
    srv: SrvRecord[] = [];
  let cname = "";
  while (r.next()) {
    switch (r.field) {
      case 1:
        aaaa.push(r.bytes(16, true).slice());
        break;
      case 2:
        a.push(r.bytes(4, true).slice());
        break;
      case 3:
        txt.push(r.string(255, true));
        break;
      case 4:
        cname = r.string(253);
        break;
      case 5: {
        const m = new PbReader(r.message(300, true), "MX record");
        let preference = 0, exchange = "";
        while (m.next()) {
          if (m.field === 1) preference = m.uint32();
          else if (m.field === 2) exchange = m.string(253);
          else m.unknown();
        }
        mx.push({ preference, exchange });
        break;
      }
      case 6: {
        const m = new PbReader(r.message(300, true), "SRV record");
        let priority = 0, weight = 0, port = 0, target = "";
        while (m.next()) {
          if (m.field === 1) priority = m.uint32();
          else if (m.field === 2) weight = m.uint32();
          else if (m.field === 3) port = m.uint32();
          else if (m.field === 4) target = m.string(253);
          else m.unknown();
        }
        srv.push({ priority, weight, port, target });
        break;
      }
      default:
        r.unknown();
    }
  }
  return { aaaa, a, txt, cname, mx, srv };
}

/** Checks record contents (lengths, counts, host names, u16 ranges); returns a reason or undefined. */
export function recordsProblem(r: NameRecords): string | undefined {
  for (
    const [k, list] of [["AAAA", r.aaaa], ["A", r.a], ["TXT", r.txt], ["MX", r.mx], ["SRV", r.srv]] as const
  ) {
    if (list.length > MAX_RECORDS_PER_TYPE) {
      return `${list.length} ${k} records exceed ${MAX_RECORDS_PER_TYPE}`;
    }
  }
  if (r.aaaa.some((x) => x.length !== 16)) return "an AAAA record is not 16 bytes";
  if (r.a.some((x) => x.length !== 4)) return "an A record is not 4 bytes";
  if (r.txt.some((t) => utf8(t).length > 255)) return "a TXT string exceeds 255 bytes";
  if (r.cname !== "") {
    const p = hostNameProblem(r.cname);
    if (p !== undefined) return `CNAME ${p}`;
    if (r.aaaa.length + r.a.length + r.txt.length + r.mx.length + r.srv.length > 0) {
      return "a CNAME cannot coexist with other records (RFC 1034 §3.6.2)";
    }
  }
  for (const m of r.mx) {
    if (m.preference > 0xffff) return "MX preference exceeds 65535";
    const p = hostNameProblem(m.exchange);
    if (p !== undefined) return `MX ${p}`;
  }
  for (const s of r.srv) {
    if (s.priority > 0xffff || s.weight > 0xffff || s.port > 0xffff) return "an SRV field exceeds 65535";
    const p = hostNameProblem(s.target);
    if (p !== undefined) return `SRV ${p}`;
  }
  if (encodeRecords(r).length > MAX_RECORDS_BYTES) return `records exceed ${MAX_RECORDS_BYTES} bytes`;
  return undefined;
}
