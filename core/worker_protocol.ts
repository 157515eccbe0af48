/**
 * Messages between the supervisor and a service worker. Workers run our own code, but a worker that
 * misbehaves must not take the supervisor down, so messages from workers are parsed, not trusted.
 *
 * @module
 */
import { isRecord } from "./bytes.ts";
import type { HostPort } from "./host_port.ts";
import type { LogLevel, LogRecord } from "./log.ts";

/** A peer node a service dials, pinned to its public key. */
export interface MeshPeer {
  /** The peer service's name. */
  readonly name: string;
  readonly hostname: string;
  readonly port: number;
  /** Hex Ed25519 public key the peer must prove. */
  readonly publicKey: string;
}

/** What one service needs to run its mesh node; structured-cloneable (it travels in the start message). */
export interface MeshAssignment {
  /** Hex Ed25519 seed of this service's mesh node key (a secret: never logged). */
  readonly seed: string;
  /** Hex public key of that seed. */
  readonly publicKey: string;
  /** Where this service's node listens. */
  readonly listen: HostPort;
  /** The nodes this service calls. */
  readonly peers: readonly MeshPeer[];
  /** Hex public keys allowed to call this service's node. */
  readonly allowList: readonly string[];
  /** Deadline of one unary call to a peer service. */
  readonly callTimeoutMs: number;
  /**
   * Records other services ask the chain's devnet genesis to publish (cns's DNSSEC trust anchors,
   * `<zone>-dnskey=<base64 Ed25519 key>`, as TXT of `dns.ghost`); given to every member, used by the chain.
   */
  readonly dnsAnchors?: readonly string[];
}

/** Which TLS material a service serves or verifies with; the supervisor hands it nothing more. */
export type TlsNeed = "server" | "client" | "none";

/** TLS material handed to a worker, so workers need no read access to key files. */
export interface TlsBundle {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** A listening endpoint a service reports once ready. */
export interface Endpoint {
  /** Short label, e.g. `quic`, `doq`, `udp`. */
  readonly name: string;
  /** `quic`, `udp`, `tcp`, `http`, `https`. */
  readonly transport: string;
  /** `host:port` as bound (`[::1]:4433`). */
  readonly addr: string;
  readonly alpn?: readonly string[];
}

/** Supervisor -> worker. */
export type ToWorker =
  | {
    readonly t: "start";
    readonly service: string;
    /** 1 for the first start, then counts restarts. */
    readonly attempt: number;
    /** The service's own config section, parsed by its descriptor; no other section reaches a worker. */
    readonly config: unknown;
    /** The TLS material its descriptor asks for (`TlsNeed`): a private key only to services that serve. */
    readonly tls: TlsBundle;
    /** Minimum level of the records it posts. */
    readonly logLevel: LogLevel;
    /** How long the supervisor waits for a drain; a service keeps its own drain bound below it. */
    readonly drainTimeoutMs: number;
    /** The service's own data directory (its only read/write path). */
    readonly dataDir: string;
    /** The service's node in the service mesh, when it serves or calls another service. */
    readonly mesh?: MeshAssignment;
  }
  | { readonly t: "metrics"; readonly id: number }
  /** The answer to `cert-request`: a certificate and key for the names, or why not. */
  | {
    readonly t: "cert";
    readonly id: number;
    readonly certPem?: string;
    readonly keyPem?: string;
    readonly error?: string;
  }
  /** A new config section to apply in place (live reload); answered with `reloaded`. */
  | { readonly t: "reload"; readonly id: number; readonly config: unknown }
  | { readonly t: "drain"; readonly deadlineMs: number };

/** Worker -> supervisor. */
export type FromWorker =
  | { readonly t: "ready"; readonly endpoints: readonly Endpoint[] }
  | { readonly t: "log"; readonly rec: LogRecord }
  | { readonly t: "metrics"; readonly id: number; readonly snapshot: unknown }
  | { readonly t: "drained" }
  /** A certificate for more names (wraith's .ghost sites), minted by the supervisor's dev CA. */
  | { readonly t: "cert-request"; readonly id: number; readonly names: readonly string[] }
  /** The answer to `reload`: applied, or why not (the old config keeps serving). */
  | { readonly t: "reloaded"; readonly id: number; readonly error?: string }
  | { readonly t: "fatal"; readonly message: string };

function parseEndpoint(v: unknown): Endpoint | undefined {
  if (!isRecord(v)) return undefined;
  const { name, transport, addr, alpn } = v;
  if (typeof name !== "string" || typeof transport !== "string" || typeof addr !== "string") return undefined;
  if (alpn === undefined) return { name, transport, addr };
  if (!Array.isArray(alpn) || !alpn.every((a) => typeof a === "string")) return undefined;
  return { name, transport, addr, alpn };
}

const LEVELS = new Set(["debug", "info", "warn", "error"]);

/** Narrows a message from a worker; `undefined` for anything malformed. */
export function parseFromWorker(data: unknown): FromWorker | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.t) {
    case "ready": {
      if (!Array.isArray(data.endpoints)) return undefined;
      const endpoints = data.endpoints.map(parseEndpoint);
      if (endpoints.some((e) => e === undefined)) return undefined;
      return { t: "ready", endpoints: endpoints as Endpoint[] };
    }
    case "log": {
      const rec = data.rec;
      if (!isRecord(rec)) return undefined;
      const { ts, level, svc, msg, fields } = rec;
      if (typeof ts !== "string" || typeof svc !== "string" || typeof msg !== "string") return undefined;
      if (typeof level !== "string" || !LEVELS.has(level)) return undefined;
      if (fields !== undefined && !isRecord(fields)) return undefined;
      return { t: "log", rec: rec as unknown as LogRecord };
    }
    case "metrics":
      return typeof data.id === "number" ? { t: "metrics", id: data.id, snapshot: data.snapshot } : undefined;
    case "cert-request":
      if (typeof data.id !== "number" || !Array.isArray(data.names) || data.names.length > 1_000) {
        return undefined;
      }
      if (!data.names.every((n) => typeof n === "string" && n.length <= 253)) return undefined;
      return { t: "cert-request", id: data.id, names: data.names as string[] };
    case "reloaded":
      if (typeof data.id !== "number") return undefined;
      if (data.error !== undefined && typeof data.error !== "string") return undefined;
      return data.error === undefined
        ? { t: "reloaded", id: data.id }
        : { t: "reloaded", id: data.id, error: data.error };
    case "drained":
      return { t: "drained" };
    case "fatal":
      return typeof data.message === "string" ? { t: "fatal", message: data.message } : undefined;
    default:
      return undefined;
  }
}
