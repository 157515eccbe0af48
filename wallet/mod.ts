/**
 * GhostChain wallet core (zcrypto, realid, zsig): Ed25519 and secp256k1 keys and signatures, BLAKE3 /
 * SHA-256 / Keccak-256, a worker-pool Ed25519 batch verifier, BIP-39 mnemonics with SLIP-0010 (Ed25519) and
 * BIP-32 (secp256k1) derivation, an encrypted multi-wallet keystore (scrypt + XChaCha20-Poly1305, atomic
 * 0600 files), Ethereum keystore v3 import/export, `ghost1...` bech32m addresses, domain-separated signed
 * messages, and M-of-N multisig with offline signing bundles. On top of that: the wallet service
 * ({@linkcode WalletService}, `ghostchain.wallet.v1.WalletService` in `wallet.proto`, with the bytes-in/bytes-out
 * dispatcher {@linkcode createWalletCallHandler}) and the `mod.ts wallet ...` command line ({@linkcode walletCli}).
 *
 * Crypto primitives come only from `@noble/*`, `@scure/*` and WebCrypto. Secrets travel as
 * {@linkcode Secret}s, which print as `[redacted]` and can be wiped. See `wallet/README.md` for the address
 * scheme, signing domains, file formats, the mapping of the seed's zcrypto FFI, and limits.
 *
 * @example
 * ```ts
 * import {
 *   addressFromPublicKey, ed25519Keypair, Keystore, MemoryWalletStore, parsePublicKey, signMessage,
 *   verifySignedMessage, WalletService,
 * } from "./mod.ts";
 *
 * const { publicKey, secretKey } = ed25519Keypair();
 * console.log(addressFromPublicKey(parsePublicKey("ed25519", publicKey))); // ghost1...
 *
 * const signed = signMessage("WALLET_MESSAGE", new TextEncoder().encode("hello"), { type: "ed25519", secretKey });
 * await verifySignedMessage(signed, "WALLET_MESSAGE");
 *
 * const keystore = await Keystore.create("a long passphrase", { kdf: { n: 1 << 14, r: 8, p: 1 } });
 * keystore.importKey("ed25519", secretKey, { label: "node key" });
 * const file = keystore.seal(); // bytes to write with saveKeystoreFile()
 * keystore.lock();
 * secretKey.wipe();
 *
 * // The service core, as the CLI and the service worker use it.
 * const wallet = new WalletService({ store: new MemoryWalletStore(), kdf: { n: 1 << 10, r: 8, p: 1 } });
 * await wallet.createWallet({ passphrase: "a long passphrase" });
 * const { account } = await wallet.createAccount({ label: "main" });
 * console.log(account.address); // ghost1...
 * ```
 *
 * @module
 */

export * from "../crypto/mod.ts";
export * from "./errors.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "./mnemonic.ts";
export * from "./hd_keys.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "../crypto/mod.ts";
export * from "./multisig.ts";
export * from "./multisig_bundle.ts";
export * from "./keystore_file.ts";
export * from "./keystore.ts";
export * from "./eth_keystore_v3.ts";
export * from "./deno_keystore.ts";
export * from "./wallet_store.ts";
export * from "./deno_wallet_store.ts";
export * from "./wallet_service.ts";
export * from "./wallet_proto.ts";
export * from "./wallet_rpc.ts";
export * from "./config.ts";
export * from "./cli.ts";
export { DEFAULT_BRIDGE_GRPC, WALLET_CHAIN_COMMANDS } from "./chain_commands.ts";
