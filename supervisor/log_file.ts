/**
 * The supervisor's log file: every record (the supervisor's and its workers') as one JSON line in
 * `<data_dir>/logs/ghost.jsonl`, kept beside stderr, rotated at {@linkcode LOG_FILE_MAX_BYTES} to `ghost.jsonl.1`
 * (one old file). `mod.ts logs` reads it ({@linkcode readLogs}, {@linkcode followLogs}). Records carry what the
 * logger writes, with secret-looking fields already redacted by the logger.
 *
 * @module
 */
import { formatRecord, type LogRecord } from "../core/mod.ts";

/** Size at which the file is rotated. */
export const LOG_FILE_MAX_BYTES = 10 << 20;

/** Appends records to the log file (synchronously: a crash loses no line already logged). */
export class LogFile {
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #size = 0;
  readonly #enc = new TextEncoder();

  constructor(dir: string) {
    this.path = `${dir}/ghost.jsonl`;
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.#open();
    } catch {
      this.#file = undefined; // no log file (read-only data dir): stderr still has everything
    }
  }

  #open(): void {
    this.#file = Deno.openSync(this.path, { create: true, append: true, mode: 0o600 });
    this.#size = this.#file.statSync().size;
  }

  /** Appends one record. Never throws (a full disk must not stop the supervisor). */
  write(rec: LogRecord): void {
    const file = this.#file;
    if (file === undefined) return;
    try {
      const line = this.#enc.encode(formatRecord(rec, "json") + "\n");
      if (this.#size + line.length > LOG_FILE_MAX_BYTES) {
        file.close();
        Deno.renameSync(this.path, `${this.path}.1`);
        this.#open();
      }
      this.#file?.writeSync(line);
      this.#size += line.length;
    } catch {
      // best effort
    }
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/** A parsed log line (unparsable lines are skipped). */
function parseLine(line: string): LogRecord | undefined {
  try {
    const v = JSON.parse(line);
    if (typeof v !== "object" || v === null || typeof v.msg !== "string" || typeof v.svc !== "string") {
      return undefined;
    }
    // The file's records are formatRecord's JSON: fields flattened beside ts, level, svc and msg.
    const { ts, level, svc, msg, ...fields } = v;
    return { ts, level, svc, msg, ...(Object.keys(fields).length > 0 ? { fields } : {}) };
  } catch {
    return undefined;
  }
}

/** Whether `rec` is from `service` (its workers log as `service`; the supervisor as `supervisor`). */
export function fromService(rec: LogRecord, service: string | undefined): boolean {
  return service === undefined || rec.svc === service || rec.svc.startsWith(`${service}.`);
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** The last `lines` records of `service` (all services when undefined), oldest first. */
export async function readLogs(
  dir: string,
  service: string | undefined,
  lines: number,
): Promise<LogRecord[]> {
  const text = (await readText(`${dir}/ghost.jsonl.1`)) + (await readText(`${dir}/ghost.jsonl`));
  const out: LogRecord[] = [];
  for (const line of text.split("\n")) {
    const rec = line === "" ? undefined : parseLine(line);
    if (rec !== undefined && fromService(rec, service)) out.push(rec);
  }
  return lines <= 0 ? [] : out.slice(-lines);
}

/** Calls `emit` with each new record as it is written (polling; follows a rotation) until `signal` aborts. */
export async function followLogs(
  dir: string,
  service: string | undefined,
  emit: (rec: LogRecord) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = `${dir}/ghost.jsonl`;
  const size = async () => (await Deno.stat(path).catch(() => undefined))?.size ?? 0;
  let offset = await size();
  let partial = "";
  const dec = new TextDecoder();
  while (!signal.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await size();
    if (now < offset) offset = 0; // rotated: the new file starts over
    if (now === offset) continue;
    const file = await Deno.open(path, { read: true }).catch(() => undefined);
    if (file === undefined) continue;
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(Math.min(now - offset, 1 << 20));
      const n = (await file.read(buf)) ?? 0;
      offset += n;
      const text = partial + dec.decode(buf.subarray(0, n));
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        const rec = parseLine(line);
        if (rec !== undefined && fromService(rec, service)) emit(rec);
      }
    } finally {
      file.close();
    }
  }
}
