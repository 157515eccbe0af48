/**
 * `GhostBridge` (Deno adapter): one bridge node. It listens for `ghostbridge/1` over QUIC, authenticates peers,
 * keeps the service registry (in-process handlers, HTTP/2 upstreams, peer registrations, instances discovered on
 * peer bridges), checks health periodically, and opens balanced, failing-over calls to any instance, local or
 * remote.
 *
 * @module
 */

import { QuicServer, type ServerLimits } from "../transport/mod.ts";
import { type MetricsRegistry } from "../core/mod.ts";
import { type Balancer, createBalancer } from "./balancer.ts";
import { type BridgeCall, type CallTarget, failedCall, status } from "./call.ts";
import { type CallLimits, DEFAULT_CALL_LIMITS } from "./call_machine.ts";
import {
  bidiStreamCall,
  type CallOptions,
  clientStreamCall,
  serverStreamCall,
  unaryCall,
  type UnaryResult,
} from "./client_api.ts";
import {
  checkHealth,
  type ClientSession,
  connectBridge,
  discover,
  type PeerTarget,
} from "./client_session.ts";
import { GrpcStatus } from "./errors.ts";
import { type AttemptTarget, FailoverCall, serviceOf } from "./failover_call.ts";
import { BRIDGE_ALPN } from "./frame_codec.ts";
import {
  type CallHead,
  type CallStatus,
  type DiscoveredInstance,
  HealthStatus,
  type HealthStatusValue,
  type InstanceInfo,
  type RegisterPayload,
} from "./frame_payloads.ts";
import { Http2Target } from "./grpc_egress.ts";
import type { ServiceHandlers } from "./handlers.ts";
import { InprocTarget } from "./inproc_target.ts";
import { openQuicCall } from "./quic_call.ts";
import { type NodeIdentity, toHex } from "./node_identity.ts";
import { type InstanceRecord, ServiceRegistry } from "./registry.ts";
import { serveConnection, type SessionHost } from "./server_session.ts";

/** Options of {@linkcode GhostBridge}. */
export interface GhostBridgeOptions {
  /** This node's Ed25519 identity. */
  readonly identity: NodeIdentity;
  /** TLS certificate chain and key (PEM) of the QUIC listener. */
  readonly cert: string;
  readonly key: string;
  /** CA certificates (PEM) trusted when connecting to peer bridges. */
  readonly caCerts?: readonly string[];
  /** Listen address; port 0 picks one. Default 127.0.0.1:0. */
  readonly hostname?: string;
  readonly port?: number;
  /** Hex Ed25519 public keys allowed to register and call. */
  readonly allowList: readonly string[];
  /** Peer bridges whose instances are discovered and called. */
  readonly peers?: readonly PeerTarget[];
  /** Milliseconds between health checks and peer discovery refreshes. Default 5,000. */
  readonly healthIntervalMs?: number;
  /** Milliseconds a health check or discovery query may take. Default 2,000. */
  readonly healthTimeoutMs?: number;
  /** Consecutive failed checks before an instance is taken out. Default 2. */
  readonly unhealthyThreshold?: number;
  /** Consecutive passed checks before it is put back. Default 1. */
  readonly healthyThreshold?: number;
  /** `least_outstanding` (default) or `round_robin`. */
  readonly balancer?: "round_robin" | "least_outstanding";
  /** Most attempts per call (failover). Default 3. */
  readonly maxAttempts?: number;
  /** Request bytes buffered for replay. Default 4 MiB + 64 KiB. */
  readonly replayBufferBytes?: number;
  /** Call limits for peer input (message size, frame sizes). */
  readonly limits?: Partial<CallLimits>;
  /** QUIC server limits (streams per connection, idle timeout...). */
  readonly serverLimits?: Partial<ServerLimits>;
  /** Milliseconds a connect to a peer bridge may take. Default 2,000. */
  readonly connectTimeoutMs?: number;
  /** Metrics registry for the transport. */
  readonly metrics?: MetricsRegistry;
  /** Structured events (auth refusals, health changes) for logs. */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

interface LocalEntry {
  readonly target: CallTarget;
  /** Health probe; in-process handlers are SERVING while registered. */
  readonly check?: (timeoutMs: number) => Promise<HealthStatusValue>;
  /** Key of the peer that registered it over SERVICE_REGISTER. */
  readonly owner?: string;
  readonly close?: () => void;
}

/** A peer bridge link: one authenticated connection, reconnected on demand. */
class PeerLink {
  readonly id: string;
  readonly target: PeerTarget;
  failures = 0;
  #session: Promise<ClientSession> | undefined;
  readonly #connect: (t: PeerTarget) => Promise<ClientSession>;

  constructor(target: PeerTarget, connect: (t: PeerTarget) => Promise<ClientSession>) {
    this.target = target;
    this.id = `${target.hostname}:${target.port}`;
    this.#connect = connect;
  }

  session(): Promise<ClientSession> {
    const current = this.#session;
    if (current) {
      return current.then(
        (s) => (s.conn.isClosed ? this.#reconnect(current) : s),
        () => this.#reconnect(current),
      );
    }
    return this.#reconnect(undefined);
  }

  #reconnect(stale: Promise<ClientSession> | undefined): Promise<ClientSession> {
    if (this.#session !== stale && this.#session) return this.#session;
    const next = this.#connect(this.target);
    this.#session = next;
    next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    const s = await this.#session?.catch(() => undefined);
    s?.conn.close(0, "bridge closing");
    await s?.conn.closed;
  }
}

/**
 * A GhostBridge node.
 *
 * @example
 * ```ts
 * const bridge = new GhostBridge({ identity, cert, key, allowList: [] });
 * bridge.register("demo.Echo", { Say: unary((req) => req) });
 * const { message } = await bridge.unary("demo.Echo", "Say", new Uint8Array([1]));
 * await bridge.close();
 * ```
 */
export class GhostBridge {
  /** This node's public key, hex. */
  readonly nodeId: string;
  /** The QUIC server. */
  readonly server: QuicServer;
  /** The registry (read it for status; change it through the bridge's methods). */
  readonly registry: ServiceRegistry;

  readonly #opts: GhostBridgeOptions;
  readonly #limits: CallLimits;
  readonly #allow: ReadonlySet<string>;
  readonly #locals = new Map<string, LocalEntry>();
  readonly #links: PeerLink[];
  readonly #balancer: Balancer;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;
  #nextId = 1;

  /** Starts listening; health checks start with {@linkcode GhostBridge.startHealthChecks} (or `start`). */
  constructor(opts: GhostBridgeOptions) {
    this.#opts = opts;
    this.nodeId = toHex(opts.identity.publicKey);
    this.#limits = { ...DEFAULT_CALL_LIMITS, ...opts.limits };
    this.#allow = new Set(opts.allowList.map((k) => k.toLowerCase()));
    this.#balancer = createBalancer(opts.balancer ?? "least_outstanding");
    this.registry = new ServiceRegistry(this.#balancer, {
      ...(opts.unhealthyThreshold !== undefined ? { unhealthyThreshold: opts.unhealthyThreshold } : {}),
      ...(opts.healthyThreshold !== undefined ? { healthyThreshold: opts.healthyThreshold } : {}),
    });
    const host = this.#sessionHost();
    this.server = new QuicServer({
      hostname: opts.hostname ?? "127.0.0.1",
      port: opts.port ?? 0,
      cert: opts.cert,
      key: opts.key,
      handlers: { [BRIDGE_ALPN]: { handle: (conn) => serveConnection(conn, host) } },
      limits: {
        maxConcurrentBidiStreams: 2048,
        streamBurst: 100_000,
        streamsPerSecond: 100_000,
        ...opts.serverLimits,
      },
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    this.#links = (opts.peers ?? []).map((p) => new PeerLink(p, (t) => this.#connectPeer(t)));
  }

  /** The bound QUIC address. */
  get addr(): Deno.NetAddr {
    return this.server.addr;
  }

  /** Starts periodic health checks and peer discovery (and runs one round now). */
  startHealthChecks(): Promise<void> {
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.checkNow(), this.#opts.healthIntervalMs ?? 5000);
    }
    return this.checkNow();
  }

  /** Runs one round of health checks and peer discovery (at most one round at a time). */
  checkNow(): Promise<void> {
    return this.#ticking ??= this.#tick().finally(() => (this.#ticking = undefined));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Registration

  /** Serves `service` with in-process handlers; returns the instance id and a function that removes it. */
  register(
    service: string,
    handlers: ServiceHandlers,
    opts: { readonly version?: string; readonly instanceId?: string } = {},
  ): { readonly instanceId: string; unregister(): void } {
    const instanceId = opts.instanceId ?? `${this.nodeId.slice(0, 8)}-${service}-${this.#nextId++}`;
    const info = { service, version: opts.version ?? "", endpoint: `inproc:${service}`, instanceId };
    this.#locals.set(instanceId, { target: new InprocTarget(service, handlers) });
    this.registry.addLocal(info, performance.now(), true);
    return { instanceId, unregister: () => this.unregister(instanceId) };
  }

  /**
   * Serves `service` from a gRPC server over HTTP/2 at `endpoint` (`http://host:port`). It takes calls once its
   * first health check passes (grpc.health.v1, or any gRPC answer when the server has no health service).
   */
  registerUpstream(
    info: Omit<InstanceInfo, "instanceId"> & { readonly instanceId?: string },
    owner?: string,
  ): InstanceInfo {
    const full: InstanceInfo = {
      ...info,
      instanceId: info.instanceId ?? `${this.nodeId.slice(0, 8)}-up-${this.#nextId++}`,
    };
    const target = new Http2Target(full.endpoint, { maxMessageBytes: this.#limits.maxMessageBytes });
    this.#locals.get(full.instanceId)?.close?.();
    this.#locals.set(full.instanceId, {
      target,
      check: (timeoutMs) => target.checkHealth(full.service, timeoutMs),
      close: () => target.close(),
      ...(owner !== undefined ? { owner } : {}),
    });
    this.registry.addLocal(full, performance.now(), false);
    return full;
  }

  /** Removes a local instance. */
  unregister(instanceId: string): void {
    this.#locals.get(instanceId)?.close?.();
    this.#locals.delete(instanceId);
    this.registry.removeLocal(instanceId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Calls

  /** Opens a balanced call to any healthy instance of the path's service, failing over where safe. */
  open(head: CallHead): BridgeCall {
    if (this.#closed) {
      return failedCall(status(GrpcStatus.UNAVAILABLE, "Bridge is closed", { notProcessed: true }));
    }
    const service = serviceOf(head.path);
    return new FailoverCall(head, {
      maxAttempts: this.#opts.maxAttempts ?? 3,
      replayBufferBytes: this.#opts.replayBufferBytes ?? 4 * 1024 * 1024 + 65_536,
      pick: (exclude) => this.#attemptTarget(this.registry.pick(service, exclude)),
      onStart: (key) => this.registry.begin(key),
      onEnd: (key) => this.registry.end(key),
      onUnreachable: (key) => {
        this.registry.handleUnreachable(key, performance.now());
        this.#opts.onEvent?.("instance_unreachable", { key });
      },
    });
  }

  /** Unary call. */
  unary(service: string, method: string, request: Uint8Array, opts?: CallOptions): Promise<UnaryResult> {
    return unaryCall(this, service, method, request, opts);
  }

  /** Server-streaming call. */
  serverStream(
    service: string,
    method: string,
    request: Uint8Array,
    opts?: CallOptions,
  ): AsyncGenerator<Uint8Array> {
    return serverStreamCall(this, service, method, request, opts);
  }

  /** Client-streaming call. */
  clientStream(
    service: string,
    method: string,
    requests: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    opts?: CallOptions,
  ): Promise<UnaryResult> {
    return clientStreamCall(this, service, method, requests, opts);
  }

  /** Bidirectional-streaming call. */
  bidiStream(
    service: string,
    method: string,
    requests: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    opts?: CallOptions,
  ): AsyncGenerator<Uint8Array> {
    return bidiStreamCall(this, service, method, requests, opts);
  }

  /** Healthy instances of `service`, local and on peers (refreshing discovery when none is known yet). */
  async resolve(service: string): Promise<InstanceRecord[]> {
    if (this.registry.candidates(service).length === 0 && this.#links.length > 0) await this.checkNow();
    return this.registry.candidates(service);
  }

  /** Whether the last discovery round reached every peer (so a service no one listed is truly unknown). */
  peersReachable(): boolean {
    return this.#links.every((l) => l.failures === 0);
  }

  /** grpc.health.v1 status of a service as this bridge sees it (local and remote instances). */
  health(service: string): HealthStatusValue {
    if (service === "") return this.#closed ? HealthStatus.NOT_SERVING : HealthStatus.SERVING;
    return this.registry.serviceHealth(service);
  }

  /** Stops health checks, drains the QUIC server, closes peer links and upstream connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#ticking?.catch(() => {});
    await this.server.close();
    await Promise.all(this.#links.map((l) => l.close()));
    for (const e of this.#locals.values()) e.close?.();
  }

  // -------------------------------------------------------------------------------------------------------------

  #attemptTarget(rec: InstanceRecord | undefined): AttemptTarget | undefined {
    if (!rec) return undefined;
    const loc = rec.location;
    if (loc.kind === "local") {
      const entry = this.#locals.get(rec.info.instanceId);
      if (!entry) return undefined;
      return { key: rec.key, open: (head) => entry.target.open(head) };
    }
    const link = this.#links.find((l) => l.id === loc.peer);
    if (!link) return undefined;
    return {
      key: rec.key,
      open: (head) =>
        openQuicCall(
          link.session().then((s) => s.conn),
          { ...head, instance: rec.info.instanceId },
          this.#limits,
        ),
    };
  }

  /** A call arriving from a peer: a local instance only (the peer's balancer already chose this bridge). */
  #openLocal(head: CallHead): BridgeCall {
    const service = serviceOf(head.path);
    let rec: InstanceRecord | undefined;
    if (head.instance !== "") {
      rec = this.registry.get(`local/${head.instance}`);
      if (rec && rec.health !== HealthStatus.SERVING) rec = undefined;
    }
    rec ??= this.registry.pick(service, new Set(), "local");
    const entry = rec ? this.#locals.get(rec.info.instanceId) : undefined;
    if (!rec || !entry) {
      return failedCall(
        status(GrpcStatus.UNAVAILABLE, `No healthy instance of ${service} on this bridge`, {
          notProcessed: true,
        }),
      );
    }
    const key = rec.key;
    this.registry.begin(key);
    const call = entry.target.open(head);
    let ended = false;
    return {
      write: (d) => call.write(d),
      end: () => call.end(),
      cancel: (c, m) => call.cancel(c, m),
      next: async () => {
        const ev = await call.next();
        if (ev.type === "status" && !ended) {
          ended = true;
          this.registry.end(key);
          if (ev.status.notProcessed && ev.status.code === GrpcStatus.UNAVAILABLE) {
            this.registry.handleUnreachable(key, performance.now());
          }
        }
        return ev;
      },
    };
  }

  #register(p: RegisterPayload, peer: string): CallStatus {
    const endpoint = p.instance.endpoint;
    const existing = this.#locals.get(p.instance.instanceId);
    if (existing && existing.owner !== peer) {
      return status(GrpcStatus.ALREADY_EXISTS, `Instance ${p.instance.instanceId} belongs to another peer`);
    }
    if (p.op === "deregister") {
      if (!existing) {
        return status(GrpcStatus.NOT_FOUND, `Instance ${p.instance.instanceId} is not registered`);
      }
      this.unregister(p.instance.instanceId);
      return status(GrpcStatus.OK, "");
    }
    if (!/^https?:\/\/[^/\s]+$/.test(endpoint)) {
      return status(
        GrpcStatus.INVALID_ARGUMENT,
        `Endpoint ${JSON.stringify(endpoint)} is not http://host:port`,
      );
    }
    this.registerUpstream(p.instance, peer);
    void this.#checkLocal(p.instance.instanceId);
    return status(GrpcStatus.OK, "");
  }

  #sessionHost(): SessionHost {
    return {
      identity: this.#opts.identity,
      serverPort: () => this.server.addr.port,
      limits: this.#limits,
      authTimeoutMs: 5000,
      isAllowed: (key) => this.#allow.has(toHex(key)),
      openLocal: (head) => this.#openLocal(head),
      discovery: (service): DiscoveredInstance[] => this.registry.localInstances(service),
      health: (service) => service === "" ? this.health("") : this.registry.serviceHealth(service, "local"),
      register: (p, peer) => this.#register(p, peer),
      onEvent: (e, f) => this.#opts.onEvent?.(e, f),
    };
  }

  async #connectPeer(target: PeerTarget): Promise<ClientSession> {
    const id = `${target.hostname}:${target.port}`;
    const session = await connectBridge(target, this.#opts.identity, {
      ...(this.#opts.caCerts ? { caCerts: this.#opts.caCerts } : {}),
      connectTimeoutMs: this.#opts.connectTimeoutMs ?? 2000,
      maxConcurrentBidiStreams: 100,
      ...(this.#opts.metrics ? { metrics: this.#opts.metrics } : {}),
    });
    // The link went down: its instances leave the pool now; the next discovery round brings them back.
    session.conn.closed.then(() => {
      if (this.#closed) return;
      this.registry.dropPeer(id);
      this.#opts.onEvent?.("peer_down", { peer: id });
    });
    return session;
  }

  async #checkLocal(instanceId: string): Promise<void> {
    const entry = this.#locals.get(instanceId);
    const rec = this.registry.get(`local/${instanceId}`);
    if (!entry?.check || !rec) return;
    const before = rec.health;
    const result = await entry.check(this.#opts.healthTimeoutMs ?? 2000).catch(() =>
      HealthStatus.NOT_SERVING
    );
    this.registry.handleHealthResult(rec.key, result, performance.now());
    const after = this.registry.get(rec.key)?.health;
    if (after !== before) {
      this.#opts.onEvent?.("health_changed", { instance: instanceId, from: before, to: after });
    }
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    const timeout = this.#opts.healthTimeoutMs ?? 2000;
    const locals = [...this.#locals.keys()].map((id) => this.#checkLocal(id));
    const peers = this.#links.map(async (link) => {
      try {
        const session = await link.session();
        const instances = await discover(session, "", timeout);
        link.failures = 0;
        this.registry.setPeerInstances(link.id, instances, performance.now());
      } catch (error) {
        link.failures++;
        if (link.failures >= (this.#opts.unhealthyThreshold ?? 2)) this.registry.dropPeer(link.id);
        this.#opts.onEvent?.("peer_unreachable", {
          peer: link.id,
          failures: link.failures,
          error: String(error),
        });
      }
    });
    await Promise.all([...locals, ...peers]);
  }

  /** The authenticated session to configured peer `index` (for diagnostics and tests). */
  async peerSession(index: number): Promise<ClientSession> {
    const link = this.#links[index];
    if (!link) throw new RangeError(`Cannot use peer ${index}: ${this.#links.length} peers configured`);
    return await link.session();
  }

  /** Checks a service's health at a configured peer bridge (HEALTH_CHECK frame). */
  async peerHealth(peerIndex: number, service: string): Promise<HealthStatusValue> {
    const link = this.#links[peerIndex];
    if (!link) throw new RangeError(`Cannot check peer ${peerIndex}: ${this.#links.length} peers configured`);
    return checkHealth(await link.session(), service, this.#opts.healthTimeoutMs ?? 2000);
  }
}
