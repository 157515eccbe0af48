/**
 * Configuration: one TOML file (optional), `GHOST_*` environment overrides and CLI flags, parsed once into a
 * typed, frozen {@link Config}. Pure: the file and environment are read by the caller (see `load_config.ts`).
 *
 * Precedence, lowest first: built-in defaults < config file < environment < command-line flags.
 *
 * @module
 */
import { CNS_CONFIG_FIELDS, type CnsConfig, parseCnsConfig } from "../cns/config.ts";
import { type BridgeConfig, DEFAULT_BRIDGE_CONFIG, parseBridgeConfig } from "../bridge/config.ts";
import { type ChainConfig, DEFAULT_CHAIN_CONFIG, parseChainConfig } from "../chain/config.ts";

/** Log levels in increasing severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Log line formats. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log line format. */
export type LogFormat = typeof LOG_FORMATS[number];

/** A host and port to listen on or connect to. IPv6 literals are kept without brackets. */
export interface HostPort {
  readonly hostname: string;
  readonly port: number;
}

/** The whole configuration, as every part of the program sees it. */
export interface Config {
  /** Root of all service data: `<dataDir>/<service>/`, the dev PKI under `<dataDir>/pki/`. */
  readonly dataDir: string;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly supervisor: {
    /** How long SIGINT/SIGTERM waits for workers to drain before terminating them. */
    readonly drainTimeoutMs: number;
    readonly restartBackoffInitialMs: number;
    readonly restartBackoffMaxMs: number;
    /** A service that fails this many times in a row without ever becoming ready is given up. */
    readonly maxStartFailures: number;
    /** A worker that must answer within this time (start, metrics) or is considered hung. */
    readonly workerTimeoutMs: number;
  };
  /** The supervisor's local HTTP endpoint: `/status`, `/metrics` (Prometheus), `/healthz`. */
  readonly admin: { readonly listen: HostPort };
  readonly tls: {
    /** Operator-supplied PEM files; when both are empty a dev PKI is made under `<dataDir>/pki`. */
    readonly certFile: string;
    readonly keyFile: string;
    /** CA bundle clients use to verify our servers; with the dev PKI it is the dev CA. */
    readonly caFile: string;
    /** Extra DNS names or IP addresses for the dev leaf certificate's SANs. */
    readonly names: readonly string[];
  };
  /** The DNS server (UDP, TCP, DoQ, DoH); its keys are documented in cns/README.md. */
  readonly cns: CnsConfig;
  /** GhostBridge (gRPC over QUIC); its keys are documented in bridge/README.md. */
  readonly bridge: BridgeConfig;
  /** The GhostChain node; its keys are documented in chain/README.md. */
  readonly chain: ChainConfig;
  /**
   * The service mesh: each service that serves or calls another runs a GhostBridge node at its address, and
   * services call each other only through those bridges over QUIC (see supervisor/README.md "Service mesh").
   */
  readonly mesh: {
    readonly chain: HostPort;
    readonly wallet: HostPort;
    readonly cns: HostPort;
    readonly callTimeoutMs: number;
  };
  /** The transport's diagnostic QUIC endpoint (ALPN `ghost-ping/1`). */
  readonly ping: {
    readonly listen: HostPort;
    readonly maxConnections: number;
    readonly idleTimeoutMs: number;
  };
}

/** A configuration problem: names the key, the value given and what is allowed. */
export class ConfigError extends TypeError {
  /** Dotted key, e.g. `log.level`. */
  readonly key: string;
  /** Where the value came from: a file path, `env GHOST_X` or `flag --x`. */
  readonly origin: string;
  /** Builds an error for `key`; `message` should say the value and what is allowed. */
  constructor(key: string, origin: string, message: string) {
    super(`Invalid config ${key} (${origin}): ${message}`);
    this.name = "ConfigError";
    this.key = key;
    this.origin = origin;
  }
}

type FieldKind =
  | { kind: "string"; allowEmpty: boolean }
  | { kind: "int"; min: number; max: number }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "hostport" }
  | { kind: "strings" };

interface Field {
  readonly key: string;
  readonly type: FieldKind;
  readonly default: unknown;
  readonly help: string;
}

const MS_DAY = 86_400_000;

/** Every key the configuration accepts, with its type, default and meaning. Drives parsing, env names, docs. */
export const CONFIG_FIELDS: readonly Field[] = [
  {
    key: "data_dir",
    type: { kind: "string", allowEmpty: false },
    default: "data",
    help: "root of service data",
  },
  {
    key: "log.level",
    type: { kind: "enum", values: LOG_LEVELS },
    default: "info",
    help: "minimum level logged",
  },
  {
    key: "log.format",
    type: { kind: "enum", values: LOG_FORMATS },
    default: "text",
    help: "text or JSON lines",
  },
  {
    key: "supervisor.drain_timeout_ms",
    type: { kind: "int", min: 100, max: 600_000 },
    default: 10_000,
    help: "graceful shutdown bound",
  },
  {
    key: "supervisor.restart_backoff_initial_ms",
    type: { kind: "int", min: 10, max: 60_000 },
    default: 250,
    help: "first restart delay",
  },
  {
    key: "supervisor.restart_backoff_max_ms",
    type: { kind: "int", min: 10, max: MS_DAY },
    default: 30_000,
    help: "restart delay cap",
  },
  {
    key: "supervisor.max_start_failures",
    type: { kind: "int", min: 1, max: 1000 },
    default: 5,
    help: "consecutive failures before a never-ready service is given up",
  },
  {
    key: "supervisor.worker_timeout_ms",
    type: { kind: "int", min: 100, max: 600_000 },
    default: 15_000,
    help: "time a worker has to start or answer",
  },
  { key: "admin.listen", type: { kind: "hostport" }, default: "127.0.0.1:9180", help: "status/metrics HTTP" },
  {
    key: "tls.cert_file",
    type: { kind: "string", allowEmpty: true },
    default: "",
    help: "PEM certificate chain",
  },
  { key: "tls.key_file", type: { kind: "string", allowEmpty: true }, default: "", help: "PEM private key" },
  { key: "tls.ca_file", type: { kind: "string", allowEmpty: true }, default: "", help: "PEM CA for clients" },
  { key: "tls.names", type: { kind: "strings" }, default: [], help: "extra SANs for the dev certificate" },
  { key: "ping.listen", type: { kind: "hostport" }, default: "[::1]:4433", help: "QUIC diagnostic endpoint" },
  {
    key: "ping.max_connections",
    type: { kind: "int", min: 1, max: 1_000_000 },
    default: 10_000,
    help: "concurrent QUIC connections",
  },
  {
    key: "ping.idle_timeout_ms",
    type: { kind: "int", min: 1_000, max: MS_DAY },
    default: 30_000,
    help: "QUIC idle timeout",
  },
  {
    key: "mesh.chain",
    type: { kind: "hostport" },
    default: "127.0.0.1:4451",
    help: "QUIC address of the chain service's bridge node (serves BlockchainService)",
  },
  {
    key: "mesh.wallet",
    type: { kind: "hostport" },
    default: "127.0.0.1:4452",
    help: "QUIC address of the wallet service's bridge node (serves WalletService)",
  },
  {
    key: "mesh.cns",
    type: { kind: "hostport" },
    default: "127.0.0.1:4453",
    help: "QUIC address of the cns service's bridge node (a client of the chain)",
  },
  {
    key: "mesh.call_timeout_ms",
    type: { kind: "int", min: 100, max: 600_000 },
    default: 10_000,
    help: "deadline of one unary call between services",
  },
];

/**
 * A service's own config table, parsed by the service's parser (which owns its schema). The central config
 * passes the raw table through, maps `GHOST_<SECTION>_<KEY>` variables onto it, and reports errors with origin.
 */
interface ServiceSection {
  readonly name: string;
  readonly fields: readonly { readonly key: string; readonly kind: string; readonly default: unknown }[];
  parse(raw: Record<string, unknown>): unknown;
}

/** Section fields from a service's camelCase defaults object: key kinds follow the default values' types. */
function fieldsFromDefaults(defaults: object): ServiceSection["fields"] {
  return Object.entries(defaults).map(([camel, v]) => ({
    key: camel.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()),
    kind: Array.isArray(v)
      ? "strings"
      : typeof v === "number"
      ? "int"
      : typeof v === "boolean"
      ? "bool"
      : "string",
    default: typeof v === "object" && v !== null && "port" in v ? formatHostPort(v as HostPort) : v,
  }));
}

const SERVICE_SECTIONS: readonly ServiceSection[] = [
  { name: "cns", fields: CNS_CONFIG_FIELDS, parse: parseCnsConfig },
  { name: "bridge", fields: fieldsFromDefaults(DEFAULT_BRIDGE_CONFIG), parse: parseBridgeConfig },
  { name: "chain", fields: fieldsFromDefaults(DEFAULT_CHAIN_CONFIG), parse: parseChainConfig },
];

/** Environment text to a section value: lists are comma-separated, integers numeric, the rest strings. */
function sectionEnvValue(kind: string, text: string): unknown {
  if (kind === "hostports" || kind === "strings") {
    return text.split(",").map((x) => x.trim()).filter((x) => x !== "");
  }
  if (kind === "int" && /^-?\d+$/.test(text.trim())) return Number(text);
  if (kind === "bool" && (text === "true" || text === "false")) return text === "true";
  return text;
}

/** The environment variables every config key answers to (flat keys and service sections). */
export function allEnvNames(): string[] {
  return [
    ...CONFIG_FIELDS.map((f) => envName(f.key)),
    ...SERVICE_SECTIONS.flatMap((sec) => sec.fields.map((f) => envName(`${sec.name}.${f.key}`))),
  ];
}

/** The environment variable that overrides a key: `log.level` -> `GHOST_LOG_LEVEL`. */
export function envName(key: string): string {
  return "GHOST_" + key.replaceAll(".", "_").toUpperCase();
}

/** Parses `host:port`, `[v6]:port`; hostnames are letters, digits, dots and dashes. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  const hostname = m[1] ?? m[2];
  if (hostname === undefined || hostname === "") return undefined;
  return { hostname, port };
}

/** Formats a {@link HostPort} for display and for Deno net permissions (`[::1]:53`). */
export function formatHostPort(hp: HostPort): string {
  return hp.hostname.includes(":") ? `[${hp.hostname}]:${hp.port}` : `${hp.hostname}:${hp.port}`;
}

function describe(type: FieldKind): string {
  switch (type.kind) {
    case "string":
      return type.allowEmpty ? "a string" : "a non-empty string";
    case "int":
      return `an integer from ${type.min} to ${type.max}`;
    case "enum":
      return `one of ${type.values.join(", ")}`;
    case "hostport":
      return `host:port or [ipv6]:port with port 0-65535`;
    case "strings":
      return "a list of strings";
  }
}

/** Converts one raw value (from TOML, env text or a flag) to the field's type, or throws ConfigError. */
function coerce(field: Field, raw: unknown, origin: string, fromText: boolean): unknown {
  const bad = (): never => {
    throw new ConfigError(field.key, origin, `got ${JSON.stringify(raw)}, expected ${describe(field.type)}`);
  };
  const t = field.type;
  switch (t.kind) {
    case "string":
      if (typeof raw !== "string" || (!t.allowEmpty && raw === "")) bad();
      return raw;
    case "int": {
      const n = fromText && typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
      if (typeof n !== "number" || !Number.isInteger(n) || n < t.min || n > t.max) bad();
      return n;
    }
    case "enum":
      if (typeof raw !== "string" || !t.values.includes(raw)) bad();
      return raw;
    case "hostport": {
      if (typeof raw !== "string") return bad();
      return parseHostPort(raw) ?? bad();
    }
    case "strings": {
      const list = fromText && typeof raw === "string"
        ? raw.split(",").map((s) => s.trim()).filter((s) => s !== "")
        : raw;
      if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s !== "")) bad();
      return list;
    }
  }
}

/** Flattens a parsed TOML document into dotted keys, rejecting keys the schema does not know. */
function flatten(doc: Record<string, unknown>, origin: string): Map<string, unknown> {
  const known = new Set(CONFIG_FIELDS.map((f) => f.key));
  const sections = new Set(CONFIG_FIELDS.filter((f) => f.key.includes(".")).map((f) => f.key.split(".")[0]));
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(doc)) {
    if (SERVICE_SECTIONS.some((sec) => sec.name === k)) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        throw new ConfigError(k, origin, `got ${JSON.stringify(v)}, expected a [${k}] table`);
      }
      out.set(`[${k}]`, v);
    } else if (sections.has(k)) {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        throw new ConfigError(k, origin, `got ${JSON.stringify(v)}, expected a [${k}] table`);
      }
      for (const [k2, v2] of Object.entries(v)) {
        const key = `${k}.${k2}`;
        if (!known.has(key)) {
          const allowed = [...known].filter((x) => x.startsWith(k + ".")).map((x) => x.slice(k.length + 1));
          throw new ConfigError(key, origin, `unknown key; [${k}] accepts ${allowed.join(", ")}`);
        }
        out.set(key, v2);
      }
    } else if (known.has(k)) {
      out.set(k, v);
    } else {
      throw new ConfigError(
        k,
        origin,
        `unknown key; top-level keys are ${[...known].filter((x) => !x.includes(".")).join(", ")} ` +
          `and tables [${[...sections, ...SERVICE_SECTIONS.map((x) => x.name)].join("], [")}]`,
      );
    }
  }
  return out;
}

/** Inputs to {@link parseConfig}; each layer optional. */
export interface ConfigSources {
  /** The parsed config file (TOML document) and its path for messages. */
  readonly file?: { readonly path: string; readonly doc: Record<string, unknown> };
  /** Environment variables (only `GHOST_*` names are read). */
  readonly env?: Readonly<Record<string, string>>;
  /** Command-line overrides by dotted key, e.g. `{ "log.level": "debug" }`. */
  readonly flags?: Readonly<Record<string, string>>;
}

/** Merges the layers into raw values by dotted key, each checked against its field. Throws ConfigError. */
export function mergeConfigValues(sources: ConfigSources = {}): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const f of CONFIG_FIELDS) values.set(f.key, coerce(f, f.default, "default", true));
  for (const sec of SERVICE_SECTIONS) values.set(`[${sec.name}]`, {});
  if (sources.file) {
    for (const [key, raw] of flatten(sources.file.doc, sources.file.path)) {
      const field = CONFIG_FIELDS.find((f) => f.key === key);
      if (field) values.set(key, coerce(field, raw, sources.file.path, false));
      else values.set(key, raw);
    }
  }
  for (const sec of SERVICE_SECTIONS) {
    const table = { ...(values.get(`[${sec.name}]`) as Record<string, unknown>) };
    for (const f of sec.fields) {
      const text = sources.env?.[envName(`${sec.name}.${f.key}`)];
      if (text !== undefined) table[f.key] = sectionEnvValue(f.kind, text);
    }
    values.set(`[${sec.name}]`, table);
  }
  for (const field of CONFIG_FIELDS) {
    const name = envName(field.key);
    const raw = sources.env?.[name];
    if (raw !== undefined) values.set(field.key, coerce(field, raw, `env ${name}`, true));
  }
  for (const [key, raw] of Object.entries(sources.flags ?? {})) {
    const field = CONFIG_FIELDS.find((f) => f.key === key);
    if (!field) throw new ConfigError(key, "flag", "unknown key");
    values.set(key, coerce(field, raw, `flag --${key.replaceAll("_", "-").replaceAll(".", "-")}`, true));
  }
  return values;
}

/** Builds the typed configuration from its layers. Throws {@link ConfigError} on the first bad value. */
export function parseConfig(sources: ConfigSources = {}): Config {
  const values = mergeConfigValues(sources);
  const get = <T>(key: string): T => values.get(key) as T;
  const config: Config = {
    dataDir: get<string>("data_dir"),
    log: { level: get<LogLevel>("log.level"), format: get<LogFormat>("log.format") },
    supervisor: {
      drainTimeoutMs: get<number>("supervisor.drain_timeout_ms"),
      restartBackoffInitialMs: get<number>("supervisor.restart_backoff_initial_ms"),
      restartBackoffMaxMs: get<number>("supervisor.restart_backoff_max_ms"),
      maxStartFailures: get<number>("supervisor.max_start_failures"),
      workerTimeoutMs: get<number>("supervisor.worker_timeout_ms"),
    },
    admin: { listen: get<HostPort>("admin.listen") },
    tls: {
      certFile: get<string>("tls.cert_file"),
      keyFile: get<string>("tls.key_file"),
      caFile: get<string>("tls.ca_file"),
      names: get<string[]>("tls.names"),
    },
    cns: parseSection("cns", values, sources) as CnsConfig,
    bridge: parseSection("bridge", values, sources) as BridgeConfig,
    chain: parseSection("chain", values, sources) as ChainConfig,
    mesh: {
      chain: get<HostPort>("mesh.chain"),
      wallet: get<HostPort>("mesh.wallet"),
      cns: get<HostPort>("mesh.cns"),
      callTimeoutMs: get<number>("mesh.call_timeout_ms"),
    },
    ping: {
      listen: get<HostPort>("ping.listen"),
      maxConnections: get<number>("ping.max_connections"),
      idleTimeoutMs: get<number>("ping.idle_timeout_ms"),
    },
  };
  if (config.supervisor.restartBackoffMaxMs < config.supervisor.restartBackoffInitialMs) {
    throw new ConfigError(
      "supervisor.restart_backoff_max_ms",
      "merged config",
      `got ${config.supervisor.restartBackoffMaxMs}, expected at least restart_backoff_initial_ms ` +
        `(${config.supervisor.restartBackoffInitialMs})`,
    );
  }
  if ((config.tls.certFile === "") !== (config.tls.keyFile === "")) {
    throw new ConfigError(
      config.tls.certFile === "" ? "tls.cert_file" : "tls.key_file",
      "merged config",
      "got an empty value, expected tls.cert_file and tls.key_file to be set together (or both empty for the dev PKI)",
    );
  }
  return deepFreeze(config);
}

/** Runs a service section's parser; its errors become ConfigErrors that say where the value came from. */
function parseSection(name: string, values: ReadonlyMap<string, unknown>, sources: ConfigSources): unknown {
  const sec = SERVICE_SECTIONS.find((x) => x.name === name);
  const raw = values.get(`[${name}]`) as Record<string, unknown>;
  try {
    return sec?.parse(raw);
  } catch (err) {
    // Section parsers throw TypeErrors (or subclasses) whose message starts "Invalid config <name>.<key>: ".
    const m = err instanceof TypeError
      ? /^Invalid config ([a-z_]+\.([a-z_]+)): (.*)$/s.exec(err.message)
      : null;
    if (m === null || !m[1]?.startsWith(`${name}.`)) throw err;
    const key = m[1] ?? name;
    const sub = m[2] ?? "";
    const env = envName(key);
    const origin = sources.env?.[env] !== undefined
      ? `env ${env}`
      : sources.file !== undefined && sub in raw
      ? sources.file.path
      : "default";
    throw new ConfigError(key, origin, m[3] ?? "");
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * A commented TOML document of every key: at its default, or at the merged `values` when given
 * (`mod.ts config` prints the effective configuration this way; deploy/ ships the defaults).
 */
export function configToml(values?: ReadonlyMap<string, unknown>): string {
  const lines = ["# GhostChain Edge configuration. Every key is optional; shown at its default.", ""];
  let section = "";
  for (const f of CONFIG_FIELDS) {
    const [head, tail] = f.key.includes(".") ? f.key.split(".") as [string, string] : ["", f.key];
    if (head !== section) {
      lines.push("", `[${head}]`);
      section = head;
    }
    let v = values?.get(f.key) ?? f.default;
    if (typeof v === "object" && v !== null && "port" in v) v = formatHostPort(v as HostPort);
    lines.push(`# ${f.help}; ${describe(f.type)}; env ${envName(f.key)}`, `${tail} = ${JSON.stringify(v)}`);
  }
  for (const sec of SERVICE_SECTIONS) {
    const raw = (values?.get(`[${sec.name}]`) ?? {}) as Record<string, unknown>;
    lines.push("", `[${sec.name}]`);
    for (const f of sec.fields) {
      // Secrets (a node key given inline) are never printed.
      const v = raw[f.key] ?? f.default;
      const shown = /(^|_)key$|secret|pass/.test(f.key) && v !== "" ? "[redacted]" : v;
      lines.push(`# env ${envName(`${sec.name}.${f.key}`)}`, `${f.key} = ${JSON.stringify(shown)}`);
    }
  }
  return lines.join("\n").replace(/\n{3,}/g, "\n\n") + "\n";
}
