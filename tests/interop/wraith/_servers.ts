// Private helpers for the wraith interop tests and benchmark: nginx and caddy started from generated configs in a
// temp dir, and `mod.ts wraith` run as a user runs it. Everything binds to loopback and is removed on stop.

import { X509Certificate } from "@peculiar/x509";
import { freePort, hasTool, run, toolPath } from "../dns/_tools.ts";

const MOD = new URL("../../../mod.ts", import.meta.url).pathname;

/** A child process with its stderr collected. */
export interface Running {
  readonly port: number;
  /** Everything it wrote to stderr (and stdout) so far. */
  output(): string;
  stop(): Promise<void>;
}

function spawn(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const child = new Deno.Command(cmd, {
    args,
    env,
    ...(cwd ? { cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  let exited = false;
  void child.status.then(() => (exited = true));
  return {
    child,
    output: () => text,
    exited: () => exited,
    stop: async (signal: Deno.Signal = "SIGTERM") => {
      if (!exited) {
        try {
          child.kill(signal);
        } catch {
          // gone
        }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 5_000);
      await child.status;
      clearTimeout(timer);
      await done;
    },
  };
}

/** Waits until a TCP connect to 127.0.0.1:port succeeds. */
export async function waitTcp(port: number, ms = 20_000, alive: () => boolean = () => true): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && alive()) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/** Whether nginx can be run. */
export const HAS_NGINX: boolean = hasTool("nginx");
/** Whether caddy can be run. */
export const HAS_CADDY: boolean = hasTool("caddy");

/**
 * nginx with one worker on 127.0.0.1:port: serving `root` as static files, or proxying to `proxyTo` (HTTP/1.1
 * keep-alive to the origin, as an operator would set it up).
 */
export async function startNginx(
  opts: {
    root?: string;
    proxyTo?: number;
    port?: number;
    tls?: { certFile: string; keyFile: string };
    /** A Cache-Control header added to static answers. */
    cacheControl?: string;
    /** With proxyTo: nginx's proxy_cache in front of the origin (what wraith's cache is measured against). */
    proxyCache?: boolean;
  },
): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "wraith_nginx_" });
  // nginx's worker runs as an unprivileged user: its cache and temp dirs must be writable to it.
  await Deno.chmod(dir, 0o755);
  for (const sub of ["cache", "proxy", "body"]) {
    await Deno.mkdir(`${dir}/${sub}`);
    await Deno.chmod(`${dir}/${sub}`, 0o777);
  }
  const port = opts.port ?? freePort();
  const cache = opts.proxyCache === true
    ? "proxy_buffering on; proxy_cache wraithbench; proxy_cache_lock on; proxy_cache_valid 200 1h;"
    : "proxy_buffering off;";
  const location = opts.proxyTo !== undefined
    ? `location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; ${cache} }`
    : `location / { root ${opts.root}; ${
      opts.cacheControl ? `add_header Cache-Control "${opts.cacheControl}";` : ""
    } }`;
  const upstream = opts.proxyTo !== undefined
    ? `upstream origin { server 127.0.0.1:${opts.proxyTo}; keepalive 64; }`
    : "";
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  ${opts.proxyCache === true ? `proxy_cache_path ${dir}/cache keys_zone=wraithbench:10m max_size=100m;` : ""}
  ${upstream}
  server {
    listen 127.0.0.1:${port}${opts.tls ? " ssl" : ""};
    ${opts.tls ? `ssl_certificate ${opts.tls.certFile}; ssl_certificate_key ${opts.tls.keyFile};` : ""}
    ${location}
  }
}
`,
  );
  const p = spawn(toolPath("nginx"), ["-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`]);
  await waitTcp(port, 10_000, () => !p.exited());
  return {
    port,
    output: p.output,
    stop: async () => {
      await p.stop("SIGQUIT");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * caddy on 127.0.0.1:port (TCP and UDP: HTTP/3 on) with the given TLS files: answering `respond` text, or
 * `reverse_proxy` to an HTTP/1.1 origin.
 */
export async function startCaddy(
  opts: { certFile: string; keyFile: string; respond?: string; proxyTo?: number; port?: number },
): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "wraith_caddy_" });
  const port = opts.port ?? freePort();
  const handler = opts.proxyTo !== undefined
    ? `reverse_proxy 127.0.0.1:${opts.proxyTo}`
    : `respond "${opts.respond ?? "caddy"}" 200`;
  await Deno.writeTextFile(
    `${dir}/Caddyfile`,
    `{
  admin off
  auto_https off
  servers {
    protocols h1 h2 h3
  }
}
https://127.0.0.1:${port}, https://localhost:${port} {
  tls ${opts.certFile} ${opts.keyFile}
  ${handler}
}
`,
  );
  const p = spawn(toolPath("caddy"), ["run", "--config", `${dir}/Caddyfile`, "--adapter", "caddyfile"], {
    HOME: dir,
    XDG_DATA_HOME: `${dir}/data`,
    XDG_CONFIG_HOME: `${dir}/config`,
  });
  await waitTcp(port, 20_000, () => !p.exited());
  // Its UDP listener comes up with the TCP one; give it a moment.
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    output: p.output,
    stop: async () => {
      await p.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** `deno run -A --unstable-net mod.ts wraith ...` as the README gives it, with a data dir and admin port of its own. */
export async function startWraithProcess(
  args: string[],
  env: Record<string, string> = {},
  opts: { dataDir?: string; keepDataDir?: boolean } = {},
): Promise<Running & { dataDir: string; caFile: string; admin: string; signal(sig: Deno.Signal): void }> {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "wraith_proc_" });
  const port = Number(args[args.indexOf("--listen") + 1]?.split(":").pop());
  const adminPort = freePort();
  const p = spawn(
    Deno.execPath(),
    ["run", "-A", "--unstable-net", MOD, "wraith", ...args, "--data-dir", dataDir],
    { NO_COLOR: "1", GHOST_ADMIN_LISTEN: `127.0.0.1:${adminPort}`, ...env },
  );
  try {
    await waitTcp(port, 30_000, () => !p.exited());
    // The UDP (HTTP/3) listener is bound right after the TCP one.
    const end = Date.now() + 5_000;
    while (!p.output().includes("service ready service=wraith") && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    await p.stop();
    throw new Error(`${(error as Error).message}\n${p.output()}`);
  }
  return {
    port,
    dataDir,
    caFile: `${dataDir}/pki/ca.pem`,
    admin: `http://127.0.0.1:${adminPort}`,
    output: p.output,
    signal: (sig) => p.child.kill(sig),
    stop: async () => {
      await p.stop();
      if (opts.keepDataDir !== true) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Headless Chromium forced onto QUIC for `host:port`, with `host` mapped to 127.0.0.1 and the certificate in
 * `certFile` trusted by its public key's hash (no CA install); returns the DOM after load.
 */
export async function chromiumOverQuic(
  opts: { host: string; port: number; path: string; certFile: string; profile: string; budgetMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  const cert = new X509Certificate(await Deno.readTextFile(opts.certFile));
  const spki = btoa(
    String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", cert.publicKey.rawData))),
  );
  const origin = `${opts.host}:${opts.port}`;
  return await run("chromium", [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    `--user-data-dir=${opts.profile}`,
    "--enable-quic",
    `--origin-to-force-quic-on=${origin}`,
    `--host-resolver-rules=MAP ${opts.host} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${spki}`,
    `--virtual-time-budget=${opts.budgetMs ?? 5000}`,
    "--dump-dom",
    `https://${origin}${opts.path}`,
  ], { timeoutMs: 60_000 });
}
