/**
 * Load-balancing strategies behind one narrow interface: {@linkcode RoundRobinBalancer} and
 * {@linkcode LeastOutstandingBalancer} (fewest calls in flight, round robin among ties).
 *
 * @module
 */

/** What a balancer needs to know about a candidate. */
export interface BalancerCandidate {
  /** Unique key of the instance. */
  readonly key: string;
  /** Calls in flight to it. */
  readonly outstanding: number;
}

/** Picks one of the healthy candidates (never called with an empty list). */
export interface Balancer {
  /** The chosen candidate. */
  pick<C extends BalancerCandidate>(candidates: readonly C[]): C;
}

/** Cycles through the candidates. */
export class RoundRobinBalancer implements Balancer {
  #next = 0;

  /** The next candidate in turn. */
  pick<C extends BalancerCandidate>(candidates: readonly C[]): C {
    const c = candidates[this.#next++ % candidates.length];
    if (c === undefined) throw new RangeError("Cannot pick from no candidates");
    if (this.#next > 1e9) this.#next = 0;
    return c;
  }
}

/** Fewest outstanding calls; round robin among equals so idle instances share the load. */
export class LeastOutstandingBalancer implements Balancer {
  #turn = 0;

  /** The least-loaded candidate. */
  pick<C extends BalancerCandidate>(candidates: readonly C[]): C {
    let min = Infinity;
    for (const c of candidates) min = Math.min(min, c.outstanding);
    const ties = candidates.filter((c) => c.outstanding === min);
    const c = ties[this.#turn++ % ties.length];
    if (c === undefined) throw new RangeError("Cannot pick from no candidates");
    if (this.#turn > 1e9) this.#turn = 0;
    return c;
  }
}

/** A balancer by name: `round_robin` or `least_outstanding`. */
export function createBalancer(name: "round_robin" | "least_outstanding"): Balancer {
  return name === "round_robin" ? new RoundRobinBalancer() : new LeastOutstandingBalancer();
}
