/**
 * The service descriptor: everything the supervisor, the CLI and `deploy/` need to know about one service, in
 * one value exported from `<service>/service.ts`. The supervisor only lists descriptors (`supervisor/services.ts`);
 * adding a service is one folder with a descriptor plus one line there.
 *
 * A descriptor is light on purpose: it imports the service's config schema and nothing that runs the service, so
 * the supervisor's own module graph stays small. The service itself runs in a Worker from `entry`.
 *
 * @module
 */
import type { ConfigSection } from "./config_schema.ts";
import type { HostPort } from "./host_port.ts";
import type { PermissionSet } from "./permissions.ts";
import type { TlsNeed } from "./worker_protocol.ts";

/** What a descriptor's `permissions` is told besides its own config section. */
export interface PermissionContext {
  /** The service's data directory (`<data_dir>/<service>`). */
  readonly dataDir: string;
  /** The repository (or binary's) code root: starting a nested Worker needs read access to its module graph. */
  readonly codeRoot: string;
  /** Net entries of its mesh node: its own listener and the nodes it calls (empty outside the mesh). */
  readonly meshNet: readonly string[];
}

/** A service's part in the service mesh (GhostBridge nodes between services). */
export interface MeshRole<C> {
  /** The services this one calls; the supervisor pins their keys and lets them allow this one's. */
  readonly calls: readonly string[];
  /** Default of the `mesh.<service>` address key; absent when the node listens on an address of its own config. */
  readonly listen?: string;
  /** The node's address when it is the service's own listener (the central bridge: `bridge.listen`). */
  address?(config: C): HostPort;
  /** The node key's file when the service configures its own (default `<data_dir>/mesh/<service>.key`). */
  keyFile?(config: C, dataDir: string): string;
  /** A node key seed given inline in the config (64 hex characters), which wins over any file. */
  inlineKey?(config: C): string;
  /** Records this service asks the chain's devnet genesis to publish, from its mesh key seed (hex). */
  anchors?(seedHex: string): readonly string[];
}

/**
 * What a service's command line is told about the effective configuration (defaults < `ghost.toml` < `GHOST_*`
 * environment < global flags), so `mod.ts chain status` finds the node where `mod.ts chain` put it.
 */
export interface ToolContext {
  /** The effective value of a config key by its environment name (`GHOST_CHAIN_LISTEN`), as text. */
  setting(envName: string): string | undefined;
}

/** A service's own command line (`mod.ts chain status`): gets the words after the service name. */
export type ServiceTool = (args: readonly string[], ctx: ToolContext) => Promise<number>;

/** One service of the runtime. */
export interface ServiceDescriptor<C = unknown> {
  /** Command and section name: `cns`. */
  readonly name: string;
  /** One line for `--help` and status. */
  readonly summary: string;
  /** Its `[<name>]` config section. */
  readonly config: ConfigSection<C>;
  /** The module run inside its worker (calls `runServiceWorker`). */
  readonly entry: URL;
  /** Modules its worker starts Workers from (a compiled binary must embed them, `deno compile --include`). */
  readonly nestedWorkers?: readonly URL[];
  /** The TLS material it gets in its start message. */
  readonly tls: TlsNeed;
  /** Its GhostBridge node, when it serves or calls another service. */
  readonly mesh?: MeshRole<C>;
  /** The narrowest permissions that work for this config. */
  permissions(config: C, ctx: PermissionContext): PermissionSet;
  /**
   * Options of `mod.ts <name>` that set keys of its own section (`--upstream` -> `wraith.upstream`); they win over
   * the file and the environment like every flag.
   */
  readonly flags?: Readonly<Record<string, { readonly key: string; readonly help: string }>>;
  /** Examples for its `--help` (the default is running it with debug logs). */
  readonly examples?: readonly string[];
  /**
   * Whether `mod.ts up` starts it (`mod.ts <name>` always does). Absent: always. A service that needs root or
   * changes the host (ghostlink's mesh interface) waits until its config asks.
   */
  inUp?(config: C): boolean;
  /** Its own command line, loaded only when asked for (`mod.ts <name> <sub> ...`). */
  readonly tool?: {
    /** One line for the top-level help. */
    readonly summary: string;
    /** Subcommands that run the service itself, as `mod.ts <name>` does (`mod.ts link up`). */
    readonly runs?: readonly string[];
    load(): Promise<ServiceTool>;
  };
}
