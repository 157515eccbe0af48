/**
 * Metrics glue: the supervisor's own series, validation of worker snapshots (a worker's message is parsed,
 * not trusted), and the per-service summary shown by `mod.ts status`.
 *
 * @module
 */
import { isRecord } from "../core/mod.ts";
import { type FamilySnapshot, MetricsRegistry, type MetricsSnapshot } from "../core/mod.ts";
import type { ServiceStatus } from "./supervisor.ts";

/** The supervisor's series: build info, and per service up, restarts and state. */
export function supervisorMetrics(services: readonly ServiceStatus[], version: string): MetricsSnapshot {
  const reg = new MetricsRegistry();
  reg.gauge("ghost_build_info", "Build information", ["version"]).set(1, { version });
  const up = reg.gauge("ghost_service_up", "1 when the service's worker is running and ready", ["service"]);
  const restarts = reg.counter("ghost_service_restarts_total", "Worker restarts after a crash", ["service"]);
  const starts = reg.counter("ghost_service_starts_total", "Worker starts, first one included", ["service"]);
  for (const s of services) {
    up.set(s.state === "running" ? 1 : 0, { service: s.name });
    restarts.inc(s.restarts, { service: s.name });
    starts.inc(s.attempt, { service: s.name });
  }
  return reg.snapshot();
}

function isLabels(v: unknown): v is Record<string, string> {
  return isRecord(v) && Object.values(v).every((x) => typeof x === "string");
}

function isFamily(v: unknown): v is FamilySnapshot {
  if (!isRecord(v) || typeof v.name !== "string" || typeof v.help !== "string" || !Array.isArray(v.samples)) {
    return false;
  }
  if (v.type === "counter" || v.type === "gauge") {
    return v.samples.every((s) => isRecord(s) && isLabels(s.labels) && typeof s.value === "number");
  }
  if (v.type !== "histogram") return false;
  const buckets = v.buckets;
  if (!Array.isArray(buckets) || !buckets.every((b) => typeof b === "number")) return false;
  return v.samples.every((s) =>
    isRecord(s) && isLabels(s.labels) && typeof s.sum === "number" && typeof s.count === "number" &&
    Array.isArray(s.counts) && s.counts.length === buckets.length && s.counts.every((c) =>
      typeof c === "number"
    )
  );
}

/** Narrows a worker's snapshot and adds its `service` label; `undefined` when malformed. */
export function workerSnapshot(service: string, raw: unknown): MetricsSnapshot | undefined {
  if (!isRecord(raw) || !isLabels(raw.labels) || !Array.isArray(raw.families)) return undefined;
  if (!raw.families.every(isFamily)) return undefined;
  return { labels: { ...raw.labels, service }, families: raw.families };
}

/** Per service, counters and gauges summed over their labels (histograms as `<name>_count`). */
export function summarizeMetrics(
  list: readonly { service: string; snapshot: unknown }[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const { service, snapshot } of list) {
    const snap = workerSnapshot(service, snapshot);
    if (snap === undefined) continue;
    const sums: Record<string, number> = {};
    for (const fam of snap.families) {
      if (fam.type === "histogram") {
        sums[`${fam.name}_count`] = fam.samples.reduce((a, s) => a + s.count, 0);
      } else {
        sums[fam.name] = fam.samples.reduce((a, s) => a + s.value, 0);
      }
    }
    out[service] = sums;
  }
  return out;
}

/**
 * Per service, the samples of its `*_info` gauges that are 1, as `name{k=v,...}` lines without the
 * `ghost_<service>_` prefix and `_info` suffix (routes and backend states of wraith, for the status table).
 */
export function infoLines(list: readonly { service: string; snapshot: unknown }[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { service, snapshot } of list) {
    const snap = workerSnapshot(service, snapshot);
    if (snap === undefined) continue;
    const lines: string[] = [];
    for (const fam of snap.families) {
      if (fam.type !== "gauge" || !fam.name.endsWith("_info")) continue;
      const short = fam.name.replace(/^ghost_/, "").replace(new RegExp(`^${service}_`), "").replace(
        /_info$/,
        "",
      );
      for (const s of fam.samples) {
        if (s.value !== 1) continue;
        const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(" ");
        lines.push(`${short} ${labels}`);
      }
    }
    if (lines.length > 0) out[service] = lines;
  }
  return out;
}
