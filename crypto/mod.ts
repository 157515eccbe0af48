/**
 * Crypto primitives (the seed's zcrypto, with realid's addresses and zsig's signed messages): Ed25519 and
 * secp256k1 keys and signatures, BLAKE3 / SHA-256 / Keccak-256, a worker-pool Ed25519 batch verifier, public
 * key encoding, `ghost1...` bech32m addresses, Ethereum addresses, domain-separated signed messages, and the
 * {@linkcode Secret} holder that prints as `[redacted]`. Below both the wallet and the chain: neither service
 * imports the other to hash bytes or check a signature.
 *
 * Everything comes from audited libraries (`@noble/*`, `@scure/*`, WebCrypto); nothing here is hand-rolled.
 *
 * @example
 * ```ts
 * import { addressFromPublicKey, blake3, ed25519Keypair, parsePublicKey, signMessage, verifySignedMessage } from "./mod.ts";
 *
 * const { publicKey, secretKey } = ed25519Keypair();
 * console.log(addressFromPublicKey(parsePublicKey("ed25519", publicKey)).startsWith("ghost1")); // true
 * console.log(blake3(new Uint8Array(0)).length); // 32
 * const signed = signMessage("WALLET_MESSAGE", new TextEncoder().encode("hello"), { type: "ed25519", secretKey });
 * await verifySignedMessage(signed, "WALLET_MESSAGE");
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./secret.ts";
export * from "./hashes.ts";
export * from "./ed25519.ts";
export * from "./ed25519_batch_verifier.ts";
export * from "./secp256k1.ts";
export * from "./ethereum_address.ts";
export * from "./public_key.ts";
export * from "./address.ts";
export * from "./signed_message.ts";
