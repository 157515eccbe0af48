/**
 * Adapters for the short-lived commands: `config` and `status`.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { CONFIG_FIELDS, configToml, formatHostPort, mergeConfigValues } from "./config.ts";
import type { GlobalOptions } from "./cli.ts";
import { DEFAULT_CONFIG_PATH, ghostEnv, loadConfig } from "./load_config.ts";
import type { StatusDocument } from "./admin.ts";

/** `mod.ts config`: the effective configuration (file + env + flags) as commented TOML. */
export async function printConfig(global: GlobalOptions): Promise<number> {
  const env = ghostEnv(CONFIG_FIELDS.map((f) => f.key));
  // Validate exactly as a run would (clear errors), then print the merged values.
  await loadConfig({ path: global.configPath, env, flags: global.flags });
  const path = global.configPath ?? DEFAULT_CONFIG_PATH;
  let doc: Record<string, unknown> | undefined;
  try {
    doc = parseToml(await Deno.readTextFile(path)) as Record<string, unknown>;
  } catch {
    doc = undefined;
  }
  const values = mergeConfigValues({
    ...(doc !== undefined ? { file: { path, doc } } : {}),
    env,
    flags: global.flags,
  });
  console.log(configToml(values));
  return 0;
}

/** Renders the status document as a table for people. */
export function formatStatus(doc: StatusDocument, admin: string): string {
  const lines = [
    `ghostchain-edge ${doc.version}  pid ${doc.pid}  up ${doc.uptimeSeconds}s  admin ${admin}`,
    `tls: ${doc.tls.source} certificate, valid until ${doc.tls.notAfter} (${doc.tls.daysLeft} days left)`,
    "",
    "SERVICE    STATE      RESTARTS  ENDPOINTS",
  ];
  for (const s of doc.services) {
    const eps = s.endpoints.map((e) =>
      `${e.name}=${e.transport}://${e.addr}${e.alpn ? ` [${e.alpn.join(",")}]` : ""}`
    );
    lines.push(
      `${s.name.padEnd(10)} ${s.state.padEnd(10)} ${String(s.restarts).padEnd(9)} ${eps.join(" ") || "-"}`,
    );
    if (s.lastError !== undefined) lines.push(`${"".padEnd(10)} last error: ${s.lastError}`);
    const m = doc.metrics[s.name];
    if (m !== undefined && Object.keys(m).length > 0) {
      lines.push(`${"".padEnd(10)} ${Object.entries(m).map(([k, v]) => `${k}=${v}`).join("  ")}`);
    }
  }
  return lines.join("\n");
}

/** `mod.ts status`: asks the running supervisor's admin endpoint. Exit 1 when nothing answers. */
export async function showStatus(global: GlobalOptions, json: boolean): Promise<number> {
  const config = await loadConfig({
    path: global.configPath,
    env: ghostEnv(CONFIG_FIELDS.map((f) => f.key)),
    flags: global.flags,
  });
  const admin = `http://${formatHostPort(config.admin.listen)}`;
  let doc: StatusDocument;
  try {
    const res = await fetch(`${admin}/status`, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = await res.json() as StatusDocument;
  } catch (err) {
    console.error(
      `No supervisor answers at ${admin} (${(err as Error).message}). Start one with: deno run -A mod.ts up`,
    );
    return 1;
  }
  console.log(json ? JSON.stringify(doc, null, 2) : formatStatus(doc, admin));
  return doc.services.every((s) => s.state === "running") ? 0 : 1;
}
