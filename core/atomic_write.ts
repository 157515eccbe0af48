/**
 * Atomic file replacement: a crash mid-write never leaves a torn file (keys, keystores, the dev PKI).
 *
 * @module
 */

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode, e.g. `0o600` for private keys. Defaults to `0o644`. */
  readonly mode?: number;
}

/**
 * Replaces `path` atomically: writes a temporary file next to it with `mode`, fsyncs it, renames it over `path`,
 * then fsyncs the directory, so readers see either the old or the new content and a crash never leaves a
 * half-written key.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const dir = dirname(path);
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode });
  try {
    // `mode` on open is filtered by the umask; chmod sets it exactly. Windows has no POSIX modes.
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, mode);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await syncDir(dir);
}

/** Returns a file's text, or `undefined` when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  }
}

function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1);
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}
