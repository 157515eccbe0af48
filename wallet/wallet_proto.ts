/**
 * The text of `wallet/wallet.proto`, as a static text import: part of the module graph, so the service worker
 * (whose only permission is its keystore directory) needs no read access for it and `deno compile` embeds it.
 *
 * @module
 */

import walletProtoText from "./wallet.proto" with { type: "text" };

/** The schema of `ghostchain.wallet.v1.WalletService`. */
export const WALLET_PROTO: string = walletProtoText;
