/**
 * Development PKI: a local CA and a server leaf certificate for QUIC (TLS 1.3 inside QUIC, RFC 9001), made with
 * WebCrypto ECDSA P-256 and `@peculiar/x509`.
 *
 * rustls (under `Deno.QuicEndpoint`) refuses a self-signed CA certificate used directly as the server certificate,
 * so there are two: a CA (BasicConstraints CA:TRUE) that clients trust through `caCerts`, and a leaf (CA:FALSE,
 * serverAuth) that it signs. {@linkcode ensureDevPki} creates them on first start, reuses them later, and renews
 * the leaf when it nears expiry or lacks a configured name.
 *
 * File access goes through a {@linkcode PkiStore}; the default is the file adapter in `tls_files.ts`.
 *
 * @module
 */

import * as x509 from "@peculiar/x509";
import { nameKey, parseIp } from "./_ip.ts";
import { filePkiStore, type PkiStore } from "./tls_files.ts";

x509.cryptoProvider.set(crypto);

const DAY_MS = 86_400_000;
const EC_KEY: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

/** Names every dev leaf carries besides the configured ones. */
export const DEFAULT_DEV_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

/** File names inside the PKI directory. */
export const PKI_FILES = {
  ca: "ca.pem",
  caKey: "ca-key.pem",
  cert: "cert.pem",
  key: "key.pem",
} as const;

/** Options of {@linkcode ensureDevPki}. */
export interface DevPkiOptions {
  /** Directory for `ca.pem`, `ca-key.pem`, `cert.pem`, `key.pem` (created with mode 0700). */
  readonly dir: string;
  /** Extra DNS names or IP literals for the leaf, besides `localhost`, `127.0.0.1` and `::1`. */
  readonly names?: readonly string[];
  /** The current time (injected in tests). Defaults to the clock. */
  readonly now?: Date;
  /** Leaf validity in days. Defaults to 90. */
  readonly leafDays?: number;
  /** CA validity in days. Defaults to 3650. */
  readonly caDays?: number;
  /** Renew a certificate that expires within this many days. Defaults to 14. */
  readonly renewBeforeDays?: number;
  /** File access; defaults to files under `dir`. */
  readonly store?: PkiStore;
}

/** TLS material for a QUIC server and its clients. */
export interface DevPki {
  /** The CA certificate, PEM; clients pass it as `caCerts: [caPem]`. */
  readonly caPem: string;
  /** The leaf certificate, PEM (QuicListenOptions `cert`). */
  readonly certPem: string;
  /** The leaf's PKCS#8 private key, PEM `PRIVATE KEY` (QuicListenOptions `key`). */
  readonly keyPem: string;
  /** When the leaf expires. */
  readonly notAfter: Date;
  /** When the CA expires. */
  readonly caNotAfter: Date;
  /** The leaf's subject alternative names. */
  readonly names: readonly string[];
  /** What this call created: `"none"` (all reused), `"leaf"`, or `"all"` (new CA and leaf). */
  readonly generated: "none" | "leaf" | "all";
  /** The directory holding the files. */
  readonly dir: string;
}

/**
 * Creates the dev CA and leaf under `dir` on first start and reuses them afterwards. The leaf is regenerated
 * when it is expired or expires within `renewBeforeDays`, lacks a configured name, does not match its key, or
 * was not signed by the current CA; the CA is regenerated (and with it the leaf) when missing, unreadable or
 * near expiry.
 *
 * @example
 * ```ts
 * const pki = await ensureDevPki({ dir: "./data/pki", names: ["edge.local"] });
 * const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
 * endpoint.listen({ alpnProtocols: ["ghost-ping/1"], cert: pki.certPem, key: pki.keyPem });
 * ```
 */
export async function ensureDevPki(options: DevPkiOptions): Promise<DevPki> {
  const now = options.now ?? new Date();
  const renewMs = (options.renewBeforeDays ?? 14) * DAY_MS;
  const store = options.store ?? filePkiStore(options.dir);
  const names = uniqueNames([...DEFAULT_DEV_NAMES, ...(options.names ?? [])]);

  let ca = await loadPair(store, PKI_FILES.ca, PKI_FILES.caKey);
  let generated: DevPki["generated"] = "none";
  if (!ca || !isCa(ca.cert) || ca.cert.notAfter.getTime() - now.getTime() < renewMs) {
    const created = await createDevCa({ now, days: options.caDays ?? 3650 });
    // Key first: a crash between the two writes leaves a cert/key mismatch, which the next start detects.
    await store.write(PKI_FILES.caKey, created.keyPem, { secret: true });
    await store.write(PKI_FILES.ca, created.certPem, { secret: false });
    ca = { cert: new x509.X509Certificate(created.certPem), ...created };
    generated = "all";
  }

  let leaf = generated === "all" ? undefined : await loadPair(store, PKI_FILES.cert, PKI_FILES.key);
  if (
    !leaf || leaf.cert.notAfter.getTime() - now.getTime() < renewMs ||
    leaf.cert.notBefore.getTime() > now.getTime() || !hasNames(leaf.cert, names) ||
    !(await signedBy(leaf.cert, ca.cert))
  ) {
    const created = await createDevLeaf({
      caPem: ca.certPem,
      caKey: ca.key,
      names,
      now,
      days: options.leafDays ?? 90,
    });
    await store.write(PKI_FILES.key, created.keyPem, { secret: true });
    await store.write(PKI_FILES.cert, created.certPem, { secret: false });
    leaf = { cert: new x509.X509Certificate(created.certPem), ...created };
    if (generated === "none") generated = "leaf";
  }

  return {
    caPem: ca.certPem,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    notAfter: leaf.cert.notAfter,
    caNotAfter: ca.cert.notAfter,
    names: certificateNames(leaf.cert),
    generated,
    dir: options.dir,
  };
}

/** A freshly made certificate with its key. */
export interface CreatedCertificate {
  /** Certificate PEM. */
  readonly certPem: string;
  /** PKCS#8 private key PEM. */
  readonly keyPem: string;
  /** The private key, for signing. */
  readonly key: CryptoKey;
}

/** Creates a self-signed ECDSA P-256 CA certificate (BasicConstraints CA:TRUE, pathLen 0). */
export async function createDevCa(
  options: { readonly now: Date; readonly days: number },
): Promise<CreatedCertificate> {
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=GhostChain Edge Dev CA, O=GhostChain Edge (development)",
    notBefore: new Date(options.now.getTime() - 3_600_000), // tolerate an hour of clock skew
    notAfter: new Date(options.now.getTime() + options.days * DAY_MS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey), key: keys.privateKey };
}

/** Creates a leaf server certificate (CA:FALSE, serverAuth, SANs) signed by the CA `caPem` / `caKey`. */
export async function createDevLeaf(options: {
  readonly caPem: string;
  readonly caKey: CryptoKey;
  readonly names: readonly string[];
  readonly now: Date;
  readonly days: number;
  /**
   * Keep the key of this existing leaf (its certificate and PKCS#8 key, PEM) instead of making a new one, so a
   * client that pins the key keeps trusting the server when names are added.
   */
  readonly reuse?: { readonly certPem: string; readonly keyPem: string };
}): Promise<CreatedCertificate> {
  const ca = new x509.X509Certificate(options.caPem);
  const keys: CryptoKeyPair = options.reuse === undefined
    ? await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])
    : {
      publicKey: await new x509.X509Certificate(options.reuse.certPem).publicKey.export(EC_KEY, ["verify"]),
      privateKey: await crypto.subtle.importKey("pkcs8", pemBody(options.reuse.keyPem), EC_KEY, true, [
        "sign",
      ]),
    };
  const names = uniqueNames(options.names);
  const dnsName = names.find((n) => parseIp(n) === undefined) ?? "localhost";
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${dnsName}`,
    issuer: ca.subject,
    notBefore: new Date(options.now.getTime() - 3_600_000),
    notAfter: new Date(options.now.getTime() + options.days * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: options.caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => ({ type: parseIp(n) ? "ip" : "dns", value: stripBrackets(n) })),
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey), key: keys.privateKey };
}

/** Expiry information about a certificate, for health reports. */
export interface CertificateStatus {
  /** Subject DN. */
  readonly subject: string;
  /** Issuer DN. */
  readonly issuer: string;
  /** Start of validity. */
  readonly notBefore: Date;
  /** End of validity. */
  readonly notAfter: Date;
  /** Subject alternative names. */
  readonly names: readonly string[];
  /** `now` is past `notAfter`. */
  readonly expired: boolean;
  /** `now` is before `notBefore`. */
  readonly notYetValid: boolean;
  /** Not expired, but expires within `soonDays`. */
  readonly expiresSoon: boolean;
  /** Whole days left until `notAfter` (negative once expired). */
  readonly daysLeft: number;
}

/**
 * Reads a PEM certificate's validity relative to `now`.
 *
 * @throws {TypeError} when the PEM holds no parsable certificate
 */
export function certificateStatus(certPem: string, now: Date = new Date(), soonDays = 14): CertificateStatus {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (error) {
    throw new TypeError(
      `Cannot parse certificate: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  const msLeft = cert.notAfter.getTime() - now.getTime();
  const expired = msLeft < 0;
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    names: certificateNames(cert),
    expired,
    notYetValid: cert.notBefore.getTime() > now.getTime(),
    expiresSoon: !expired && msLeft < soonDays * DAY_MS,
    daysLeft: Math.floor(msLeft / DAY_MS),
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface Pair {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Loads a certificate and its key; `undefined` when either is missing, unreadable, or they do not match. */
async function loadPair(store: PkiStore, certName: string, keyName: string): Promise<Pair | undefined> {
  const certPem = await store.read(certName);
  const keyPem = await store.read(keyName);
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    const cert = new x509.X509Certificate(certPem);
    const der = x509.PemConverter.decodeFirst(keyPem);
    const key = await crypto.subtle.importKey("pkcs8", der, EC_KEY, true, ["sign"]);
    // The private JWK carries the public point; it must equal the certificate's.
    const priv = await crypto.subtle.exportKey("jwk", key);
    const pub = await crypto.subtle.exportKey("jwk", await cert.publicKey.export(EC_KEY, ["verify"]));
    if (priv.x !== pub.x || priv.y !== pub.y) return undefined;
    return { cert, key, certPem, keyPem };
  } catch {
    return undefined;
  }
}

function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

async function signedBy(leaf: x509.X509Certificate, ca: x509.X509Certificate): Promise<boolean> {
  try {
    return await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function certificateNames(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.items.map((n) => n.value) : [];
}

function hasNames(cert: x509.X509Certificate, names: readonly string[]): boolean {
  const have = new Set(certificateNames(cert).map(nameKey));
  return names.every((n) => have.has(nameKey(n)));
}

function uniqueNames(names: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const raw of names) {
    const n = raw.trim();
    if (n === "") throw new TypeError(`Cannot use certificate name "${raw}": it is empty`);
    if (
      !parseIp(n) &&
      !/^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*\.?$/.test(n)
    ) {
      throw new TypeError(`Cannot use certificate name "${raw}": not a DNS name or IP literal`);
    }
    const k = nameKey(n);
    if (!seen.has(k)) seen.set(k, stripBrackets(n));
  }
  return [...seen.values()];
}

function stripBrackets(name: string): string {
  return name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01; // positive and without a leading zero byte (RFC 5280 §4.1.2.2)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The DER bytes of a PEM block. */
function pemBody(pem: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(
    atob(pem.replace(/-----[^-]+-----/g, "").replace(/\s/g, "")),
    (c) => c.charCodeAt(0),
  );
}
