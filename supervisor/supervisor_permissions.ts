/**
 * The permission sets the supervisor grants: each service's, from its descriptor and its own config section (plus
 * its mesh node's addresses), and the supervisor's own. `deploy/` turns the same sets into `deno compile` flags.
 *
 * @module
 */
import {
  CODE_ROOT,
  joinPath,
  netEntry,
  type PermissionSet,
  permissionSet,
  type ServiceDescriptor,
} from "../core/mod.ts";
import { allEnvNames, type Config } from "./config.ts";
import { meshNet } from "./mesh.ts";
import { SERVICES } from "./services.ts";

/** The data directory of one service. */
export function serviceDataDir(config: Config, service: string): string {
  return joinPath(config.dataDir, service);
}

/** A service's set: what its descriptor asks for under this config, its mesh node's addresses included. */
export function servicePermissions(
  service: ServiceDescriptor,
  config: Config,
  codeRoot: string = CODE_ROOT,
  services: readonly ServiceDescriptor[] = SERVICES,
): PermissionSet {
  return service.permissions(config.services[service.name], {
    dataDir: serviceDataDir(config, service.name),
    codeRoot,
    meshNet: service.mesh !== undefined ? meshNet(config, service.name, services) : [],
  });
}

/**
 * The supervisor's own set: its admin listener, its code (to start workers), its config and TLS files, the
 * data root (it creates the per-service directories, mesh keys and the dev PKI), and the `GHOST_*` variables of
 * the config schema.
 */
export function supervisorPermissions(
  config: Config,
  configPath: string | undefined,
  codeRoot: string = CODE_ROOT,
): PermissionSet {
  const tlsFiles = [config.tls.certFile, config.tls.keyFile, config.tls.caFile].filter((f) => f !== "");
  return permissionSet({
    net: [netEntry(config.admin.listen)],
    read: [
      codeRoot,
      config.dataDir,
      ...(configPath !== undefined ? [configPath] : ["ghost.toml"]),
      ...tlsFiles,
      // One kernel setting, read at start to warn about small UDP buffers (see run.ts).
      "/proc/sys/net/core/rmem_default",
    ],
    write: [config.dataDir],
    env: allEnvNames(),
  });
}
