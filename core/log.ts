/**
 * Structured logging: one record per line, as readable text or JSON, filtered by level. Workers do not
 * write to stderr themselves; they post records to the supervisor, which owns the one output stream.
 *
 * @module
 */
import { activeTraceIds } from "./trace.ts";

/** Log levels in increasing severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Log line formats. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log line format. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Extra fields of a log record. Values must be structured-cloneable (they cross worker boundaries). */
export type LogFields = Readonly<Record<string, unknown>>;

/** One log record. */
export interface LogRecord {
  readonly ts: string;
  readonly level: LogLevel;
  /** The service (or `supervisor`) that logged it. */
  readonly svc: string;
  readonly msg: string;
  readonly fields?: LogFields;
}

/** Field names whose values are never written out, whatever logs them. */
const SECRET_FIELD = /(pass|secret|mnemonic|private|priv_?key|seed|token|^key$|_key$)/i;

/** Replaces values of secret-looking fields with `[redacted]`, recursively. */
export function redact(fields: LogFields): LogFields {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = "[redacted]";
    else if (v instanceof Error) out[k] = v.message;
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) out[k] = redact(v as LogFields);
    else out[k] = v;
  }
  return out;
}

function textValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  return /[\s="]/.test(s) || s === "" ? JSON.stringify(s) : s;
}

/** Renders a record as one line in the given format (no trailing newline). */
export function formatRecord(rec: LogRecord, format: LogFormat): string {
  const fields = rec.fields ? redact(rec.fields) : undefined;
  if (format === "json") {
    return JSON.stringify({ ts: rec.ts, level: rec.level, svc: rec.svc, msg: rec.msg, ...fields });
  }
  const extra = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${textValue(v)}`).join("") : "";
  return `${rec.ts} ${rec.level.toUpperCase().padEnd(5)} [${rec.svc}] ${rec.msg}${extra}`;
}

/** Where formatted lines go. */
export type LogSink = (line: string, rec: LogRecord) => void;

/** A leveled logger bound to a service name. */
export class Logger {
  readonly #svc: string;
  readonly #min: number;
  readonly #emit: (rec: LogRecord) => void;
  readonly #now: () => Date;

  /** `emit` receives every record at or above `level`. */
  constructor(
    svc: string,
    level: LogLevel,
    emit: (rec: LogRecord) => void,
    now: () => Date = () => new Date(),
  ) {
    this.#svc = svc;
    this.#min = LOG_LEVELS.indexOf(level);
    this.#emit = emit;
    this.#now = now;
  }

  /** Whether records at `level` are kept. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  /** Logs at `level`. */
  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    // Inside a traced request the record carries its trace id, so logs and traces join.
    const ids = activeTraceIds();
    if (ids !== undefined) fields = { ...fields, ...ids };
    const rec: LogRecord = fields === undefined
      ? { ts: this.#now().toISOString(), level, svc: this.#svc, msg }
      : { ts: this.#now().toISOString(), level, svc: this.#svc, msg, fields: redact(fields) };
    this.#emit(rec);
  }

  /** Logs at debug. */
  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  /** Logs at info. */
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  /** Logs at warn. */
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }
  /** Logs at error. */
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  /** A logger for another service name sharing this one's level and output. */
  child(svc: string): Logger {
    return new Logger(svc, LOG_LEVELS[this.#min] ?? "info", this.#emit, this.#now);
  }
}

/** A logger writing formatted lines to stderr (the supervisor's default). */
export function stderrLogger(svc: string, level: LogLevel, format: LogFormat): Logger {
  const enc = new TextEncoder();
  return new Logger(svc, level, (rec) => {
    Deno.stderr.writeSync(enc.encode(formatRecord(rec, format) + "\n"));
  });
}
