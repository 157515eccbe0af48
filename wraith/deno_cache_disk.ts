/**
 * Deno adapter: the cache's optional disk tier under wraith's data directory. It survives restarts and never
 * serves a torn entry:
 *
 * - each entry is one file, written whole to a temporary name, synced and renamed into place
 *   (`writeFileAtomic`), so a crash leaves the old file or the new one, never half of one;
 * - a file is a JSON head line (key, status, fields, times, Vary values, body length and SHA-256) and the body;
 *   a file whose body does not match its length and digest is deleted, not served;
 * - the directory is read at start into an index, bounded in bytes with least-recently-used eviction.
 *
 * @module
 */
import { writeFileAtomic } from "../core/mod.ts";
import type { CacheEntry } from "./cache_store.ts";

interface DiskRecord {
  readonly file: string;
  readonly key: string;
  readonly vary: readonly [string, string | null][];
  readonly size: number;
}

interface Head {
  readonly v: 1;
  readonly key: string;
  readonly status: number;
  readonly fields: [string, string][];
  readonly requestTime: number;
  readonly responseTime: number;
  readonly vary: [string, string | null][];
  readonly length: number;
  readonly sha256: string;
}

const HEAD_MAX = 256 * 1024;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function varyId(vary: readonly [string, string | null][]): string {
  return JSON.stringify(vary);
}

/** The disk tier (see the module doc). */
export class DiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  /** file name -> record, in least-recently-used order. */
  readonly #index = new Map<string, DiskRecord>();
  #bytes = 0;
  #writes: Promise<void> = Promise.resolve();
  /** Entries found torn or unreadable (and deleted). */
  torn = 0;

  private constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Opens (and indexes) the tier in `dir`; files that cannot be read are removed. */
  static async open(dir: string, maxBytes: number): Promise<DiskCache> {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const c = new DiskCache(dir, maxBytes);
    const found: { rec: DiskRecord; mtime: number }[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const path = `${dir}/${e.name}`;
      if (!/^[0-9a-f]{64}$/.test(e.name)) {
        // Leftover temporary files of an interrupted write.
        await Deno.remove(path).catch(() => {});
        continue;
      }
      try {
        const head = await c.#readHead(path);
        const st = await Deno.stat(path);
        found.push({
          rec: { file: e.name, key: head.key, vary: head.vary, size: st.size },
          mtime: st.mtime?.getTime() ?? 0,
        });
      } catch {
        c.torn++;
        await Deno.remove(path).catch(() => {});
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { rec } of found) {
      c.#index.set(rec.file, rec);
      c.#bytes += rec.size;
    }
    await c.#evict();
    return c;
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries on disk. */
  get entries(): number {
    return this.#index.size;
  }

  async #readHead(path: string): Promise<Head> {
    const f = await Deno.open(path, { read: true });
    try {
      const buf = new Uint8Array(HEAD_MAX);
      const n = (await f.read(buf)) ?? 0;
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl < 0) throw new Error("no head line");
      const head = JSON.parse(new TextDecoder().decode(buf.subarray(0, nl))) as Head;
      if (head.v !== 1 || typeof head.key !== "string" || !Array.isArray(head.vary)) {
        throw new Error("bad head");
      }
      return head;
    } finally {
      f.close();
    }
  }

  async #fileName(key: string, vary: readonly [string, string | null][]): Promise<string> {
    return await sha256Hex(new TextEncoder().encode(`${key}\n${varyId(vary)}`));
  }

  /** The entry for `key` whose Vary values match, read and checked; `undefined` when absent or torn. */
  async get(key: string, field: (name: string) => string | null): Promise<CacheEntry | undefined> {
    for (const rec of this.#index.values()) {
      if (rec.key !== key || !rec.vary.every(([n, v]) => field(n) === v)) continue;
      const path = `${this.dir}/${rec.file}`;
      try {
        const bytes = await Deno.readFile(path);
        const nl = bytes.indexOf(10);
        const head = JSON.parse(new TextDecoder().decode(bytes.subarray(0, nl))) as Head;
        const body = bytes.slice(nl + 1);
        if (body.length !== head.length || (await sha256Hex(body)) !== head.sha256) throw new Error("torn");
        this.#index.delete(rec.file);
        this.#index.set(rec.file, rec);
        return {
          key,
          status: head.status,
          fields: head.fields,
          body,
          requestTime: head.requestTime,
          responseTime: head.responseTime,
          vary: head.vary,
          size: rec.size,
        };
      } catch {
        this.torn++;
        this.#forget(rec);
        await Deno.remove(path).catch(() => {});
        return undefined;
      }
    }
    return undefined;
  }

  /** Writes an entry (replacing the same key and Vary values); writes are serialized, errors only counted. */
  put(entry: CacheEntry): Promise<void> {
    const task = this.#writes.then(async () => {
      const file = await this.#fileName(entry.key, entry.vary);
      const head: Head = {
        v: 1,
        key: entry.key,
        status: entry.status,
        fields: entry.fields.map(([n, v]) => [n, v]),
        requestTime: entry.requestTime,
        responseTime: entry.responseTime,
        vary: entry.vary.map(([n, v]) => [n, v]),
        length: entry.body.length,
        sha256: await sha256Hex(entry.body),
      };
      const headBytes = new TextEncoder().encode(JSON.stringify(head) + "\n");
      if (headBytes.length > HEAD_MAX || headBytes.length + entry.body.length > this.maxBytes) return;
      const all = new Uint8Array(headBytes.length + entry.body.length);
      all.set(headBytes);
      all.set(entry.body, headBytes.length);
      await writeFileAtomic(`${this.dir}/${file}`, all, { mode: 0o600 });
      const old = this.#index.get(file);
      if (old !== undefined) this.#forget(old);
      const rec = { file, key: entry.key, vary: entry.vary, size: all.length };
      this.#index.set(file, rec);
      this.#bytes += rec.size;
      await this.#evict();
    });
    this.#writes = task.catch(() => {});
    return task;
  }

  /** Removes one key's entries, or every key starting with `prefix`; returns how many went. */
  async delete(key: string, prefix = false): Promise<number> {
    let n = 0;
    for (const rec of [...this.#index.values()]) {
      if (prefix ? !rec.key.startsWith(key) : rec.key !== key) continue;
      this.#forget(rec);
      await Deno.remove(`${this.dir}/${rec.file}`).catch(() => {});
      n++;
    }
    return n;
  }

  #forget(rec: DiskRecord): void {
    if (this.#index.delete(rec.file)) this.#bytes -= rec.size;
  }

  async #evict(): Promise<void> {
    for (const rec of [...this.#index.values()]) {
      if (this.#bytes <= this.maxBytes) break;
      this.#forget(rec);
      await Deno.remove(`${this.dir}/${rec.file}`).catch(() => {});
    }
  }

  /** Waits for the writes queued so far. */
  async flush(): Promise<void> {
    await this.#writes;
  }
}
