/**
 * The service registry, sans-IO: instances this bridge serves (in-process handlers, HTTP/2 upstreams, instances
 * registered by peers with SERVICE_REGISTER) and instances learned from peer bridges by SERVICE_DISCOVERY, their
 * health (grpc.health.v1 semantics, with thresholds), and calls in flight for balancing. Time is passed in.
 *
 * @module
 */

import type { Balancer, BalancerCandidate } from "./balancer.ts";
import {
  type DiscoveredInstance,
  HealthStatus,
  type HealthStatusValue,
  type InstanceInfo,
} from "./frame_payloads.ts";

/** Where an instance is served: by this bridge, or by a peer bridge (identified by its key, hex). */
export type InstanceLocation = { readonly kind: "local" } | { readonly kind: "peer"; readonly peer: string };

/** One known instance. */
export interface InstanceRecord extends BalancerCandidate {
  readonly info: InstanceInfo;
  readonly location: InstanceLocation;
  /** Current health. */
  readonly health: HealthStatusValue;
  /** Consecutive failed checks. */
  readonly failures: number;
  /** Consecutive passed checks. */
  readonly successes: number;
  /** When the health last changed. */
  readonly changedAt: number;
}

/** Health thresholds. */
export interface HealthPolicy {
  /** Consecutive failed checks before a serving instance is taken out. Default 2. */
  readonly unhealthyThreshold: number;
  /** Consecutive passed checks before a failed instance is put back. Default 1. */
  readonly healthyThreshold: number;
}

/** Defaults of {@linkcode HealthPolicy}. */
export const DEFAULT_HEALTH_POLICY: HealthPolicy = { unhealthyThreshold: 2, healthyThreshold: 1 };

interface MutableRecord {
  key: string;
  info: InstanceInfo;
  location: InstanceLocation;
  health: HealthStatusValue;
  failures: number;
  successes: number;
  changedAt: number;
  outstanding: number;
}

/** The instance key: location and instance id. */
export function instanceKey(location: InstanceLocation, instanceId: string): string {
  return location.kind === "local" ? `local/${instanceId}` : `peer/${location.peer}/${instanceId}`;
}

/** The registry. */
export class ServiceRegistry {
  readonly #records = new Map<string, MutableRecord>();
  readonly #policy: HealthPolicy;
  readonly #balancer: Balancer;

  /** Creates an empty registry. */
  constructor(balancer: Balancer, policy: Partial<HealthPolicy> = {}) {
    this.#balancer = balancer;
    this.#policy = { ...DEFAULT_HEALTH_POLICY, ...policy };
  }

  /**
   * Adds or replaces a local instance. It starts SERVING when `serving` (in-process handlers), else UNKNOWN until
   * its first health check passes.
   */
  addLocal(info: InstanceInfo, now: number, serving = false): InstanceRecord {
    const location: InstanceLocation = { kind: "local" };
    const key = instanceKey(location, info.instanceId);
    const prev = this.#records.get(key);
    const rec: MutableRecord = {
      key,
      info,
      location,
      health: serving ? HealthStatus.SERVING : prev?.health ?? HealthStatus.UNKNOWN,
      failures: 0,
      successes: 0,
      changedAt: now,
      outstanding: prev?.outstanding ?? 0,
    };
    this.#records.set(key, rec);
    return rec;
  }

  /** Removes a local instance; true when it existed. */
  removeLocal(instanceId: string): boolean {
    return this.#records.delete(instanceKey({ kind: "local" }, instanceId));
  }

  /** Replaces everything learned from `peer` with its latest discovery answer. */
  setPeerInstances(peer: string, instances: readonly DiscoveredInstance[], now: number): void {
    const location: InstanceLocation = { kind: "peer", peer };
    const keep = new Set<string>();
    for (const i of instances) {
      const key = instanceKey(location, i.instanceId);
      keep.add(key);
      const prev = this.#records.get(key);
      this.#records.set(key, {
        key,
        info: { service: i.service, version: i.version, endpoint: i.endpoint, instanceId: i.instanceId },
        location,
        health: i.health,
        failures: 0,
        successes: 0,
        changedAt: prev && prev.health === i.health ? prev.changedAt : now,
        outstanding: prev?.outstanding ?? 0,
      });
    }
    for (const [key, rec] of this.#records) {
      if (rec.location.kind === "peer" && rec.location.peer === peer && !keep.has(key)) {
        this.#records.delete(key);
      }
    }
  }

  /** Forgets a peer's instances (its link is down). */
  dropPeer(peer: string): void {
    this.setPeerInstances(peer, [], 0);
  }

  /**
   * Records a health check result. A SERVING result counts as a pass, anything else as a failure; the instance
   * changes state only when the threshold is reached (README "Health").
   */
  handleHealthResult(key: string, result: HealthStatusValue, now: number): void {
    const rec = this.#records.get(key);
    if (!rec) return;
    if (result === HealthStatus.SERVING) {
      rec.failures = 0;
      rec.successes++;
      if (rec.health !== HealthStatus.SERVING && rec.successes >= this.#policy.healthyThreshold) {
        rec.health = HealthStatus.SERVING;
        rec.changedAt = now;
      }
    } else {
      rec.successes = 0;
      rec.failures++;
      const out = rec.health === HealthStatus.UNKNOWN || rec.failures >= this.#policy.unhealthyThreshold;
      if (rec.health !== result && out) {
        rec.health = result;
        rec.changedAt = now;
      }
    }
  }

  /** A call to the instance failed to reach it: take it out now (passive check); health checks put it back. */
  handleUnreachable(key: string, now: number): void {
    const rec = this.#records.get(key);
    if (!rec || rec.health === HealthStatus.NOT_SERVING) return;
    rec.health = HealthStatus.NOT_SERVING;
    rec.successes = 0;
    rec.changedAt = now;
  }

  /** One instance by key. */
  get(key: string): InstanceRecord | undefined {
    return this.#records.get(key);
  }

  /** Every record (for health checks and metrics). */
  all(): InstanceRecord[] {
    return [...this.#records.values()];
  }

  /** Local instances of `service` ("" = all services), for discovery answers. */
  localInstances(service: string): DiscoveredInstance[] {
    const out: DiscoveredInstance[] = [];
    for (const r of this.#records.values()) {
      if (r.location.kind === "local" && (service === "" || r.info.service === service)) {
        out.push({ ...r.info, health: r.health });
      }
    }
    return out;
  }

  /** Healthy (SERVING) instances of a service, local and remote. */
  candidates(service: string, where: "any" | "local" = "any"): InstanceRecord[] {
    return [...this.#records.values()].filter((r) =>
      r.info.service === service && r.health === HealthStatus.SERVING &&
      (where === "any" || r.location.kind === "local")
    );
  }

  /** The grpc.health.v1 status of a service: SERVING when any instance serves, SERVICE_UNKNOWN when none is known. */
  serviceHealth(service: string, where: "any" | "local" = "any"): HealthStatusValue {
    let known = false;
    for (const r of this.#records.values()) {
      if (r.info.service !== service || (where === "local" && r.location.kind !== "local")) continue;
      known = true;
      if (r.health === HealthStatus.SERVING) return HealthStatus.SERVING;
    }
    return known ? HealthStatus.NOT_SERVING : HealthStatus.SERVICE_UNKNOWN;
  }

  /** Picks a healthy instance not in `exclude`, by the balancer; `undefined` when there is none. */
  pick(
    service: string,
    exclude: ReadonlySet<string> = new Set(),
    where: "any" | "local" = "any",
  ): InstanceRecord | undefined {
    const c = this.candidates(service, where).filter((r) => !exclude.has(r.key));
    return c.length === 0 ? undefined : this.#balancer.pick(c);
  }

  /** A call to `key` started. */
  begin(key: string): void {
    const r = this.#records.get(key);
    if (r) r.outstanding++;
  }

  /** A call to `key` ended. */
  end(key: string): void {
    const r = this.#records.get(key);
    if (r && r.outstanding > 0) r.outstanding--;
  }
}
