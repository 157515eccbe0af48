/**
 * The client side of a GhostBridge connection (Deno adapter): connect over QUIC with ALPN `ghostbridge/1`,
 * authenticate with the node key (AUTH hello / challenge / proof, README "Authentication"), then open calls and
 * send control requests (SERVICE_REGISTER, SERVICE_DISCOVERY, HEALTH_CHECK).
 *
 * @module
 */

import { type ClientOptions, connectQuic, type QuicConnection } from "../transport/mod.ts";
import { FrameReader, StreamIo, withTimeout } from "./_frame_stream.ts";
import {
  authTranscript,
  CLIENT_PROOF_DOMAIN,
  normalizeHost,
  SERVER_PROOF_DOMAIN,
} from "./auth_transcript.ts";
import { BridgeError, GrpcStatus } from "./errors.ts";
import {
  BRIDGE_ALPN,
  DEFAULT_FRAME_LIMITS,
  encodeFrame,
  type Frame,
  FrameType,
  frameTypeName,
} from "./frame_codec.ts";
import {
  type CallStatus,
  decodeAuth,
  decodeDiscovery,
  decodeHealth,
  decodeStatus,
  decodeStreamError,
  type DiscoveredInstance,
  encodeAuth,
  encodeDiscovery,
  encodeHealth,
  encodeRegister,
  type HealthStatusValue,
  type InstanceInfo,
} from "./frame_payloads.ts";
import { type NodeIdentity, toHex, verifyEd25519 } from "./node_identity.ts";

/** Where a peer bridge listens and who it must be. */
export interface PeerTarget {
  /** Host name or IP. */
  readonly hostname: string;
  /** UDP port. */
  readonly port: number;
  /** TLS server name. Defaults to `hostname`. */
  readonly serverName?: string;
  /** The peer's Ed25519 public key; when set, a server proving another key is refused. */
  readonly publicKey?: Uint8Array;
}

/** An authenticated connection to a peer bridge. */
export interface ClientSession {
  /** The QUIC connection. */
  readonly conn: QuicConnection;
  /** The peer bridge's verified public key. */
  readonly peerKey: Uint8Array;
}

/** Options of {@linkcode connectBridge}. */
export interface ConnectBridgeOptions extends ClientOptions {
  /** Milliseconds the authentication exchange may take. Default 5,000. */
  readonly authTimeoutMs?: number;
}

/**
 * Connects to a peer bridge and authenticates both ways: the server signs first (so we learn its key), then we
 * prove our node key. Throws {@linkcode BridgeError}: UNAVAILABLE (connect), UNAUTHENTICATED (bad signature or
 * binding), PERMISSION_DENIED (not on the peer's allow-list).
 */
export async function connectBridge(
  target: PeerTarget,
  identity: NodeIdentity,
  options: ConnectBridgeOptions = {},
): Promise<ClientSession> {
  let conn: QuicConnection;
  try {
    conn = await connectQuic(
      {
        hostname: target.hostname,
        port: target.port,
        serverName: target.serverName ?? target.hostname,
        alpn: BRIDGE_ALPN,
      },
      options,
    );
  } catch (error) {
    throw new BridgeError(
      GrpcStatus.UNAVAILABLE,
      `Cannot connect to bridge ${target.hostname}:${target.port}`,
      {
        cause: error,
        source: "upstream",
        retryable: true,
        reason: "connect_failed",
      },
    );
  }
  try {
    const peerKey = await withTimeout(
      authenticate(conn, target, identity),
      options.authTimeoutMs ?? 5000,
      "Authentication",
    );
    return { conn, peerKey };
  } catch (error) {
    conn.close(0, "authentication failed");
    throw error;
  }
}

async function authenticate(
  conn: QuicConnection,
  target: PeerTarget,
  identity: NodeIdentity,
): Promise<Uint8Array> {
  const stream = await conn.openBidi();
  const io = new StreamIo(stream);
  const frames = new FrameReader(io, DEFAULT_FRAME_LIMITS);
  const clientNonce = crypto.getRandomValues(new Uint8Array(32));
  await io.write(
    encodeFrame(
      FrameType.AUTH,
      encodeAuth({ step: "hello", publicKey: identity.publicKey, nonce: clientNonce }),
    ),
  );
  const challengeFrame = await expectFrame(frames, FrameType.AUTH);
  const challenge = decodeAuth(challengeFrame.payload);
  if (challenge.step !== "challenge") throw unauthenticated(`expected AUTH challenge, got ${challenge.step}`);
  const local = conn.raw.endpoint.addr;
  const binding = {
    alpn: BRIDGE_ALPN,
    serverName: sniOf(target),
    serverPort: target.port,
    clientNonce,
    serverNonce: challenge.nonce,
    clientKey: identity.publicKey,
    serverKey: challenge.publicKey,
  };
  // The server signs the address it sees us at; it must be our own port (a relay would show its own).
  if (challenge.observedPort !== local.port) {
    throw unauthenticated(`server saw us at port ${challenge.observedPort}, we are at ${local.port}`);
  }
  const serverOk = await verifyEd25519(
    challenge.publicKey,
    authTranscript(SERVER_PROOF_DOMAIN, {
      ...binding,
      clientHost: challenge.observedHost,
      clientPort: challenge.observedPort,
    }),
    challenge.signature,
  );
  if (!serverOk) throw unauthenticated("server signature does not verify");
  if (target.publicKey && toHex(target.publicKey) !== toHex(challenge.publicKey)) {
    throw new BridgeError(
      GrpcStatus.PERMISSION_DENIED,
      `Peer bridge key ${toHex(challenge.publicKey)} is not the configured one`,
      {
        source: "upstream",
      },
    );
  }
  const host = normalizeHost(local.hostname);
  const signature = await identity.sign(
    authTranscript(CLIENT_PROOF_DOMAIN, { ...binding, clientHost: host, clientPort: local.port }),
  );
  await io.write(
    encodeFrame(FrameType.AUTH, encodeAuth({ step: "proof", host, port: local.port, signature })),
  );
  const result = decodeStatus((await expectFrame(frames, FrameType.STATUS)).payload);
  await io.fin();
  if (result.code !== GrpcStatus.OK) {
    throw new BridgeError(result.code, `Peer bridge refused us: ${result.message}`, { source: "upstream" });
  }
  return challenge.publicKey;
}

/** The SNI both sides bind: the server name when it is a DNS name, "" for IP literals (rustls sends no IP SNI). */
export function sniOf(target: { readonly hostname: string; readonly serverName?: string }): string {
  const name = target.serverName ?? target.hostname;
  return /^[0-9.]+$/.test(name) || name.includes(":") ? "" : name.toLowerCase();
}

function unauthenticated(detail: string): BridgeError {
  return new BridgeError(GrpcStatus.UNAUTHENTICATED, `Cannot authenticate peer bridge: ${detail}`, {
    source: "upstream",
  });
}

/** Reads the next frame, which must be `type` (a STATUS or STREAM_ERROR instead is raised as its error). */
async function expectFrame(frames: FrameReader, type: number): Promise<Frame> {
  const f = await frames.next();
  if (f === null) {
    throw new BridgeError(GrpcStatus.UNAVAILABLE, `Stream ended before ${frameTypeName(type)}`, {
      retryable: true,
    });
  }
  if (f.type === type) return f;
  throw unexpectedFrame(f, type);
}

function unexpectedFrame(f: Frame, type: number): BridgeError {
  if (f.type === FrameType.STATUS) {
    const s = decodeStatus(f.payload);
    return new BridgeError(s.code, s.message, { source: "upstream" });
  }
  if (f.type === FrameType.STREAM_ERROR) {
    const e = decodeStreamError(f.payload);
    return new BridgeError(GrpcStatus.INTERNAL, `Peer reset the stream: ${e.message}`, {
      streamError: e.code,
      source: "upstream",
    });
  }
  return new BridgeError(
    GrpcStatus.INTERNAL,
    `Expected ${frameTypeName(type)}, got ${frameTypeName(f.type)}`,
    { source: "upstream" },
  );
}

/** One control exchange: request frame, FIN, then an optional answer frame of `answerType` and a STATUS. */
async function control(
  session: ClientSession,
  type: number,
  payload: Uint8Array,
  timeoutMs: number,
): Promise<{ answer: Frame | undefined; status: CallStatus }> {
  return await withTimeout(
    (async () => {
      const io = new StreamIo(await session.conn.openBidi());
      const frames = new FrameReader(io, DEFAULT_FRAME_LIMITS);
      await io.write(encodeFrame(type, payload));
      await io.fin();
      let answer: Frame | undefined;
      for (;;) {
        const f = await frames.next();
        if (f === null) {
          throw new BridgeError(GrpcStatus.UNAVAILABLE, "Control stream ended before STATUS", {
            retryable: true,
          });
        }
        if (f.type === type && answer === undefined) {
          answer = f;
          continue;
        }
        if (f.type === FrameType.STATUS) return { answer, status: decodeStatus(f.payload) };
        throw unexpectedFrame(f, FrameType.STATUS);
      }
    })(),
    timeoutMs,
    `${frameTypeName(type)} request`,
  );
}

function check(s: CallStatus, what: string): void {
  if (s.code !== GrpcStatus.OK) {
    throw new BridgeError(s.code, `${what} failed: ${s.message}`, { source: "upstream" });
  }
}

/** Asks a peer bridge for the live instances of `service` ("" = all services it serves). */
export async function discover(
  session: ClientSession,
  service: string,
  timeoutMs = 5000,
): Promise<DiscoveredInstance[]> {
  const { answer, status } = await control(
    session,
    FrameType.SERVICE_DISCOVERY,
    encodeDiscovery({ op: "query", service }),
    timeoutMs,
  );
  check(status, "SERVICE_DISCOVERY");
  if (!answer) return [];
  const d = decodeDiscovery(answer.payload);
  return d.op === "answer" ? [...d.instances] : [];
}

/** Registers (or deregisters) an instance with a peer bridge, which then serves it (its endpoint must be http://). */
export async function registerRemote(
  session: ClientSession,
  instance: InstanceInfo,
  op: "register" | "deregister" = "register",
  timeoutMs = 5000,
): Promise<void> {
  const { status } = await control(
    session,
    FrameType.SERVICE_REGISTER,
    encodeRegister({ op, instance }),
    timeoutMs,
  );
  check(status, "SERVICE_REGISTER");
}

/** grpc.health.v1-style check of a service at a peer bridge ("" = the bridge itself). */
export async function checkHealth(
  session: ClientSession,
  service: string,
  timeoutMs = 5000,
): Promise<HealthStatusValue> {
  const { answer, status } = await control(
    session,
    FrameType.HEALTH_CHECK,
    encodeHealth({ op: "query", service }),
    timeoutMs,
  );
  check(status, "HEALTH_CHECK");
  if (!answer) {
    throw new BridgeError(GrpcStatus.INTERNAL, "HEALTH_CHECK answer missing", { source: "upstream" });
  }
  const h = decodeHealth(answer.payload);
  if (h.op !== "answer") {
    throw new BridgeError(GrpcStatus.INTERNAL, "HEALTH_CHECK answer missing", { source: "upstream" });
  }
  return h.status;
}
