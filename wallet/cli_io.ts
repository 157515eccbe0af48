/**
 * The wallet CLI's terminal: injected input and output (so tests run the CLI in process), the real Deno terminal, and the environment variables it reads.
 *
 * @module
 */
import { utf8Strict } from "../core/mod.ts";
import type { ScryptParams } from "./keystore_file.ts";
import { CliUsageError } from "./cli_usage_error.ts";

/** Injected input and output, so tests run the CLI in process. {@linkcode denoCliIo} is the real one. */
export interface CliIo {
  /** One line of stdin without its newline; `null` at end of input. `echo: false` hides typing on a terminal. */
  readLine(options: { readonly echo: boolean }): Promise<string | null>;
  /** Writes to stdout. */
  writeOut(text: string): void;
  /** Writes to stderr. */
  writeErr(text: string): void;
  /** An environment variable. */
  env(name: string): string | undefined;
  /** Whether a stream is a terminal. */
  isTerminal(stream: "stdin" | "stdout" | "stderr"): boolean;
}

/** Environment variable holding the wallet passphrase (for scripts; prefer a file or the prompt). */
export const PASSPHRASE_ENV = "GHOST_WALLET_PASSPHRASE";
/** Environment variable selecting test KDF parameters (`test`). Never for real keys. */
export const KDF_ENV = "GHOST_WALLET_KDF";
/** scrypt parameters selected by `GHOST_WALLET_KDF=test`: the smallest the keystore accepts. */
export const TEST_KDF: ScryptParams = { n: 1 << 10, r: 8, p: 1 };

export const enc = new TextEncoder();

/** The real terminal: Deno's stdin (raw mode for hidden input), stdout, stderr and environment. */
export function denoCliIo(): CliIo {
  return {
    async readLine({ echo }) {
      const raw = !echo && Deno.stdin.isTerminal();
      if (raw) Deno.stdin.setRaw(true);
      const bytes: number[] = [];
      const one = new Uint8Array(1);
      try {
        for (;;) {
          const n = await Deno.stdin.read(one);
          if (n === null) return bytes.length > 0 ? utf8Strict.decode(new Uint8Array(bytes)) : null;
          const b = one[0] ?? 0;
          if (raw && b === 3) throw new CliUsageError("Interrupted", 130); // Ctrl-C
          if (raw && b === 4 && bytes.length === 0) return null; // Ctrl-D
          if (raw && (b === 127 || b === 8)) {
            bytes.pop();
            continue;
          }
          if (b === 10 || (raw && b === 13)) break;
          if (b !== 13) bytes.push(b);
        }
        return utf8Strict.decode(new Uint8Array(bytes));
      } finally {
        bytes.fill(0);
        if (raw) {
          Deno.stdin.setRaw(false);
          Deno.stderr.writeSync(enc.encode("\n"));
        }
      }
    },
    writeOut: (text) => writeAll(Deno.stdout, text),
    writeErr: (text) => writeAll(Deno.stderr, text),
    env: (name) => Deno.env.get(name),
    isTerminal: (stream) =>
      stream === "stdin"
        ? Deno.stdin.isTerminal()
        : stream === "stdout"
        ? Deno.stdout.isTerminal()
        : Deno.stderr.isTerminal(),
  };
}

export function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  const data = enc.encode(text);
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}
