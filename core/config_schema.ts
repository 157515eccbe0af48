/**
 * One way to declare configuration: a section is a list of typed fields, each with its snake_case key, a
 * default, a help line and a kind that parses it. From that one declaration come the `ghost.toml` table, the
 * `GHOST_<SECTION>_<KEY>` environment names, the command-line overrides, the typed camelCase value a service
 * receives, and the commented TOML that `mod.ts config` prints. Pure: files and the environment are read by the
 * caller.
 *
 * Precedence, lowest first: defaults < config file < environment < flags. Every error is a {@linkcode ConfigError}
 * that carries the key, where the value came from and what is allowed as data.
 *
 * @example
 * ```ts
 * import { defineSection, int, hostPort } from "./config_schema.ts";
 *
 * const ping = defineSection("ping", {
 *   listen: { kind: hostPort(), default: "[::1]:4433", help: "QUIC diagnostic endpoint" },
 *   max_connections: { kind: int(1, 1_000_000), default: 10_000, help: "concurrent QUIC connections" },
 * });
 * const cfg = ping.parse({ env: { GHOST_PING_MAX_CONNECTIONS: "50" } });
 * console.log(cfg.listen.port, cfg.maxConnections); // 4433 50
 * ```
 *
 * @module
 */
import { formatHostPort, type HostPort, parseHostPort } from "./host_port.ts";

/** A configuration problem: the key, the value's origin and what is wrong, as fields. */
export class ConfigError extends TypeError {
  /** Dotted key, e.g. `log.level` or `cns.upstreams`. */
  readonly key: string;
  /** Where the value came from: a file path, `env GHOST_X`, `flag --x` or `default`. */
  readonly origin: string;
  /** What is wrong: the value given and what is allowed. */
  readonly detail: string;
  /** Builds an error for `key`. */
  constructor(key: string, origin: string, detail: string) {
    super(`Invalid config ${key} (${origin}): ${detail}`);
    this.name = "ConfigError";
    this.key = key;
    this.origin = origin;
    this.detail = detail;
  }
}

/**
 * Thrown by a kind's `parse` (or a section's `check`) when a value is wrong for a reason its `describe` does not
 * say; the section turns it into a {@linkcode ConfigError} with the key and origin.
 */
export class ConfigValueError extends TypeError {
  /** Creates an error whose message is the detail shown to the user. */
  constructor(detail: string) {
    super(detail);
    this.name = "ConfigValueError";
  }
}

/** What a kind's `parse` returns for a value it does not allow (the section reports it with `describe`). */
export const INVALID: unique symbol = Symbol("invalid config value");

/** How one field's raw value (TOML, or text from env and flags) becomes a typed value. */
export interface Kind<T> {
  /** What is allowed, for messages and docs: "an integer from 1 to 10". */
  readonly describe: string;
  /** Checks and converts a TOML value; returns {@linkcode INVALID} when it is not allowed (or throws ConfigValueError). */
  parse(raw: unknown): T | typeof INVALID;
  /** Converts environment or flag text to the TOML-shaped value `parse` takes. */
  fromText(text: string): unknown;
  /** The TOML value of a parsed value, for `mod.ts config`. */
  toToml(value: T): unknown;
}

/** One field of a section. */
export interface Field<T> {
  readonly kind: Kind<T>;
  /** The default as a TOML value; it goes through `kind.parse` like any other value. */
  readonly default: unknown;
  /** One line for `mod.ts config` and the docs. */
  readonly help: string;
  /** Never printed (inline keys, passwords). */
  readonly secret?: boolean;
}

/** A section's fields by snake_case key. */
// deno-lint-ignore no-explicit-any
export type Fields = Readonly<Record<string, Field<any>>>;

/** `max_connections` -> `maxConnections`, at the type level. */
export type CamelCase<S extends string> = S extends `${infer H}_${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

/** The typed value of a section's fields. */
export type SectionValue<F extends Fields> = {
  readonly [K in keyof F as CamelCase<K & string>]: F[K] extends Field<infer T> ? T : never;
};

/** Where a section's raw values come from; each layer optional. */
export interface SectionSources {
  /** The section's table from the config file, and the file's path for messages. */
  readonly file?: { readonly path: string; readonly table: Readonly<Record<string, unknown>> };
  /** Environment variables (only this section's `GHOST_*` names are read). */
  readonly env?: Readonly<Record<string, string>>;
  /** Command-line overrides by the section's own key (`max_connections`). */
  readonly flags?: Readonly<Record<string, string>>;
}

/** A field as the printer and docs see it. */
export interface FieldInfo {
  readonly key: string;
  readonly describe: string;
  readonly default: unknown;
  readonly help: string;
  readonly secret: boolean;
  readonly env: string;
}

/** A declared section. */
export interface ConfigSection<T> {
  /** Table name in `ghost.toml`; `""` for top-level keys. */
  readonly name: string;
  /** Its fields, in declaration order. */
  readonly fields: readonly FieldInfo[];
  /** Parses the section from its layers. Throws {@linkcode ConfigError}. */
  parse(sources?: SectionSources): T;
  /** The section as `key = value` TOML lines with help comments; secrets are redacted. */
  toToml(value: T): string[];
  /** The section's values as environment text by env name (lists comma-joined); secrets are left out. */
  toEnv(value: T): Record<string, string>;
}

/** The environment variable of a dotted key: `log.level` -> `GHOST_LOG_LEVEL`. */
export function envName(key: string): string {
  return "GHOST_" + key.replaceAll(".", "_").toUpperCase();
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function show(raw: unknown): string {
  const s = JSON.stringify(raw) ?? String(raw);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Options of {@linkcode defineSection}. */
export interface SectionOptions<V> {
  /**
   * Checks that span fields (a record inside a local zone, a maximum above a minimum). Call `fail(key, detail)`
   * to reject; the error names the key and the origin of its value.
   */
  check?(value: V, fail: (key: string, detail: string) => never): void;
}

/** Declares a section. `name` is its `ghost.toml` table (`""` for top-level keys). */
export function defineSection<F extends Fields>(
  name: string,
  fields: F,
  options: SectionOptions<SectionValue<F>> = {},
): ConfigSection<SectionValue<F>> {
  const dotted = (key: string): string => (name === "" ? key : `${name}.${key}`);
  const entries = Object.entries(fields);
  const info: FieldInfo[] = entries.map(([key, f]) => ({
    key,
    describe: f.kind.describe,
    default: f.default,
    help: f.help,
    secret: f.secret ?? false,
    env: envName(dotted(key)),
  }));
  const parse = (sources: SectionSources = {}): SectionValue<F> => {
    const table = sources.file?.table ?? {};
    for (const k of Object.keys(table)) {
      if (!(k in fields)) {
        const where = name === "" ? "top-level keys are" : `[${name}] accepts`;
        throw new ConfigError(
          dotted(k),
          sources.file?.path ?? "file",
          `unknown key; ${where} ${Object.keys(fields).join(", ")}`,
        );
      }
    }
    for (const k of Object.keys(sources.flags ?? {})) {
      if (!(k in fields)) throw new ConfigError(dotted(k), "flag", "unknown key");
    }
    const out: Record<string, unknown> = {};
    const origins = new Map<string, string>();
    for (const [key, f] of entries) {
      let raw: unknown = f.default;
      let origin = "default";
      if (sources.file !== undefined && key in table) {
        raw = table[key];
        origin = sources.file.path;
      }
      const env = envName(dotted(key));
      const envText = sources.env?.[env];
      if (envText !== undefined) {
        raw = f.kind.fromText(envText);
        origin = `env ${env}`;
      }
      const flagText = sources.flags?.[key];
      if (flagText !== undefined) {
        raw = f.kind.fromText(flagText);
        origin = `flag --${dotted(key).replaceAll("_", "-").replaceAll(".", "-")}`;
      }
      let value: unknown;
      try {
        value = f.kind.parse(raw);
      } catch (error) {
        if (error instanceof ConfigValueError) throw new ConfigError(dotted(key), origin, error.message);
        throw error;
      }
      if (value === INVALID) {
        // A secret's value never appears in a message.
        const given = f.secret === true ? "[redacted]" : show(raw);
        throw new ConfigError(dotted(key), origin, `got ${given}, expected ${f.kind.describe}`);
      }
      out[camel(key)] = value;
      origins.set(key, origin);
    }
    const result = deepFreeze(out) as SectionValue<F>;
    options.check?.(result, (key, detail) => {
      throw new ConfigError(dotted(key), origins.get(key) ?? "merged config", detail);
    });
    return result;
  };
  const toToml = (value: SectionValue<F>): string[] => {
    const lines: string[] = [];
    const v = value as Record<string, unknown>;
    for (const [key, f] of entries) {
      const current = v[camel(key)];
      const shown = f.secret === true && current !== "" && current !== undefined
        ? "[redacted]"
        : current === undefined
        ? ""
        : f.kind.toToml(current);
      lines.push(
        `# ${f.help}; ${f.kind.describe}; env ${envName(dotted(key))}`,
        `${key} = ${JSON.stringify(shown)}`,
      );
    }
    return lines;
  };
  const toEnv = (value: SectionValue<F>): Record<string, string> => {
    const out: Record<string, string> = {};
    const v = value as Record<string, unknown>;
    for (const [key, f] of entries) {
      if (f.secret === true) continue;
      const current = v[camel(key)];
      const t = current === undefined ? "" : f.kind.toToml(current);
      out[envName(dotted(key))] = Array.isArray(t) ? t.join(",") : String(t);
    }
    return out;
  };
  return { name, fields: info, parse, toToml, toEnv };
}

/** Splits a comma list from env or flags. */
function commaList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

const identity = <T>(v: T): T => v;

/** An integer in `[min, max]`. */
export function int(min: number, max: number): Kind<number> {
  return {
    describe: `an integer from ${min} to ${max}`,
    parse: (
      raw,
    ) => (typeof raw === "number" && Number.isInteger(raw) && raw >= min && raw <= max ? raw : INVALID),
    fromText: (text) => (/^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text),
    toToml: identity,
  };
}

/** `true` or `false`. */
export function bool(): Kind<boolean> {
  return {
    describe: "true or false",
    parse: (raw) => (typeof raw === "boolean" ? raw : INVALID),
    fromText: (text) => (text === "true" ? true : text === "false" ? false : text),
    toToml: identity,
  };
}

/** A string; `allowEmpty` defaults to true; `pattern` restricts it, described by `what`. */
export function string(
  options: { allowEmpty?: boolean; pattern?: RegExp; what?: string } = {},
): Kind<string> {
  const allowEmpty = options.allowEmpty ?? true;
  return {
    describe: options.what ?? (allowEmpty ? "a string" : "a non-empty string"),
    parse: (raw) => {
      if (typeof raw !== "string") return INVALID;
      if (raw === "") return allowEmpty ? raw : INVALID;
      return options.pattern === undefined || options.pattern.test(raw) ? raw : INVALID;
    },
    fromText: identity,
    toToml: identity,
  };
}

/** One of a fixed list of strings. */
export function oneOf<const V extends string>(values: readonly V[]): Kind<V> {
  return {
    describe: `one of ${values.join(", ")}`,
    parse: (
      raw,
    ) => (typeof raw === "string" && (values as readonly string[]).includes(raw) ? raw as V : INVALID),
    fromText: identity,
    toToml: identity,
  };
}

/** Options of {@linkcode hostPort}. */
export interface HostPortOptions {
  /** Only IP literals (no names): for addresses that are bound or dialled without a resolver. */
  readonly ipOnly?: boolean;
}

const IP_ONLY = /^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/;

function hostPortFrom(raw: unknown, options: HostPortOptions): HostPort | typeof INVALID {
  if (typeof raw !== "string") return INVALID;
  if (options.ipOnly === true && !IP_ONLY.test(raw.trim())) return INVALID;
  return parseHostPort(raw) ?? INVALID;
}

/** `host:port` or `[ipv6]:port`. */
export function hostPort(options: HostPortOptions = {}): Kind<HostPort> {
  return {
    describe: options.ipOnly === true
      ? "IP:port or [IPv6]:port with port 0-65535"
      : "host:port or [ipv6]:port with port 0-65535",
    parse: (raw) => hostPortFrom(raw, options),
    fromText: identity,
    toToml: formatHostPort,
  };
}

/** A value of `inner`, or empty (`""`) for none (`undefined`): a listener that can be turned off. */
export function optional<T>(inner: Kind<T>): Kind<T | undefined> {
  return {
    describe: `${inner.describe}, or empty to disable`,
    parse: (raw) => {
      if (raw === "" || raw === false) return undefined;
      const v = inner.parse(raw);
      if (v === INVALID) throw new ConfigValueError(`got ${show(raw)}, expected ${inner.describe} or empty`);
      return v;
    },
    fromText: inner.fromText,
    toToml: (v) => (v === undefined ? "" : inner.toToml(v)),
  };
}

/** `host:port`, or empty to turn the listener off (`undefined`). */
export function optionalHostPort(options: HostPortOptions = {}): Kind<HostPort | undefined> {
  return optional(hostPort(options));
}

/** A list of values of one kind; env and flags give it comma-separated. A single TOML string is a list of one. */
export function listOf<T>(item: Kind<T>, what: string): Kind<readonly T[]> {
  return {
    describe: what,
    parse: (raw) => {
      const list = typeof raw === "string" ? [raw] : raw;
      if (!Array.isArray(list)) return INVALID;
      const out: T[] = [];
      for (const x of list) {
        const v = item.parse(x);
        if (v === INVALID) return INVALID;
        out.push(v);
      }
      return out;
    },
    fromText: commaList,
    toToml: (v) => v.map((x) => item.toToml(x)),
  };
}

/** A list of non-empty strings. */
export function strings(): Kind<readonly string[]> {
  return listOf(string({ allowEmpty: false }), "a list of strings");
}

/** A list of `host:port` values. */
export function hostPorts(options: HostPortOptions = {}): Kind<readonly HostPort[]> {
  return listOf(
    hostPort(options),
    `a list of ${hostPort(options).describe.replace(" with port 0-65535", "")}`,
  );
}

/** A kind of one's own: `parse` returns the value or {@linkcode INVALID} (or throws ConfigValueError). */
export function custom<T>(
  describe: string,
  parse: (raw: unknown) => T | typeof INVALID,
  toToml: (value: T) => unknown = identity,
  fromText: (text: string) => unknown = identity,
): Kind<T> {
  return { describe, parse, fromText, toToml };
}
