/**
 * Permission sets: the one place that says what each service may touch. The supervisor gives a worker
 * exactly its set; `deploy/` turns the same sets into `deno compile` flags and systemd settings.
 *
 * @module
 */
import { formatHostPort, type HostPort } from "./host_port.ts";

/** A permission set in the shape `Worker`'s `deno.permissions` takes, with every kind spelled out. */
export interface PermissionSet {
  /** Addresses, or `true` for every host (a UDP server answering arbitrary clients needs it). */
  readonly net: readonly string[] | true;
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly env: readonly string[];
  readonly sys: readonly string[];
  readonly run: false;
  /**
   * Native libraries the worker may load: paths, or `true`. Empty for every service by default; only an option
   * that needs it (cns `udp_io = "ffi"`) grants it, to that worker alone. Deno's pointer operations need the
   * unscoped permission, so such a worker gets `true`.
   */
  readonly ffi: readonly string[] | true;
}

/** Joins paths with `/` without touching the file system (no cwd lookup, which would need read access). */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/{2,}/g, "/");
}

/** A net permission entry for a listen address. Wildcard binds (`::`, `0.0.0.0`) are granted as written. */
export function netEntry(hp: HostPort): string {
  return formatHostPort(hp);
}

/** Builds a set from the parts a service needs; everything not named is denied. */
export function permissionSet(parts: Partial<Omit<PermissionSet, "run">>): PermissionSet {
  return {
    net: parts.net ?? [],
    read: parts.read ?? [],
    write: parts.write ?? [],
    env: parts.env ?? [],
    sys: parts.sys ?? [],
    run: false,
    ffi: parts.ffi ?? [],
  };
}

/** Converts a set into `Worker` options. Empty lists become `false` (Deno reads `[]` as "none" too). */
export function workerPermissions(set: PermissionSet): Deno.PermissionOptionsObject {
  const list = (xs: readonly string[]): string[] | false => (xs.length === 0 ? false : [...xs]);
  return {
    net: set.net === true ? true : list(set.net),
    read: list(set.read),
    write: list(set.write),
    env: list(set.env),
    sys: list(set.sys),
    run: false,
    ffi: set.ffi === true ? true : list(set.ffi),
    import: false,
  };
}

/** Unions several sets (the supervisor's own plus its workers'), dropping duplicates. */
export function unionSets(sets: readonly PermissionSet[]): PermissionSet {
  const u = (pick: (s: PermissionSet) => readonly string[]): string[] =>
    [...new Set(sets.flatMap(pick))].sort();
  return permissionSet({
    net: sets.some((s) => s.net === true) ? true : u((s) => (s.net === true ? [] : s.net)),
    read: u((s) => s.read),
    write: u((s) => s.write),
    env: u((s) => s.env),
    sys: u((s) => s.sys),
    ffi: sets.some((s) => s.ffi === true) ? true : u((s) => (s.ffi === true ? [] : s.ffi)),
  });
}

/** `deno run` / `deno compile` flags that grant exactly `set`. */
export function denoFlags(set: PermissionSet): string[] {
  const flag = (name: string, xs: readonly string[]): string[] =>
    xs.length === 0 ? [] : [`--allow-${name}=${xs.join(",")}`];
  return [
    ...(set.net === true ? ["--allow-net"] : flag("net", set.net)),
    ...flag("read", set.read),
    ...flag("write", set.write),
    ...flag("env", set.env),
    ...flag("sys", set.sys),
    ...(set.ffi === true ? ["--allow-ffi"] : flag("ffi", set.ffi)),
  ];
}

/**
 * The program's own code: the directory holding `mod.ts`. Deno loads a Worker's module graph as a dynamic
 * import checked against the creating thread's permissions, so the supervisor must be able to read it.
 */
export const CODE_ROOT: string = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);
