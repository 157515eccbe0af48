/**
 * The `ping` service's descriptor: the transport's diagnostic QUIC endpoint. Stateless: its listen address and
 * nothing else (TLS material arrives in the start message).
 *
 * @module
 */
import { formatHostPort, permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { PING_CONFIG, type PingConfig } from "./config.ts";

/** The `ping` service. */
export const pingService: ServiceDescriptor<PingConfig> = {
  name: "ping",
  summary: "transport diagnostic QUIC endpoint (ALPN ghost-ping/1): liveness and round-trip probes",
  config: PING_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  tls: "server",
  permissions: (config) => permissionSet({ net: [formatHostPort(config.listen)] }),
};
