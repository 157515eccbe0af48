/**
 * Command-line specs: one declaration per (sub)command gives its `--help` text and its option parser, so help
 * never drifts from what is accepted. Pure: no `Deno.*`.
 *
 * `-h`/`--help` anywhere among a command's arguments asks for its help; an unknown option, a missing value or
 * an unexpected argument is a {@linkcode UsageError} (exit code 2).
 *
 * @example
 * ```ts
 * import { formatHelp, parseCommand } from "./cli_spec.ts";
 *
 * const spec = {
 *   usage: "mod.ts chain status [options]",
 *   summary: "Show the node's head.",
 *   options: [{ name: "peer", value: "HOST:PORT", default: "127.0.0.1:4460", help: "the node" }],
 *   examples: ["mod.ts chain status --peer 127.0.0.1:4470"],
 * };
 * const parsed = parseCommand(spec, ["--peer", "[::1]:4460"]);
 * console.log(parsed.help, parsed.value("peer")); // false [::1]:4460
 * console.log(formatHelp(spec).startsWith("Usage: mod.ts chain status")); // true
 * ```
 *
 * @module
 */

/** A usage mistake: the message says what was wrong; the caller prints the command's help hint, exit 2. */
export class UsageError extends TypeError {
  /** Creates an error with a message naming the option or argument. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One option. Without `value` it is a switch (`--json`). */
export interface OptionSpec {
  readonly name: string;
  /** Placeholder of its value (`HOST:PORT`); absent for a switch. */
  readonly value?: string;
  /** Shown as the default; `undefined` for none. */
  readonly default?: string;
  readonly help: string;
  /** May be given more than once. */
  readonly repeat?: boolean;
}

/** One command or subcommand. */
export interface CommandSpec {
  /** `mod.ts chain resolve NAME [options]` */
  readonly usage: string;
  /** What it does, one or more sentences. */
  readonly summary: string;
  /** Positional arguments: `[min, max]` count (default `[0, 0]`). */
  readonly args?: readonly [number, number];
  /** Descriptions of the positional arguments, shown under "Arguments". */
  readonly argHelp?: readonly (readonly [string, string])[];
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
}

/** What {@linkcode parseCommand} found. */
export interface ParsedCommand {
  /** `-h` or `--help` was given: print the help, do nothing else. */
  readonly help: boolean;
  readonly positional: readonly string[];
  /** The last value of an option, or its default. */
  value(name: string): string | undefined;
  /** Every value of a repeatable option. */
  values(name: string): readonly string[];
  /** Whether a switch was given. */
  has(name: string): boolean;
}

/** The `--help` text of a command. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, "", spec.summary];
  if (spec.argHelp !== undefined && spec.argHelp.length > 0) {
    lines.push("", "Arguments:");
    const w = Math.max(...spec.argHelp.map(([a]) => a.length));
    for (const [a, h] of spec.argHelp) lines.push(`  ${a.padEnd(w)}  ${h}`);
  }
  const options = [...spec.options, { name: "help", help: "show this help", short: "h" }];
  const label = (o: OptionSpec | { name: string; help: string; short: string }): string =>
    ("short" in o ? `-${o.short}, ` : "    ") + `--${o.name}${"value" in o && o.value ? ` ${o.value}` : ""}`;
  const w = Math.max(...options.map((o) => label(o).length));
  lines.push("", "Options:");
  for (const o of options) {
    const def = "default" in o && o.default !== undefined ? ` (default ${o.default})` : "";
    const rep = "repeat" in o && o.repeat === true ? " (repeatable)" : "";
    lines.push(`  ${label(o).padEnd(w)}  ${o.help}${rep}${def}`);
  }
  if (spec.examples.length > 0) {
    lines.push("", spec.examples.length === 1 ? "Example:" : "Examples:");
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join("\n");
}

/** Parses a command's arguments against its spec. Throws {@linkcode UsageError} unless `--help` was asked. */
export function parseCommand(spec: CommandSpec, args: readonly string[]): ParsedCommand {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  let help = false;
  let problem: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "-h" || a === "--help") {
      help = true;
      continue;
    }
    if (a === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-" || /^-\d/.test(a)) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq > 0 ? eq : undefined);
    const o = a.startsWith("--") ? byName.get(name) : undefined;
    if (o === undefined) {
      problem ??= `Unknown option ${a.slice(0, 64)}`;
      continue;
    }
    if (o.value === undefined) {
      if (eq > 0) problem ??= `Option --${name} takes no value`;
      switches.add(name);
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (v === undefined) {
      problem ??= `Option --${name} needs a value (${o.value})`;
      continue;
    }
    if (o.repeat !== true && values.has(name)) problem ??= `Option --${name} is given twice`;
    values.set(name, [...(values.get(name) ?? []), v]);
  }
  const [min, max] = spec.args ?? [0, 0];
  if (!help) {
    if (problem !== undefined) throw new UsageError(problem);
    if (positional.length < min) {
      throw new UsageError(`Missing argument: ${spec.usage.replace(/^\S+\s+/, "")}`);
    }
    if (positional.length > max) throw new UsageError(`Unexpected argument ${positional[max]?.slice(0, 64)}`);
  }
  return {
    help,
    positional,
    value: (name) => values.get(name)?.at(-1) ?? byName.get(name)?.default,
    values: (name) => values.get(name) ?? [],
    has: (name) => switches.has(name),
  };
}
