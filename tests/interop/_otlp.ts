// Private helper of the tracing test: a small OTLP/HTTP receiver (protobuf bodies on /v1/traces, /v1/logs,
// /v1/metrics, as an OpenTelemetry Collector's otlphttp receiver takes them) that decodes the trace exports
// with protobufjs and a hand-written subset of opentelemetry-proto's trace schema.
import protobuf from "protobufjs";

// opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto and resource/v1/resource.proto: only the
// fields the test reads, with their real numbers and types.
const root = protobuf.Root.fromJSON({
  nested: {
    AnyValue: {
      oneofs: { value: { oneof: ["stringValue", "boolValue", "intValue", "doubleValue", "bytesValue"] } },
      fields: {
        stringValue: { type: "string", id: 1 },
        boolValue: { type: "bool", id: 2 },
        intValue: { type: "int64", id: 3 },
        doubleValue: { type: "double", id: 4 },
        bytesValue: { type: "bytes", id: 7 },
      },
    },
    KeyValue: { fields: { key: { type: "string", id: 1 }, value: { type: "AnyValue", id: 2 } } },
    Resource: { fields: { attributes: { rule: "repeated", type: "KeyValue", id: 1 } } },
    InstrumentationScope: { fields: { name: { type: "string", id: 1 }, version: { type: "string", id: 2 } } },
    Status: { fields: { message: { type: "string", id: 2 }, code: { type: "int32", id: 3 } } },
    Span: {
      fields: {
        traceId: { type: "bytes", id: 1 },
        spanId: { type: "bytes", id: 2 },
        parentSpanId: { type: "bytes", id: 4 },
        name: { type: "string", id: 5 },
        kind: { type: "int32", id: 6 },
        startTimeUnixNano: { type: "fixed64", id: 7 },
        endTimeUnixNano: { type: "fixed64", id: 8 },
        attributes: { rule: "repeated", type: "KeyValue", id: 9 },
        status: { type: "Status", id: 15 },
      },
    },
    ScopeSpans: {
      fields: {
        scope: { type: "InstrumentationScope", id: 1 },
        spans: { rule: "repeated", type: "Span", id: 2 },
      },
    },
    ResourceSpans: {
      fields: {
        resource: { type: "Resource", id: 1 },
        scopeSpans: { rule: "repeated", type: "ScopeSpans", id: 2 },
      },
    },
    ExportTraceServiceRequest: {
      fields: { resourceSpans: { rule: "repeated", type: "ResourceSpans", id: 1 } },
    },
  },
});
const ExportTraceServiceRequest = root.lookupType("ExportTraceServiceRequest");

/** One received span, flattened. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** "" for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly scope: string;
  /** The resource's `service.name`. */
  readonly serviceName: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
}

type Kv = { key: string; value?: Record<string, unknown> };

function attrs(list: Kv[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    const x = v.stringValue ?? v.boolValue ?? v.doubleValue ?? v.intValue;
    if (x !== undefined) {
      out[kv.key] = typeof x === "object" ? Number(String(x)) : x as string | number | boolean;
    }
  }
  return out;
}

const hex = (b: Uint8Array | undefined): string =>
  Array.from(b ?? [], (x) => x.toString(16).padStart(2, "0")).join("");

/** Decodes one ExportTraceServiceRequest body into flat spans. */
export function decodeTraceExport(body: Uint8Array): ReceivedSpan[] {
  const msg = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), {
    longs: String,
    defaults: true,
  }) as {
    resourceSpans: Array<{
      resource?: { attributes?: Kv[] };
      scopeSpans: Array<{ scope?: { name: string }; spans: Array<Record<string, unknown>> }>;
    }>;
  };
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resourceSpans) {
    const serviceName = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: hex(s.traceId as Uint8Array),
          spanId: hex(s.spanId as Uint8Array),
          parentSpanId: hex(s.parentSpanId as Uint8Array),
          name: String(s.name),
          kind: Number(s.kind),
          startNs: BigInt(String(s.startTimeUnixNano)),
          endNs: BigInt(String(s.endTimeUnixNano)),
          scope: ss.scope?.name ?? "",
          serviceName,
          attributes: attrs(s.attributes as Kv[]),
          statusCode: Number((s.status as { code?: number } | undefined)?.code ?? 0),
        });
      }
    }
  }
  return out;
}

/** A running receiver: every span exported to it so far. */
export interface OtlpReceiver {
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Paths of every request received (`/v1/traces`, `/v1/metrics`, ...). */
  readonly paths: string[];
  /** Bodies that failed to decode (a bad export is a test failure, not a silent skip). */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port. */
export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const errors: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    paths.push(path);
    const body = new Uint8Array(await req.arrayBuffer());
    if (path === "/v1/traces") {
      if (req.headers.get("content-type") !== "application/x-protobuf") {
        errors.push(`traces with content-type ${req.headers.get("content-type")}`);
      } else {
        try {
          spans.push(...decodeTraceExport(body));
        } catch (e) {
          errors.push(`undecodable trace export: ${(e as Error).message}`);
        }
      }
    }
    // An empty Export*ServiceResponse: everything accepted.
    return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    spans,
    paths,
    errors,
    close: () => server.shutdown(),
  };
}
