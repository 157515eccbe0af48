/**
 * Adapter that runs services for `mod.ts up` / `mod.ts <service>`: loads the config, provisions TLS,
 * starts the supervisor and its admin endpoint, and turns SIGINT/SIGTERM into a bounded drain.
 *
 * @module
 */
import {
  certificateStatus,
  createDevLeaf,
  DEFAULT_DEV_NAMES,
  ensureDevPki,
  loadTlsFiles,
} from "../transport/mod.ts";
import { renderPrometheus } from "../core/mod.ts";
import { type Config, formatHostPort } from "./config.ts";
import { ghostEnv, loadConfig } from "./load_config.ts";
import { formatRecord, Logger } from "../core/mod.ts";
import { liveSnapshot, type RecentLog } from "./status_page.ts";
import { LogFile } from "./log_file.ts";
import { handleAdmin, type StatusDocument } from "./admin.ts";
import { findService } from "./services.ts";
import { servicePermissions } from "./supervisor_permissions.ts";
import { Supervisor } from "./supervisor.ts";
import { SignalPolicy } from "./signal_policy.ts";
import { isMeshMember, loadMeshKeys, planMesh } from "./mesh.ts";
import { infoLines, summarizeMetrics, supervisorMetrics, workerSnapshot } from "./supervisor_metrics.ts";
import type { GlobalOptions } from "./cli.ts";
import type { ServiceDescriptor, TlsBundle } from "../core/mod.ts";
import {
  type ChainConfig,
  localValidatorConfigs,
  localValidatorNames,
  prepareLocalValidators,
} from "../chain/mod.ts";
import projectMeta from "../deno.json" with { type: "json" };

/** The version printed by `--version` and served in `/status`: deno.json's `version`. */
export const VERSION: string = projectMeta.version;

/** TLS material plus where it came from, for status and expiry warnings. */
export interface ProvisionedTls {
  readonly bundle: TlsBundle;
  readonly source: "dev" | "operator";
  readonly notAfter: Date;
}

/** Operator files when configured, otherwise the dev PKI under `<dataDir>/pki` (made once, then reused). */
export async function provisionTls(config: Config, log: Logger): Promise<ProvisionedTls> {
  let bundle: TlsBundle;
  if (config.tls.certFile !== "") {
    const files = await loadTlsFiles({
      certFile: config.tls.certFile,
      keyFile: config.tls.keyFile,
      ...(config.tls.caFile !== "" ? { caFile: config.tls.caFile } : {}),
    });
    for (const warning of files.warnings) log.warn(warning);
    bundle = { certPem: files.certPem, keyPem: files.keyPem, caPem: files.caPem ?? "" };
  } else {
    const pki = await ensureDevPki({ dir: `${config.dataDir}/pki`, names: config.tls.names });
    if (pki.generated !== "none") log.info("dev PKI created", { dir: pki.dir, generated: pki.generated });
    bundle = { certPem: pki.certPem, keyPem: pki.keyPem, caPem: pki.caPem };
  }
  const source = config.tls.certFile !== "" ? "operator" : "dev";
  const st = certificateStatus(bundle.certPem, new Date());
  if (st.expired) throw new Error(`TLS certificate expired on ${st.notAfter.toISOString()}`);
  if (st.notYetValid) throw new Error(`TLS certificate is not valid before ${st.notBefore.toISOString()}`);
  if (st.expiresSoon) log.warn("TLS certificate expires soon", { days_left: st.daysLeft });
  log.info("TLS ready", { source, not_after: st.notAfter.toISOString(), names: st.names.join(",") });
  return { bundle, source, notAfter: st.notAfter };
}

/** `.ghost` names a service may ask the dev CA for (wraith's sites); nothing else can be minted this way. */
const GHOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+ghost$/;

/**
 * Mints leaves from the dev CA for workers that serve `.ghost` sites: the dev names, `[tls] names` and the
 * requested `.ghost` names, valid 30 days. Anything else is refused.
 */
function devCertificateIssuer(
  config: Config,
): (service: string, names: readonly string[]) => Promise<{ certPem: string; keyPem: string }> {
  return async (_service, names) => {
    const wanted = [...new Set(names.map((n) => n.toLowerCase()))];
    const bad = wanted.find((n) => !GHOST_NAME.test(n));
    if (bad !== undefined) throw new Error(`only .ghost names are issued on demand, not ${bad.slice(0, 80)}`);
    if (wanted.length > 500) throw new Error("at most 500 names in one certificate");
    const dir = `${config.dataDir}/pki`;
    const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
    const caKeyPem = await Deno.readTextFile(`${dir}/ca-key.pem`);
    const der = Uint8Array.from(
      atob(caKeyPem.replace(/-----[^-]+-----/g, "").replace(/\s/g, "")),
      (c) => c.charCodeAt(0),
    );
    // The served key stays the same (clients that pin it keep trusting the server); only the names grow.
    const reuse = {
      certPem: await Deno.readTextFile(`${dir}/cert.pem`),
      keyPem: await Deno.readTextFile(`${dir}/key.pem`),
    };
    const caKey = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
    ]);
    const leaf = await createDevLeaf({
      caPem,
      caKey,
      names: [...DEFAULT_DEV_NAMES, ...config.tls.names, ...wanted],
      now: new Date(),
      days: 30,
      reuse,
    });
    return { certPem: leaf.certPem, keyPem: leaf.keyPem };
  };
}

/**
 * `up --validators N`: the chain service N times (chain, chain-2 .. chain-N), each with its section derived from
 * `[chain]` (chain/local_validators.ts). The extra validators are not mesh members: the mesh talks to `chain`.
 */
function withValidators(
  config: Config,
  services: readonly ServiceDescriptor[],
  n: number,
): { config: Config; services: ServiceDescriptor[] } {
  const chain = services.find((s) => s.name === "chain");
  if (n <= 1 || chain === undefined) return { config, services: [...services] };
  const sections = localValidatorConfigs(config.services.chain as ChainConfig, n);
  const names = localValidatorNames(n);
  const extra: ServiceDescriptor[] = names.slice(1).map((name) => {
    const { mesh: _mesh, tool: _tool, ...rest } = chain;
    return { ...rest, name, summary: `chain validator ${name.slice(6)} of ${n}` } as ServiceDescriptor;
  });
  const servicesConfig: Record<string, unknown> = { ...config.services };
  names.forEach((name, i) => (servicesConfig[name] = sections[i]));
  const at = services.indexOf(chain) + 1;
  return {
    config: { ...config, services: Object.freeze(servicesConfig) },
    services: [...services.slice(0, at), ...extra, ...services.slice(at)],
  };
}

/** Runs the named services until SIGINT/SIGTERM; returns the process exit code. */
export async function runServices(
  names: readonly string[],
  global: GlobalOptions,
  up = false,
): Promise<number> {
  const validators = global.validators ?? 1;
  const loaded = await loadConfig({ path: global.configPath, env: ghostEnv(), flags: global.flags });
  const derived = withValidators(
    loaded,
    names.map((n) => findService(n)).filter((s) =>
      s !== undefined && (!up || (s.inUp?.(loaded.services[s.name]) ?? true))
    ) as ServiceDescriptor[],
    validators,
  );
  const config = derived.config;
  // Every line goes to stderr; warnings and errors are also kept (text only, no fields) for the status page.
  const recent: RecentLog[] = [];
  const enc = new TextEncoder();
  // ...and to <data_dir>/logs/ghost.jsonl, which `mod.ts logs` reads.
  const logFile = new LogFile(`${config.dataDir}/logs`);
  const log = new Logger("supervisor", config.log.level, (rec) => {
    Deno.stderr.writeSync(enc.encode(formatRecord(rec, config.log.format) + "\n"));
    logFile.write(rec);
    if (rec.level === "warn" || rec.level === "error") {
      recent.push({ ts: rec.ts, level: rec.level, svc: rec.svc, msg: rec.msg.slice(0, 300) });
      if (recent.length > 50) recent.shift();
    }
  });
  const services = derived.services;
  await Deno.mkdir(config.dataDir, { recursive: true });
  for (const svc of services) {
    // A service gets a data directory only when its permission set lets it write there.
    const dir = `${config.dataDir}/${svc.name}`;
    if (servicePermissions(svc, config).write.includes(dir)) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    }
  }
  const tls = await provisionTls(config, log);
  // Mesh keys are made once and shared by every process on this data dir, so separately started services
  // (`mod.ts chain` here, `mod.ts cns` there) pin and allow each other.
  const mesh = services.some((s) => isMeshMember(s.name))
    ? planMesh(config, await loadMeshKeys(config))
    : undefined;
  if (validators > 1 && services.some((s) => s.name === "chain")) {
    try {
      const keys = await prepareLocalValidators({
        dataDir: config.dataDir,
        n: validators,
        now: Date.now(),
        ...(mesh?.chain?.dnsAnchors ? { dnsAnchors: mesh.chain.dnsAnchors } : {}),
      });
      log.info("local validator network", {
        validators: validators,
        keys: keys.map((k) => k.slice(0, 12)).join(","),
      });
    } catch (error) {
      log.error("cannot prepare the validators", { error });
      return 1;
    }
  }
  const sup = new Supervisor({
    config,
    log,
    tls: tls.bundle,
    services,
    ...(mesh ? { mesh } : {}),
    ...(tls.source === "dev" ? { issueCertificate: devCertificateIssuer(config) } : {}),
  });

  const status = async (): Promise<StatusDocument> => {
    const metrics = await sup.metrics();
    const daysLeft = (tls.notAfter.getTime() - Date.now()) / 86_400_000;
    const summary = summarizeMetrics(metrics);
    return {
      version: VERSION,
      uptimeSeconds: Math.round(sup.uptimeSeconds()),
      pid: Deno.pid,
      tls: { source: tls.source, notAfter: tls.notAfter.toISOString(), daysLeft: Math.floor(daysLeft) },
      // A running service whose `*_degraded` gauge is up (an accept loop out of descriptors) shows as degraded.
      services: sup.status().map((s) =>
        s.state === "running" &&
          Object.entries(summary[s.name] ?? {}).some(([k, v]) => k.endsWith("_degraded") && v > 0)
          ? { ...s, degraded: true }
          : s
      ),
      metrics: summary,
      details: infoLines(metrics),
    };
  };
  const metricsText = async (): Promise<string> => {
    const own = supervisorMetrics(sup.status(), VERSION);
    const workers = (await sup.metrics()).map((m) => workerSnapshot(m.service, m.snapshot));
    try {
      return renderPrometheus([own, ...workers.filter((s) => s !== undefined)]);
    } catch (err) {
      // A worker snapshot that cannot be rendered (bad name, type clash) must not hide the supervisor's own.
      log.warn("metrics from a worker could not be rendered", { error: err });
      return renderPrometheus(own);
    }
  };

  // Live reload (SIGHUP, POST /reload): the same sources read again; a config that does not parse changes
  // nothing; each service whose section changed applies it in place or says why not.
  let reloading: Promise<{ ok: boolean; report: unknown }> | undefined;
  const reload = (): Promise<{ ok: boolean; report: unknown }> => {
    reloading ??= (async () => {
      try {
        const next = withValidators(
          await loadConfig({ path: global.configPath, env: ghostEnv(), flags: global.flags }),
          services,
          validators,
        ).config;
        const results = await sup.reload(next);
        for (const r of results) {
          if (r.outcome === "unchanged") continue;
          if (r.outcome === "refused") log.warn("reload refused", { service: r.service, error: r.error });
          else log.info("reload", { service: r.service, outcome: r.outcome });
        }
        return { ok: results.every((r) => r.outcome !== "refused"), report: { services: results } };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error("reload refused: the new config is not valid; the running one stays", { error: message });
        return { ok: false, report: { error: message } };
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };

  warnSmallSocketBuffers(log);

  let admin: Deno.HttpServer;
  let adminClosing = false;
  const serveAdmin = (): Deno.HttpServer => {
    const server = Deno.serve({
      hostname: config.admin.listen.hostname,
      port: config.admin.listen.port,
      onListen: () => log.info("admin listening", { addr: `http://${formatHostPort(config.admin.listen)}` }),
    }, (req) =>
      handleAdmin(req, {
        status,
        metricsText,
        reload,
        live: async () => liveSnapshot(await sup.metrics(), sup.status(), recent, Date.now()),
      }));
    // Deno.serve's accept loop ends on an accept error (EMFILE): serve the address again, with backoff.
    server.finished.catch(async (error) => {
      if (adminClosing) return;
      log.warn("admin endpoint accept failing; restarting", { error });
      for (let wait = 50; !adminClosing; wait = Math.min(wait * 2, 1_000)) {
        await new Promise((r) => setTimeout(r, wait));
        try {
          admin = serveAdmin();
          return;
        } catch {
          // still failing
        }
      }
    });
    return server;
  };
  try {
    admin = serveAdmin();
  } catch (err) {
    log.error("cannot start the admin endpoint", { addr: formatHostPort(config.admin.listen), error: err });
    return 1;
  }

  const stopped = Promise.withResolvers<number>();
  const policy = new SignalPolicy();
  const onSignal = (sig: Deno.Signal): void => {
    const action = policy.onSignal(Date.now());
    if (action === "ignore") {
      log.debug("signal repeated within the echo window; still draining", { signal: sig });
      return;
    }
    if (action === "force") {
      log.warn("second signal: exiting without waiting", { signal: sig });
      Deno.exit(130);
    }
    log.info("shutting down", { signal: sig });
    sup.shutdown().then(() => {
      adminClosing = true;
      return admin.shutdown();
    }).then(() => stopped.resolve(0));
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", () => onSignal("SIGINT")],
    ["SIGTERM", () => onSignal("SIGTERM")],
    ["SIGHUP", () => void reload()],
  ];
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);

  await sup.start();
  if (sup.allFailed()) {
    log.error("no service could start; exiting");
    await sup.shutdown();
    adminClosing = true;
    await admin.shutdown();
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    return 1;
  }
  // A signal during start drained everything already: no "up" then.
  if (!policy.signalled) log.info("up", { services: services.map((s) => s.name).join(",") });
  const code = await stopped.promise;
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  return code;
}

/** The UDP receive buffer below which a burst of QUIC handshakes loses datagrams (measured: 208 KiB did). */
export const MIN_RMEM_DEFAULT = 2 << 20;

/**
 * Deno's QuicEndpoint cannot size its socket's receive buffer, so `net.core.rmem_default` applies to every QUIC
 * listener (cns DoQ and DoH3, wraith, the bridge, chain gossip). Says so once at start when it is small (Linux;
 * silent when the setting cannot be read).
 */
export function warnSmallSocketBuffers(
  log: { warn(msg: string, fields?: Record<string, unknown>): void },
  path: string = RMEM_DEFAULT,
): void {
  let value: number;
  try {
    value = Number(Deno.readTextFileSync(path).trim());
  } catch {
    return;
  }
  if (Number.isFinite(value) && value < MIN_RMEM_DEFAULT) {
    log.warn("UDP receive buffers are small: bursts of QUIC handshakes will lose datagrams", {
      "net.core.rmem_default": value,
      recommended: MIN_RMEM_DEFAULT * 2,
      fix: "install deploy/sysctl-ghostchain.conf (sysctl --system)",
    });
  }
}

/** Where Linux keeps the default UDP receive buffer size (read by the supervisor, permission included). */
export const RMEM_DEFAULT = "/proc/sys/net/core/rmem_default";
