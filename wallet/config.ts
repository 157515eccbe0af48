/**
 * The `[wallet]` configuration of the service worker, parsed once at the edge. Until the supervisor's central
 * config schema has a `wallet` section, the worker reads the raw table (missing = defaults).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `unlock_idle_timeout_ms` | `300000` | an unlock session locks after this much idle time (1..86400000) |
 * | `max_message_bytes` | `4194304` | largest request or response message of the service |
 *
 * @module
 */

import { isRecord } from "./_bytes.ts";
import { DEFAULT_WALLET_MAX_MESSAGE_BYTES } from "./wallet_rpc.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, MAX_IDLE_TIMEOUT_MS } from "./wallet_service.ts";

/** The wallet service settings. */
export interface WalletConfig {
  /** Idle time after which an unlock session locks. */
  readonly unlockIdleTimeoutMs: number;
  /** Largest request or response message. */
  readonly maxMessageBytes: number;
}

function int(raw: Record<string, unknown>, key: string, def: number, min: number, max: number): number {
  const v = raw[key];
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(
      `Cannot read config wallet.${key}: ${
        JSON.stringify(v)?.slice(0, 40)
      } is not an integer in ${min}..${max}`,
    );
  }
  return v;
}

/** Parses the raw `[wallet]` table (snake_case keys); unknown keys are errors. */
export function parseWalletConfig(raw: unknown): WalletConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isRecord(raw)) throw new TypeError("Cannot read config wallet: not a table");
  const known = ["unlock_idle_timeout_ms", "max_message_bytes"];
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) {
      throw new RangeError(
        `Cannot read config wallet.${k}: unknown key; [wallet] accepts ${known.join(", ")}`,
      );
    }
  }
  return {
    unlockIdleTimeoutMs: int(raw, "unlock_idle_timeout_ms", DEFAULT_IDLE_TIMEOUT_MS, 1, MAX_IDLE_TIMEOUT_MS),
    maxMessageBytes: int(raw, "max_message_bytes", DEFAULT_WALLET_MAX_MESSAGE_BYTES, 1024, 64 << 20),
  };
}
