/**
 * The server side of a GhostBridge connection (Deno adapter): authenticates the peer on its first stream, then
 * serves each further bidirectional stream by its first frame: GRPC_REQUEST opens a call (one call per stream),
 * SERVICE_REGISTER / SERVICE_DISCOVERY / HEALTH_CHECK are one-shot control exchanges. A bad stream gets a
 * STREAM_ERROR frame, FIN and STOP_SENDING; the connection keeps serving its other streams.
 *
 * @module
 */

import type { QuicConnection } from "../transport/mod.ts";
import { FrameReader, StreamIo, withTimeout } from "./_frame_stream.ts";
import {
  authTranscript,
  CLIENT_PROOF_DOMAIN,
  clientAddressMatches,
  normalizeHost,
  SERVER_PROOF_DOMAIN,
} from "./auth_transcript.ts";
import { type BridgeCall, type ResponseEvent, status } from "./call.ts";
import { type CallLimits, CallMachine } from "./call_machine.ts";
import { BridgeError, GrpcStatus, StreamErrorCode } from "./errors.ts";
import { BRIDGE_ALPN, encodeFrame, FRAME_VERSION, FrameType, frameTypeName } from "./frame_codec.ts";
import {
  type CallHead,
  type CallStatus,
  decodeAuth,
  decodeDiscovery,
  decodeHealth,
  decodeRegister,
  type DiscoveredInstance,
  encodeAuth,
  encodeDiscovery,
  encodeHealth,
  encodeStatus,
  encodeStreamError,
  type HealthStatusValue,
  type RegisterPayload,
} from "./frame_payloads.ts";
import { type NodeIdentity, toHex, verifyEd25519 } from "./node_identity.ts";

/** QUIC application close code for a failed authentication (README "Close codes"). */
export const AUTH_FAILED_CLOSE_CODE = 0x20;

/** What a server session needs from its bridge. */
export interface SessionHost {
  /** This bridge's node key. */
  readonly identity: NodeIdentity;
  /** The UDP port the server listens on (bound into the auth transcript). */
  serverPort(): number;
  /** Call limits for peer input. */
  readonly limits: CallLimits;
  /** Milliseconds a peer has to authenticate. */
  readonly authTimeoutMs: number;
  /** True when `key` may register and call. */
  isAllowed(key: Uint8Array): boolean;
  /** Opens a call on a local instance of the call's service (or a failed call). */
  openLocal(head: CallHead, peer: string): BridgeCall;
  /** Local instances for a discovery answer. */
  discovery(service: string): DiscoveredInstance[];
  /** Health of a local service ("" = the bridge). */
  health(service: string): HealthStatusValue;
  /** Applies a SERVICE_REGISTER from `peer`. */
  register(p: RegisterPayload, peer: string): CallStatus;
  /** Told about refused peers and bad streams (for logs). */
  onEvent?(event: string, fields: Record<string, unknown>): void;
}

/** Serves one accepted `ghostbridge/1` connection until it closes or drains. */
export async function serveConnection(conn: QuicConnection, host: SessionHost): Promise<void> {
  let peer: string | undefined;
  let authenticating = false;
  await conn.forEachBidi(async (stream) => {
    const io = new StreamIo(stream);
    try {
      const initial = await readStart(io);
      if (initial === null) return;
      const [version, type] = initial.head;
      if (version !== FRAME_VERSION) {
        return reject(
          io,
          StreamErrorCode.UNSUPPORTED_VERSION,
          `Cannot decode GhostBridge frame: version ${version} is not 1`,
        );
      }
      if (type === FrameType.AUTH) {
        if (peer !== undefined || authenticating) {
          return reject(io, StreamErrorCode.UNEXPECTED_FRAME, "Cannot accept AUTH: already authenticated");
        }
        authenticating = true;
        const key = await withTimeout(
          authenticate(conn, io, initial.chunks, host),
          host.authTimeoutMs,
          "Authentication",
        )
          .catch((error: unknown) => {
            host.onEvent?.("auth_failed", { remote: conn.remoteAddr.hostname, error: String(error) });
            return undefined;
          });
        authenticating = false;
        if (key === undefined) {
          // Give the refusal time to arrive, then close the connection.
          setTimeout(() => conn.close(AUTH_FAILED_CLOSE_CODE, "ghostbridge authentication failed"), 200);
          return;
        }
        peer = toHex(key);
        return;
      }
      if (peer === undefined) {
        return reject(
          io,
          StreamErrorCode.UNAUTHENTICATED,
          `Cannot accept ${frameTypeName(type)}: peer is not authenticated`,
        );
      }
      switch (type) {
        case FrameType.GRPC_REQUEST:
          return await serveCall(io, initial.chunks, host, peer);
        case FrameType.SERVICE_REGISTER:
        case FrameType.SERVICE_DISCOVERY:
        case FrameType.HEALTH_CHECK:
          return await serveControl(io, initial.chunks, host, peer);
        default: {
          const unknown = frameTypeName(type).startsWith("0x");
          return reject(
            io,
            unknown ? StreamErrorCode.UNKNOWN_FRAME_TYPE : StreamErrorCode.UNEXPECTED_FRAME,
            `Cannot open a stream with ${frameTypeName(type)}`,
          );
        }
      }
    } catch (error) {
      const e = error instanceof BridgeError ? error : new BridgeError(GrpcStatus.INTERNAL, String(error));
      if (e.streamError !== undefined) await reject(io, e.streamError, e.message);
      else {
        io.stopReading();
        await io.fin();
      }
    }
  });
}

/** Reads until the first two bytes (version, type) are known. */
async function readStart(io: StreamIo): Promise<{ head: [number, number]; chunks: Uint8Array[] } | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < 2) {
    const c = await io.read();
    if (c === null) return null;
    chunks.push(c);
    total += c.length;
  }
  const first = chunks[0] ?? new Uint8Array(0);
  const second = first.length >= 2 ? first[1] : chunks[1]?.[0];
  return { head: [first[0] ?? 0, second ?? 0], chunks };
}

/** Ends a stream in band: STREAM_ERROR, FIN, STOP_SENDING (README "Stream errors"). */
async function reject(io: StreamIo, code: number, message: string): Promise<void> {
  await io.write(encodeFrame(FrameType.STREAM_ERROR, encodeStreamError({ code, message })));
  io.stopReading();
  await io.fin();
}

async function authenticate(
  conn: QuicConnection,
  io: StreamIo,
  initial: Uint8Array[],
  host: SessionHost,
): Promise<Uint8Array | undefined> {
  const frames = new FrameReader(io, host.limits, initial);
  const refuse = async (code: number, message: string): Promise<undefined> => {
    await io.write(encodeFrame(FrameType.STATUS, encodeStatus(status(code, message))));
    await io.fin();
    io.stopReading();
    host.onEvent?.("peer_refused", { remote: conn.remoteAddr.hostname, code, message });
    return undefined;
  };
  const helloFrame = await frames.next();
  if (helloFrame?.type !== FrameType.AUTH) return refuse(GrpcStatus.UNAUTHENTICATED, "Expected AUTH hello");
  const hello = decodeAuth(helloFrame.payload);
  if (hello.step !== "hello") return refuse(GrpcStatus.UNAUTHENTICATED, "Expected AUTH hello");
  const serverNonce = crypto.getRandomValues(new Uint8Array(32));
  const observed = { host: normalizeHost(conn.remoteAddr.hostname), port: conn.remoteAddr.port };
  const binding = {
    alpn: BRIDGE_ALPN,
    serverName: (conn.serverName ?? "").toLowerCase(),
    serverPort: host.serverPort(),
    clientNonce: hello.nonce,
    serverNonce,
    clientKey: hello.publicKey,
    serverKey: host.identity.publicKey,
  };
  const serverSig = await host.identity.sign(
    authTranscript(SERVER_PROOF_DOMAIN, { ...binding, clientHost: observed.host, clientPort: observed.port }),
  );
  await io.write(encodeFrame(
    FrameType.AUTH,
    encodeAuth({
      step: "challenge",
      publicKey: host.identity.publicKey,
      nonce: serverNonce,
      observedHost: observed.host,
      observedPort: observed.port,
      signature: serverSig,
    }),
  ));
  const proofFrame = await frames.next();
  if (proofFrame?.type !== FrameType.AUTH) return refuse(GrpcStatus.UNAUTHENTICATED, "Expected AUTH proof");
  const proof = decodeAuth(proofFrame.payload);
  if (proof.step !== "proof") return refuse(GrpcStatus.UNAUTHENTICATED, "Expected AUTH proof");
  if (!clientAddressMatches({ host: proof.host, port: proof.port }, observed)) {
    return refuse(
      GrpcStatus.UNAUTHENTICATED,
      `Proof names ${proof.host}:${proof.port} but the connection comes from ${observed.host}:${observed.port}`,
    );
  }
  const ok = await verifyEd25519(
    hello.publicKey,
    authTranscript(CLIENT_PROOF_DOMAIN, { ...binding, clientHost: proof.host, clientPort: proof.port }),
    proof.signature,
  );
  if (!ok) return refuse(GrpcStatus.UNAUTHENTICATED, "Signature over the challenge does not verify");
  if (!host.isAllowed(hello.publicKey)) {
    return refuse(
      GrpcStatus.PERMISSION_DENIED,
      `Peer key ${toHex(hello.publicKey)} is not on the allow-list`,
    );
  }
  await io.write(encodeFrame(FrameType.STATUS, encodeStatus(status(GrpcStatus.OK, ""))));
  await io.fin();
  return hello.publicKey;
}

async function serveControl(
  io: StreamIo,
  initial: Uint8Array[],
  host: SessionHost,
  peer: string,
): Promise<void> {
  const frames = new FrameReader(io, host.limits, initial);
  const f = await frames.next();
  if (f === null) return;
  let answer: Uint8Array | undefined;
  let result = status(GrpcStatus.OK, "");
  if (f.type === FrameType.SERVICE_DISCOVERY) {
    const q = decodeDiscovery(f.payload);
    if (q.op !== "query") {
      throw new BridgeError(GrpcStatus.INVALID_ARGUMENT, "Expected a query", {
        streamError: StreamErrorCode.UNEXPECTED_FRAME,
      });
    }
    let instances = host.discovery(q.service);
    // A discovery answer must fit one frame: list as many as fit (README).
    while (instances.length > 0) {
      const bytes = encodeDiscovery({ op: "answer", instances });
      if (bytes.length <= host.limits.maxControlFrameBytes) {
        answer = encodeFrame(FrameType.SERVICE_DISCOVERY, bytes);
        break;
      }
      instances = instances.slice(0, Math.floor(instances.length * 0.9));
    }
    answer ??= encodeFrame(FrameType.SERVICE_DISCOVERY, encodeDiscovery({ op: "answer", instances: [] }));
  } else if (f.type === FrameType.HEALTH_CHECK) {
    const q = decodeHealth(f.payload);
    if (q.op !== "query") {
      throw new BridgeError(GrpcStatus.INVALID_ARGUMENT, "Expected a query", {
        streamError: StreamErrorCode.UNEXPECTED_FRAME,
      });
    }
    answer = encodeFrame(
      FrameType.HEALTH_CHECK,
      encodeHealth({ op: "answer", service: q.service, status: host.health(q.service) }),
    );
  } else {
    result = host.register(decodeRegister(f.payload), peer);
  }
  if (answer) await io.write(answer);
  await io.write(encodeFrame(FrameType.STATUS, encodeStatus(result)));
  io.stopReading();
  await io.fin();
}

/** Serves one call stream: the stream's CallMachine on one side, a local instance's BridgeCall on the other. */
async function serveCall(
  io: StreamIo,
  initial: Uint8Array[],
  host: SessionHost,
  peer: string,
): Promise<void> {
  const machine = new CallMachine("server", host.limits);
  let call: BridgeCall | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let responding: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => io.write(machine.pollTransmit());
  const end = async (): Promise<void> => {
    clearTimeout(timer);
    io.stopReading();
    await flush();
    await io.fin();
  };

  const respond = async (c: BridgeCall): Promise<void> => {
    for (;;) {
      const ev: ResponseEvent = await c.next();
      if (machine.done) break;
      if (ev.type === "head") machine.sendResponseHead(ev.metadata);
      else if (ev.type === "message") machine.sendMessage(ev.data);
      else {
        machine.sendStatus(ev.status);
        break;
      }
      await flush();
    }
    await end();
  };

  const handleEvents = async (): Promise<boolean> => {
    for (let e = machine.pollEvent(); e; e = machine.pollEvent()) {
      switch (e.type) {
        case "head": {
          call = host.openLocal(e.head, peer);
          const at = machine.pollTimeout();
          if (at !== undefined) {
            timer = setTimeout(() => {
              // A timer may fire a fraction of a millisecond before performance.now() reaches `at`; the deadline
              // has passed all the same. (Passing the earlier clock made handleTimeout a no-op, and end() below
              // then sent FIN before the STATUS the call produced: "Stream ended before STATUS".)
              machine.handleTimeout(Math.max(performance.now(), at));
              call?.cancel(GrpcStatus.DEADLINE_EXCEEDED, "Deadline exceeded");
              void end();
            }, Math.max(0, at - performance.now()));
          }
          responding = respond(call);
          break;
        }
        case "message":
          await call?.write(e.data);
          break;
        case "half_close":
          call?.end();
          break;
        case "cancelled":
          call?.cancel(e.code, e.message);
          await end();
          return false;
        default:
          break;
      }
    }
    await flush();
    return !machine.done;
  };

  for (const c of initial) machine.handleBytes(c, performance.now());
  let open = await handleEvents();
  try {
    while (open) {
      const chunk = await io.read();
      if (chunk === null) machine.handleEnd(performance.now());
      else machine.handleBytes(chunk, performance.now());
      open = await handleEvents() && chunk !== null;
    }
  } catch (error) {
    machine.handleAbort(
      error instanceof BridgeError ? error : new BridgeError(GrpcStatus.UNAVAILABLE, String(error)),
    );
    await handleEvents();
  }
  await responding;
}
