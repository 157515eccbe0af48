/**
 * Command-line parsing for `mod.ts`: pure, so every path (help, version, bad flags) is unit-tested.
 *
 * Every command has its own `--help` (and `help <command>`): the services' from their descriptors (summary, the
 * `[section]` keys with defaults and env names), `chain`'s and `wallet`'s from their own CLIs, which get
 * `--help` passed on.
 *
 * @module
 */
import type { ServiceDescriptor } from "../core/mod.ts";
import { PLANNED_SERVICES, SERVICES } from "./services.ts";

/** What the command line asks for. */
export type Command =
  | {
    readonly kind: "run";
    readonly services: readonly string[];
    readonly global: GlobalOptions;
    /** `mod.ts up`: services whose `inUp` says no for their config are left out. */
    readonly up?: true;
  }
  | { readonly kind: "status"; readonly json: boolean; readonly global: GlobalOptions }
  | { readonly kind: "config"; readonly global: GlobalOptions }
  | {
    readonly kind: "logs";
    readonly service: string | undefined;
    readonly follow: boolean;
    readonly lines: number;
    readonly json: boolean;
    readonly global: GlobalOptions;
  }
  /** A service's own tool (`mod.ts chain status`): everything after the service name is its to parse. */
  | {
    readonly kind: "tool";
    readonly tool: string;
    readonly args: readonly string[];
    readonly global: GlobalOptions;
  }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "version" }
  | { readonly kind: "error"; readonly message: string };

/** Options every command accepts. */
export interface GlobalOptions {
  readonly configPath?: string;
  /** Config overrides by dotted key. */
  readonly flags: Readonly<Record<string, string>>;
  /** `up --validators N`: run N local chain validators (default 1). */
  readonly validators?: number;
}

const VALUE_FLAGS: Readonly<Record<string, string>> = {
  "--data-dir": "data_dir",
  "--log-level": "log.level",
  "--log-format": "log.format",
};

const GLOBAL_OPTIONS = `Global options (before or after the command):
  -c, --config FILE       TOML config file (default: ./ghost.toml when it exists)
      --data-dir DIR      data root (config data_dir, env GHOST_DATA_DIR; default data)
      --log-level LEVEL   debug | info | warn | error (env GHOST_LOG_LEVEL; default info)
      --log-format FMT    text | json (env GHOST_LOG_FORMAT; default text)
  -h, --help              show help (also: mod.ts help <command>)
  -V, --version           print the version`;

/** The top-level `--help` text. */
export function usage(): string {
  const svc = SERVICES.map((s) => `  ${s.name.padEnd(13)}run the ${s.name} service: ${s.summary}`).join("\n");
  const tools = SERVICES.flatMap((
    s,
  ) => (s.tool ? [`  ${`${s.name} <sub>`.padEnd(13)}${s.tool.summary}`] : []))
    .join("\n");
  return `GhostChain Edge: QUIC-first edge runtime (transport, wallet, chain, bridge, cns, wraith, vm)

Usage: deno run -A mod.ts [options] <command> [args]

Commands:
  up           run every service of this build as one local devnet (data under ./data)
${svc}
${tools}
  status       show the running services, their endpoints and metrics (--json for JSON)
  config       print the effective configuration as commented TOML
  logs         print the services' recent log lines (logs [SERVICE] [--follow] [--lines N] [--json])
  help [CMD]   show this help, or a command's

${
    PLANNED_SERVICES.length > 0
      ? `Planned services, not in this build yet: ${PLANNED_SERVICES.join(", ")}\n\n`
      : ""
  }${GLOBAL_OPTIONS}

Every config key can also be set in the environment: log.level -> GHOST_LOG_LEVEL. See README.md.
Examples:
  deno run -A mod.ts up
  deno run -A mod.ts help cns
  deno run -A mod.ts chain status --json`;
}

const COMMAND_HELP: Readonly<Record<string, string>> = {
  up: `Usage: deno run -A mod.ts up [options]

Runs every service of this build (${
    SERVICES.map((s) => s.name).join(", ")
  }) as one local devnet under one supervisor, each in its own
permission-scoped Worker: data under the data dir, a dev CA and certificates made on first start, a genesis with
a funded dev key (data/chain/dev.key). Ctrl-C (or SIGTERM) drains every service and exits 0; a second Ctrl-C more
than a second later exits at once.

Options:
      --validators N      run N chain validators (1..16; default 1): services chain, chain-2 .. chain-N, each its
                          own worker, data dir, key and port ([chain] listen port + 0..N-1), one BFT network with
                          one genesis naming all N; the other services use chain. A data dir made for another
                          number of validators is refused (use another --data-dir).

${GLOBAL_OPTIONS}

Examples:
  ./deno task start                 # the same as: deno run -A mod.ts up
  deno run -A mod.ts up --validators 4 --data-dir data-4v`,
  status: `Usage: deno run -A mod.ts status [--json] [options]

Asks the running supervisor's admin endpoint (admin.listen, default 127.0.0.1:9180) for its services, their
state, restarts and endpoints, probes each QUIC endpoint, and prints a table (or the status document with
--json). Exits 1 when nothing answers.

Options:
      --json              the status document as JSON
${GLOBAL_OPTIONS}

Example:
  deno run -A mod.ts status --json`,
  logs: `Usage: deno run -A mod.ts logs [SERVICE] [--follow] [--lines N] [--json] [options]

Prints the last log lines the supervisor wrote to <data_dir>/logs/ghost.jsonl (its own and every service's;
rotated at 10 MiB, one old file kept), of one service when named, as text (or the JSON lines with --json);
--follow keeps printing new lines until Ctrl-C.

Options:
  -f, --follow            keep printing new lines
  -n, --lines N           how many lines (default 50)
      --json              the JSON records as stored
${GLOBAL_OPTIONS}

Examples:
  deno run -A mod.ts logs chain --lines 20
  deno run -A mod.ts logs --follow`,
  config: `Usage: deno run -A mod.ts config [options]

Prints the effective configuration (defaults < ghost.toml < GHOST_* environment < flags) as commented TOML, each
key with what it allows and its environment variable. Secrets are shown as [redacted]. A bad value exits 2 and
names the key, where the value came from, and what is allowed.

${GLOBAL_OPTIONS}

Example:
  GHOST_CNS_UPSTREAMS=127.0.0.53:53 deno run -A mod.ts config`,
  help: `Usage: deno run -A mod.ts help [COMMAND [SUBCOMMAND]]

Shows the help of mod.ts, or of one command (the same as COMMAND --help).

Example:
  deno run -A mod.ts help wallet send`,
};

/** A service's `--help`: what it is, how it runs, its config section with defaults and env names. */
export function serviceUsage(s: ServiceDescriptor): string {
  const keys = s.config.fields.map((f) => {
    const def = Array.isArray(f.default) ? f.default.join(",") : String(f.default);
    return `  ${f.key.padEnd(28)} ${f.help}; ${f.describe} (default ${
      def === "" ? '""' : def
    }; env ${f.env})`;
  });
  const tool = s.tool !== undefined
    ? `\n\n"mod.ts ${s.name} <sub>" runs its own tool instead (${s.tool.summary}); see "mod.ts ${s.name} --help".`
    : "";
  const own = Object.entries(s.flags ?? {}).map(([flag, f]) =>
    `  ${`${flag} VALUE`.padEnd(22)} ${f.help} (sets ${s.name}.${f.key})`
  );
  const options = own.length > 0 ? `\n\nOptions of ${s.name}:\n${own.join("\n")}` : "";
  return `Usage: deno run -A --unstable-net mod.ts ${s.name} [options]

Runs the ${s.name} service alone under the supervisor: ${s.summary}.${tool}${options}

Config section [${s.config.name}] (ghost.toml, or the environment variable shown):
${keys.join("\n")}

${GLOBAL_OPTIONS}

Examples:
${
    (s.examples ?? [`GHOST_LOG_LEVEL=debug deno run -A --unstable-net mod.ts ${s.name}`]).map((e) => `  ${e}`)
      .join("\n")
  }`;
}

/** Services whose name followed by more words runs that service's own CLI instead of the service. */
export const SERVICE_TOOLS: readonly string[] = SERVICES.filter((s) => s.tool !== undefined).map((s) =>
  s.name
);

const HELP_WORDS = new Set(["-h", "--help", "help"]);

/** The help of `words` (a command and maybe a subcommand), as `help <words>` and `<words> --help` give it. */
function helpFor(words: readonly string[], global: GlobalOptions): Command {
  const [cmd, ...sub] = words;
  if (cmd === undefined) return { kind: "help", text: usage() };
  if (SERVICE_TOOLS.includes(cmd)) return { kind: "tool", tool: cmd, args: [...sub, "--help"], global };
  const svc = SERVICES.find((s) => s.name === cmd);
  if (svc !== undefined) return { kind: "help", text: serviceUsage(svc) };
  const text = COMMAND_HELP[cmd];
  if (text !== undefined) return { kind: "help", text };
  if (PLANNED_SERVICES.includes(cmd)) {
    return { kind: "error", message: `The ${cmd} service is planned but not part of this build yet` };
  }
  return { kind: "error", message: `Unknown command ${cmd}; see --help` };
}

/** Parses `Deno.args`. Never throws: mistakes come back as `{ kind: "error" }` (exit code 2). */
export function parseCli(args: readonly string[]): Command {
  const flags: Record<string, string> = {};
  let configPath: string | undefined;
  let json = false;
  let help = false;
  const positional: string[] = [];
  // A service's own options (`wraith --upstream URL`), checked against the command once it is known.
  const serviceFlags: [name: string, value: string][] = [];
  let validators: number | undefined;
  let follow = false;
  let lines: number | undefined;
  const globalNow = (): GlobalOptions => ({
    ...(configPath !== undefined ? { configPath } : {}),
    flags,
    ...(validators !== undefined ? { validators } : {}),
  });
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (arg === "-V" || arg === "--version") return { kind: "version" };
    if (arg === "--json") {
      json = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === "-c" || name === "--config" || name in VALUE_FLAGS) {
      const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === "") {
        return { kind: "error", message: `Option ${name} needs a value` };
      }
      if (name === "-c" || name === "--config") configPath = value;
      else flags[VALUE_FLAGS[name] ?? name] = value;
      continue;
    }
    if (arg === "-f" || arg === "--follow") {
      follow = true;
      continue;
    }
    if (name === "-n" || name === "--lines") {
      const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || !/^[0-9]{1,7}$/.test(value)) {
        return { kind: "error", message: `Option ${name} needs a number of lines` };
      }
      lines = Number(value);
      continue;
    }
    if (name === "--validators") {
      const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : args[++i];
      const n = Number(value);
      if (value === undefined || !/^[0-9]+$/.test(value) || n < 1 || n > 16) {
        return { kind: "error", message: "Option --validators needs a number from 1 to 16" };
      }
      validators = n;
      continue;
    }
    // A service's tool gets everything after its subcommand, its own flags and --help included.
    const next = args[i + 1];
    // `mod.ts link up`: a subcommand that runs the service itself, parsed as `mod.ts link`.
    if (
      positional.length === 0 && next !== undefined && !help &&
      SERVICES.some((s) => s.name === arg && s.tool?.runs?.includes(next))
    ) {
      // `link up --help` is the subcommand's help, from the service's tool.
      if (args.slice(i + 2).some((a) => a === "-h" || a === "--help")) {
        return { kind: "tool", tool: arg, args: [next, "--help"], global: globalNow() };
      }
      positional.push(arg);
      i++;
      continue;
    }
    if (
      positional.length === 0 && SERVICE_TOOLS.includes(arg) && next !== undefined &&
      (!next.startsWith("-") || HELP_WORDS.has(next))
    ) {
      if (help) return helpFor([arg], globalNow());
      const rest = args.slice(i + 1);
      if (rest[0] === "help") return helpFor([arg, ...rest.slice(1)], globalNow());
      return { kind: "tool", tool: arg, args: rest, global: globalNow() };
    }
    if (SERVICES.some((s) => s.flags?.[name] !== undefined)) {
      const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === "") {
        return { kind: "error", message: `Option ${name} needs a value` };
      }
      serviceFlags.push([name, value]);
      continue;
    }
    if (arg.startsWith("-")) return { kind: "error", message: `Unknown option ${arg}; see --help` };
    positional.push(arg);
  }
  const [cmd, ...rest] = positional;
  const owner = SERVICES.find((s) => s.name === cmd);
  for (const [name, value] of serviceFlags) {
    const f = owner?.flags?.[name];
    if (owner === undefined || f === undefined) {
      const of = SERVICES.filter((s) => s.flags?.[name] !== undefined).map((s) => s.name).join(", ");
      return {
        kind: "error",
        message: `Option ${name} is an option of ${of}, not of ${cmd ?? "mod.ts"}; see --help`,
      };
    }
    flags[`${owner.name}.${f.key}`] = value;
  }
  const global = globalNow();
  if (cmd === "help") return helpFor(rest, global);
  if (help) return helpFor(cmd === undefined ? [] : [cmd, ...rest], global);
  if (cmd === undefined) return { kind: "help", text: usage() };
  if (cmd === "logs") {
    if (rest.length > 1) return { kind: "error", message: `Unexpected argument ${rest[1]} after logs` };
    return { kind: "logs", service: rest[0], follow, lines: lines ?? 50, json, global };
  }
  if (follow || lines !== undefined) {
    return { kind: "error", message: "Options --follow and --lines are for logs" };
  }
  if (rest.length > 0) return { kind: "error", message: `Unexpected argument ${rest[0]} after ${cmd}` };
  if (json && cmd !== "status") {
    return { kind: "error", message: "Option --json is only for status and logs" };
  }
  if (validators !== undefined && cmd !== "up") {
    return { kind: "error", message: "Option --validators is an option of up (mod.ts up --validators 4)" };
  }
  if (cmd === "up") return { kind: "run", services: SERVICES.map((s) => s.name), global, up: true };
  if (cmd === "status") return { kind: "status", json, global };
  if (cmd === "config") return { kind: "config", global };
  if (SERVICES.some((s) => s.name === cmd)) return { kind: "run", services: [cmd], global };
  // Not a command that runs: a planned service or an unknown word, each with its message.
  const known = helpFor([cmd], global);
  return known.kind === "error" ? known : { kind: "error", message: `Unknown command ${cmd}; see --help` };
}
