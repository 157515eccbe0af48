/**
 * The wallet service's limits and their defaults, shared by its config schema and its core.
 *
 * @module
 */

/** An unlock session locks after this much idle time by default. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** The longest idle timeout a session may ask for. */
export const MAX_IDLE_TIMEOUT_MS = 24 * 60 * 60_000;
/** Default bound on one request or response message of the wallet service. */
export const DEFAULT_WALLET_MAX_MESSAGE_BYTES = 4 << 20;
