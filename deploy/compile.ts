/**
 * `deno task compile`: one self-contained binary per service, each granted exactly the union of the
 * supervisor's permission set and that service's set, computed from the production config.
 *
 *   deno task compile                          # every service, config deploy/ghost.example.toml
 *   deno task compile --dry-run ping           # print the deno compile command only
 *   deno task compile --config /etc/ghost/ghost.toml --target aarch64-unknown-linux-gnu
 *
 * `deno compile` downloads its `denort` runtime at build time; on machines without that download the
 * compile step fails with a clear message, and the same flags are exercised by `deno run` in tests.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { ConfigError, denoFlags, type ServiceDescriptor, unionSets } from "../core/mod.ts";
import {
  type Config,
  parseConfig,
  servicePermissions,
  SERVICES,
  supervisorPermissions,
} from "../supervisor/mod.ts";

/** Where binaries go. */
export const DIST_DIR = "deploy/dist";
/** The config path the binaries read at run time (and are allowed to read). */
export const RUNTIME_CONFIG = "/etc/ghost/ghost.toml";

/** Paths of a URL inside this repository, relative to its root (for `--include`). */
function repoRelative(url: URL): string {
  const root = new URL("../", import.meta.url).pathname;
  return url.pathname.startsWith(root) ? url.pathname.slice(root.length) : url.pathname;
}

/**
 * Where a compiled binary's embedded modules appear at run time: Deno's standalone runtime serves them from a
 * virtual root in the temp directory named after the binary, whatever directory it was built in. Starting a
 * Worker reads its module from there, so that root (not the build checkout) is the code root the permission
 * sets grant read access to. A binary run with another TMPDIR needs the same TMPDIR at build time.
 */
export function binaryCodeRoot(binaryName: string, tmpDir = "/tmp"): string {
  return `${tmpDir.replace(/\/$/, "")}/deno-compile-${binaryName}`;
}

/** The full `deno compile` argument list for one service. */
export function compileArgs(
  svc: ServiceDescriptor,
  config: Config,
  opts: { runtimeConfig?: string; target?: string } = {},
): string[] {
  const runtimeConfig = opts.runtimeConfig ?? RUNTIME_CONFIG;
  const codeRoot = binaryCodeRoot(`ghost-${svc.name}`);
  const set = unionSets([
    supervisorPermissions(config, runtimeConfig, codeRoot),
    servicePermissions(svc, config, codeRoot),
  ]);
  return [
    "compile",
    "--unstable-net",
    "--unstable-kv",
    "--unstable-worker-options",
    ...denoFlags(set),
    ...(opts.target !== undefined ? ["--target", opts.target] : []),
    ...[svc.entry, ...(svc.nestedWorkers ?? [])].flatMap((u) => ["--include", repoRelative(u)]),
    "--output",
    `${DIST_DIR}/ghost-${svc.name}`,
    "mod.ts",
    svc.name,
    "--config",
    runtimeConfig,
  ];
}

async function main(args: string[]): Promise<number> {
  let configPath = "deploy/ghost.example.toml";
  let target: string | undefined;
  let dryRun = false;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--dry-run") dryRun = true;
    else if (a === "--config") configPath = args[++i] ?? "";
    else if (a === "--target") target = args[++i];
    else if (a === "-h" || a === "--help") {
      console.log("Usage: deno task compile [--dry-run] [--config FILE] [--target TRIPLE] [service...]");
      return 0;
    } else if (a.startsWith("-")) {
      console.error(`error: Unknown option ${a}`);
      return 2;
    } else names.push(a);
  }
  const unknown = names.filter((n) => !SERVICES.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(
      `error: Unknown service ${unknown.join(", ")}; services: ${SERVICES.map((s) => s.name).join(", ")}`,
    );
    return 2;
  }
  let config: Config;
  try {
    config = parseConfig({ file: { path: configPath, doc: parseToml(await Deno.readTextFile(configPath)) } });
  } catch (err) {
    console.error(`error: ${err instanceof ConfigError ? err.message : `cannot load ${configPath}: ${err}`}`);
    return 2;
  }
  const selected = SERVICES.filter((s) => names.length === 0 || names.includes(s.name));
  for (const svc of selected) {
    const argv = compileArgs(svc, config, target !== undefined ? { target } : {});
    console.log(`deno ${argv.join(" ")}`);
    if (dryRun) continue;
    // A local runtime named by DENORT_BIN must exist: say so, rather than let deno blame the download.
    const denort = Deno.env.get("DENORT_BIN");
    if (denort !== undefined && denort !== "") {
      try {
        if (!(await Deno.stat(denort)).isFile) throw new Deno.errors.NotFound(denort);
      } catch {
        console.error(
          `error: DENORT_BIN=${denort} is not a file; point it at the denort binary of deno ${Deno.version.deno}`,
        );
        return 2;
      }
    }
    await Deno.mkdir(DIST_DIR, { recursive: true });
    const out = await new Deno.Command(Deno.execPath(), { args: argv, stdout: "inherit", stderr: "piped" })
      .output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr);
      console.error(err.trimEnd());
      if (/denort|download/i.test(err)) {
        console.error(
          "error: deno compile could not fetch its denort runtime (no route to dl.deno.land here). " +
            "Set DENORT_BIN to a local denort binary, or build on a machine with that access.",
        );
      }
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
