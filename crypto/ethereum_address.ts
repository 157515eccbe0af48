/**
 * Ethereum addresses: the last 20 bytes of Keccak-256 of the uncompressed public key (without its 0x04
 * prefix), written with the EIP-55 mixed-case checksum.
 *
 * @module
 */

import { toHex } from "../core/mod.ts";
import { AddressError } from "./errors.ts";
import { keccak256 } from "./hashes.ts";
import { uncompressSecp256k1PublicKey } from "./secp256k1.ts";

const encoder = new TextEncoder();

/**
 * The EIP-55 form of a 20-byte address: hex digit i is upper case when nibble i of Keccak-256 of the
 * lowercase hex is >= 8.
 *
 * @example
 * ```ts
 * toChecksumAddress(new Uint8Array(20)); // "0x0000000000000000000000000000000000000000"
 * ```
 */
export function toChecksumAddress(address: Uint8Array): string {
  if (address.length !== 20) {
    throw new AddressError(
      "BAD_LENGTH",
      `Cannot encode Ethereum address: length ${address.length}, expected 20`,
    );
  }
  const lower = toHex(address);
  const hash = keccak256(encoder.encode(lower));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const c = lower[i] ?? "";
    const nibble = ((hash[i >> 1] ?? 0) >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/**
 * The EIP-55 Ethereum address of a secp256k1 public key (33 or 65 bytes).
 *
 * @example
 * ```ts
 * const { publicKey } = secp256k1Keypair();
 * ethereumAddress(publicKey).startsWith("0x"); // true
 * ```
 */
export function ethereumAddress(publicKey: Uint8Array): string {
  const uncompressed = uncompressSecp256k1PublicKey(publicKey);
  return toChecksumAddress(keccak256(uncompressed.subarray(1)).subarray(12));
}

/**
 * Parses `0x` + 40 hex digits into 20 bytes. All-lowercase and all-uppercase addresses carry no checksum
 * (EIP-55) and are accepted; mixed case must match the checksum.
 */
export function parseEthereumAddress(text: unknown): Uint8Array {
  if (typeof text !== "string") {
    throw new AddressError("NOT_A_STRING", "Cannot parse Ethereum address: not a string");
  }
  if (!text.startsWith("0x")) {
    throw new AddressError("MISSING_SEPARATOR", "Cannot parse Ethereum address: missing 0x prefix");
  }
  const hex = text.slice(2);
  if (hex.length !== 40) {
    throw new AddressError(
      "BAD_LENGTH",
      `Cannot parse Ethereum address: ${hex.length} hex digits, expected 40`,
    );
  }
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) {
    throw new AddressError("BAD_CHARACTER", "Cannot parse Ethereum address: non-hex character");
  }
  const bytes = new Uint8Array(20);
  for (let i = 0; i < 20; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const mixed = hex !== hex.toLowerCase() && hex !== hex.toUpperCase();
  if (mixed && toChecksumAddress(bytes) !== text) {
    throw new AddressError("BAD_CHECKSUM", "Cannot parse Ethereum address: EIP-55 checksum mismatch");
  }
  return bytes;
}
