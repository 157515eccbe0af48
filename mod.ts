/**
 * GhostChain Edge: the CLI and supervisor. Each service runs in its own permission-scoped Worker.
 *
 * ```sh
 * deno run -A mod.ts up        # every service of this build as a local devnet
 * deno run -A mod.ts status    # what is running, where, and how it is doing
 * ```
 *
 * @module
 */
import { ConfigError } from "./core/mod.ts";
import {
  parseCli,
  printConfig,
  runServices,
  runTool,
  showLogs,
  showStatus,
  VERSION,
} from "./supervisor/mod.ts";

/** Runs the command line; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const cmd = parseCli(args);
  try {
    switch (cmd.kind) {
      case "help":
        console.log(cmd.text);
        return 0;
      case "version":
        console.log(`ghostchain-edge ${VERSION} (deno ${Deno.version.deno})`);
        return 0;
      case "error":
        console.error(`error: ${cmd.message}`);
        return 2;
      case "config":
        return await printConfig(cmd.global);
      case "status":
        return await showStatus(cmd.global, cmd.json);
      case "logs":
        return await showLogs(cmd.global, {
          ...(cmd.service !== undefined ? { service: cmd.service } : {}),
          follow: cmd.follow,
          lines: cmd.lines,
          json: cmd.json,
        });
      case "run":
        return await runServices(cmd.services, cmd.global, cmd.up === true);
      case "tool":
        return await runTool(cmd.tool, cmd.args, cmd.global);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
