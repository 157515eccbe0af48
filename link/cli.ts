/**
 * `mod.ts link <sub>`: ghostlink's own tool. `mod.ts link up` runs the service (the top-level parser sends it
 * to the supervisor); `status` reads what the running node wrote to `<data_dir>/link/status.json`; `id`
 * prints this node's identity (making its key on first use), the line other nodes put in `link.rendezvous`
 * and `link.members`, and its mesh address.
 *
 * Exit codes: 0 success; 1 not running (status) or a failure; 2 a usage mistake.
 *
 * @module
 */
import {
  type CommandSpec,
  formatHelp,
  formatIp,
  parseCommand,
  type ParsedCommand,
  type ToolContext,
} from "../core/mod.ts";
import { linkIdentity } from "./handshake.ts";
import { meshAddress, peerIdOf } from "./peer.ts";
import { linkKeyPath, type LinkStatus, loadOrCreateLinkKey, STATUS_STALE_MS } from "./status.ts";
import { toHex } from "../core/mod.ts";

const NO_SETTINGS: ToolContext = { setting: () => undefined };

function dataDirOf(ctx: ToolContext): string {
  return `${ctx.setting("GHOST_DATA_DIR") ?? "data"}/link`;
}

/** Every subcommand's spec. */
export function linkCommands(): Record<string, CommandSpec> {
  return {
    up: {
      usage: "mod.ts link up [global options]",
      summary:
        "Runs the link service: the node, its rendezvous registration and, with link.mesh set, the VPN mesh\n" +
        "(a TUN interface: run as root). The same as `mod.ts link`.",
      options: [],
      examples: [
        "sudo GHOST_LINK_MESH=office GHOST_LINK_RENDEZVOUS=KEYHEX@203.0.113.7:4490 \\",
        "  GHOST_LINK_MEMBERS=KEYHEX1,KEYHEX2 deno run -A mod.ts link up",
      ],
    },
    status: {
      usage: "mod.ts link status [options]",
      summary:
        "Shows the running node: its id, rendezvous (joined, the address it saw, reachable), and each mesh\n" +
        "member's address and path (direct, relayed, down). Exits 1 when the node is not running.",
      options: [{ name: "json", help: "print the status file's JSON" }],
      examples: ["mod.ts link status", "mod.ts link status --json"],
    },
    id: {
      usage: "mod.ts link id [options]",
      summary:
        "Shows this node's identity key (made on first use), its peer id (ghost1...), the value other nodes\n" +
        "give link.rendezvous to use it as theirs, and its mesh address with link.mesh set.",
      options: [{ name: "json", help: "print JSON" }],
      examples: ["mod.ts link id", "GHOST_LINK_MESH=office mod.ts link id --json"],
    },
  };
}

function usage(specs: Record<string, CommandSpec>): string {
  const w = Math.max(...Object.keys(specs).map((k) => k.length));
  const lines = Object.entries(specs).map(([k, s]) => `  ${k.padEnd(w)}  ${s.summary.split("\n")[0]}`);
  return `Usage: mod.ts link <subcommand> [options]
       mod.ts link [global options]       run the link service (as link up)

ghostlink: P2P links by key, hole punching with relay fallback, and a VPN mesh. Subcommands:
${lines.join("\n")}

"mod.ts link <subcommand> --help" shows its options. Settings: the [link] section (mod.ts config).

Examples:
  mod.ts link id
  mod.ts link status`;
}

async function readStatus(path: string): Promise<LinkStatus | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const s = JSON.parse(text) as LinkStatus;
  return Date.now() - Date.parse(s.updated) > STATUS_STALE_MS ? undefined : s;
}

function printStatus(s: LinkStatus): void {
  const out = [
    `peer id     ${s.peer_id}`,
    `key         ${s.key}`,
    `listen      ${s.listen} (pid ${s.pid})`,
  ];
  if (s.rendezvous === null) out.push("rendezvous  none (this node serves as one)");
  else {
    const reach = s.rendezvous.reachable === undefined
      ? ""
      : s.rendezvous.reachable
      ? ", reachable from anywhere"
      : ", reachable only by peers it contacts";
    out.push(
      `rendezvous  ${s.rendezvous.joined ? "joined" : "NOT joined (retrying)"}, seen as ${
        s.rendezvous.observed || "?"
      }${reach}`,
    );
  }
  out.push(`serving     ${s.serving.members} members, ${s.serving.relayed_links} relayed links`);
  out.push(`dht         ${s.dht.contacts} servers known, ${s.dht.records} records kept for others`);
  if (s.mesh === null) out.push("mesh        none (link.mesh is empty)");
  else {
    out.push(`mesh        ${s.mesh.name} on ${s.mesh.interface}, ${s.mesh.address}`);
    out.push(
      `packets     out ${s.mesh.packets.out}, in ${s.mesh.packets.in}, no route ${s.mesh.packets.no_route}, ` +
        `spoofed ${s.mesh.packets.spoofed}; upgrades to direct ${s.mesh.upgrades}`,
    );
    for (const m of s.mesh.members) {
      out.push(
        `  ${m.address.padEnd(39)} ${m.path.padEnd(8)} ${m.remote}${
          m.rekeys > 0 ? ` (rekeyed ${m.rekeys}x)` : ""
        }  ${m.key.slice(0, 16)}…`,
      );
    }
  }
  console.log(out.join("\n"));
}

async function run(cmd: string, p: ParsedCommand, ctx: ToolContext): Promise<number> {
  const dir = dataDirOf(ctx);
  if (cmd === "up") {
    console.error("error: mod.ts link up is run by mod.ts itself; use `deno run -A mod.ts link up`");
    return 2;
  }
  if (cmd === "status") {
    const s = await readStatus(`${dir}/status.json`);
    if (s === undefined) {
      console.error(
        `error: the link service is not running (no fresh ${dir}/status.json); start: mod.ts link up`,
      );
      return 1;
    }
    if (p.has("json")) console.log(JSON.stringify(s, null, 2));
    else printStatus(s);
    return 0;
  }
  // id
  const seed = await loadOrCreateLinkKey(
    linkKeyPath({ keyFile: ctx.setting("GHOST_LINK_KEY_FILE") ?? "" }, dir),
  );
  const { publicKey } = linkIdentity(seed);
  seed.fill(0);
  const listen = ctx.setting("GHOST_LINK_LISTEN") ?? "0.0.0.0:4490";
  const mesh = ctx.setting("GHOST_LINK_MESH") ?? "";
  const info = {
    key: toHex(publicKey),
    peer_id: peerIdOf(publicKey),
    rendezvous: `${toHex(publicKey)}@${
      listen.startsWith("0.0.0.0:") ? `<this host's IP>:${listen.slice(8)}` : listen
    }`,
    ...(mesh !== "" ? { mesh, mesh_address: formatIp(meshAddress(mesh, publicKey)) } : {}),
  };
  if (p.has("json")) console.log(JSON.stringify(info, null, 2));
  else {
    console.log(`key         ${info.key}\npeer id     ${info.peer_id}\nrendezvous  ${info.rendezvous}`);
    if (info.mesh_address !== undefined) console.log(`mesh        ${mesh}: ${info.mesh_address}`);
  }
  return 0;
}

/** Runs `mod.ts link <args>`. */
export async function linkCli(args: readonly string[], ctx: ToolContext = NO_SETTINGS): Promise<number> {
  const specs = linkCommands();
  const [cmd, ...rest] = args;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    const sub = cmd === "help" ? rest[0] : undefined;
    const spec = sub !== undefined ? specs[sub] : undefined;
    if (sub !== undefined && spec === undefined) {
      console.error(`error: Unknown subcommand link ${sub.slice(0, 64)}; see "mod.ts link --help"`);
      return 2;
    }
    console.log(spec !== undefined ? formatHelp(spec) : usage(specs));
    return 0;
  }
  const spec = specs[cmd];
  if (spec === undefined) {
    console.error(`error: Unknown subcommand link ${cmd.slice(0, 64)}; see "mod.ts link --help"`);
    return 2;
  }
  let parsed: ParsedCommand;
  try {
    parsed = parseCommand(spec, rest);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}\nsee "mod.ts link ${cmd} --help"`);
    return 2;
  }
  if (parsed.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  try {
    return await run(cmd, parsed, ctx);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await linkCli(Deno.args));
