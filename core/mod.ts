/**
 * Shared primitives, the lowest layer: byte helpers, errors, gRPC status codes, host and port values, the
 * config schema, structured logging, the metrics registry, atomic file writes, permission sets, and the worker
 * runtime and protocol every service runs inside. Nothing here imports a service or the supervisor.
 *
 * @example
 * ```ts
 * import { defineSection, int, MetricsRegistry, renderPrometheus } from "./mod.ts";
 *
 * const section = defineSection("demo", { workers: { kind: int(1, 64), default: 4, help: "threads" } });
 * console.log(section.parse({ env: { GHOST_DEMO_WORKERS: "8" } }).workers); // 8
 *
 * const registry = new MetricsRegistry();
 * registry.counter("ghost_demo_requests_total", "Requests").inc();
 * console.log(renderPrometheus(registry.snapshot()).includes("ghost_demo_requests_total 1")); // true
 * ```
 *
 * @module
 */
export * from "./bytes.ts";
export * from "./errors.ts";
export * from "./grpc_status.ts";
export * from "./host_port.ts";
export * from "./config_schema.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./atomic_write.ts";
export * from "./seed_file.ts";
export * from "./permissions.ts";
export * from "./service.ts";
export * from "./worker_protocol.ts";
export * from "./worker_runtime.ts";
export * from "./cli_spec.ts";
export * from "./trace.ts";
export * from "./sigio.ts";
