/**
 * GhostChain addresses (realid).
 *
 * ## Scheme (consensus-relevant; changing anything here changes every address)
 * ```
 * payload = BLAKE3(key_type_byte || key_bytes)[0..20]
 * address = bech32m("ghost", payload)            // BIP-350, lower case, 44 characters
 * ```
 * - `key_type_byte` is 0x01 for Ed25519 (key_bytes = the 32-byte key), 0x02 for secp256k1 (key_bytes = the
 *   33-byte compressed key) and 0x03 for multisig accounts (key_bytes = the account descriptor, see
 *   `multisig.ts`). The type byte keeps the three spaces apart: the same bytes under two types give unrelated
 *   addresses.
 * - 20 bytes (160 bits) as in Ethereum and Bitcoin P2WPKH.
 * - Parsing accepts all-upper-case input (BIP-173 allows it) and returns the lower-case form.
 *
 * @module
 */

import { bech32, bech32m } from "@scure/base";
import { AddressError } from "./errors.ts";
import { blake3 } from "./hashes.ts";
import { encodePublicKey, type PublicKey } from "./public_key.ts";

/** The human-readable part of every GhostChain address. */
export const ADDRESS_HRP = "ghost";
/** Payload length in bytes. */
export const ADDRESS_PAYLOAD_LENGTH = 20;
/** Longest bech32 string (BIP-173). */
const MAX_BECH32_LENGTH = 90;
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/** A canonical (lower-case, checksummed) GhostChain address string. */
export type Address = string & { readonly __brand: "GhostAddress" };

/** A parsed address. */
export interface ParsedAddress {
  /** The canonical string. */
  readonly address: Address;
  /** The 20-byte payload. */
  readonly payload: Uint8Array;
}

/** `BLAKE3(typeByte || body)[0..20]`. */
export function addressPayload(typeByte: number, body: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + body.length);
  input[0] = typeByte;
  input.set(body, 1);
  return blake3(input).slice(0, ADDRESS_PAYLOAD_LENGTH);
}

/** The address of a 20-byte payload. */
export function addressFromPayload(payload: Uint8Array): Address {
  if (payload.length !== ADDRESS_PAYLOAD_LENGTH) {
    throw new AddressError(
      "BAD_LENGTH",
      `Cannot encode address: payload length ${payload.length}, expected 20`,
    );
  }
  return bech32m.encode(ADDRESS_HRP, bech32m.toWords(payload)) as Address;
}

/**
 * The address of a public key.
 *
 * @example
 * ```ts
 * const { publicKey } = ed25519Keypair();
 * addressFromPublicKey(parsePublicKey("ed25519", publicKey)).startsWith("ghost1"); // true
 * ```
 */
export function addressFromPublicKey(key: PublicKey): Address {
  const enc = encodePublicKey(key);
  return addressFromPayload(addressPayload(enc[0] ?? 0, enc.subarray(1)));
}

/**
 * Parses an address string. Every failure is an {@linkcode AddressError} whose `code` says what is wrong.
 *
 * @example
 * ```ts
 * parseAddress("ghost1...").payload.length; // 20
 * ```
 */
export function parseAddress(text: unknown, hrp: string = ADDRESS_HRP): ParsedAddress {
  if (typeof text !== "string") throw new AddressError("NOT_A_STRING", "Cannot parse address: not a string");
  if (text.length < hrp.length + 7 || text.length > MAX_BECH32_LENGTH) {
    throw new AddressError(
      "BAD_LENGTH",
      `Cannot parse address: length ${text.length} is outside ${hrp.length + 7}..90`,
    );
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 33 || c > 126) {
      throw new AddressError("BAD_CHARACTER", `Cannot parse address: invalid character at ${i}`);
    }
  }
  const lower = text.toLowerCase();
  if (lower !== text && text.toUpperCase() !== text) {
    throw new AddressError("MIXED_CASE", "Cannot parse address: mixed upper and lower case");
  }
  const sep = lower.lastIndexOf("1");
  if (sep < 1) {
    throw new AddressError("MISSING_SEPARATOR", "Cannot parse address: no '1' separator after the prefix");
  }
  const prefix = lower.slice(0, sep);
  if (prefix !== hrp) {
    throw new AddressError("WRONG_PREFIX", `Cannot parse address: prefix "${prefix}", expected "${hrp}"`);
  }
  const data = lower.slice(sep + 1);
  const badChar = [...data].findIndex((c) => !CHARSET.includes(c));
  if (badChar >= 0) {
    throw new AddressError(
      "BAD_CHARACTER",
      `Cannot parse address: invalid bech32 character at ${sep + 1 + badChar}`,
    );
  }
  let words: number[];
  try {
    words = bech32m.decode(lower as `${string}1${string}`, MAX_BECH32_LENGTH).words;
  } catch (cause) {
    let isBech32 = false;
    try {
      bech32.decode(lower as `${string}1${string}`, MAX_BECH32_LENGTH);
      isBech32 = true;
    } catch {
      // neither checksum matches
    }
    if (isBech32) {
      throw new AddressError(
        "BECH32_NOT_M",
        "Cannot parse address: bech32 checksum where bech32m is required",
        { cause },
      );
    }
    throw new AddressError("BAD_CHECKSUM", "Cannot parse address: checksum mismatch", { cause });
  }
  const payload = bech32m.fromWordsUnsafe(words);
  if (!(payload instanceof Uint8Array)) {
    throw new AddressError("BAD_PADDING", "Cannot parse address: non-zero padding bits");
  }
  if (payload.length !== ADDRESS_PAYLOAD_LENGTH) {
    throw new AddressError(
      "BAD_LENGTH",
      `Cannot parse address: payload length ${payload.length}, expected 20`,
    );
  }
  return { address: lower as Address, payload };
}
