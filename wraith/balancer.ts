/**
 * Load balancing and backend health, sans-IO (time and randomness are injected): one {@linkcode Pool} per
 * configured pool, its {@linkcode Backend}s with in-flight counts, passive ejection after consecutive errors, and
 * the active health state that checks feed.
 *
 * - `round_robin`: smooth weighted round robin (each backend gets its weight's share, spread evenly).
 * - `least_requests`: power of two choices: two random available backends, the one with fewer requests in flight
 *   per unit of weight.
 * - `hash`: a consistent-hash ring (160 points per unit of weight, FNV-1a with a Murmur3 finalizer): a key keeps its backend while
 *   that backend is available, and only the keys of a removed backend move.
 *
 * A backend is available when active checks have not marked it down, it is not ejected and not draining. When no
 * backend is available the pool uses all of them that are not draining ("panic mode", as Envoy does): a request
 * that might succeed beats a certain 503.
 *
 * @module
 */
import type { BackendSpec, HashKey, PoolSpec } from "./config.ts";

/** Health knobs of a pool. */
export interface HealthPolicy {
  /** Consecutive failures that eject a backend; 0 turns passive ejection off. */
  readonly ejectConsecutiveErrors: number;
  readonly ejectMs: number;
  /** Consecutive passed active checks that bring a down backend back. */
  readonly healthyThreshold: number;
  /** Consecutive failed active checks that take a backend down. */
  readonly unhealthyThreshold: number;
}

/** One backend's live state. */
export class Backend {
  readonly spec: BackendSpec;
  /** Requests in flight. */
  active = 0;
  /** Requests sent, for status. */
  requests = 0;
  /** Failures (connect errors, timeouts, 502/503/504), for status. */
  failures = 0;
  /** Marked down by active checks. */
  down = false;
  /** Passively ejected until this time (ms). */
  ejectedUntil = 0;
  /** Times ejected. */
  ejections = 0;
  /** Removed from its pool: finishes its requests, gets no new ones. */
  draining = false;
  consecutiveErrors = 0;
  checkStreak = 0;
  /** Smooth round robin state. */
  current = 0;
  constructor(spec: BackendSpec) {
    this.spec = spec;
  }
}

/**
 * A 32-bit ring position: FNV-1a over the UTF-16 code units, then MurmurHash3's finalizer so keys that differ in
 * one character land far apart.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function isNonEmpty<T>(list: T[]): list is [T, ...T[]] {
  return list.length > 0;
}

/** Points on the ring per unit of weight. */
const RING_POINTS = 160;

/** What a pick may use: a hash key, backends to avoid (already tried). */
export interface PickInput {
  readonly key?: string;
  readonly exclude?: ReadonlySet<Backend>;
}

/** One pool's balancer and health (see the module doc). */
export class Pool {
  readonly spec: PoolSpec;
  readonly backends: Backend[];
  readonly #policy: HealthPolicy;
  readonly #now: () => number;
  readonly #random: () => number;
  #ring: { point: number; backend: Backend }[] = [];
  /** Picks made with no backend available. */
  panics = 0;

  constructor(
    spec: PoolSpec,
    policy: HealthPolicy,
    opts: { now?: () => number; random?: () => number } = {},
  ) {
    this.spec = spec;
    this.#policy = policy;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.backends = spec.backends.map((b) => new Backend(b));
    this.#buildRing();
  }

  #buildRing(): void {
    const ring: { point: number; backend: Backend }[] = [];
    for (const b of this.backends) {
      if (b.draining) continue;
      for (let i = 0; i < RING_POINTS * b.spec.weight; i++) {
        ring.push({ point: hash32(`${b.spec.url}#${i}`), backend: b });
      }
    }
    ring.sort((a, b) => a.point - b.point);
    this.#ring = ring;
  }

  /** Whether `b` takes new requests now. */
  available(b: Backend): boolean {
    return !b.draining && !b.down && this.#now() >= b.ejectedUntil;
  }

  /** Backends that take requests now. */
  get healthy(): number {
    return this.backends.filter((b) => this.available(b)).length;
  }

  /** Picks a backend for a request, or `undefined` when every backend is draining or excluded. */
  pick(input: PickInput = {}): Backend | undefined {
    const open = this.backends.filter((b) => !b.draining && !input.exclude?.has(b));
    if (open.length === 0) return undefined;
    let candidates = open.filter((b) => this.available(b)) as Backend[];
    if (candidates.length === 0) {
      this.panics++;
      candidates = open;
    }
    if (!isNonEmpty(candidates)) return undefined;
    switch (this.spec.balance) {
      case "round_robin":
        return this.#smoothRoundRobin(candidates);
      case "least_requests":
        return this.#twoChoices(candidates);
      case "hash":
        return this.#ringPick(candidates, input.key ?? "");
    }
  }

  #smoothRoundRobin(candidates: readonly [Backend, ...Backend[]]): Backend {
    let total = 0;
    let best = candidates[0];
    for (const b of candidates) {
      b.current += b.spec.weight;
      total += b.spec.weight;
      if (b.current > best.current) best = b;
    }
    best.current -= total;
    return best;
  }

  #twoChoices(candidates: readonly [Backend, ...Backend[]]): Backend {
    if (candidates.length === 1) return candidates[0];
    const i = Math.floor(this.#random() * candidates.length);
    let j = Math.floor(this.#random() * (candidates.length - 1));
    if (j >= i) j++;
    const a = candidates[i] ?? candidates[0], b = candidates[j] ?? candidates[0];
    return a.active / a.spec.weight <= b.active / b.spec.weight ? a : b;
  }

  #ringPick(candidates: readonly [Backend, ...Backend[]], key: string): Backend {
    const ok = new Set(candidates);
    const ring = this.#ring;
    if (ring.length === 0) return candidates[0];
    const h = hash32(key);
    let lo = 0, hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ring[mid]?.point ?? 0) < h) lo = mid + 1;
      else hi = mid;
    }
    // Walk clockwise to the first point whose backend can take the request.
    for (let n = 0; n < ring.length; n++) {
      const p = ring[(lo + n) % ring.length];
      if (p !== undefined && ok.has(p.backend)) return p.backend;
    }
    return candidates[0];
  }

  /** A request to `b` started. */
  begin(b: Backend): void {
    b.active++;
    b.requests++;
  }

  /** A request to `b` ended; `ok` false for a connect error, a timeout or a 502/503/504 (passive health). */
  end(b: Backend, ok: boolean): "ejected" | undefined {
    b.active = Math.max(0, b.active - 1);
    if (ok) {
      b.consecutiveErrors = 0;
      return undefined;
    }
    b.failures++;
    b.consecutiveErrors++;
    const limit = this.#policy.ejectConsecutiveErrors;
    if (limit > 0 && b.consecutiveErrors >= limit && this.#now() >= b.ejectedUntil) {
      b.ejectedUntil = this.#now() + this.#policy.ejectMs;
      b.ejections++;
      b.consecutiveErrors = 0;
      return "ejected";
    }
    return undefined;
  }

  /** An active health check of `b` finished; returns the transition, if any. */
  checked(b: Backend, ok: boolean): "up" | "down" | undefined {
    if (ok === !b.down) {
      b.checkStreak = 0;
      // A passed check also ends a passive ejection early: the backend answers again.
      if (ok && b.ejectedUntil > this.#now()) b.ejectedUntil = 0;
      return undefined;
    }
    b.checkStreak++;
    if (ok && b.checkStreak >= this.#policy.healthyThreshold) {
      b.down = false;
      b.checkStreak = 0;
      b.ejectedUntil = 0;
      return "up";
    }
    if (!ok && b.checkStreak >= this.#policy.unhealthyThreshold) {
      b.down = true;
      b.checkStreak = 0;
      return "down";
    }
    return undefined;
  }

  /** Stops sending new requests to `b`; it leaves the pool when its last request ends. */
  drain(b: Backend): void {
    b.draining = true;
    this.#buildRing();
  }
}

/** The hash key of a request under `on` (a header's value, a cookie's, or the client address). */
export function hashKeyOf(
  on: HashKey,
  request: { header(name: string): string | null; client: string },
): string {
  if (on.kind === "client") return request.client;
  if (on.kind === "header") return request.header(on.name) ?? "";
  for (const part of (request.header("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === on.name) return part.slice(eq + 1).trim();
  }
  return "";
}
