/**
 * Adapter: reads the config file and the environment, then hands them to the pure {@link parseConfig}.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { allEnvNames, type Config, ConfigError, parseConfig } from "./config.ts";

/** Where to look for a config file when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = "ghost.toml";

/** Reads only the config's `GHOST_*` variables (the supervisor's env permission is limited to these names). */
export function ghostEnv(names: readonly string[] = allEnvNames()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = Deno.env.get(name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * Loads the configuration. An explicit `path` must exist; the default `ghost.toml` is optional, so a fresh
 * checkout runs with no file at all.
 */
export async function loadConfig(opts: {
  path?: string | undefined;
  env: Readonly<Record<string, string>>;
  flags?: Readonly<Record<string, string>>;
}): Promise<Config> {
  const path = opts.path ?? DEFAULT_CONFIG_PATH;
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || opts.path !== undefined) {
      throw new ConfigError("--config", path, `cannot read the file: ${(err as Error).message}`);
    }
  }
  let doc: Record<string, unknown> | undefined;
  if (text !== undefined) {
    try {
      doc = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError("--config", path, `not valid TOML: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return parseConfig({
    ...(doc !== undefined ? { file: { path, doc } } : {}),
    env: opts.env,
    ...(opts.flags !== undefined ? { flags: opts.flags } : {}),
  });
}
