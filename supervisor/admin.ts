/**
 * The supervisor's admin endpoint: `GET /` (the live status page, status_page.ts, with `/assets/*` and the
 * `/events` stream), `GET /status` (JSON), `GET /metrics` (Prometheus text), `GET /healthz`, and `POST /reload`
 * (live reload, as SIGHUP). Read-only but for reload; nothing secret is served.
 * A Web-standard `handle(request)` core so it is tested without a socket; bound to loopback by default.
 *
 * @module
 */
import type { ServiceStatus } from "./supervisor.ts";
import { type LiveSnapshot, STATUS_PAGE_HTML, UPLOT_CSS, UPLOT_JS } from "./status_page.ts";

/** Most `/events` streams open at once (more get 503). */
export const MAX_EVENT_STREAMS = 16;
let openStreams = 0;

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
  /** One event of the status page's live stream (`GET /events`); absent: no page. */
  live?(): Promise<LiveSnapshot>;
  /** Milliseconds between events (default 1000). */
  readonly liveIntervalMs?: number;
}

/** `GET /events`: one `data:` line of JSON per interval until the client goes (bounded: MAX_EVENT_STREAMS). */
function eventStream(req: Request, source: AdminSource, live: () => Promise<LiveSnapshot>): Response {
  if (openStreams >= MAX_EVENT_STREAMS) {
    return new Response("Too many status page streams\n", { status: 503, headers: { "retry-after": "5" } });
  }
  openStreams++;
  const enc = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    openStreams--;
    if (timer !== undefined) clearTimeout(timer);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = async () => {
        if (done) return;
        try {
          controller.enqueue(enc.encode(`data: ${JSON.stringify(await live())}\n\n`));
        } catch {
          stop();
          try {
            controller.close();
          } catch {
            // already closed
          }
          return;
        }
        timer = setTimeout(tick, source.liveIntervalMs ?? 1000);
      };
      req.signal.addEventListener("abort", stop, { once: true });
      void tick();
    },
    cancel: stop,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
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
  const live = source.live?.bind(source);
  if (live !== undefined) {
    const page = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
    if (path === "/") {
      return new Response(STATUS_PAGE_HTML, {
        headers: {
          ...page,
          "content-type": "text/html; charset=utf-8",
          // Everything the page loads comes from this endpoint.
          "content-security-policy":
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' " +
            "'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        },
      });
    }
    if (path === "/assets/uplot.js") {
      return new Response(UPLOT_JS, {
        headers: { ...page, "content-type": "text/javascript; charset=utf-8" },
      });
    }
    if (path === "/assets/uplot.css") {
      return new Response(UPLOT_CSS, { headers: { ...page, "content-type": "text/css; charset=utf-8" } });
    }
    if (path === "/events") return eventStream(req, source, live);
  }
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
  return new Response("Not found: try /, /status, /metrics or /healthz\n", { status: 404 });
}
