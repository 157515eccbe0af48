/**
 * The supervisor and CLI, the top layer: it only lists service descriptors (`services.ts`) and runs each service
 * in its own permission-scoped Worker. `mod.ts` at the repository root is a thin entry over this module;
 * `deploy/` reads the same catalog and permission sets to build binaries.
 *
 * @example
 * ```ts
 * import { parseCli, SERVICES } from "./mod.ts";
 *
 * console.log(SERVICES.map((s) => s.name).includes("cns")); // true
 * console.log(parseCli(["cns"]).kind); // "run"
 * ```
 *
 * @module
 */
export { type Command, type GlobalOptions, parseCli, usage } from "./cli.ts";
export {
  allEnvNames,
  type Config,
  type ConfigSources,
  configToml,
  parseConfig,
  sectionOf,
} from "./config.ts";
export { printConfig, runTool, showLogs, showStatus } from "./commands.ts";
export { runServices, VERSION } from "./run.ts";
export { findService, PLANNED_SERVICES, SERVICES } from "./services.ts";
export { serviceDataDir, servicePermissions, supervisorPermissions } from "./supervisor_permissions.ts";
export { meshAddress, meshNet, planMesh } from "./mesh.ts";
