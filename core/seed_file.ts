/**
 * Deno adapter: 32-byte key seeds kept as 64 hex characters in a file of their own (node keys of the service
 * mesh, the bridge, ghostlink). A missing file is made once: a random seed, mode 0600, written atomically in a
 * directory of mode 0700, so a crash never leaves half a key.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";
import { fromHex, toHex } from "./bytes.ts";

/** Parses a seed's text (64 hex characters, whitespace around it ignored); throws naming `what` and `where`. */
export function parseSeedText(text: string, what: string, where: string): Uint8Array {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError(`Cannot read ${what} ${where}: expected 64 hex characters`);
  }
  return fromHex(hex);
}

/** Reads the seed in `path`, making one first when the file does not exist (see the module doc). */
export async function loadOrCreateSeed(path: string, what: string): Promise<Uint8Array> {
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== undefined) return parseSeedText(text, what, path);
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const dir = path.slice(0, Math.max(0, path.lastIndexOf("/")));
  if (dir !== "") await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, toHex(seed) + "\n", { mode: 0o600 });
  return seed;
}
