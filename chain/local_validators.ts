/**
 * A local network of validators on one machine (`mod.ts up --validators N`): the supervisor runs the chain service
 * N times — `chain` and `chain-2` .. `chain-N` — each in its own worker with its own data directory, key and port
 * (the `[chain] listen` port plus 0 .. N-1), every one a consensus peer of the others. The first keeps the name
 * `chain`: the mesh, the wallet and `mod.ts chain ...` talk to it.
 *
 * {@linkcode prepareLocalValidators} makes the keys and one devnet genesis naming all N validators, written into
 * each data directory before the workers start. A data directory that already holds a genesis for another
 * validator set is refused with what to do, never rewritten.
 *
 * @module
 */
import { addressFromPublicKey, ed25519PublicKey, parsePublicKey } from "../crypto/mod.ts";
import type { ChainConfig } from "./config.ts";
import { loadOrCreateKey } from "./deno_node.ts";
import { devnetGenesisJson, parseGenesis } from "./genesis.ts";
import { toHex } from "./_pb.ts";

/** The most validators `--validators` runs. */
export const MAX_LOCAL_VALIDATORS = 16;

/** Service names of the N local validators. */
export function localValidatorNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? "chain" : `chain-${i + 1}`));
}

/** The `[chain]` section of each local validator: consecutive ports, each the others' peer. */
export function localValidatorConfigs(base: ChainConfig, n: number): ChainConfig[] {
  const listens = Array.from({ length: n }, (_, i) => ({ ...base.listen, port: base.listen.port + i }));
  return listens.map((listen, i) => ({
    ...base,
    role: "validator",
    listen,
    peers: listens.filter((_, j) => j !== i),
    // Keys and genesis are per data directory (made by prepareLocalValidators).
    nodeKeyFile: "",
    genesisFile: "",
  }));
}

/**
 * Makes each validator's key (`<dataDir>/<name>/node.key`) and writes the shared genesis into every data dir.
 * Returns the validators' public keys (hex). Throws when a data dir holds a genesis for another validator set.
 */
export async function prepareLocalValidators(opts: {
  readonly dataDir: string;
  readonly n: number;
  readonly now: number;
  readonly dnsAnchors?: readonly string[];
}): Promise<string[]> {
  const names = localValidatorNames(opts.n);
  const keys: string[] = [];
  for (const name of names) {
    const dir = `${opts.dataDir}/${name}`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    keys.push(toHex(ed25519PublicKey(await loadOrCreateKey(`${dir}/node.key`))));
  }
  const first = `${opts.dataDir}/chain`;
  let text: string | undefined;
  for (const name of names) {
    try {
      const existing = await Deno.readTextFile(`${opts.dataDir}/${name}/genesis.json`);
      const g = parseGenesis(JSON.parse(existing));
      const have = g.validators.map((v) => toHex(v.publicKey)).sort().join(",");
      if (have !== [...keys].sort().join(",")) {
        throw new Error(
          `${opts.dataDir}/${name}/genesis.json names ${g.validators.length} other validator(s), not these ${opts.n}: ` +
            `start with another --data-dir, or remove ${opts.dataDir}/chain* to make a new network`,
        );
      }
      text ??= existing;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (text === undefined) {
    const dev = await loadOrCreateKey(`${first}/dev.key`);
    const devAddress = addressFromPublicKey(parsePublicKey("ed25519", ed25519PublicKey(dev)));
    const [head = "", ...more] = keys;
    text = JSON.stringify(
      devnetGenesisJson({
        validatorKey: head,
        moreValidators: more,
        devAddress,
        timeMs: opts.now,
        ...(opts.dnsAnchors ? { dnsAnchors: opts.dnsAnchors } : {}),
      }),
      null,
      2,
    ) + "\n";
  }
  for (const name of names) {
    const path = `${opts.dataDir}/${name}/genesis.json`;
    try {
      await Deno.stat(path);
    } catch {
      await Deno.writeTextFile(`${path}.tmp`, text);
      await Deno.rename(`${path}.tmp`, path);
    }
  }
  return keys;
}
