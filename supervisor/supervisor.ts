/**
 * The supervisor: runs each service in its own permission-scoped Worker, restarts a crashed worker with
 * exponential backoff, collects metrics, and drains every worker on shutdown within a bounded time.
 *
 * @module
 */
import {
  type Endpoint,
  type Logger,
  type MeshAssignment,
  parseFromWorker,
  type PermissionSet,
  type ServiceDescriptor,
  type TlsBundle,
  type TlsNeed,
  type ToWorker,
  workerPermissions,
} from "../core/mod.ts";
import type { Config } from "./config.ts";
import { servicePermissions } from "./supervisor_permissions.ts";
import { RestartPolicy } from "./restart_policy.ts";

type ServiceDef = ServiceDescriptor;

/** The TLS material a service's descriptor asks for: the private key only to services that serve TLS. */
export function tlsFor(need: TlsNeed, bundle: TlsBundle): TlsBundle {
  if (need === "server") return bundle;
  if (need === "client") return { certPem: "", keyPem: "", caPem: bundle.caPem };
  return { certPem: "", keyPem: "", caPem: "" };
}

/** Lifecycle states of one service. */
export type ServiceState = "starting" | "running" | "backoff" | "failed" | "draining" | "stopped";

/** What `status` shows for a service. */
export interface ServiceStatus {
  readonly name: string;
  readonly state: ServiceState;
  /** Starts so far (1 = never restarted). */
  readonly attempt: number;
  readonly restarts: number;
  /** When the service entered its current state (ISO time). */
  readonly since: string;
  readonly lastError?: string;
  /** Running but failing part of its job (e.g. an accept loop out of file descriptors), from its metrics. */
  readonly degraded?: boolean;
  readonly endpoints: readonly Endpoint[];
}

/** What a live reload did to one service. */
export interface ReloadResult {
  readonly service: string;
  readonly outcome: "unchanged" | "reloaded" | "applied at its next start" | "refused";
  readonly error?: string;
}

/** Permission entries `next` has that `current` does not (a running worker cannot gain them). */
export function permissionsMissing(current: PermissionSet, next: PermissionSet): string[] {
  const out: string[] = [];
  for (const kind of ["net", "read", "write", "env", "sys"] as const) {
    const have = current[kind], want = next[kind];
    if (have === true) continue;
    if (want === true) {
      out.push(`${kind} (all)`);
      continue;
    }
    for (const entry of want) if (!have.includes(entry)) out.push(`${kind} ${entry}`);
  }
  return out;
}

/** Creates the Worker for a service; replaced in tests. */
export type SpawnWorker = (def: ServiceDef, permissions: PermissionSet) => Worker;

/** The default spawner: a module worker with exactly the service's permission set. */
export function spawnScopedWorker(def: ServiceDef, permissions: PermissionSet): Worker {
  return new Worker(def.entry, {
    type: "module",
    name: def.name,
    deno: { permissions: workerPermissions(permissions) },
  });
}

/** Options for {@link Supervisor}. */
export interface SupervisorOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly tls: TlsBundle;
  readonly services: readonly ServiceDef[];
  /** Mesh assignments by service name (see mesh.ts); services without one run outside the mesh. */
  readonly mesh?: Readonly<Record<string, MeshAssignment>>;
  readonly spawn?: SpawnWorker;
  readonly now?: () => number;
  /** Mints a certificate covering more names for a service that asks (`cert-request`); absent: refused. */
  readonly issueCertificate?: (
    service: string,
    names: readonly string[],
  ) => Promise<{ certPem: string; keyPem: string }>;
}

class ServiceRunner {
  readonly def: ServiceDef;
  readonly #opts: SupervisorOptions;
  readonly #log: Logger;
  readonly #policy: RestartPolicy;
  readonly #now: () => number;
  #worker: Worker | undefined;
  #state: ServiceState = "starting";
  #since: number;
  #attempt = 0;
  #restarts = 0;
  #lastError: string | undefined;
  #endpoints: readonly Endpoint[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #metricsId = 0;
  readonly #pendingMetrics = new Map<number, (snapshot: unknown) => void>();
  #onDrained: (() => void) | undefined;
  readonly #settled: PromiseWithResolvers<void> = Promise.withResolvers();
  /** The config the worker runs with (a reload replaces it; a restart uses it). */
  #config: Config;
  readonly #pendingReloads = new Map<number, (error: string | undefined) => void>();

  constructor(def: ServiceDef, opts: SupervisorOptions) {
    this.def = def;
    this.#opts = opts;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#since = this.#now();
    this.#config = opts.config;
    const s = opts.config.supervisor;
    this.#policy = new RestartPolicy({
      initialMs: s.restartBackoffInitialMs,
      maxMs: s.restartBackoffMaxMs,
      maxStartFailures: s.maxStartFailures,
    });
  }

  /** Resolves once the first start either succeeded or was given up. */
  get settled(): Promise<void> {
    return this.#settled.promise;
  }

  get state(): ServiceState {
    return this.#state;
  }

  status(): ServiceStatus {
    return {
      name: this.def.name,
      state: this.#state,
      attempt: this.#attempt,
      restarts: this.#restarts,
      since: new Date(this.#since).toISOString(),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      endpoints: this.#endpoints,
    };
  }

  #setState(state: ServiceState): void {
    this.#state = state;
    this.#since = this.#now();
  }

  start(): void {
    this.#attempt++;
    this.#setState("starting");
    const cfg = this.#config;
    const permissions = servicePermissions(this.def, cfg);
    let worker: Worker;
    try {
      worker = (this.#opts.spawn ?? spawnScopedWorker)(this.def, permissions);
    } catch (err) {
      this.#crashed(`cannot spawn worker: ${(err as Error).message}`);
      return;
    }
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent) => this.#onMessage(worker, e.data);
    worker.onerror = (e: ErrorEvent) => {
      // Keep a worker's uncaught error from reaching (and killing) the supervisor.
      e.preventDefault();
      if (worker === this.#worker) this.#crashed(`uncaught error: ${e.message}`);
    };
    worker.onmessageerror = () => {
      if (worker === this.#worker) this.#crashed("undecodable message from worker");
    };
    this.#timer = setTimeout(() => {
      if (worker === this.#worker && this.#state === "starting") {
        this.#crashed(`not ready within ${cfg.supervisor.workerTimeoutMs} ms`);
      }
    }, cfg.supervisor.workerTimeoutMs);
    const msg: ToWorker = {
      t: "start",
      service: this.def.name,
      attempt: this.#attempt,
      // Least privilege: the worker sees its own section and the TLS material it serves with, nothing more.
      config: cfg.services[this.def.name] ?? null,
      tls: tlsFor(this.def.tls, this.#opts.tls),
      logLevel: cfg.log.level,
      drainTimeoutMs: cfg.supervisor.drainTimeoutMs,
      dataDir: `${cfg.dataDir}/${this.def.name}`,
      ...(this.#opts.mesh?.[this.def.name] ? { mesh: this.#opts.mesh[this.def.name] } : {}),
    };
    worker.postMessage(msg);
  }

  #onMessage(worker: Worker, data: unknown): void {
    if (worker !== this.#worker) return;
    const msg = parseFromWorker(data);
    if (msg === undefined) {
      this.#log.warn("ignored a malformed message from a worker", { service: this.def.name });
      return;
    }
    switch (msg.t) {
      case "log":
        this.#opts.log.child(msg.rec.svc).log(msg.rec.level, msg.rec.msg, msg.rec.fields);
        break;
      case "ready":
        clearTimeout(this.#timer);
        this.#endpoints = msg.endpoints;
        this.#setState("running");
        this.#policy.handleReady(this.#now());
        this.#log.info("service ready", {
          service: this.def.name,
          attempt: this.#attempt,
          endpoints: msg.endpoints.map((e) => `${e.name}=${e.addr}`).join(" "),
        });
        this.#settled.resolve();
        break;
      case "metrics":
        this.#pendingMetrics.get(msg.id)?.(msg.snapshot);
        this.#pendingMetrics.delete(msg.id);
        break;
      case "drained":
        this.#onDrained?.();
        break;
      case "reloaded":
        this.#pendingReloads.get(msg.id)?.(msg.error);
        this.#pendingReloads.delete(msg.id);
        break;
      case "cert-request": {
        const issue = this.#opts.issueCertificate;
        const reply = (m: ToWorker) => {
          if (worker === this.#worker) worker.postMessage(m);
        };
        if (issue === undefined || this.def.tls !== "server") {
          reply({ t: "cert", id: msg.id, error: "this supervisor issues no certificates to this service" });
          break;
        }
        issue(this.def.name, msg.names).then(
          (c) => {
            this.#log.info("certificate issued", { service: this.def.name, names: msg.names.join(",") });
            reply({ t: "cert", id: msg.id, certPem: c.certPem, keyPem: c.keyPem });
          },
          (error) =>
            reply({ t: "cert", id: msg.id, error: error instanceof Error ? error.message : String(error) }),
        );
        break;
      }
      case "fatal":
        this.#crashed(msg.message);
        break;
    }
  }

  #crashed(reason: string): void {
    clearTimeout(this.#timer);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#endpoints = [];
    for (const resolve of this.#pendingMetrics.values()) resolve(null);
    this.#pendingMetrics.clear();
    for (const resolve of this.#pendingReloads.values()) resolve("the worker stopped before answering");
    this.#pendingReloads.clear();
    this.#lastError = reason;
    if (this.#state === "draining" || this.#state === "stopped") {
      this.#onDrained?.();
      return;
    }
    const decision = this.#policy.handleExit(this.#now());
    if (decision.action === "give-up") {
      this.#setState("failed");
      this.#log.error("service given up", { service: this.def.name, reason, why: decision.reason });
      this.#settled.resolve();
      return;
    }
    this.#setState("backoff");
    this.#restarts++;
    this.#log.warn("service crashed; restarting", {
      service: this.def.name,
      reason,
      in_ms: decision.delayMs,
      failures: decision.failures,
    });
    this.#timer = setTimeout(() => this.start(), decision.delayMs);
  }

  metrics(timeoutMs: number): Promise<unknown> {
    const worker = this.#worker;
    if (worker === undefined || this.#state !== "running") return Promise.resolve(null);
    const id = ++this.#metricsId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pendingMetrics.delete(id);
        resolve(null);
      }, timeoutMs);
      this.#pendingMetrics.set(id, (snap) => {
        clearTimeout(timer);
        resolve(snap);
      });
      const msg: ToWorker = { t: "metrics", id };
      worker.postMessage(msg);
    });
  }

  /**
   * Applies `next` to this service in place when its section changed: the worker gets the new section and keeps
   * its listeners and connections. Refused (the old config keeps serving) when the worker says no, or when the new
   * section needs permissions the running worker was not given (a restart applies it then).
   */
  async reload(next: Config, timeoutMs: number): Promise<ReloadResult> {
    const name = this.def.name;
    const before = JSON.stringify(this.#config.services[name] ?? null);
    const after = JSON.stringify(next.services[name] ?? null);
    if (before === after) return { service: name, outcome: "unchanged" };
    const worker = this.#worker;
    if (worker === undefined || this.#state !== "running") {
      this.#config = next;
      return { service: name, outcome: "applied at its next start" };
    }
    const missing = permissionsMissing(
      servicePermissions(this.def, this.#config),
      servicePermissions(this.def, next),
    );
    if (missing.length > 0) {
      return {
        service: name,
        outcome: "refused",
        error: `needs permissions the running worker does not have (${
          missing.join(", ")
        }); restart it to apply`,
      };
    }
    const id = ++this.#metricsId;
    const error = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#pendingReloads.delete(id);
        resolve(`no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      this.#pendingReloads.set(id, (e) => {
        clearTimeout(timer);
        resolve(e);
      });
      const msg: ToWorker = { t: "reload", id, config: next.services[name] ?? null };
      worker.postMessage(msg);
    });
    if (error !== undefined) return { service: name, outcome: "refused", error };
    this.#config = next;
    return { service: name, outcome: "reloaded" };
  }

  /** Asks the worker to drain; terminates it at the deadline whatever it is doing. */
  async drain(deadlineMs: number): Promise<void> {
    clearTimeout(this.#timer);
    const worker = this.#worker;
    if (worker === undefined) {
      this.#setState("stopped");
      this.#settled.resolve();
      return;
    }
    this.#setState("draining");
    const drained = new Promise<void>((resolve) => (this.#onDrained = resolve));
    const msg: ToWorker = { t: "drain", deadlineMs };
    worker.postMessage(msg);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.max(0, deadlineMs - this.#now()));
    });
    const late = await Promise.race([drained.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) this.#log.warn("service did not drain in time; terminated", { service: this.def.name });
    worker.terminate();
    this.#worker = undefined;
    this.#endpoints = [];
    this.#setState("stopped");
    // A worker drained before it was ready never settles on its own; start() must not wait for it forever.
    this.#settled.resolve();
  }
}

/** Runs a set of services as permission-scoped workers. */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #runners: ServiceRunner[];
  readonly #started = Date.now();
  #shuttingDown: Promise<void> | undefined;

  /** Prepares runners; nothing starts until {@link start}. */
  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#runners = opts.services.map((def) => new ServiceRunner(def, opts));
  }

  /** Starts every service; resolves when each is ready or given up. */
  async start(): Promise<void> {
    for (const r of this.#runners) r.start();
    await Promise.all(this.#runners.map((r) => r.settled));
  }

  /** True when every service has been given up (nothing left to supervise). */
  allFailed(): boolean {
    return this.#runners.every((r) => r.state === "failed");
  }

  /** Per-service status. */
  status(): ServiceStatus[] {
    return this.#runners.map((r) => r.status());
  }

  /** Seconds since the supervisor was created. */
  uptimeSeconds(): number {
    return (Date.now() - this.#started) / 1000;
  }

  /** Collects a metrics snapshot from every running worker (null for those that do not answer in time). */
  async metrics(): Promise<{ service: string; snapshot: unknown }[]> {
    const timeout = Math.min(2_000, this.#opts.config.supervisor.workerTimeoutMs);
    return await Promise.all(
      this.#runners.map(async (r) => ({ service: r.def.name, snapshot: await r.metrics(timeout) })),
    );
  }

  /** Live reload: applies `next` to every service whose section changed (see ServiceRunner.reload). */
  async reload(next: Config): Promise<ReloadResult[]> {
    const timeout = Math.min(10_000, next.supervisor.workerTimeoutMs);
    return await Promise.all(this.#runners.map((r) => r.reload(next, timeout)));
  }

  /** Drains every worker in parallel; each is terminated at the configured deadline. Idempotent. */
  shutdown(): Promise<void> {
    this.#shuttingDown ??= (async () => {
      const deadline = Date.now() + this.#opts.config.supervisor.drainTimeoutMs;
      this.#opts.log.info("draining services", { deadline_ms: this.#opts.config.supervisor.drainTimeoutMs });
      await Promise.all(this.#runners.map((r) => r.drain(deadline)));
      this.#opts.log.info("all services stopped");
    })();
    return this.#shuttingDown;
  }
}
