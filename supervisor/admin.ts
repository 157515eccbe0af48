/**
 * The supervisor's admin endpoint: `GET /status` (JSON), `GET /metrics` (Prometheus text), `GET /healthz`, and
 * `POST /reload` (live reload, as SIGHUP).
 * A Web-standard `handle(request)` core so it is tested without a socket; bound to loopback by default.
 *
 * @module
 */
import type { ServiceStatus } from "./supervisor.ts";

/** The status document `mod.ts status` reads. */
export interface StatusDocument {
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly pid: number;
  readonly tls: { readonly source: "dev" | "operator"; readonly notAfter: string; readonly daysLeft: number };
  readonly services: readonly ServiceStatus[];
  /** Selected per-service metric values (name -> summed value), for the status table. */
  readonly metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Per service, its `*_info` gauges as lines (wraith's routes and backend states). */
  readonly details?: Readonly<Record<string, readonly string[]>>;
}

/** What the admin handler needs from the running program. */
export interface AdminSource {
  status(): Promise<StatusDocument>;
  /** Prometheus text exposition of the supervisor's and every worker's metrics. */
  metricsText(): Promise<string>;
  /** Live reload (`POST /reload`): re-reads the config and applies it; absent in tests that do not need it. */
  reload?(): Promise<{ readonly ok: boolean; readonly report: unknown }>;
}

/** Handles one admin request. GET and HEAD, and `POST /reload`; anything else is 405, unknown paths 404. */
export async function handleAdmin(req: Request, source: AdminSource): Promise<Response> {
  if (req.method === "POST" && new URL(req.url).pathname === "/reload" && source.reload !== undefined) {
    // The same as SIGHUP: the config file and environment are read again; a bad config changes nothing.
    const r = await source.reload();
    return Response.json(r.report, { status: r.ok ? 200 : 409, headers: { "cache-control": "no-store" } });
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  const path = new URL(req.url).pathname;
  if (path === "/status") {
    return Response.json(await source.status(), { headers: { "cache-control": "no-store" } });
  }
  if (path === "/metrics") {
    return new Response(await source.metricsText(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
    });
  }
  if (path === "/healthz") {
    const doc = await source.status();
    const bad = doc.services.filter((s) => s.state !== "running").map((s) => `${s.name}=${s.state}`);
    return new Response(bad.length === 0 ? "ok\n" : `not ready: ${bad.join(" ")}\n`, {
      status: bad.length === 0 ? 200 : 503,
    });
  }
  return new Response("Not found: try /status, /metrics or /healthz\n", { status: 404 });
}
