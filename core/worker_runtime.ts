/**
 * The inside of a service worker: receives `start`, runs the service, reports `ready`, answers `metrics`,
 * and on `drain` stops taking new work, finishes what it has within the deadline and closes. A service's
 * `worker.ts` is just `runServiceWorker(startMyService)`.
 *
 * @module
 */
import { Logger } from "./log.ts";
import type { Endpoint, FromWorker, MeshAssignment, TlsBundle, ToWorker } from "./worker_protocol.ts";

/** What a service gets when it starts. */
export interface ServiceContext<C> {
  readonly service: string;
  readonly attempt: number;
  /** The service's own config section (the value its descriptor's schema parsed). */
  readonly config: C;
  /** How long the supervisor waits for this worker's drain. */
  readonly drainTimeoutMs: number;
  readonly tls: TlsBundle;
  /** The service's own data directory. */
  readonly dataDir: string;
  /** Logs through the supervisor. */
  readonly log: Logger;
  /** This service's mesh node (key, listen address, pinned peers, allow-list); absent outside the mesh. */
  readonly mesh: MeshAssignment | undefined;
  /**
   * Asks the supervisor for a certificate that also covers `names` (its dev CA signs it; refused with operator
   * certificates). The key never leaves the supervisor's CA; the worker gets a new leaf and its key.
   */
  requestCertificate(names: readonly string[]): Promise<{ certPem: string; keyPem: string }>;
}

/** A started service. */
export interface RunningService {
  readonly endpoints: readonly Endpoint[];
  /** A structured-cloneable metrics snapshot (see transport/metrics.ts). */
  metrics(): unknown;
  /** Stop accepting, finish in-flight work before `deadlineMs` (epoch ms), release everything. */
  drain(deadlineMs: number): Promise<void>;
  /**
   * Applies a new config section in place, without dropping connections (live reload); throws to refuse, and the
   * old config keeps serving. Absent: the service reloads only by a restart.
   */
  reload?(config: unknown): Promise<void>;
}

/** The worker global, narrowed to what we use. */
interface WorkerScope {
  postMessage(msg: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  close(): void;
}

/** Runs a service inside the current worker, speaking the supervisor protocol. */
export function runServiceWorker<C>(start: (ctx: ServiceContext<C>) => Promise<RunningService>): void {
  const scope = globalThis as unknown as WorkerScope;
  const post = (msg: FromWorker): void => scope.postMessage(msg);
  let running: RunningService | undefined;
  let draining = false;
  let certIds = 0;
  const certWaiters = new Map<number, (r: { certPem?: string; keyPem?: string; error?: string }) => void>();
  const requestCertificate = (names: readonly string[]) =>
    new Promise<{ certPem: string; keyPem: string }>((resolve, reject) => {
      const id = ++certIds;
      certWaiters.set(id, (r) => {
        if (r.certPem !== undefined && r.keyPem !== undefined) {
          resolve({ certPem: r.certPem, keyPem: r.keyPem });
        } else reject(new Error(r.error ?? "no certificate"));
      });
      post({ t: "cert-request", id, names: [...names] });
    });
  scope.onmessage = async (e) => {
    const msg = e.data;
    if (msg.t === "start" && running === undefined) {
      const log = new Logger(msg.service, msg.logLevel, (rec) => post({ t: "log", rec }));
      try {
        running = await start({
          service: msg.service,
          attempt: msg.attempt,
          // The supervisor parsed this section with the service's own schema before sending it.
          config: msg.config as C,
          drainTimeoutMs: msg.drainTimeoutMs,
          tls: msg.tls,
          dataDir: msg.dataDir,
          log,
          mesh: msg.mesh,
          requestCertificate,
        });
        post({ t: "ready", endpoints: running.endpoints });
      } catch (err) {
        post({ t: "fatal", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        scope.close();
      }
    } else if (msg.t === "cert") {
      certWaiters.get(msg.id)?.(msg);
      certWaiters.delete(msg.id);
    } else if (msg.t === "reload") {
      if (running?.reload === undefined) {
        post({ t: "reloaded", id: msg.id, error: "this service applies a new config only when it restarts" });
      } else {
        try {
          await running.reload(msg.config);
          post({ t: "reloaded", id: msg.id });
        } catch (err) {
          post({ t: "reloaded", id: msg.id, error: err instanceof Error ? err.message : String(err) });
        }
      }
    } else if (msg.t === "metrics") {
      post({ t: "metrics", id: msg.id, snapshot: withHeap(running?.metrics() ?? null) });
    } else if (msg.t === "drain" && !draining) {
      draining = true;
      try {
        await running?.drain(msg.deadlineMs);
      } finally {
        post({ t: "drained" });
        scope.close();
      }
    }
  };
}

/** Adds `ghost_worker_heap_bytes` (this worker's JS heap in use) to a snapshot of the usual shape. */
function withHeap(snapshot: unknown): unknown {
  if (typeof snapshot !== "object" || snapshot === null) return snapshot;
  const families = (snapshot as { families?: unknown }).families;
  if (!Array.isArray(families)) return snapshot;
  let heap: number;
  try {
    heap = Deno.memoryUsage().heapUsed;
  } catch {
    return snapshot;
  }
  return {
    ...snapshot,
    families: [...families, {
      name: "ghost_worker_heap_bytes",
      help: "JavaScript heap in use by this service's worker",
      type: "gauge",
      samples: [{ labels: {}, value: heap }],
    }],
  };
}
