/**
 * Tracing on Deno's built-in OpenTelemetry. Run any GhostChain process with `OTEL_DENO=true` (and the usual
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`) and the runtime exports spans over OTLP; without it every
 * helper here is a no-op that allocates nothing on hot paths ({@linkcode tracingEnabled} is false).
 *
 * One request is one trace across the mesh: the W3C `traceparent` (and `tracestate`) travel as gRPC metadata,
 * which the bridge carries inside its QUIC frames, so the wallet's client span, the bridge's relay span and the
 * chain's handler and commit spans share one trace id. Each span names its service in the instrumentation scope
 * (`ghost.wallet`, `ghost.bridge`, `ghost.chain`, `ghost.cns`, `ghost.wraith`) and in the `ghost.service`
 * attribute, since all workers of one process share one OTel resource.
 *
 * @module
 */
import {
  type Context,
  context,
  type Link,
  propagation,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";

export { type Context, type Link, type Span, SpanKind };

let enabled: boolean | undefined;

/**
 * True when a real tracer provider is installed (Deno's, under `OTEL_DENO=true`). Deno installs it before any
 * module runs, so the answer is fixed for the life of the isolate.
 */
export function tracingEnabled(): boolean {
  if (enabled === undefined) {
    const provider = trace.getTracerProvider();
    // The API's own proxy provider delegates to a no-op until something registers a real one.
    enabled = !(provider instanceof ProxyTracerProvider) ||
      provider.getDelegate() !== new ProxyTracerProvider().getDelegate();
  }
  return enabled;
}

const tracers = new Map<string, Tracer>();

/** The tracer of a service (`ghost.<service>` scope). */
export function tracerOf(service: string): Tracer {
  let t = tracers.get(service);
  if (t === undefined) {
    t = trace.getTracer(`ghost.${service}`, "0.1.0");
    tracers.set(service, t);
  }
  return t;
}

/** Reads one carrier entry (a header or metadata value) by lower-case name. */
export type CarrierGet = (name: string) => string | undefined;

/** The context a remote caller sent (`traceparent`/`tracestate`), over the active one. */
export function extractContext(get: CarrierGet): Context {
  if (!tracingEnabled()) return context.active();
  return propagation.extract(context.active(), {}, {
    keys: () => ["traceparent", "tracestate"],
    get: (_carrier, key) => get(key.toLowerCase()),
  });
}

/** The `traceparent`/`tracestate` entries for `ctx` (default: the active context); empty when not tracing. */
export function traceHeaders(ctx?: Context): Array<[string, string]> {
  if (!tracingEnabled()) return [];
  const carrier: Record<string, string> = {};
  propagation.inject(ctx ?? context.active(), carrier);
  return Object.entries(carrier).filter(([k]) => k === "traceparent" || k === "tracestate");
}

/** Options of {@linkcode startSpan}. */
export interface StartSpanOptions extends SpanOptions {
  /** The parent context (default: the active one). */
  readonly parent?: Context;
}

/**
 * Starts a span of `service` (not made active). The `ghost.service` attribute is set. Returns undefined when
 * tracing is off, so callers skip attribute work entirely.
 */
export function startSpan(service: string, name: string, opts: StartSpanOptions = {}): Span | undefined {
  if (!tracingEnabled()) return undefined;
  const { parent, ...spanOpts } = opts;
  const span = tracerOf(service).startSpan(name, spanOpts, parent ?? context.active());
  span.setAttribute("ghost.service", service);
  return span;
}

/** Ends `span` with an error status when `error` is set (its message only: no stack, no fields). */
export function endSpan(span: Span | undefined, error?: unknown, endTime?: number): void {
  if (span === undefined) return;
  if (error !== undefined) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end(endTime);
}

/**
 * Runs `fn` inside a new active span of `service`: spans started and calls made in it (across awaits) are its
 * children. A throw marks the span as an error and is rethrown.
 */
export async function inSpan<T>(
  service: string,
  name: string,
  opts: StartSpanOptions,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const span = startSpan(service, name, opts);
  if (span === undefined) return await fn(undefined);
  try {
    const out = await context.with(trace.setSpan(opts.parent ?? context.active(), span), () => fn(span));
    endSpan(span);
    return out;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** Runs `fn` with `span` active (or as is when there is no span). */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  if (span === undefined) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** The context whose parent span is `span` (to start children of a span that is not active). */
export function contextOf(span: Span): Context {
  return trace.setSpan(context.active(), span);
}

/** The active span's trace and span ids, for log records; undefined outside a sampled span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!tracingEnabled()) return undefined;
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  if (!trace.isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
