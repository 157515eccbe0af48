/**
 * The admin endpoint's live status page: `GET /` (one HTML page, no build step), `GET /assets/uplot.js` and
 * `/assets/uplot.css` (uPlot from npm, served from this program's module graph: the page needs no internet) and
 * `GET /events` (Server-Sent Events, one {@linkcode LiveSnapshot} a second).
 *
 * {@linkcode liveSnapshot} is pure: it turns the workers' metric snapshots into the values of a fixed list of charts
 * ({@linkcode CHARTS}); the page turns counters into rates and histogram sums into means. Nothing secret is on it:
 * metric values, service states and the text of recent warnings (no log fields).
 *
 * @module
 */
import uplotJs from "npm:uplot@1.6.32/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "npm:uplot@1.6.32/dist/uPlot.min.css" with { type: "text" };
import type { ServiceStatus } from "./supervisor.ts";
import { workerSnapshot } from "./supervisor_metrics.ts";

/** uPlot's script and stylesheet (MIT, https://github.com/leeoniya/uPlot). */
export const UPLOT_JS: string = uplotJs;
/** uPlot's stylesheet. */
export const UPLOT_CSS: string = uplotCss;

/** How a chart's values become points: a counter's rate, a gauge as is, or a histogram's mean. */
export type ChartKind = "rate" | "gauge" | "mean";

/** One chart: which metric, split by which label ("service" for the worker), shown how. */
export interface ChartDef {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly kind: ChartKind;
  readonly metric: string;
  readonly by: string;
  /** Multiplier for display (seconds -> ms: 1000). */
  readonly scale?: number;
}

/** The charts of the page. */
export const CHARTS: readonly ChartDef[] = [
  {
    id: "dns_qps",
    title: "DNS queries/s by transport",
    unit: "q/s",
    kind: "rate",
    metric: "ghost_cns_queries_total",
    by: "transport",
  },
  {
    id: "dns_latency",
    title: "DNS answer time by transport (mean)",
    unit: "ms",
    kind: "mean",
    metric: "ghost_cns_query_seconds",
    by: "transport",
    scale: 1000,
  },
  {
    id: "dns_upstream",
    title: "DNS upstream latency (mean)",
    unit: "ms",
    kind: "mean",
    metric: "ghost_cns_upstream_seconds",
    by: "service",
    scale: 1000,
  },
  {
    id: "bridge_calls",
    title: "Bridge calls/s by code",
    unit: "calls/s",
    kind: "rate",
    metric: "ghost_bridge_calls_total",
    by: "code",
  },
  {
    id: "wraith_rps",
    title: "wraith requests/s by status class",
    unit: "req/s",
    kind: "rate",
    metric: "ghost_wraith_requests_total",
    by: "code",
  },
  {
    id: "wraith_latency",
    title: "wraith request time (mean)",
    unit: "ms",
    kind: "mean",
    metric: "ghost_wraith_request_seconds",
    by: "service",
    scale: 1000,
  },
  {
    id: "wraith_cache",
    title: "wraith cache lookups/s by result",
    unit: "/s",
    kind: "rate",
    metric: "ghost_wraith_cache_requests_total",
    by: "result",
  },
  {
    id: "wraith_upstreams",
    title: "wraith healthy backends by pool",
    unit: "backends",
    kind: "gauge",
    metric: "ghost_wraith_backends_healthy",
    by: "pool",
  },
  {
    id: "chain_height",
    title: "Chain height",
    unit: "blocks",
    kind: "gauge",
    metric: "ghost_chain_consensus_height",
    by: "service",
  },
  {
    id: "chain_tps",
    title: "Chain transactions/s committed",
    unit: "tx/s",
    kind: "rate",
    metric: "ghost_chain_transactions_committed_total",
    by: "service",
  },
  {
    id: "finality",
    title: "Finality: admission to commit (mean)",
    unit: "ms",
    kind: "mean",
    metric: "ghost_chain_finality_seconds",
    by: "service",
    scale: 1000,
  },
  {
    id: "block_time",
    title: "Block interval (mean)",
    unit: "ms",
    kind: "mean",
    metric: "ghost_chain_block_interval_seconds",
    by: "service",
    scale: 1000,
  },
  {
    id: "quic",
    title: "QUIC connections open",
    unit: "conns",
    kind: "gauge",
    metric: "ghost_transport_connections_open",
    by: "service",
  },
  {
    id: "heap",
    title: "Memory per worker (JS heap)",
    unit: "MiB",
    kind: "gauge",
    metric: "ghost_worker_heap_bytes",
    by: "service",
    scale: 1 / 1048576,
  },
];

/** A warning or error line for the page (level, service, message: no fields). */
export interface RecentLog {
  readonly ts: string;
  readonly level: string;
  readonly svc: string;
  readonly msg: string;
}

/** One SSE event. `values[chart][series]` is a number, or `[sum, count]` for a "mean" chart. */
export interface LiveSnapshot {
  readonly t: number;
  readonly charts: readonly ChartDef[];
  readonly values: Readonly<Record<string, Readonly<Record<string, number | readonly [number, number]>>>>;
  readonly services: readonly {
    readonly name: string;
    readonly state: string;
    readonly restarts: number;
    readonly lastError: string;
  }[];
  readonly warnings: readonly RecentLog[];
}

/** Most series per chart (labels beyond it are summed into "other"). */
const MAX_SERIES = 12;

/** Builds one event from the workers' metric snapshots (unknown shapes are skipped). */
export function liveSnapshot(
  metrics: readonly { service: string; snapshot: unknown }[],
  services: readonly ServiceStatus[],
  warnings: readonly RecentLog[],
  now: number,
): LiveSnapshot {
  const values: Record<string, Record<string, number | [number, number]>> = {};
  for (const c of CHARTS) values[c.id] = {};
  for (const { service, snapshot } of metrics) {
    const snap = workerSnapshot(service, snapshot);
    if (snap === undefined) continue;
    for (const fam of snap.families) {
      for (const c of CHARTS) {
        if (fam.name !== c.metric) continue;
        const out = values[c.id] ?? {};
        for (const s of fam.samples) {
          let key = c.by === "service" ? service : s.labels[c.by] ?? "all";
          if (!(key in out) && Object.keys(out).length >= MAX_SERIES) key = "other";
          const prev = out[key];
          if ("sum" in s) {
            const p = Array.isArray(prev) ? prev : [0, 0];
            out[key] = [(p[0] ?? 0) + s.sum, (p[1] ?? 0) + s.count];
          } else {
            out[key] = (typeof prev === "number" ? prev : 0) + s.value;
          }
        }
      }
    }
  }
  return {
    t: now,
    charts: CHARTS,
    values,
    services: services.map((s) => ({
      name: s.name,
      state: s.state,
      restarts: s.restarts,
      lastError: s.lastError ?? "",
    })),
    warnings,
  };
}

/** The page (see the module doc). Charts fill as events arrive; the layout is one column on a phone. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GhostChain Edge — status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css">
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0 auto; padding: 12px; max-width: 1400px; }
  header { display: flex; flex-wrap: wrap; gap: 12px; align-items: baseline; }
  h1 { font-size: 1.3rem; margin: 0; }
  #conn { font-size: .9rem; opacity: .8; }
  #charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); gap: 12px; }
  .chart { border: 1px solid #8884; border-radius: 6px; padding: 6px; min-width: 0; }
  .chart h2 { font-size: .95rem; margin: 0 0 4px; }
  .chart .empty { font-size: .85rem; opacity: .7; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  td, th { border-bottom: 1px solid #8884; padding: 4px 6px; text-align: left; overflow-wrap: anywhere; }
  .running { color: #2a2; } .crashed, .failed, .backoff { color: #d33; }
  #warnings { font-size: .85rem; padding-left: 1.2em; overflow-wrap: anywhere; }
</style>
</head>
<body data-events="0" data-errors="0">
<header><h1>GhostChain Edge</h1><span id="conn">connecting…</span></header>
<section id="charts"></section>
<h2>Services</h2>
<table><thead><tr><th>service</th><th>state</th><th>restarts</th><th>last error</th></tr></thead>
<tbody id="services"></tbody></table>
<h2>Recent warnings</h2>
<ul id="warnings"></ul>
<script src="/assets/uplot.js"></script>
<script>
"use strict";
const errors = [];
addEventListener("error", (e) => { errors.push(String(e.message || e.type)); document.body.dataset.errors = String(errors.length); }, true);
const KEEP = 300;
const state = {}; // chart id -> { def, times, series: Map(name -> values[]), prev: Map(name -> raw), plot, el }
let lastT = 0;

function chartBox(def) {
  let s = state[def.id];
  if (s) return s;
  const el = document.createElement("div");
  el.className = "chart";
  el.id = "chart-" + def.id;
  el.dataset.points = "0";
  el.innerHTML = "<h2></h2><div class=empty>waiting for data…</div>";
  el.querySelector("h2").textContent = def.title + " (" + def.unit + ")";
  document.getElementById("charts").append(el);
  s = state[def.id] = { def, el, times: [], series: new Map(), prev: new Map(), plot: null, names: "" };
  return s;
}

function pointOf(def, prev, raw, dt) {
  const scale = def.scale || 1;
  if (def.kind === "gauge") return raw * scale;
  if (prev === undefined || dt <= 0) return null;
  if (def.kind === "rate") {
    const v = Array.isArray(raw) ? raw[1] : raw, p = Array.isArray(prev) ? prev[1] : prev;
    return Math.max(0, (v - p) / dt) * scale;
  }
  const ds = raw[0] - prev[0], dc = raw[1] - prev[1];
  return dc > 0 ? (ds / dc) * scale : null;
}

function draw(s) {
  const names = [...s.series.keys()].sort();
  const key = names.join("|");
  const data = [s.times.slice(), ...names.map((n) => s.series.get(n).slice())];
  const width = Math.max(240, s.el.clientWidth - 12);
  if (!s.plot || s.names !== key) {
    if (s.plot) s.plot.destroy();
    s.el.querySelector(".empty")?.remove();
    const palette = ["#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#64748b"];
    s.plot = new uPlot({
      width, height: 200,
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: palette[i % palette.length], width: 1.5, spanGaps: true }))],
      axes: [{}, { size: 60 }],
    }, data, s.el);
    s.names = key;
  } else {
    s.plot.setData(data);
    if (Math.abs(s.plot.width - width) > 4) s.plot.setSize({ width, height: 200 });
  }
  s.el.dataset.points = String(s.times.length);
}

function update(ev) {
  const t = ev.t / 1000;
  const dt = lastT === 0 ? 0 : t - lastT;
  lastT = t;
  for (const def of ev.charts) {
    const s = chartBox(def);
    const vals = ev.values[def.id] || {};
    const pts = {};
    let any = false;
    for (const [name, raw] of Object.entries(vals)) {
      const p = pointOf(def, s.prev.get(name), raw, dt);
      s.prev.set(name, raw);
      if (p !== null) { pts[name] = p; any = true; }
      if (!s.series.has(name)) s.series.set(name, s.times.map(() => null));
    }
    if (!any && s.times.length === 0) continue;
    s.times.push(t);
    for (const [name, arr] of s.series) arr.push(name in pts ? pts[name] : null);
    if (s.times.length > KEEP) { s.times.shift(); for (const arr of s.series.values()) arr.shift(); }
    draw(s);
  }
  const tbody = document.getElementById("services");
  tbody.replaceChildren(...ev.services.map((x) => {
    const tr = document.createElement("tr");
    for (const [v, cls] of [[x.name], [x.state, x.state], [String(x.restarts)], [x.lastError]]) {
      const td = document.createElement("td");
      td.textContent = v;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  }));
  const ul = document.getElementById("warnings");
  ul.replaceChildren(...(ev.warnings.length === 0 ? [Object.assign(document.createElement("li"), { textContent: "none" })] :
    ev.warnings.slice().reverse().map((w) => Object.assign(document.createElement("li"), {
      textContent: w.ts + " " + w.level + " [" + w.svc + "] " + w.msg,
    }))));
  const n = Number(document.body.dataset.events) + 1;
  document.body.dataset.events = String(n);
  document.body.dataset.overflow = String(document.documentElement.scrollWidth > innerWidth + 1);
  document.getElementById("conn").textContent = "live · " + new Date(ev.t).toLocaleTimeString() + " · " + n + " updates";
}

const es = new EventSource("/events");
es.onmessage = (e) => { try { update(JSON.parse(e.data)); } catch (err) { errors.push(String(err)); document.body.dataset.errors = String(errors.length); } };
es.onerror = () => { document.getElementById("conn").textContent = "disconnected; retrying…"; };
</script>
</body>
</html>
`;
