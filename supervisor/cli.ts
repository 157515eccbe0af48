/**
 * Command-line parsing for `mod.ts`: pure, so every path (help, version, bad flags) is unit-tested.
 *
 * @module
 */
import { PLANNED_SERVICES, SERVICES } from "./services.ts";

/** What the command line asks for. */
export type Command =
  | { readonly kind: "run"; readonly services: readonly string[]; readonly global: GlobalOptions }
  | { readonly kind: "status"; readonly json: boolean; readonly global: GlobalOptions }
  | { readonly kind: "config"; readonly global: GlobalOptions }
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
}

const VALUE_FLAGS: Readonly<Record<string, string>> = {
  "--data-dir": "data_dir",
  "--log-level": "log.level",
  "--log-format": "log.format",
};

/** The top-level `--help` text. */
export function usage(): string {
  const svc = SERVICES.map((s) => `  ${s.name.padEnd(12)}run the ${s.name} service: ${s.summary}`).join("\n");
  const tools = SERVICES.flatMap((
    s,
  ) => (s.tool ? [`  ${`${s.name} <sub>`.padEnd(13)}${s.tool.summary}`] : [])).join(
    "\n",
  );
  return `GhostChain Edge: QUIC-first edge runtime (transport, wallet, chain, bridge, cns, wraith, vm)

Usage: deno run -A mod.ts [options] <command>

Commands:
  up          run every service of this build as one local devnet (data under ./data)
${svc}
${tools}
  status      show the running services, their endpoints and metrics (--json for JSON)
  config      print the effective configuration as TOML
  help        show this help

Planned services, not in this build yet: ${PLANNED_SERVICES.join(", ")}

Options:
  -c, --config FILE       TOML config file (default: ./ghost.toml when it exists)
      --data-dir DIR      data root (config data_dir, env GHOST_DATA_DIR)
      --log-level LEVEL   debug | info | warn | error (env GHOST_LOG_LEVEL)
      --log-format FMT    text | json (env GHOST_LOG_FORMAT)
  -h, --help              show this help
  -V, --version           print the version

Every config key can also be set in the environment: log.level -> GHOST_LOG_LEVEL. See README.md.`;
}

/** Services whose name followed by more words runs that service's own CLI instead of the service. */
export const SERVICE_TOOLS: readonly string[] = SERVICES.filter((s) => s.tool !== undefined).map((s) =>
  s.name
);

/** Parses `Deno.args`. Never throws: mistakes come back as `{ kind: "error" }` (exit code 2). */
export function parseCli(args: readonly string[]): Command {
  const flags: Record<string, string> = {};
  let configPath: string | undefined;
  let json = false;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help") return { kind: "help", text: usage() };
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
    if (arg.startsWith("-")) return { kind: "error", message: `Unknown option ${arg}; see --help` };
    const next = args[i + 1];
    if (
      positional.length === 0 && SERVICE_TOOLS.includes(arg) && next !== undefined && !next.startsWith("-")
    ) {
      const global: GlobalOptions = configPath !== undefined ? { configPath, flags } : { flags };
      return { kind: "tool", tool: arg, args: args.slice(i + 1), global };
    }
    positional.push(arg);
  }
  const global: GlobalOptions = configPath !== undefined ? { configPath, flags } : { flags };
  const [cmd, ...rest] = positional;
  if (cmd === undefined || cmd === "help") return { kind: "help", text: usage() };
  if (rest.length > 0) return { kind: "error", message: `Unexpected argument ${rest[0]} after ${cmd}` };
  if (json && cmd !== "status") return { kind: "error", message: "Option --json is only for status" };
  if (cmd === "up") return { kind: "run", services: SERVICES.map((s) => s.name), global };
  if (cmd === "status") return { kind: "status", json, global };
  if (cmd === "config") return { kind: "config", global };
  if (SERVICES.some((s) => s.name === cmd)) return { kind: "run", services: [cmd], global };
  if (PLANNED_SERVICES.includes(cmd)) {
    return { kind: "error", message: `The ${cmd} service is planned but not part of this build yet` };
  }
  return { kind: "error", message: `Unknown command ${cmd}; see --help` };
}
