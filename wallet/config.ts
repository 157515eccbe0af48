/**
 * The `[wallet]` section of walletd, declared once with the shared schema (defaults, env names, help).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `unlock_idle_timeout_ms` | `300000` | an unlock session locks after this much idle time (1..86400000) |
 * | `max_message_bytes` | `4194304` | largest request or response message of the service |
 *
 * @module
 */
import { type ConfigSection, defineSection, int } from "../core/mod.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_WALLET_MAX_MESSAGE_BYTES, MAX_IDLE_TIMEOUT_MS } from "./limits.ts";

/** The wallet service settings. */
export interface WalletConfig {
  /** Idle time after which an unlock session locks. */
  readonly unlockIdleTimeoutMs: number;
  /** Largest request or response message. */
  readonly maxMessageBytes: number;
}

/** The `[wallet]` schema. */
export const WALLET_CONFIG: ConfigSection<WalletConfig> = defineSection("wallet", {
  unlock_idle_timeout_ms: {
    kind: int(1, MAX_IDLE_TIMEOUT_MS),
    default: DEFAULT_IDLE_TIMEOUT_MS,
    help: "an unlock session locks after this much idle time",
  },
  max_message_bytes: {
    kind: int(1024, 64 << 20),
    default: DEFAULT_WALLET_MAX_MESSAGE_BYTES,
    help: "largest request or response message",
  },
});

/** Parses a raw `[wallet]` table (snake_case keys); unknown keys are errors. */
export function parseWalletConfig(table: Readonly<Record<string, unknown>> = {}): WalletConfig {
  return WALLET_CONFIG.parse({ file: { path: "[wallet]", table } });
}
