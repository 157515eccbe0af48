/**
 * A small, generic metrics registry: counters, gauges and histograms with labels. A registry's
 * {@linkcode MetricsRegistry.snapshot} is plain JSON (structured-cloneable), so workers can `postMessage` it to the
 * supervisor, which merges snapshots and serves them with {@linkcode renderPrometheus} in the Prometheus text
 * exposition format (version 0.0.4).
 *
 * Pure: no clocks, no I/O.
 *
 * @module
 */

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** The three metric kinds. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One series of a counter or gauge in a snapshot. */
export interface ValueSample {
  /** The series' labels. */
  readonly labels: Labels;
  /** Current value. */
  readonly value: number;
}

/** One series of a histogram in a snapshot. */
export interface HistogramSample {
  /** The series' labels. */
  readonly labels: Labels;
  /** Cumulative counts per finite bucket bound (same order as the family's `buckets`); +Inf is `count`. */
  readonly counts: readonly number[];
  /** Sum of observed values. */
  readonly sum: number;
  /** Number of observations. */
  readonly count: number;
}

/** A counter or gauge family in a snapshot. */
export interface ValueFamilySnapshot {
  /** Metric kind. */
  readonly type: "counter" | "gauge";
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Series. */
  readonly samples: readonly ValueSample[];
}

/** A histogram family in a snapshot. */
export interface HistogramFamilySnapshot {
  /** Metric kind. */
  readonly type: "histogram";
  /** Metric name (without `_bucket`, `_sum`, `_count`). */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Finite upper bounds, ascending. */
  readonly buckets: readonly number[];
  /** Series. */
  readonly samples: readonly HistogramSample[];
}

/** One metric family in a snapshot. */
export type FamilySnapshot = ValueFamilySnapshot | HistogramFamilySnapshot;

/** Plain-JSON state of a registry; safe to `postMessage` and `JSON.stringify`. */
export interface MetricsSnapshot {
  /** Labels added to every series of this snapshot (e.g. `{ service: "cns" }`). */
  readonly labels: Labels;
  /** Metric families in registration order. */
  readonly families: readonly FamilySnapshot[];
}

/**
 * Latency histogram bounds in seconds on the 1 / 2.5 / 5 series, from `min` to `max` inclusive: the one bucket
 * layout every latency histogram of the project uses, so dashboards can compare them.
 */
export function latencyBuckets(min: number, max: number): number[] {
  const out: number[] = [];
  for (let exp = Math.floor(Math.log10(min)) - 1; exp <= Math.ceil(Math.log10(max)); exp++) {
    for (const m of [1, 2.5, 5]) {
      // Round away binary noise (0.1 * 2.5 = 0.25000000000000006).
      const v = Number((m * 10 ** exp).toPrecision(3));
      if (v >= min - 1e-12 && v <= max + 1e-12) out.push(v);
    }
  }
  return out;
}

/** Default histogram bounds, in seconds: 0.5 ms .. 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = latencyBuckets(0.0005, 10);

/** Most series (label sets) one metric family keeps; later new label sets share one `_other` series. */
export const MAX_SERIES_PER_FAMILY = 1000;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Options of {@linkcode MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Labels added to every series when rendered, e.g. the service name. */
  readonly labels?: Labels;
}

/**
 * Holds metric families by name. Asking again for a family returns the existing one (when kind and labels
 * match), so modules can share a registry without coordination.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry({ labels: { service: "cns" } });
 * const queries = registry.counter("dns_queries_total", "DNS queries received", ["transport"]);
 * queries.inc(1, { transport: "udp" });
 * console.log(renderPrometheus([registry.snapshot()]));
 * ```
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Counter | Gauge | Histogram>();
  readonly #labels: Labels;

  /** Creates an empty registry. */
  constructor(options: MetricsRegistryOptions = {}) {
    const labels = { ...(options.labels ?? {}) };
    for (const name of Object.keys(labels)) checkLabelName(name);
    this.#labels = labels;
  }

  /** Gets or creates a counter (a value that only goes up). */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#family(name, "counter", labelNames, () => new Counter(name, help, labelNames));
  }

  /** Gets or creates a gauge (a value that goes up and down). */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#family(name, "gauge", labelNames, () => new Gauge(name, help, labelNames));
  }

  /** Gets or creates a histogram with the given finite bucket bounds. */
  histogram(
    name: string,
    help: string,
    options: { readonly buckets?: readonly number[]; readonly labelNames?: readonly string[] } = {},
  ): Histogram {
    const labelNames = options.labelNames ?? [];
    return this.#family(
      name,
      "histogram",
      labelNames,
      () => new Histogram(name, help, labelNames, options.buckets ?? DEFAULT_BUCKETS),
    );
  }

  /** A plain-JSON copy of every family's current state. */
  snapshot(): MetricsSnapshot {
    return { labels: { ...this.#labels }, families: [...this.#families.values()].map((f) => f.snapshot()) };
  }

  #family<T extends Counter | Gauge | Histogram>(
    name: string,
    type: MetricType,
    labelNames: readonly string[],
    create: () => T,
  ): T {
    const existing = this.#families.get(name);
    if (existing) {
      if (existing.type !== type || existing.labelNames.join(",") !== labelNames.join(",")) {
        throw new TypeError(
          `Cannot register metric "${name}" as ${type}(${labelNames.join(",")}): it is already ` +
            `${existing.type}(${existing.labelNames.join(",")})`,
        );
      }
      return existing as T;
    }
    const created = create();
    this.#families.set(name, created);
    return created;
  }
}

/** The base of {@linkcode Counter}, {@linkcode Gauge} and {@linkcode Histogram}: name, help and label names. */
export abstract class MetricFamily {
  /** Metric kind. */
  abstract readonly type: MetricType;
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Label names every series must set. */
  readonly labelNames: readonly string[];

  /** Validates the name and label names. */
  constructor(name: string, help: string, labelNames: readonly string[], reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(name)) throw new TypeError(`Cannot register metric "${name}": invalid metric name`);
    for (const l of labelNames) {
      checkLabelName(l);
      if (reserved.includes(l)) {
        throw new TypeError(`Cannot register metric "${name}": label "${l}" is reserved`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new TypeError(`Cannot register metric "${name}": duplicate label names`);
    }
    this.name = name;
    this.help = help;
    this.labelNames = [...labelNames];
  }

  /** Builds the series key from labels, checking they match the declared names exactly. */
  protected key(labels: Labels | undefined): string {
    const names = this.labelNames;
    if (names.length === 0) {
      if (labels !== undefined && Object.keys(labels).length > 0) this.#labelError(labels);
      return "";
    }
    if (labels === undefined || Object.keys(labels).length !== names.length) this.#labelError(labels ?? {});
    let key = "";
    for (const n of names) {
      const v = labels[n];
      if (typeof v !== "string") this.#labelError(labels);
      key += v + "\u0000";
    }
    return key;
  }

  /**
   * The key a new series is stored under: itself while the family holds fewer than
   * {@linkcode MAX_SERIES_PER_FAMILY} series, else the one overflow series whose every label is `_other`. A label
   * value that comes from outside (a path, a name) can then never grow memory or the scrape without bound.
   */
  protected admit(key: string, series: ReadonlyMap<string, unknown>): string {
    if (series.size < MAX_SERIES_PER_FAMILY || series.has(key)) return key;
    return this.labelNames.map(() => "_other\u0000").join("");
  }

  /** The labels of a series key. */
  protected labelsOf(key: string): Labels {
    const labels: Record<string, string> = {};
    if (this.labelNames.length === 0) return labels;
    const values = key.split("\u0000");
    this.labelNames.forEach((n, i) => labels[n] = values[i] ?? "");
    return labels;
  }

  #labelError(labels: Labels): never {
    throw new TypeError(
      `Cannot record metric "${this.name}": labels {${Object.keys(labels).join(",")}} do not match ` +
        `{${this.labelNames.join(",")}}`,
    );
  }
}

/** A monotonically increasing value per label set. */
export class Counter extends MetricFamily {
  /** Always `"counter"`. */
  readonly type = "counter" as const;
  readonly #values = new Map<string, number>();

  /** Adds `by` (default 1, must be >= 0). */
  inc(by = 1, labels?: Labels): void {
    this.#add(this.key(labels), by);
  }

  /** An incrementer for one label set, its series key computed once (for hot paths). */
  bind(labels?: Labels): (by?: number) => void {
    const key = this.key(labels);
    return (by = 1) => this.#add(key, by);
  }

  #add(key: string, by: number): void {
    if (!(by >= 0)) throw new RangeError(`Cannot increase counter "${this.name}" by ${by}`);
    const k = this.admit(key, this.#values);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }

  /** Current value for a label set (0 when never recorded). */
  get(labels?: Labels): number {
    return this.#values.get(this.key(labels)) ?? 0;
  }

  /** Plain-JSON state. */
  snapshot(): ValueFamilySnapshot {
    return {
      type: "counter",
      name: this.name,
      help: this.help,
      samples: [...this.#values].map(([k, value]) => ({ labels: this.labelsOf(k), value })),
    };
  }
}

/** A value per label set that goes up and down. */
export class Gauge extends MetricFamily {
  /** Always `"gauge"`. */
  readonly type = "gauge" as const;
  readonly #values = new Map<string, number>();

  /** Sets the value. */
  set(value: number, labels?: Labels): void {
    this.#values.set(this.admit(this.key(labels), this.#values), value);
  }

  /** Adds `by` (default 1). */
  inc(by = 1, labels?: Labels): void {
    const k = this.admit(this.key(labels), this.#values);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }

  /** Subtracts `by` (default 1). */
  dec(by = 1, labels?: Labels): void {
    this.inc(-by, labels);
  }

  /** Current value for a label set (0 when never recorded). */
  get(labels?: Labels): number {
    return this.#values.get(this.key(labels)) ?? 0;
  }

  /** Plain-JSON state. */
  snapshot(): ValueFamilySnapshot {
    return {
      type: "gauge",
      name: this.name,
      help: this.help,
      samples: [...this.#values].map(([k, value]) => ({ labels: this.labelsOf(k), value })),
    };
  }
}

interface HistogramSeries {
  readonly counts: number[]; // per bucket, not cumulative; last entry is the +Inf overflow
  sum: number;
  count: number;
}

/** Observations counted into fixed buckets per label set. */
export class Histogram extends MetricFamily {
  /** Always `"histogram"`. */
  readonly type = "histogram" as const;
  /** Finite upper bounds, ascending. */
  readonly buckets: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  /** Use {@linkcode MetricsRegistry.histogram}. */
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames, ["le"]);
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i];
      if (b === undefined || !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] ?? b))) {
        throw new TypeError(`Cannot register histogram "${name}": buckets must be finite and ascending`);
      }
    }
    this.buckets = [...buckets];
  }

  /** Records one observation. */
  observe(value: number, labels?: Labels): void {
    this.#record(this.key(labels), value, 1);
  }

  /**
   * A recorder for one label set, its series key computed once (for hot paths): `(value, times = 1)` records
   * `value` `times` times.
   */
  bind(labels?: Labels): (value: number, times?: number) => void {
    const key = this.key(labels);
    return (value, times = 1) => this.#record(key, value, times);
  }

  #record(key: string, value: number, times: number): void {
    const k = this.admit(key, this.#series);
    let s = this.#series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] ?? Infinity)) i++;
    s.counts[i] = (s.counts[i] ?? 0) + times;
    s.sum += value * times;
    s.count += times;
  }

  /** Observation count for a label set. */
  count(labels?: Labels): number {
    return this.#series.get(this.key(labels))?.count ?? 0;
  }

  /** Plain-JSON state with cumulative bucket counts. */
  snapshot(): HistogramFamilySnapshot {
    return {
      type: "histogram",
      name: this.name,
      help: this.help,
      buckets: [...this.buckets],
      samples: [...this.#series].map(([k, s]) => {
        const counts: number[] = [];
        let acc = 0;
        for (let i = 0; i < this.buckets.length; i++) counts.push(acc += s.counts[i] ?? 0);
        return { labels: this.labelsOf(k), counts, sum: s.sum, count: s.count };
      }),
    };
  }
}

function checkLabelName(name: string): void {
  if (!LABEL_NAME.test(name) || name.startsWith("__")) {
    throw new TypeError(
      `Cannot use label name "${name}": must match [a-zA-Z_][a-zA-Z0-9_]* without leading __`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Prometheus text exposition format 0.0.4

interface MergedValue {
  labels: Labels;
  value: number;
}

interface MergedHistogram {
  labels: Labels;
  buckets: readonly number[];
  counts: number[];
  sum: number;
  count: number;
}

interface MergedFamily {
  readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly series: Map<string, MergedValue | MergedHistogram>;
}

/**
 * Renders snapshots (e.g. one per worker) as Prometheus text exposition format.
 *
 * Families with the same name are merged under one HELP/TYPE block; their types must agree. Each series gets
 * `extraLabels`, then the snapshot's labels, then its own (later ones win on a clash). Series that end up with
 * identical labels are summed (histograms must then have identical buckets).
 *
 * @throws {TypeError} on invalid names, a type clash, or histograms with different buckets under one label set
 */
export function renderPrometheus(
  snapshots: MetricsSnapshot | readonly MetricsSnapshot[],
  extraLabels: Labels = {},
): string {
  const list: readonly MetricsSnapshot[] = Array.isArray(snapshots)
    ? snapshots
    : [snapshots as MetricsSnapshot];
  const families = new Map<string, MergedFamily>();
  for (const snap of list) {
    for (const fam of snap.families) {
      if (!METRIC_NAME.test(fam.name)) {
        throw new TypeError(`Cannot render metric "${fam.name}": invalid name`);
      }
      let merged = families.get(fam.name);
      if (!merged) {
        merged = { type: fam.type, name: fam.name, help: fam.help, series: new Map() };
        families.set(fam.name, merged);
      } else if (merged.type !== fam.type) {
        throw new TypeError(`Cannot render metric "${fam.name}": it is both ${merged.type} and ${fam.type}`);
      }
      if (fam.type === "histogram") {
        for (const s of fam.samples) {
          const labels = mergeLabels(extraLabels, snap.labels, s.labels, true);
          const key = labelKey(labels);
          const prev = merged.series.get(key) as MergedHistogram | undefined;
          if (!prev) {
            merged.series.set(key, {
              labels,
              buckets: fam.buckets,
              counts: [...s.counts],
              sum: s.sum,
              count: s.count,
            });
          } else {
            if (prev.buckets.join(",") !== fam.buckets.join(",")) {
              throw new TypeError(
                `Cannot render histogram "${fam.name}": series ${key} has different buckets`,
              );
            }
            prev.counts = prev.counts.map((c, i) => c + (s.counts[i] ?? 0));
            prev.sum += s.sum;
            prev.count += s.count;
          }
        }
      } else {
        for (const s of fam.samples) {
          const labels = mergeLabels(extraLabels, snap.labels, s.labels, false);
          const key = labelKey(labels);
          const prev = merged.series.get(key) as MergedValue | undefined;
          if (!prev) merged.series.set(key, { labels, value: s.value });
          else prev.value += s.value;
        }
      }
    }
  }

  const lines: string[] = [];
  for (const fam of families.values()) {
    lines.push(`# HELP ${fam.name} ${escapeHelp(fam.help)}`);
    lines.push(`# TYPE ${fam.name} ${fam.type}`);
    for (const s of fam.series.values()) {
      if ("value" in s) {
        lines.push(`${fam.name}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
        continue;
      }
      s.buckets.forEach((bound, i) => {
        const labels = { ...s.labels, le: formatNumber(bound) };
        lines.push(`${fam.name}_bucket${formatLabels(labels)} ${formatNumber(s.counts[i] ?? 0)}`);
      });
      lines.push(`${fam.name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${formatNumber(s.count)}`);
      lines.push(`${fam.name}_sum${formatLabels(s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`${fam.name}_count${formatLabels(s.labels)} ${formatNumber(s.count)}`);
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

/** The content type of {@linkcode renderPrometheus} output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function mergeLabels(a: Labels, b: Labels, c: Labels, histogram: boolean): Labels {
  const out: Record<string, string> = { ...a, ...b, ...c };
  for (const name of Object.keys(out)) {
    checkLabelName(name);
    if (histogram && name === "le") throw new TypeError(`Cannot render histogram with a label named "le"`);
  }
  return out;
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** Label values escape backslash, double quote and line feed (exposition format 0.0.4). */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}
