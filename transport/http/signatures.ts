/**
 * HTTP Message Signatures (RFC 9421) with Ed25519, and Content-Digest (RFC 9530), sans-IO apart from hashing:
 * requests signed by wallet identities (`ghost-auth`). The key id is the signer's `ghost1...` address; since an
 * address is a hash of the key, the public key travels in the `ghost-public-key` field (base64) and the verifier
 * checks that it hashes to the key id.
 *
 * A signature wraith accepts covers `"@method"`, `"@target-uri"` and `"@authority"` (and `"content-digest"` when the
 * request has a body), with the parameters `created` (within the replay window), `keyid`, `alg="ed25519"` and a
 * `nonce` not seen before inside that window.
 *
 * @module
 */
import {
  addressFromPublicKey,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  parsePublicKey,
} from "../../crypto/mod.ts";

const te = new TextEncoder();

/** A parameter value of a structured field (RFC 8941): string, integer, token or boolean. */
type SfParam = string | number | boolean | { readonly token: string };

/** One signature's covered components and parameters (an RFC 8941 inner list). */
export interface SignatureParams {
  readonly components: readonly string[];
  /** In the order they were given (the signature base repeats them in that order). */
  readonly params: readonly (readonly [string, SfParam])[];
}

/** A signature that cannot be used, and why. */
export class HttpSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpSignatureError";
  }
}

const KEY = /^[a-z*][a-z0-9_\-.*]*/;

/** A tiny RFC 8941 reader for the dictionaries of Signature-Input, Signature and Content-Digest. */
class SfReader {
  readonly #s: string;
  #i = 0;
  constructor(s: string) {
    this.#s = s;
  }
  get done(): boolean {
    return this.#i >= this.#s.length;
  }
  ows(): void {
    while (this.#s[this.#i] === " " || this.#s[this.#i] === "\t") this.#i++;
  }
  sp(): void {
    while (this.#s[this.#i] === " ") this.#i++;
  }
  peek(): string | undefined {
    return this.#s[this.#i];
  }
  expect(c: string): void {
    if (this.#s[this.#i] !== c) throw new HttpSignatureError(`expected ${c} at ${this.#i}`);
    this.#i++;
  }
  key(): string {
    const m = KEY.exec(this.#s.slice(this.#i));
    if (m === null) throw new HttpSignatureError(`expected a key at ${this.#i}`);
    this.#i += m[0].length;
    return m[0];
  }
  string(): string {
    this.expect('"');
    let out = "";
    while (true) {
      const c = this.#s[this.#i++];
      if (c === undefined) throw new HttpSignatureError("unterminated string");
      if (c === "\\") {
        const n = this.#s[this.#i++];
        if (n !== '"' && n !== "\\") throw new HttpSignatureError("bad escape in string");
        out += n;
      } else if (c === '"') return out;
      else if (c < " " || c > "~") throw new HttpSignatureError("bad character in string");
      else out += c;
    }
  }
  bytes(): Uint8Array {
    this.expect(":");
    const end = this.#s.indexOf(":", this.#i);
    if (end < 0) throw new HttpSignatureError("unterminated byte sequence");
    const b64 = this.#s.slice(this.#i, end);
    this.#i = end + 1;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new HttpSignatureError("bad base64 in byte sequence");
    try {
      return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch {
      throw new HttpSignatureError("bad base64 in byte sequence");
    }
  }
  bareItem(): SfParam {
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === "?") {
      this.#i++;
      const v = this.#s[this.#i++];
      if (v !== "0" && v !== "1") throw new HttpSignatureError("bad boolean");
      return v === "1";
    }
    const num = /^-?\d{1,15}/.exec(this.#s.slice(this.#i));
    if (num !== null && this.#s[this.#i + num[0].length] !== ".") {
      this.#i += num[0].length;
      return Number(num[0]);
    }
    const tok = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(this.#s.slice(this.#i));
    if (tok === null) throw new HttpSignatureError(`unexpected ${JSON.stringify(c)} at ${this.#i}`);
    this.#i += tok[0].length;
    return { token: tok[0] };
  }
  params(): [string, SfParam][] {
    const out: [string, SfParam][] = [];
    while (this.peek() === ";") {
      this.#i++;
      this.sp();
      const k = this.key();
      let v: SfParam = true;
      if (this.peek() === "=") {
        this.#i++;
        v = this.bareItem();
      }
      out.push([k, v]);
    }
    return out;
  }
  /** A dictionary, each member read by `member`. */
  dictionary<T>(member: () => T): Map<string, T> {
    const out = new Map<string, T>();
    this.ows();
    while (!this.done) {
      const k = this.key();
      this.expect("=");
      out.set(k, member());
      this.ows();
      if (this.done) break;
      this.expect(",");
      this.ows();
      if (this.done) throw new HttpSignatureError("trailing comma");
      if (out.size > 16) throw new HttpSignatureError("too many members");
    }
    return out;
  }
  innerList(): SignatureParams {
    this.expect("(");
    const components: string[] = [];
    while (true) {
      this.sp();
      if (this.peek() === ")") {
        this.#i++;
        break;
      }
      components.push(this.string());
      // Component parameters (;sf, ;key=, ;req) are not supported by this verifier.
      if (this.peek() === ";") throw new HttpSignatureError("component parameters are not supported");
      if (components.length > 32) throw new HttpSignatureError("too many components");
      const c = this.peek();
      if (c !== " " && c !== ")") throw new HttpSignatureError("bad inner list");
    }
    return { components, params: this.params() };
  }
}

/** Parses `Signature-Input` into its signatures by label. */
export function parseSignatureInput(value: string): Map<string, SignatureParams> {
  if (value.length > 8_192) throw new HttpSignatureError("Signature-Input too long");
  const r = new SfReader(value);
  return r.dictionary(() => r.innerList());
}

/** Parses `Signature` (or `Content-Digest`): byte sequences by label. */
export function parseByteDictionary(value: string): Map<string, Uint8Array> {
  if (value.length > 8_192) throw new HttpSignatureError("field too long");
  const r = new SfReader(value);
  return r.dictionary(() => {
    const b = r.bytes();
    r.params();
    return b;
  });
}

function serializeParam(v: SfParam): string {
  if (typeof v === "string") return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "" : "=?0";
  return v.token;
}

/** The `@signature-params` serialization (RFC 9421 §2.3). */
export function serializeSignatureParams(p: SignatureParams): string {
  const list = `(${p.components.map((c) => `"${c}"`).join(" ")})`;
  return list + p.params.map(([k, v]) => (v === true ? `;${k}` : `;${k}=${serializeParam(v)}`)).join("");
}

/** What the signature base is built from. */
export interface MessageComponents {
  readonly method: string;
  /** The full target URI: `https://host[:port]/path?query`. */
  readonly targetUri: string;
  /** Lowercase field name -> value (repeated fields joined with ", "), or null. */
  field(name: string): string | null;
}

/** The signature base (RFC 9421 §2.5); throws HttpSignatureError for a component it cannot produce. */
export function signatureBase(m: MessageComponents, p: SignatureParams): string {
  const url = new URL(m.targetUri);
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const c of p.components) {
    if (seen.has(c)) throw new HttpSignatureError(`component ${c} listed twice`);
    seen.add(c);
    let value: string | null;
    switch (c) {
      case "@method":
        value = m.method;
        break;
      case "@target-uri":
        value = m.targetUri;
        break;
      case "@authority":
        value = url.host.toLowerCase();
        break;
      case "@scheme":
        value = url.protocol.slice(0, -1).toLowerCase();
        break;
      case "@path":
        value = url.pathname;
        break;
      case "@query":
        value = url.search === "" ? "?" : url.search;
        break;
      case "@request-target":
        value = url.pathname + url.search;
        break;
      default:
        if (c.startsWith("@") || c !== c.toLowerCase()) {
          throw new HttpSignatureError(`component ${c} is not supported`);
        }
        value = m.field(c);
        if (value !== null) value = value.trim();
    }
    if (value === null) throw new HttpSignatureError(`component ${c} is missing from the message`);
    if (/[\r\n]/.test(value)) throw new HttpSignatureError(`component ${c} has a line break`);
    lines.push(`"${c}": ${value}`);
  }
  lines.push(`"@signature-params": ${serializeSignatureParams(p)}`);
  return lines.join("\n");
}

/** `sha-256=:...:` for `body` (RFC 9530). */
export async function contentDigest(body: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>));
  return `sha-256=:${btoa(String.fromCharCode(...d))}:`;
}

/** Whether a Content-Digest field matches `body` (sha-256 or sha-512; at least one known algorithm must match). */
export async function digestMatches(field: string, body: Uint8Array): Promise<boolean> {
  const dict = parseByteDictionary(field);
  let checked = false;
  for (const [alg, digest] of dict) {
    const name = alg === "sha-256" ? "SHA-256" : alg === "sha-512" ? "SHA-512" : undefined;
    if (name === undefined) continue;
    const actual = new Uint8Array(await crypto.subtle.digest(name, body as Uint8Array<ArrayBuffer>));
    if (actual.length !== digest.length || actual.some((b, i) => b !== digest[i])) return false;
    checked = true;
  }
  return checked;
}

/** Remembers nonces for the replay window, bounded. */
export class NonceCache {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  constructor(max = 100_000) {
    this.#max = max;
  }
  /** False when `nonce` was seen and has not expired; otherwise records it until `expires` (seconds). */
  add(nonce: string, now: number, expires: number): boolean {
    for (const [n, exp] of this.#seen) {
      if (exp > now && this.#seen.size <= this.#max) break;
      this.#seen.delete(n);
    }
    const exp = this.#seen.get(nonce);
    if (exp !== undefined && exp > now) return false;
    this.#seen.delete(nonce);
    this.#seen.set(nonce, expires);
    return true;
  }
}

/** Addresses of recently seen keys (hashing a key to its address costs more than the rest of a check). */
const ADDRESSES = new Map<string, string>();

function addressOfKey(b64: string, publicKey: Uint8Array): string {
  const known = ADDRESSES.get(b64);
  if (known !== undefined) return known;
  let address: string;
  try {
    address = addressFromPublicKey(parsePublicKey("ed25519", publicKey));
  } catch {
    throw new HttpSignatureError("ghost-public-key is not an Ed25519 public key");
  }
  if (ADDRESSES.size >= 10_000) ADDRESSES.delete(ADDRESSES.keys().next().value ?? "");
  ADDRESSES.set(b64, address);
  return address;
}

/** What a verified request proves. */
export interface VerifiedSigner {
  /** The signer's `ghost1...` address. */
  readonly address: string;
  readonly label: string;
}

/** Options of {@linkcode verifyRequestSignature}. */
export interface VerifyOptions {
  /** Seconds a `created` may be from now either way. */
  readonly windowS: number;
  readonly nonces: NonceCache;
  /** Seconds. */
  readonly now: number;
  /** The request's body, when it has one (its Content-Digest is checked). */
  readonly body: Uint8Array | null;
}

/** Verifies a request signed as the module doc says; throws HttpSignatureError saying why not. */
export async function verifyRequestSignature(
  m: MessageComponents,
  o: VerifyOptions,
): Promise<VerifiedSigner> {
  const input = m.field("signature-input");
  const sigField = m.field("signature");
  if (input === null || sigField === null) throw new HttpSignatureError("no Signature-Input and Signature");
  const inputs = parseSignatureInput(input);
  const signatures = parseByteDictionary(sigField);
  const keyB64 = m.field("ghost-public-key");
  if (keyB64 === null) throw new HttpSignatureError("no ghost-public-key field");
  let publicKey: Uint8Array;
  try {
    publicKey = Uint8Array.from(atob(keyB64.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new HttpSignatureError("ghost-public-key is not base64");
  }
  let lastError = "no usable signature";
  for (const [label, p] of inputs) {
    const params = new Map(p.params);
    const signature = signatures.get(label);
    if (signature === undefined) {
      lastError = `no Signature for ${label}`;
      continue;
    }
    const alg = params.get("alg"),
      keyid = params.get("keyid"),
      created = params.get("created"),
      nonce = params.get("nonce");
    if (alg !== "ed25519") {
      lastError = `${label}: alg must be "ed25519"`;
      continue;
    }
    if (typeof keyid !== "string" || !keyid.startsWith("ghost1")) {
      lastError = `${label}: keyid must be a ghost1 address`;
      continue;
    }
    const needed = [
      "@method",
      "@target-uri",
      "@authority",
      ...(o.body !== null && o.body.length > 0 ? ["content-digest"] : []),
    ];
    const missing = needed.filter((c) => !p.components.includes(c));
    if (missing.length > 0) {
      lastError = `${label}: does not cover ${missing.join(", ")}`;
      continue;
    }
    if (typeof created !== "number" || Math.abs(o.now - created) > o.windowS) {
      throw new HttpSignatureError(`${label}: created is missing or outside the ${o.windowS} s window`);
    }
    const expires = params.get("expires");
    if (typeof expires === "number" && expires < o.now) throw new HttpSignatureError(`${label}: expired`);
    if (typeof nonce !== "string" || nonce.length < 8 || nonce.length > 128) {
      throw new HttpSignatureError(`${label}: a nonce of 8-128 characters is required`);
    }
    const address = addressOfKey(keyB64.trim(), publicKey);
    if (address !== keyid) {
      throw new HttpSignatureError(`${label}: ghost-public-key is not the key of ${keyid}`);
    }
    if (p.components.includes("content-digest")) {
      const digest = m.field("content-digest");
      if (digest === null || !(await digestMatches(digest, o.body ?? new Uint8Array(0)))) {
        throw new HttpSignatureError("content-digest does not match the body");
      }
    }
    const base = signatureBase(m, p);
    if (!(await ed25519Verify(publicKey, te.encode(base), signature))) {
      throw new HttpSignatureError(`${label}: the signature does not verify`);
    }
    // Only a valid signature spends its nonce (an attacker cannot burn someone's nonce with garbage).
    if (!o.nonces.add(`${keyid} ${nonce}`, o.now, created + o.windowS)) {
      throw new HttpSignatureError(`${label}: nonce already used (replay)`);
    }
    return { address, label };
  }
  throw new HttpSignatureError(lastError);
}

/** What a request signature is made from (besides the key). */
export interface RequestToSign {
  readonly method: string;
  readonly url: string;
  readonly body?: Uint8Array | null;
  /** Seconds; default now. */
  readonly created?: number;
  /** Default 16 random bytes, base64url. */
  readonly nonce?: string;
  readonly label?: string;
}

/** A prepared signature: the base to sign, and how to turn the signature into the request's fields. */
export interface PreparedSignature {
  /** The RFC 9421 signature base; sign its UTF-8 bytes with Ed25519. */
  readonly base: string;
  /** The fields to add, given the signature and the signer's public key. */
  fields(signature: Uint8Array, publicKey: Uint8Array): [string, string][];
}

/**
 * Prepares the signature of a request by the account with `address` (`ghost1...`), for a signer that holds the key
 * elsewhere (the wallet service): covers `@method`, `@target-uri`, `@authority` and, with a body, `content-digest`.
 */
export async function prepareRequestSignature(o: RequestToSign, address: string): Promise<PreparedSignature> {
  const body = o.body ?? null;
  const digest = body !== null && body.length > 0 ? await contentDigest(body) : undefined;
  const nonce = o.nonce ?? btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const params: SignatureParams = {
    components: ["@method", "@target-uri", "@authority", ...(digest !== undefined ? ["content-digest"] : [])],
    params: [
      ["created", o.created ?? Math.floor(Date.now() / 1000)],
      ["keyid", address],
      ["alg", "ed25519"],
      ["nonce", nonce],
    ],
  };
  const base = signatureBase({
    method: o.method.toUpperCase(),
    targetUri: new URL(o.url).href,
    field: (n) => (n === "content-digest" ? digest ?? null : null),
  }, params);
  const label = o.label ?? "sig1";
  return {
    base,
    fields: (signature, publicKey) => [
      ...(digest !== undefined ? [["content-digest", digest] as [string, string]] : []),
      ["signature-input", `${label}=${serializeSignatureParams(params)}`],
      ["signature", `${label}=:${btoa(String.fromCharCode(...signature))}:`],
      ["ghost-public-key", btoa(String.fromCharCode(...publicKey))],
    ],
  };
}

/** Whether `base` is an RFC 9421 signature base for an ed25519 signature by `address` (what a wallet may sign). */
export function isRequestSignatureBase(base: string, address: string): boolean {
  const lines = base.split("\n");
  const last = lines.at(-1) ?? "";
  if (lines.length < 2 || lines.length > 34 || base.length > 8_192) return false;
  if (!lines.slice(0, -1).every((l) => /^"[@a-z0-9_.-]+": [^\r\n]*$/.test(l))) return false;
  if (!last.startsWith('"@signature-params": (')) return false;
  return last.includes(`;keyid="${address}"`) && last.includes(';alg="ed25519"');
}

/** Options of {@linkcode signRequest}. */
export interface SignRequestOptions extends RequestToSign {
  /** The Ed25519 seed (32 bytes) of the signing account. */
  readonly seed: Uint8Array;
}

/**
 * The fields that sign a request for wraith's `ghost-auth`: `content-digest` (with a body), `signature-input`,
 * `signature` and `ghost-public-key`. Add them to the request as they are.
 */
export async function signRequest(o: SignRequestOptions): Promise<[string, string][]> {
  const publicKey = ed25519PublicKey(o.seed);
  const address = addressFromPublicKey(parsePublicKey("ed25519", publicKey));
  const prepared = await prepareRequestSignature(o, address);
  return prepared.fields(ed25519Sign(o.seed, te.encode(prepared.base)), publicKey);
}
