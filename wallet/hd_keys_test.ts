import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyDerivationError } from "./errors.ts";
import {
  deriveEd25519Key,
  deriveSecp256k1Key,
  formatDerivationPath,
  HARDENED,
  parseDerivationPath,
  secp256k1KeyFromXprv,
} from "./hd_keys.ts";
import { generateMnemonic, mnemonicFromEntropy, mnemonicToSeedSecret, parseMnemonic } from "./mnemonic.ts";
import { hex, loadVectors, toHexString } from "../crypto/_test_vectors.ts";

interface Slip10 {
  readonly vectors: readonly {
    readonly seed: string;
    readonly chains: readonly {
      readonly path: string;
      readonly fingerprint: string;
      readonly chainCode: string;
      readonly private: string;
      readonly public: string;
    }[];
  }[];
}

Deno.test("deriveEd25519Key() reproduces the SLIP-0010 ed25519 test vectors 1 and 2", () => {
  // tests/vectors/slip10_ed25519.json: satoshilabs/slips slip-0010.md.
  const { vectors } = loadVectors<Slip10>("slip10_ed25519.json");
  assert.equal(vectors.length, 2);
  for (const v of vectors) {
    assert.equal(v.chains.length, 6);
    for (const c of v.chains) {
      const key = deriveEd25519Key(hex(v.seed), c.path);
      assert.equal(toHexString(key.privateKey.expose()), c.private, c.path);
      assert.equal(toHexString(key.chainCode), c.chainCode, c.path);
      assert.equal("00" + toHexString(key.publicKey), c.public, c.path);
      assert.equal(key.parentFingerprint.toString(16).padStart(8, "0"), c.fingerprint, c.path);
      key.privateKey.wipe();
    }
  }
});

Deno.test("deriveEd25519Key() refuses a normal (non-hardened) index with NON_HARDENED", () => {
  assert.throws(
    () => deriveEd25519Key(new Uint8Array(16), "m/0'/1"),
    (e) => e instanceof KeyDerivationError && e.code === "NON_HARDENED",
  );
  assert.throws(
    () => deriveEd25519Key(new Uint8Array(8), "m/0'"),
    (e) => e instanceof KeyDerivationError && e.code === "BAD_SEED",
  );
});

interface Bip32 {
  readonly vectors: readonly {
    readonly seed: string;
    readonly chains: readonly { readonly path: string; readonly xpub: string; readonly xprv: string }[];
  }[];
}

Deno.test("deriveSecp256k1Key() reproduces BIP-32 test vectors 1, 2 and 3 (xprv and xpub)", () => {
  // tests/vectors/bip32_secp256k1.json: bitcoin/bips bip-0032.mediawiki.
  const { vectors } = loadVectors<Bip32>("bip32_secp256k1.json");
  assert.equal(vectors[0]?.chains.length, 6);
  for (const v of vectors) {
    for (const c of v.chains) {
      const key = deriveSecp256k1Key(hex(v.seed), c.path);
      assert.equal(key.xprv.exposeText(), c.xprv, c.path);
      assert.equal(key.xpub, c.xpub, c.path);
      const back = secp256k1KeyFromXprv(c.xprv);
      assert.deepEqual(back.publicKey, key.publicKey);
      key.privateKey.wipe();
    }
  }
});

interface Bip39 {
  readonly passphrase: string;
  readonly cases: readonly {
    readonly entropy: string;
    readonly mnemonic: string;
    readonly seed: string;
    readonly xprv: string;
  }[];
}

Deno.test("mnemonic functions reproduce the Trezor BIP-39 English vectors (passphrase TREZOR)", async () => {
  // tests/vectors/bip39_english.json: trezor/python-mnemonic vectors.json.
  const { passphrase, cases } = loadVectors<Bip39>("bip39_english.json");
  assert.equal(cases.length, 24);
  for (const c of cases) {
    assert.equal(mnemonicFromEntropy(hex(c.entropy)).exposeText(), c.mnemonic);
    const seed = await mnemonicToSeedSecret(c.mnemonic, passphrase);
    assert.equal(toHexString(seed.expose()), c.seed);
    assert.equal(deriveSecp256k1Key(seed, "m").xprv.exposeText(), c.xprv);
    seed.wipe();
  }
});

Deno.test("parseMnemonic() names the problem without echoing words", () => {
  const code = (phrase: string) => {
    try {
      parseMnemonic(phrase);
      return "ok";
    } catch (e) {
      assert.ok(e instanceof KeyDerivationError);
      assert.ok(!e.message.includes("zzzz") && !e.message.includes("abandon"));
      return e.code;
    }
  };
  const valid =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
  assert.equal(code(valid), "ok");
  assert.equal(code(`  ${valid.toUpperCase()}  `), "ok");
  assert.equal(code(valid.replace("about", "abandon")), "BAD_MNEMONIC_CHECKSUM");
  assert.equal(code(valid.replace("about", "zzzz")), "BAD_MNEMONIC_WORD");
  assert.equal(code("abandon about"), "BAD_MNEMONIC_LENGTH");
  assert.equal(generateMnemonic().exposeText().split(" ").length, 24);
  assert.equal(code(generateMnemonic(12).exposeText()), "ok");
});

Deno.test("parseDerivationPath() round-trips and rejects malformed paths with BAD_PATH", () => {
  assert.deepEqual(parseDerivationPath("m/44'/0h/1H/7"), [44 + HARDENED, HARDENED, 1 + HARDENED, 7]);
  assert.deepEqual(parseDerivationPath("m"), []);
  assert.equal(formatDerivationPath(parseDerivationPath("m/44'/60'/0'/0/0")), "m/44'/60'/0'/0/0");
  for (const bad of ["", "n/0", "m/", "m//1", "m/01", "m/2147483648", "m/-1", "m/1''", "m/0x1", "44'/0'"]) {
    assert.throws(
      () => parseDerivationPath(bad),
      (e) => e instanceof KeyDerivationError && e.code === "BAD_PATH",
      bad,
    );
  }
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        const p = parseDerivationPath(s);
        return formatDerivationPath(p) === s.replace(/[hH]/g, "'");
      } catch (e) {
        return e instanceof KeyDerivationError;
      }
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 0xffff_ffff }), { maxLength: 8 }), (idx) => {
      return formatDerivationPath(parseDerivationPath(formatDerivationPath(idx))) ===
        formatDerivationPath(idx);
    }),
  );
});

Deno.test("parseMnemonic() only ever throws KeyDerivationError on random text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        parseMnemonic(s);
      } catch (e) {
        return e instanceof KeyDerivationError;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});
