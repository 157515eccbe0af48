/**
 * Configuration: one TOML file (optional), `GHOST_*` environment overrides and CLI flags, parsed once into a
 * typed, frozen {@link Config}. The supervisor's own sections are declared here; every service's section comes
 * from its descriptor (`<service>/service.ts`), declared with the same schema helper (`core/config_schema.ts`).
 * Pure: the file and environment are read by the caller (see `load_config.ts`).
 *
 * Precedence, lowest first: built-in defaults < config file < environment < command-line flags.
 *
 * @module
 */
import {
  ConfigError,
  type ConfigSection,
  defineSection,
  envName,
  type FieldInfo,
  formatHostPort,
  type HostPort,
  hostPort,
  int,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  oneOf,
  type ServiceDescriptor,
  string,
  strings,
} from "../core/mod.ts";
import { SERVICES } from "./services.ts";

export { ConfigError, envName, formatHostPort, LOG_FORMATS, LOG_LEVELS };
export type { HostPort, LogFormat, LogLevel };

/** Parses `host:port`, `[v6]:port`; `undefined` when the text is not one. */
export { parseHostPort } from "../core/mod.ts";

const MS_DAY = 86_400_000;

/** Top-level keys (no table). */
const ROOT = defineSection("", {
  data_dir: { kind: string({ allowEmpty: false }), default: "data", help: "root of service data" },
});

const LOG = defineSection("log", {
  level: { kind: oneOf(LOG_LEVELS), default: "info", help: "minimum level logged" },
  format: { kind: oneOf(LOG_FORMATS), default: "text", help: "text or JSON lines" },
});

const SUPERVISOR = defineSection("supervisor", {
  drain_timeout_ms: { kind: int(100, 600_000), default: 10_000, help: "graceful shutdown bound" },
  restart_backoff_initial_ms: { kind: int(10, 60_000), default: 250, help: "first restart delay" },
  restart_backoff_max_ms: { kind: int(10, MS_DAY), default: 30_000, help: "restart delay cap" },
  max_start_failures: {
    kind: int(1, 1000),
    default: 5,
    help: "consecutive failures before a never-ready service is given up",
  },
  worker_timeout_ms: {
    kind: int(100, 600_000),
    default: 15_000,
    help: "time a worker has to start or answer",
  },
}, {
  check: (s, fail) => {
    if (s.restartBackoffMaxMs < s.restartBackoffInitialMs) {
      fail(
        "restart_backoff_max_ms",
        `got ${s.restartBackoffMaxMs}, expected at least restart_backoff_initial_ms (${s.restartBackoffInitialMs})`,
      );
    }
  },
});

const ADMIN = defineSection("admin", {
  listen: { kind: hostPort(), default: "127.0.0.1:9180", help: "status/metrics HTTP" },
});

const TLS = defineSection("tls", {
  cert_file: { kind: string(), default: "", help: "PEM certificate chain" },
  key_file: { kind: string(), default: "", help: "PEM private key" },
  ca_file: { kind: string(), default: "", help: "PEM CA for clients" },
  names: { kind: strings(), default: [], help: "extra SANs for the dev certificate" },
}, {
  check: (t, fail) => {
    if ((t.certFile === "") !== (t.keyFile === "")) {
      fail(
        t.certFile === "" ? "cert_file" : "key_file",
        "got an empty value, expected tls.cert_file and tls.key_file to be set together (or both empty for the dev PKI)",
      );
    }
  },
});

/** The `[mesh]` section: the call deadline, and one address key per service whose descriptor has a mesh node. */
function meshSection(services: readonly ServiceDescriptor[]) {
  const addresses: Record<string, { kind: ReturnType<typeof hostPort>; default: string; help: string }> = {};
  for (const s of services) {
    if (s.mesh?.listen !== undefined) {
      addresses[s.name] = {
        kind: hostPort(),
        default: s.mesh.listen,
        help: `QUIC address of the ${s.name} service's bridge node`,
      };
    }
  }
  return defineSection("mesh", {
    ...addresses,
    call_timeout_ms: {
      kind: int(100, 600_000),
      default: 10_000,
      help: "deadline of one unary call between services",
    },
  });
}

/** The whole configuration, as the supervisor sees it. A worker gets only its own service's section. */
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
  /**
   * The service mesh: each service that serves or calls another runs a GhostBridge node, and services call each
   * other only through those bridges over QUIC (see supervisor/README.md "Service mesh").
   */
  readonly mesh: {
    /** Node addresses by service (`mesh.<service>` keys), for services whose node has its own address. */
    readonly addresses: Readonly<Record<string, HostPort>>;
    readonly callTimeoutMs: number;
  };
  /** Each service's parsed section by service name (see {@linkcode sectionOf}). */
  readonly services: Readonly<Record<string, unknown>>;
}

/** A service's own parsed section, typed by its descriptor. */
export function sectionOf<C>(config: Config, service: ServiceDescriptor<C>): C {
  if (!(service.name in config.services)) {
    throw new RangeError(`No config section for service ${service.name}`);
  }
  return config.services[service.name] as C;
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

/** Every section, supervisor's first, then each service's in catalog order. */
function allSections(services: readonly ServiceDescriptor[]): ConfigSection<unknown>[] {
  return [ROOT, LOG, SUPERVISOR, ADMIN, TLS, meshSection(services), ...services.map((s) => s.config)];
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Splits the sources by section: the file's tables and top-level keys, flags by their dotted prefix. */
function sectionSources(
  sections: readonly ConfigSection<unknown>[],
  sources: ConfigSources,
): Map<string, { file?: { path: string; table: Record<string, unknown> }; flags: Record<string, string> }> {
  const out = new Map<
    string,
    { file?: { path: string; table: Record<string, unknown> }; flags: Record<string, string> }
  >();
  for (const s of sections) out.set(s.name, { flags: {} });
  const tables = new Set(sections.map((s) => s.name).filter((n) => n !== ""));
  if (sources.file !== undefined) {
    const { path, doc } = sources.file;
    const rootTable: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) {
      if (tables.has(k)) {
        if (!isTable(v)) throw new ConfigError(k, path, `got ${JSON.stringify(v)}, expected a [${k}] table`);
        const entry = out.get(k);
        if (entry !== undefined) entry.file = { path, table: v };
      } else if (ROOT.fields.some((f) => f.key === k)) {
        rootTable[k] = v;
      } else {
        throw new ConfigError(
          k,
          path,
          `unknown key; top-level keys are ${ROOT.fields.map((f) => f.key).join(", ")} and tables [${
            [...tables].join("], [")
          }]`,
        );
      }
    }
    const root = out.get("");
    if (root !== undefined) root.file = { path, table: rootTable };
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    const dot = key.indexOf(".");
    const name = dot < 0 ? "" : key.slice(0, dot);
    const entry = out.get(name);
    if (entry === undefined) throw new ConfigError(key, "flag", "unknown key");
    entry.flags[dot < 0 ? key : key.slice(dot + 1)] = value;
  }
  return out;
}

/**
 * Builds the typed configuration from its layers. Throws {@link ConfigError} on the first bad value. `services`
 * defaults to every service of this build.
 */
export function parseConfig(
  sources: ConfigSources = {},
  services: readonly ServiceDescriptor[] = SERVICES,
): Config {
  const sections = allSections(services);
  const split = sectionSources(sections, sources);
  const parsed = new Map<string, unknown>();
  for (const s of sections) {
    const src = split.get(s.name);
    parsed.set(
      s.name,
      s.parse({ ...(src?.file ? { file: src.file } : {}), env: sources.env ?? {}, flags: src?.flags ?? {} }),
    );
  }
  const get = <T>(name: string): T => parsed.get(name) as T;
  const mesh = get<Record<string, unknown> & { callTimeoutMs: number }>("mesh");
  const addresses: Record<string, HostPort> = {};
  for (const s of services) {
    if (s.mesh?.listen !== undefined) addresses[s.name] = mesh[s.name] as HostPort;
  }
  const services_: Record<string, unknown> = {};
  for (const s of services) services_[s.name] = parsed.get(s.config.name);
  return Object.freeze({
    dataDir: get<{ dataDir: string }>("").dataDir,
    log: get<Config["log"]>("log"),
    supervisor: get<Config["supervisor"]>("supervisor"),
    admin: get<Config["admin"]>("admin"),
    tls: get<Config["tls"]>("tls"),
    mesh: Object.freeze({ addresses: Object.freeze(addresses), callTimeoutMs: mesh.callTimeoutMs }),
    services: Object.freeze(services_),
  });
}

/** The environment variables every config key answers to. */
export function allEnvNames(services: readonly ServiceDescriptor[] = SERVICES): string[] {
  return allSections(services).flatMap((s) => s.fields.map((f: FieldInfo) => f.env));
}

/** The effective value of every (non-secret) key as environment text by env name, for the services' CLIs. */
export function configSettings(
  config: Config,
  services: readonly ServiceDescriptor[] = SERVICES,
): Record<string, string> {
  const values = sectionValues(config, services);
  const out: Record<string, string> = {};
  for (const s of allSections(services)) Object.assign(out, s.toEnv(values.get(s.name)));
  return out;
}

function sectionValues(config: Config, services: readonly ServiceDescriptor[]): Map<string, unknown> {
  const values = new Map<string, unknown>([
    ["", { dataDir: config.dataDir }],
    ["log", config.log],
    ["supervisor", config.supervisor],
    ["admin", config.admin],
    ["tls", config.tls],
    ["mesh", { ...config.mesh.addresses, callTimeoutMs: config.mesh.callTimeoutMs }],
  ]);
  for (const s of services) values.set(s.config.name, config.services[s.name]);
  return values;
}

/**
 * A commented TOML document of every key at its effective value (`mod.ts config`); with no config, at its
 * default (deploy/ ships that). Secrets are never printed.
 */
export function configToml(config?: Config, services: readonly ServiceDescriptor[] = SERVICES): string {
  const effective = config ?? parseConfig({}, services);
  const lines = ["# GhostChain Edge configuration. Every key is optional; shown at its effective value.", ""];
  const mesh: Record<string, unknown> = {
    ...effective.mesh.addresses,
    callTimeoutMs: effective.mesh.callTimeoutMs,
  };
  const values = new Map<string, unknown>([
    ["", { dataDir: effective.dataDir }],
    ["log", effective.log],
    ["supervisor", effective.supervisor],
    ["admin", effective.admin],
    ["tls", effective.tls],
    ["mesh", mesh],
  ]);
  for (const s of services) values.set(s.config.name, effective.services[s.name]);
  for (const s of allSections(services)) {
    if (s.name !== "") lines.push("", `[${s.name}]`);
    lines.push(...s.toToml(values.get(s.name)));
  }
  return lines.join("\n") + "\n";
}
