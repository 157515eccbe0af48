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
import { parseCli } from "./supervisor/cli.ts";
import { ConfigError } from "./supervisor/config.ts";
import { runServices, VERSION } from "./supervisor/run.ts";
import { printConfig, showStatus } from "./supervisor/commands.ts";

/** A service's own CLI, loaded only when asked for. */
async function runTool(tool: string, args: readonly string[]): Promise<number> {
  if (tool === "chain") return await (await import("./chain/cli.ts")).chainCli([...args]);
  if (tool === "wallet") {
    // The wallet's chain commands (balance, send, name ...) come from chain/, which builds the transactions.
    const [{ walletCli, denoCliIo }, { WALLET_CHAIN_COMMANDS }] = await Promise.all([
      import("./wallet/mod.ts"),
      import("./chain/mod.ts"),
    ]);
    return await walletCli([...args], denoCliIo(), WALLET_CHAIN_COMMANDS);
  }
  console.error(`error: No tool for ${tool}`);
  return 2;
}

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
      case "run":
        return await runServices(cmd.services, cmd.global);
      case "tool":
        return await runTool(cmd.tool, cmd.args);
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
