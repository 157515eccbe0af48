/**
 * Payload codecs of every GhostBridge frame type: `encodeX(value): Uint8Array` and `decodeX(payload): X`, pure
 * and symmetric. Decoders throw only the bridge's decode error (MALFORMED_FRAME). Integers are big-endian;
 * `str8`/`str16` are UTF-8 strings behind a u8/u16 byte length. Layouts: bridge/README.md "Frames".
 *
 * @module
 */

import { ByteReader, ByteWriter } from "./_wire.ts";

/** gRPC metadata as (key, value bytes) pairs, in order. `-bin` values are raw bytes (not base64). */
export type Metadata = ReadonlyArray<readonly [string, Uint8Array]>;

/** Metadata key characters allowed by the gRPC HTTP/2 spec: `0-9 a-z _ - .`. */
const KEY_RE = /^[0-9a-z_.-]{1,255}$/;

/** True when `key` is a valid gRPC metadata key. */
export function isMetadataKey(key: string): boolean {
  return KEY_RE.test(key);
}

/** True when a non-binary metadata value holds only printable ASCII (0x20-0x7E), as gRPC requires. */
export function isAsciiValue(value: Uint8Array): boolean {
  for (const b of value) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

function writeMetadata(w: ByteWriter, md: Metadata): void {
  if (md.length > 0xffff) throw new RangeError(`Cannot encode metadata: ${md.length} entries exceed 65535`);
  w.u16(md.length);
  for (const [k, v] of md) {
    if (!isMetadataKey(k)) throw new RangeError(`Cannot encode metadata: invalid key ${JSON.stringify(k)}`);
    w.str(k, 1, "metadata key").lenBytes(v, 2, "metadata value");
  }
}

function readMetadata(r: ByteReader): Metadata {
  const count = r.u16("metadata count");
  // Each entry takes at least 4 bytes: bound the count by the bytes left before building anything.
  if (count * 4 > r.remaining) r.fail(`metadata count ${count} exceeds the payload`);
  const out: Array<readonly [string, Uint8Array]> = [];
  for (let i = 0; i < count; i++) {
    const key = r.str(1, "metadata key");
    if (!isMetadataKey(key)) r.fail(`metadata key ${JSON.stringify(key.slice(0, 40))} is not valid`);
    const value = r.lenBytes(2, "metadata value").slice();
    if (!key.endsWith("-bin") && !isAsciiValue(value)) {
      r.fail(`metadata value of ${key} is not printable ASCII`);
    }
    out.push([key, value]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Call frames

/** GRPC_REQUEST (0x01): opens a call. */
export interface CallHead {
  /** gRPC method path, `/package.Service/Method`. */
  readonly path: string;
  /** Milliseconds the caller still allows (0 = no deadline). Relative, so clocks need not agree. */
  readonly timeoutMs: number;
  /** The caller marked the call idempotent (safe to retry after it was sent). */
  readonly idempotent: boolean;
  /** The instance id the caller's balancer chose; empty: the receiver chooses. */
  readonly instance: string;
  /** Request metadata (reserved keys removed). */
  readonly metadata: Metadata;
}

const FLAG_IDEMPOTENT = 0x01;

/** Largest timeout carried: u32 milliseconds (about 49.7 days). */
export const MAX_TIMEOUT_MS = 0xffff_ffff;

/** Encodes a GRPC_REQUEST payload. */
export function encodeCallHead(h: CallHead): Uint8Array {
  const w = new ByteWriter(64 + h.path.length);
  w.u8(h.idempotent ? FLAG_IDEMPOTENT : 0);
  w.u32(Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(h.timeoutMs))));
  w.str(h.path, 2, "method path");
  w.str(h.instance, 1, "instance id");
  writeMetadata(w, h.metadata);
  return w.finish();
}

/** Decodes a GRPC_REQUEST payload. */
export function decodeCallHead(payload: Uint8Array): CallHead {
  const r = new ByteReader(payload, "GRPC_REQUEST");
  const flags = r.u8("flags"); // README: unknown flag bits are ignored
  const timeoutMs = r.u32("timeout");
  const path = r.str(2, "method path");
  if (!/^\/[^/\s]+\/[^/\s]+$/.test(path)) {
    r.fail(`method path ${JSON.stringify(path.slice(0, 80))} is not /Service/Method`);
  }
  const instance = r.str(1, "instance id");
  const metadata = readMetadata(r);
  r.end();
  return { path, timeoutMs, idempotent: (flags & FLAG_IDEMPOTENT) !== 0, instance, metadata };
}

/** GRPC_RESPONSE (0x02): the response's initial metadata. */
export interface ResponseHead {
  readonly metadata: Metadata;
}

/** Encodes a GRPC_RESPONSE payload. */
export function encodeResponseHead(h: ResponseHead): Uint8Array {
  const w = new ByteWriter();
  writeMetadata(w, h.metadata);
  return w.finish();
}

/** Decodes a GRPC_RESPONSE payload. */
export function decodeResponseHead(payload: Uint8Array): ResponseHead {
  const r = new ByteReader(payload, "GRPC_RESPONSE");
  const metadata = readMetadata(r);
  r.end();
  return { metadata };
}

/** MESSAGE (0x06): the start of one gRPC message; continuation frames carry the rest. */
export interface MessageStart {
  /** Total bytes of the message. */
  readonly length: number;
  /** Its first bytes (at most `length`). */
  readonly chunk: Uint8Array;
}

/** Encodes a MESSAGE payload. */
export function encodeMessageStart(m: MessageStart): Uint8Array {
  return new ByteWriter(4 + m.chunk.length).u32(m.length).bytes(m.chunk).finish();
}

/** Decodes a MESSAGE payload (the chunk is a view into `payload`). */
export function decodeMessageStart(payload: Uint8Array): MessageStart {
  const r = new ByteReader(payload, "MESSAGE");
  const length = r.u32("message length");
  const chunk = r.rest();
  if (chunk.length > length) r.fail(`chunk of ${chunk.length} bytes exceeds message length ${length}`);
  return { length, chunk };
}

/** STATUS (0x09): ends a call (server to client) with a gRPC status and trailing metadata. */
export interface CallStatus {
  /** gRPC status code. */
  readonly code: number;
  /** Status message (UTF-8). */
  readonly message: string;
  /** Trailing metadata. */
  readonly metadata: Metadata;
  /** The request never reached an application handler or upstream, so a retry elsewhere is safe. */
  readonly notProcessed: boolean;
}

const FLAG_NOT_PROCESSED = 0x01;

/** Encodes a STATUS payload (messages longer than 4 KiB are cut at a character boundary). */
export function encodeStatus(s: CallStatus): Uint8Array {
  const w = new ByteWriter(32 + s.message.length);
  w.u8(s.code).u8(s.notProcessed ? FLAG_NOT_PROCESSED : 0);
  w.lenBytes(truncateUtf8(s.message, 4096), 2, "status message");
  writeMetadata(w, s.metadata);
  return w.finish();
}

/** Decodes a STATUS payload. */
export function decodeStatus(payload: Uint8Array): CallStatus {
  const r = new ByteReader(payload, "STATUS");
  const code = r.u8("status code");
  const flags = r.u8("flags");
  const message = r.str(2, "status message");
  const metadata = readMetadata(r);
  r.end();
  return { code, message, metadata, notProcessed: (flags & FLAG_NOT_PROCESSED) !== 0 };
}

/** CANCEL (0x0A): the client abandons the call; the code is CANCELLED (1) or DEADLINE_EXCEEDED (4). */
export function encodeCancel(code: number): Uint8Array {
  return Uint8Array.of(code);
}

/** Decodes a CANCEL payload. */
export function decodeCancel(payload: Uint8Array): number {
  const r = new ByteReader(payload, "CANCEL");
  const code = r.u8("code");
  r.end();
  return code;
}

/** STREAM_ERROR (0x0B): the sender rejects the stream (code from the stream error registry). */
export interface StreamErrorPayload {
  readonly code: number;
  readonly message: string;
}

/** Encodes a STREAM_ERROR payload (message cut to 1 KiB). */
export function encodeStreamError(e: StreamErrorPayload): Uint8Array {
  return new ByteWriter().u16(e.code).lenBytes(truncateUtf8(e.message, 1024), 2, "error message").finish();
}

/** Decodes a STREAM_ERROR payload. */
export function decodeStreamError(payload: Uint8Array): StreamErrorPayload {
  const r = new ByteReader(payload, "STREAM_ERROR");
  const code = r.u16("code");
  const message = r.str(2, "message");
  r.end();
  return { code, message };
}

// ---------------------------------------------------------------------------------------------------------------
// Control frames

/** grpc.health.v1 `HealthCheckResponse.ServingStatus`. */
export const HealthStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
} as const;

/** A serving status value. */
export type HealthStatusValue = (typeof HealthStatus)[keyof typeof HealthStatus];

function healthStatus(r: ByteReader, v: number): HealthStatusValue {
  if (v > 3) r.fail(`health status ${v} is not 0-3`);
  return v as HealthStatusValue;
}

/** What a service instance registers: SERVICE_REGISTER fields. */
export interface InstanceInfo {
  /** gRPC service name, e.g. `ghost.wallet.v1.WalletService`. */
  readonly service: string;
  /** Free-form version, e.g. `1.2.0`. */
  readonly version: string;
  /** Where the bridge reaches it: `http://host:port` (gRPC over HTTP/2) or `inproc:<name>`. */
  readonly endpoint: string;
  /** Unique id of the instance. */
  readonly instanceId: string;
}

/** A discovered instance: where it lives and how healthy its bridge sees it. */
export interface DiscoveredInstance extends InstanceInfo {
  /** Health at the bridge that owns it. */
  readonly health: HealthStatusValue;
}

/** SERVICE_REGISTER (0x03). */
export type RegisterPayload =
  | { readonly op: "register"; readonly instance: InstanceInfo }
  | { readonly op: "deregister"; readonly instance: InstanceInfo };

function writeInstance(w: ByteWriter, i: InstanceInfo): void {
  w.str(i.service, 1, "service").str(i.version, 1, "version").str(i.endpoint, 2, "endpoint");
  w.str(i.instanceId, 1, "instance id");
}

function readInstance(r: ByteReader): InstanceInfo {
  const service = r.str(1, "service");
  if (service === "") r.fail("service name is empty");
  const version = r.str(1, "version");
  const endpoint = r.str(2, "endpoint");
  const instanceId = r.str(1, "instance id");
  if (instanceId === "") r.fail("instance id is empty");
  return { service, version, endpoint, instanceId };
}

/** Encodes a SERVICE_REGISTER payload. */
export function encodeRegister(p: RegisterPayload): Uint8Array {
  const w = new ByteWriter().u8(p.op === "register" ? 1 : 2);
  writeInstance(w, p.instance);
  return w.finish();
}

/** Decodes a SERVICE_REGISTER payload. */
export function decodeRegister(payload: Uint8Array): RegisterPayload {
  const r = new ByteReader(payload, "SERVICE_REGISTER");
  const op = r.u8("op");
  if (op !== 1 && op !== 2) r.fail(`op ${op} is not 1 (register) or 2 (deregister)`);
  const instance = readInstance(r);
  r.end();
  return { op: op === 1 ? "register" : "deregister", instance };
}

/** SERVICE_DISCOVERY (0x04): a query for a service name, or the answer listing its instances. */
export type DiscoveryPayload =
  | { readonly op: "query"; readonly service: string }
  | { readonly op: "answer"; readonly instances: readonly DiscoveredInstance[] };

/** Encodes a SERVICE_DISCOVERY payload. */
export function encodeDiscovery(p: DiscoveryPayload): Uint8Array {
  const w = new ByteWriter();
  if (p.op === "query") return w.u8(1).str(p.service, 1, "service").finish();
  w.u8(2).u16(p.instances.length);
  for (const i of p.instances) {
    writeInstance(w, i);
    w.u8(i.health);
  }
  return w.finish();
}

/** Decodes a SERVICE_DISCOVERY payload. */
export function decodeDiscovery(payload: Uint8Array): DiscoveryPayload {
  const r = new ByteReader(payload, "SERVICE_DISCOVERY");
  const op = r.u8("op");
  if (op === 1) {
    const service = r.str(1, "service");
    r.end();
    return { op: "query", service };
  }
  if (op !== 2) r.fail(`op ${op} is not 1 (query) or 2 (answer)`);
  const count = r.u16("instance count");
  if (count * 7 > r.remaining) r.fail(`instance count ${count} exceeds the payload`);
  const instances: DiscoveredInstance[] = [];
  for (let n = 0; n < count; n++) {
    const i = readInstance(r);
    instances.push({ ...i, health: healthStatus(r, r.u8("health")) });
  }
  r.end();
  return { op: "answer", instances };
}

/** HEALTH_CHECK (0x05): grpc.health.v1 Check over the bridge; an empty service asks about the bridge itself. */
export type HealthPayload =
  | { readonly op: "query"; readonly service: string }
  | { readonly op: "answer"; readonly service: string; readonly status: HealthStatusValue };

/** Encodes a HEALTH_CHECK payload. */
export function encodeHealth(p: HealthPayload): Uint8Array {
  const w = new ByteWriter().u8(p.op === "query" ? 1 : 2).str(p.service, 1, "service");
  if (p.op === "answer") w.u8(p.status);
  return w.finish();
}

/** Decodes a HEALTH_CHECK payload. */
export function decodeHealth(payload: Uint8Array): HealthPayload {
  const r = new ByteReader(payload, "HEALTH_CHECK");
  const op = r.u8("op");
  if (op !== 1 && op !== 2) r.fail(`op ${op} is not 1 (query) or 2 (answer)`);
  const service = r.str(1, "service");
  if (op === 1) {
    r.end();
    return { op: "query", service };
  }
  const status = healthStatus(r, r.u8("status"));
  r.end();
  return { op: "answer", service, status };
}

/** AUTH (0x0C): the three steps of peer authentication (README "Authentication"). */
export type AuthPayload =
  | { readonly step: "hello"; readonly publicKey: Uint8Array; readonly nonce: Uint8Array }
  | {
    readonly step: "challenge";
    readonly publicKey: Uint8Array;
    readonly nonce: Uint8Array;
    readonly observedHost: string;
    readonly observedPort: number;
    readonly signature: Uint8Array;
  }
  | { readonly step: "proof"; readonly host: string; readonly port: number; readonly signature: Uint8Array };

/** Encodes an AUTH payload. */
export function encodeAuth(p: AuthPayload): Uint8Array {
  const w = new ByteWriter(160);
  switch (p.step) {
    case "hello":
      return w.u8(1).bytes(fixed(p.publicKey, 32)).bytes(fixed(p.nonce, 32)).finish();
    case "challenge":
      return w.u8(2).bytes(fixed(p.publicKey, 32)).bytes(fixed(p.nonce, 32)).str(p.observedHost, 1, "host")
        .u16(p.observedPort).bytes(fixed(p.signature, 64)).finish();
    case "proof":
      return w.u8(3).str(p.host, 1, "host").u16(p.port).bytes(fixed(p.signature, 64)).finish();
  }
}

/** Decodes an AUTH payload. */
export function decodeAuth(payload: Uint8Array): AuthPayload {
  const r = new ByteReader(payload, "AUTH");
  const step = r.u8("step");
  let out: AuthPayload;
  if (step === 1) {
    out = {
      step: "hello",
      publicKey: r.bytes(32, "public key").slice(),
      nonce: r.bytes(32, "nonce").slice(),
    };
  } else if (step === 2) {
    const publicKey = r.bytes(32, "public key").slice();
    const nonce = r.bytes(32, "nonce").slice();
    const observedHost = r.str(1, "host");
    const observedPort = r.u16("port");
    out = {
      step: "challenge",
      publicKey,
      nonce,
      observedHost,
      observedPort,
      signature: r.bytes(64, "signature").slice(),
    };
  } else if (step === 3) {
    const host = r.str(1, "host");
    const port = r.u16("port");
    out = { step: "proof", host, port, signature: r.bytes(64, "signature").slice() };
  } else {
    return r.fail(`step ${step} is not 1-3`);
  }
  r.end();
  return out;
}

function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length !== n) throw new RangeError(`Cannot encode AUTH: field of ${b.length} bytes, expected ${n}`);
  return b;
}

/** UTF-8 bytes of `s`, cut to at most `max` bytes at a character boundary. */
export function truncateUtf8(s: string, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
