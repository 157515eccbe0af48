/**
 * BIP-39 mnemonics (English wordlist) with `@scure/bip39`: generation, parsing with precise errors, and the
 * PBKDF2-HMAC-SHA512 seed with an optional passphrase. Mnemonics and seeds travel as {@linkcode Secret}s.
 *
 * @module
 */

import {
  entropyToMnemonic,
  generateMnemonic as scureGenerate,
  mnemonicToEntropy,
  mnemonicToSeed,
} from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { KeyDerivationError } from "./errors.ts";
import { Secret } from "../crypto/mod.ts";

/** Allowed mnemonic lengths in words (BIP-39: 128..256 bits of entropy in 32-bit steps). */
export type MnemonicWordCount = 12 | 15 | 18 | 21 | 24;

const WORDS: ReadonlySet<string> = new Set(wordlist);
const STRENGTH: Readonly<Record<MnemonicWordCount, number>> = { 12: 128, 15: 160, 18: 192, 21: 224, 24: 256 };

/**
 * A new random English mnemonic; 24 words (256-bit entropy) by default.
 *
 * @example
 * ```ts
 * const m = generateMnemonic(12);
 * m.exposeText().split(" ").length; // 12
 * m.wipe();
 * ```
 */
export function generateMnemonic(words: MnemonicWordCount = 24): Secret {
  const strength = STRENGTH[words];
  if (strength === undefined) {
    throw new KeyDerivationError(
      "BAD_MNEMONIC_LENGTH",
      `Cannot generate mnemonic: ${words} words is not 12, 15, 18, 21 or 24`,
    );
  }
  return Secret.fromText(scureGenerate(wordlist, strength));
}

/** The English mnemonic for 16..32 bytes of entropy (BIP-39 test vectors start from entropy). */
export function mnemonicFromEntropy(entropy: Uint8Array): Secret {
  try {
    return Secret.fromText(entropyToMnemonic(entropy, wordlist));
  } catch (cause) {
    throw new KeyDerivationError(
      "BAD_MNEMONIC_LENGTH",
      `Cannot encode mnemonic: ${entropy.length} bytes of entropy`,
      {
        cause,
      },
    );
  }
}

/**
 * Parses a phrase into its normalized form (NFKD, lower case, single spaces). Errors name the position of a
 * bad word, never the word itself.
 */
export function parseMnemonic(phrase: string | Secret): Secret {
  const text = typeof phrase === "string" ? phrase : phrase.exposeText();
  const words = text.normalize("NFKD").trim().toLowerCase().split(/\s+/u).filter((w) => w.length > 0);
  if (!(words.length in STRENGTH)) {
    throw new KeyDerivationError(
      "BAD_MNEMONIC_LENGTH",
      `Cannot parse mnemonic: ${words.length} words, expected 12, 15, 18, 21 or 24`,
    );
  }
  const badIndex = words.findIndex((w) => !WORDS.has(w));
  if (badIndex >= 0) {
    throw new KeyDerivationError(
      "BAD_MNEMONIC_WORD",
      `Cannot parse mnemonic: word ${badIndex + 1} is not in the BIP-39 English wordlist`,
    );
  }
  const normalized = words.join(" ");
  let entropy: Uint8Array;
  try {
    entropy = mnemonicToEntropy(normalized, wordlist);
  } catch (cause) {
    throw new KeyDerivationError("BAD_MNEMONIC_CHECKSUM", "Cannot parse mnemonic: checksum mismatch", {
      cause,
    });
  }
  entropy.fill(0);
  return Secret.fromText(normalized);
}

/**
 * The 64-byte BIP-39 seed of a mnemonic and optional passphrase (PBKDF2-HMAC-SHA512, 2048 rounds). The
 * mnemonic is parsed first, so a typo fails here rather than yielding another wallet.
 */
export async function mnemonicToSeedSecret(
  mnemonic: string | Secret,
  passphrase: string | Secret = "",
): Promise<Secret> {
  const phrase = parseMnemonic(mnemonic);
  try {
    const pass = typeof passphrase === "string" ? passphrase : passphrase.exposeText();
    return Secret.from(await mnemonicToSeed(phrase.exposeText(), pass));
  } finally {
    phrase.wipe();
  }
}
