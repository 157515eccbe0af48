// Private helper of the journey tests: `mod.ts up` as a subprocess with every listener on a free loopback port
// and its own data dir, the wallet's test KDF, and a stop() that asserts a clean SIGTERM exit.
import assert from "node:assert/strict";
import { freePort } from "./dns/_tools.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** A running devnet. */
export interface Devnet {
  readonly dataDir: string;
  /** The environment of the devnet (also what CLI calls against it need). */
  readonly env: Readonly<Record<string, string>>;
  /** cns's UDP/TCP port and DoQ port on 127.0.0.1. */
  readonly dnsPort: number;
  readonly doqPort: number;
  /** The admin endpoint's base URL. */
  readonly admin: string;
  /** The devnet's stderr so far. */
  logs(): string;
  /** SIGTERM, assert exit 0 (with the log tail when not), remove the data dir. */
  stop(): Promise<void>;
  /**
   * Ctrl-C as a terminal sends it: SIGINT to the devnet's whole process group. Resolves with the exit code and
   * the log; the data dir is removed.
   */
  interrupt(): Promise<{ code: number; logs: string }>;
}

/** How the devnet is started: `mod.ts up` directly, or the README's `./deno task start` in a process group. */
export interface DevnetOptions {
  readonly via?: "mod" | "task";
  /** Extra settings (GHOST_*) for the devnet. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra arguments after `up` (e.g. `--validators 4`; `via: "mod"` only). */
  readonly upArgs?: readonly string[];
}

/** Starts `mod.ts up` (see the module comment). */
export async function startDevnet(prefix: string, options: DevnetOptions = {}): Promise<Devnet> {
  const dataDir = await Deno.makeTempDir({ prefix });
  const dnsPort = freePort();
  const doqPort = freePort();
  const at = (p: number) => `127.0.0.1:${p}`;
  const env: Record<string, string> = {
    NO_COLOR: "1",
    GHOST_DATA_DIR: dataDir,
    GHOST_ADMIN_LISTEN: at(freePort()),
    GHOST_PING_LISTEN: at(freePort()),
    GHOST_BRIDGE_LISTEN: at(freePort()),
    GHOST_BRIDGE_GRPC_LISTEN: at(freePort()),
    GHOST_CHAIN_LISTEN: at(freePort()),
    GHOST_MESH_CHAIN: at(freePort()),
    GHOST_MESH_WALLET: at(freePort()),
    GHOST_MESH_CNS: at(freePort()),
    GHOST_MESH_WRAITH: at(freePort()),
    GHOST_MESH_LINK: at(freePort()),
    GHOST_LINK_LISTEN: at(freePort()),
    GHOST_WRAITH_LISTEN: at(freePort()),
    GHOST_CNS_LISTEN: at(dnsPort),
    GHOST_CNS_DOQ_LISTEN: at(doqPort),
    GHOST_CNS_DOH_LISTEN: at(freePort()),
    GHOST_WALLET_KDF: "test",
    GHOST_WALLET_PASSPHRASE: "devnet journey",
    ...options.env,
  };
  const adminAddr = env.GHOST_ADMIN_LISTEN ?? "";
  // `setsid` makes the task the leader of a new process group, as a shell does for a foreground job, so a
  // signal to the group reaches `deno task` and the supervisor it runs, as a terminal's Ctrl-C does.
  const child = options.via === "task"
    ? new Deno.Command("setsid", {
      args: [`${ROOT}deno`, "task", "start"],
      env: { ...env, PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}` },
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).spawn()
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD, "up", ...(options.upArgs ?? [])],
      env,
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).spawn();
  let logText = "";
  const logs = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) logText += c;
    return logText;
  })();
  return {
    dataDir,
    env,
    logs: () => logText,
    dnsPort,
    doqPort,
    admin: `http://${adminAddr}`,
    interrupt: async () => {
      await new Deno.Command("kill", { args: ["-INT", "--", `-${child.pid}`] }).output();
      const { code } = await child.status;
      const text = await logs;
      await Deno.remove(dataDir, { recursive: true });
      return { code, logs: text };
    },
    stop: async () => {
      child.kill("SIGTERM");
      const { code } = await child.status;
      const text = await logs;
      assert.equal(code, 0, text.slice(-4000));
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Runs `mod.ts <args>` against a devnet's environment. */
export async function modCli(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<{ code: number; out: string; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    env,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

/** Polls `probe` until it returns true; returns the milliseconds it took (fails after `ms`, naming `what`). */
export async function until(probe: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await probe()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not seen within ${ms} ms`);
}

/** Imports the devnet's funded dev key into the CLI's wallet as account `dev`; returns the CLI's result. */
export function importDevKey(
  dataDir: string,
  env: Readonly<Record<string, string>>,
): Promise<{ code: number; out: string; err: string }> {
  return modCli(
    ["wallet", "import", "--key-file", `${dataDir}/chain/dev.key`, "--type", "ed25519", "--label", "dev"],
    env,
  );
}
