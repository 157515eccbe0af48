// Private helpers for the DNS interop tests and the cns benchmark: tool lookup, running commands, a local
// unbound with static local-zone data, free ports.

/** True when `name` is an executable on PATH (or an absolute path that exists). */
export function hasTool(name: string): boolean {
  const dirs = name.includes("/")
    ? [""]
    : (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
  for (const d of dirs) {
    try {
      const st = Deno.statSync(d === "" ? name : `${d}/${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Full path of a tool (unbound lives in /usr/sbin, often not on PATH). */
export function toolPath(name: string): string {
  for (const d of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      if (Deno.statSync(`${d}/${name}`).isFile) return `${d}/${name}`;
    } catch {
      // not here
    }
  }
  return name;
}

/** Runs a command to completion; returns exit code and text output. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(toolPath(cmd), {
    args: [...args],
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, options.timeoutMs ?? 30_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A port free for both UDP and TCP on 127.0.0.1 right now. */
export function freePort(): number {
  for (let i = 0; i < 20; i++) {
    const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (udp.addr as Deno.NetAddr).port;
    try {
      const tcp = Deno.listen({ hostname: "127.0.0.1", port });
      tcp.close();
      udp.close();
      return port;
    } catch {
      udp.close();
    }
  }
  throw new Error("Cannot find a free port");
}

/** A running unbound. */
export interface Unbound {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts unbound on 127.0.0.1 with `local-data` records (zone-file lines) in static local zones, in the
 * foreground, no chroot, no privilege drop, no remote control; resolves once it answers.
 */
export async function startUnbound(
  zones: readonly string[],
  records: readonly string[],
  extra: readonly string[] = [],
): Promise<Unbound> {
  const dir = await Deno.makeTempDir({ prefix: "cns_unbound_" });
  const port = freePort();
  const conf = [
    "server:",
    `  interface: 127.0.0.1@${port}`,
    "  do-ip6: no",
    "  do-daemonize: no",
    '  chroot: ""',
    '  username: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    "  use-syslog: no",
    '  logfile: ""',
    "  verbosity: 0",
    "  access-control: 127.0.0.0/8 allow",
    "  num-threads: 1",
    "  ratelimit: 0",
    ...extra.map((e) => `  ${e}`),
    ...zones.map((z) => `  local-zone: "${z}." static`),
    ...records.map((r) => `  local-data: "${r.replaceAll('"', '\\"')}"`),
    "remote-control:",
    "  control-enable: no",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/unbound.conf`, conf + "\n");
  const child = new Deno.Command(toolPath("unbound"), {
    args: ["-d", "-c", `${dir}/unbound.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stop = async (): Promise<void> => {
    try {
      child.kill("SIGTERM");
    } catch {
      // exited
    }
    await child.stderr.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  // Wait until it answers a query (up to 5 s).
  const probe = Uint8Array.of(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      await sock.send(probe, { transport: "udp", hostname: "127.0.0.1", port });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        sock.receive(),
        new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 200)),
      ]).catch(() => undefined);
      clearTimeout(timer);
      if (got) return { port, stop };
    } finally {
      sock.close();
    }
  }
  await stop();
  throw new Error("unbound did not start within 5 s");
}

let doqBinary: string | undefined;
/** Builds the Go DoQ client (offline, GOPATH mode against Debian's quic-go and miekg/dns sources) once. */
export async function buildDoqClient(): Promise<string> {
  doqBinary ??= await buildGoProgram(new URL("./doq_client/", import.meta.url), "doq_client");
  return doqBinary;
}

/**
 * Builds a Go program offline against Debian's packaged sources (GOPATH=/usr/share/gocode, no module proxy);
 * returns the binary's path.
 */
export async function buildGoProgram(srcDir: URL, name: string): Promise<string> {
  const out = await Deno.makeTempDir({ prefix: `${name}_` });
  const r = await run("go", ["build", "-o", `${out}/${name}`, "."], {
    cwd: srcDir.pathname,
    env: {
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      GOPROXY: "off",
      GOFLAGS: "-mod=mod",
      GOCACHE: `${out}/cache`,
      HOME: out,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    },
    timeoutMs: 180_000,
  });
  if (r.code !== 0) throw new Error(`go build ${name} failed: ${r.stderr}`);
  return `${out}/${name}`;
}
