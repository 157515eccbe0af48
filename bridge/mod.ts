/**
 * GhostBridge: gRPC relayed between services over QUIC (ALPN `ghostbridge/1`). Bridges authenticate each other
 * with Ed25519 node keys, register services (in-process TypeScript handlers or gRPC servers over HTTP/2),
 * discover instances across peer bridges, check their health (grpc.health.v1 semantics), balance calls and fail
 * over where it is safe. A local gRPC ingress lets any gRPC client call through the bridge; messages stay opaque
 * bytes end to end. The wire protocol is specified in `bridge/README.md`.
 *
 * @example
 * ```ts
 * import { ensureDevPki } from "../transport/mod.ts";
 * import { generateIdentity, GhostBridge, toHex, unary } from "./mod.ts";
 *
 * const pki = await ensureDevPki({ dir: await Deno.makeTempDir() });
 * const [idA, idB] = [await generateIdentity(), await generateIdentity()];
 * const b = new GhostBridge({ identity: idB, cert: pki.certPem, key: pki.keyPem, allowList: [toHex(idA.publicKey)] });
 * b.register("demo.Echo", { Say: unary((req) => req) });
 * const a = new GhostBridge({
 *   identity: idA, cert: pki.certPem, key: pki.keyPem, caCerts: [pki.caPem], allowList: [],
 *   peers: [{ hostname: "127.0.0.1", port: b.addr.port, serverName: "localhost" }],
 * });
 * await a.startHealthChecks();
 * const { message } = await a.unary("demo.Echo", "Say", new TextEncoder().encode("hi"), { timeoutMs: 1000 });
 * console.log(new TextDecoder().decode(message)); // "hi"
 * await a.close();
 * await b.close();
 * ```
 *
 * @module
 */

export {
  BridgeError,
  type BridgeErrorOptions,
  GrpcStatus,
  grpcStatusName,
  StreamErrorCode,
  streamErrorName,
} from "./errors.ts";
export {
  BRIDGE_ALPN,
  decodeFrame,
  DEFAULT_FRAME_LIMITS,
  encodeFrame,
  type Frame,
  FRAME_VERSION,
  FrameDecoder,
  type FrameLimits,
  FrameType,
  frameTypeName,
} from "./frame_codec.ts";
export * from "./frame_payloads.ts";
export {
  type CallEvent,
  type CallLimits,
  CallMachine,
  type CallRole,
  DEFAULT_CALL_LIMITS,
  DEFAULT_MAX_MESSAGE_BYTES,
} from "./call_machine.ts";
export { type BridgeCall, type CallTarget, type ResponseEvent } from "./call.ts";
export * from "./handlers.ts";
export {
  bidiStreamCall,
  type Caller,
  callHead,
  type CallOptions,
  clientStreamCall,
  serverStreamCall,
  unaryCall,
  type UnaryResult,
} from "./client_api.ts";
export { type MeshNodeOptions, type MeshNodePeer, startMeshNode } from "./mesh_node.ts";
export { type Balancer, LeastOutstandingBalancer, RoundRobinBalancer } from "./balancer.ts";
export { type HealthPolicy, type InstanceRecord, ServiceRegistry } from "./registry.ts";
export { type AttemptOutcome, mayRetry } from "./retry_policy.ts";
export { authTranscript, CLIENT_PROOF_DOMAIN, SERVER_PROOF_DOMAIN } from "./auth_transcript.ts";
export {
  fromHex,
  generateIdentity,
  identityFromSeed,
  loadOrCreateNodeKey,
  type NodeIdentity,
  toHex,
  verifyEd25519,
} from "./node_identity.ts";
export {
  checkHealth,
  type ClientSession,
  connectBridge,
  discover,
  type PeerTarget,
  registerRemote,
} from "./client_session.ts";
export { AUTH_FAILED_CLOSE_CODE } from "./server_session.ts";
export { GhostBridge, type GhostBridgeOptions } from "./ghost_bridge.ts";
export { GrpcIngress, type GrpcIngressOptions } from "./grpc_ingress.ts";
export { Http2Target } from "./grpc_egress.ts";
export { type BridgeConfig, DEFAULT_BRIDGE_CONFIG, parseBridgeConfig } from "./config.ts";
