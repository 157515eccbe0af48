/**
 * The `[ping]` section: the transport's diagnostic QUIC endpoint (ALPN `ghost-ping/1`).
 *
 * @module
 */
import { defineSection, hostPort, int } from "../core/mod.ts";

const MS_DAY = 86_400_000;

/** The `[ping]` schema. */
export const PING_CONFIG = defineSection("ping", {
  listen: { kind: hostPort(), default: "[::1]:4433", help: "QUIC diagnostic endpoint" },
  max_connections: { kind: int(1, 1_000_000), default: 10_000, help: "concurrent QUIC connections" },
  idle_timeout_ms: { kind: int(1_000, MS_DAY), default: 30_000, help: "QUIC idle timeout" },
});

/** The parsed `[ping]` section. */
export type PingConfig = ReturnType<typeof PING_CONFIG.parse>;
