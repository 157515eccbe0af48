/**
 * Builds the example contracts in `vm/sdk/examples/*.as` to `vm/sdk/build/<name>.wasm` with the AssemblyScript
 * compiler, run in-process through its JS API (`assemblyscript/asc`), no network.
 *
 * `deno run -A vm/sdk/build.ts` (or `deno task build:contracts`) writes the files; `--check` rebuilds in memory
 * and exits 1 if any committed file differs. {@linkcode buildContract} is used by the tests to prove the
 * committed bytes are reproducible.
 *
 * The AssemblyScript sources (`assembly/zvm.as`, `examples/*.as`) are ordinary AssemblyScript; they carry the
 * `.as` extension so that the project's `deno check`, `deno lint` and `deno fmt`, which would read `*.ts` as
 * TypeScript, leave them alone. asc asks for `*.ts` names and `readFile` below maps them.
 *
 * Compiler options (consensus-relevant only in that they decide the bytes): runtime `stub` (a bump allocator
 * without GC: every call runs in a fresh instance, so memory is never reclaimed within a call and never
 * needs to be), `-O3`, floats not used, `nontrapping-f2i` disabled (ZVM rejects float instructions),
 * bulk-memory and sign-extension on (both accepted and metered), the top-level initialiser exported as
 * `_initialize` instead of a start section.
 *
 * @module
 */

import asc from "assemblyscript/asc";

/** Names of the example contracts. */
export const CONTRACTS = ["counter", "token", "registrar"] as const;

const SDK_DIR = new URL(".", import.meta.url);

/** The asc command line for one contract (paths relative to `vm/sdk/`). */
export function ascArgs(name: string): string[] {
  return [
    `examples/${name}.ts`,
    "--outFile",
    `build/${name}.wasm`,
    "--runtime",
    "stub",
    "--optimizeLevel",
    "3",
    "--shrinkLevel",
    "0",
    "--disable",
    "nontrapping-f2i",
    "--exportStart",
    "_initialize",
    "--noColors",
  ];
}

/** Compiles one contract in memory and returns its wasm bytes; throws with the compiler's output on failure. */
export async function buildContract(name: string): Promise<Uint8Array> {
  let wasm: Uint8Array | undefined;
  let stderr = "";
  const base = SDK_DIR.pathname;
  const { error } = await asc.main(ascArgs(name), {
    readFile: (file: string, baseDir: string) => {
      // Our AssemblyScript sources are *.as on disk (so deno check/lint/fmt skip them); asc asks for *.ts.
      if (!file.endsWith(".ts") || file.startsWith("~lib/")) return null;
      try {
        return Deno.readTextFileSync(
          new URL(`${baseDir}/${file.slice(0, -3)}.as`, `file://${base}`).pathname,
        );
      } catch {
        return null;
      }
    },
    writeFile: (file: string, contents: Uint8Array | string) => {
      if (file.endsWith(".wasm") && contents instanceof Uint8Array) wasm = contents.slice();
    },
    listFiles: () => [],
    stdout: { write: (_s: string) => true } as never,
    stderr: { write: (s: string) => (stderr += s, true) } as never,
  });
  if (error || wasm === undefined) {
    throw new Error(`Cannot build contract ${name}: ${error?.message ?? "no output"}\n${stderr}`);
  }
  return wasm;
}

/** Path of a committed build output. */
export function builtPath(name: string): URL {
  return new URL(`build/${name}.wasm`, SDK_DIR);
}

/** Reads a committed build output. */
export function readBuilt(name: string): Uint8Array {
  return Deno.readFileSync(builtPath(name));
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  let stale = 0;
  for (const name of CONTRACTS) {
    const bytes = await buildContract(name);
    if (check) {
      let old: Uint8Array | undefined;
      try {
        old = readBuilt(name);
      } catch {
        old = undefined;
      }
      const same = old !== undefined && old.length === bytes.length && old.every((b, i) => b === bytes[i]);
      console.log(`${name}: ${same ? "up to date" : "STALE"} (${bytes.length} bytes)`);
      if (!same) stale++;
    } else {
      Deno.writeFileSync(builtPath(name), bytes);
      console.log(`${name}: wrote build/${name}.wasm (${bytes.length} bytes)`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
