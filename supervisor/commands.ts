/**
 * Adapters for the short-lived commands: `config`, `status` and `logs`.
 *
 * @module
 */
import {
  type Config,
  ConfigError,
  configSettings,
  configToml,
  formatHostPort,
  parseHostPort,
} from "./config.ts";
import { findService } from "./services.ts";
import { connectQuic, ping, PING_ALPN } from "../transport/mod.ts";
import type { GlobalOptions } from "./cli.ts";
import { ghostEnv, loadConfig } from "./load_config.ts";
import type { StatusDocument } from "./admin.ts";
import { followLogs, readLogs } from "./log_file.ts";
import { formatRecord, type LogRecord } from "../core/mod.ts";

/** `mod.ts logs`: the log file's last lines (of one service), then new ones with `follow`. */
export async function showLogs(
  global: GlobalOptions,
  opts: {
    readonly service?: string;
    readonly follow: boolean;
    readonly lines: number;
    readonly json: boolean;
  },
): Promise<number> {
  const config = await loadConfig({ path: global.configPath, env: ghostEnv(), flags: global.flags });
  const dir = `${config.dataDir}/logs`;
  const print = (rec: LogRecord) => console.log(formatRecord(rec, opts.json ? "json" : "text"));
  const recent = await readLogs(dir, opts.service, opts.lines);
  if (recent.length === 0 && !opts.follow) {
    console.error(`no log lines${opts.service ? ` from ${opts.service}` : ""} in ${dir}/ghost.jsonl`);
  }
  for (const rec of recent) print(rec);
  if (!opts.follow) return 0;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await followLogs(dir, opts.service, print, stop.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return 0;
}

/** `mod.ts config`: the effective configuration (file + env + flags) as commented TOML. */
export async function printConfig(global: GlobalOptions): Promise<number> {
  // Parsed exactly as a run would (clear errors), then printed from the typed values.
  const config = await loadConfig({ path: global.configPath, env: ghostEnv(), flags: global.flags });
  console.log(configToml(config));
  return 0;
}

/** Renders the status document as a table for people. */
export function formatStatus(
  doc: StatusDocument,
  admin: string,
  probes: ReadonlyMap<string, string> = new Map(),
): string {
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
      `${s.name.padEnd(10)} ${(s.degraded === true ? "degraded" : s.state).padEnd(10)} ${
        String(s.restarts).padEnd(9)
      } ${eps.join(" ") || "-"}`,
    );
    if (s.lastError !== undefined) lines.push(`${"".padEnd(10)} last error: ${s.lastError}`);
    for (const e of s.endpoints) {
      const probe = probes.get(e.addr);
      if (probe !== undefined) lines.push(`${"".padEnd(10)} probe ${e.addr}: ${probe}`);
    }
    const m = doc.metrics[s.name];
    if (m !== undefined) {
      // Short names, non-zero values only: the full set is at /metrics.
      const shown = Object.entries(m).filter(([, v]) => v !== 0)
        .map(([k, v]) => `${k.replace(/^ghost_(transport_)?/, "").replace(/_total$/, "")}=${v}`);
      if (shown.length > 0) lines.push(`${"".padEnd(10)} ${shown.join("  ")}`);
    }
    for (const d of doc.details?.[s.name] ?? []) lines.push(`${"".padEnd(10)} ${d}`);
  }
  return lines.join("\n");
}

/** `mod.ts status`: asks the running supervisor's admin endpoint. Exit 1 when nothing answers. */
export async function showStatus(global: GlobalOptions, json: boolean): Promise<number> {
  const config = await loadConfig({
    path: global.configPath,
    env: ghostEnv(),
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
  console.log(
    json ? JSON.stringify(doc, null, 2) : formatStatus(doc, admin, await probeEndpoints(doc, config)),
  );
  return doc.services.every((s) => s.state === "running") ? 0 : 1;
}

/**
 * A real QUIC round trip to every `ghost-ping/1` endpoint, trusting the configured CA or the dev CA.
 * Returns a line per endpoint address, e.g. `quic ping 0.41 ms`.
 */
async function probeEndpoints(doc: StatusDocument, config: Config): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const caPath = config.tls.caFile !== "" ? config.tls.caFile : `${config.dataDir}/pki/ca.pem`;
  let caPem: string | undefined;
  try {
    caPem = await Deno.readTextFile(caPath);
  } catch {
    caPem = undefined; // fall back to the system roots
  }
  for (const svc of doc.services) {
    for (const e of svc.endpoints) {
      const hp = parseHostPort(e.addr);
      if (hp === undefined || !e.alpn?.includes(PING_ALPN)) continue;
      // A wildcard bind is reached over loopback of the same family.
      const hostname = hp.hostname === "::" ? "::1" : hp.hostname === "0.0.0.0" ? "127.0.0.1" : hp.hostname;
      try {
        const conn = await connectQuic(
          { hostname, port: hp.port, serverName: "localhost", alpn: PING_ALPN },
          { connectTimeoutMs: 2_000, ...(caPem !== undefined ? { caCerts: [caPem] } : {}) },
        );
        try {
          await ping(conn, new Uint8Array(16), { timeoutMs: 2_000 }); // warm-up: stream credit, congestion
          const { rttMs } = await ping(conn, new Uint8Array(16), { timeoutMs: 2_000 });
          out.set(e.addr, `quic ping ${rttMs.toFixed(2)} ms`);
        } finally {
          conn.close();
        }
      } catch (err) {
        out.set(e.addr, `quic ping failed: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

/**
 * `mod.ts <service> <sub> ...`: the service's own CLI (its descriptor's `tool`, loaded only when asked for),
 * told the effective configuration so its defaults (the node's address, the bridge's ingress, the data dir)
 * are the ones the services use. A bad config still lets `--help` through.
 */
export async function runTool(name: string, args: readonly string[], global: GlobalOptions): Promise<number> {
  const tool = findService(name)?.tool;
  if (tool === undefined) {
    console.error(`error: The ${name} service has no command line of its own`);
    return 2;
  }
  let settings: Record<string, string> = {};
  try {
    settings = configSettings(
      await loadConfig({ path: global.configPath, env: ghostEnv(), flags: global.flags }),
    );
  } catch (error) {
    if (!(error instanceof ConfigError) || !args.some((a) => a === "--help" || a === "-h")) throw error;
  }
  return await (await tool.load())(args, { setting: (envName) => settings[envName] });
}
