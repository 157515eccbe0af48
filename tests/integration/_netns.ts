// Private helper of the ghostlink tests: a small internet in network namespaces (root only). A public segment
// (a bridge in namespace `pub`, 10.<n>.0.0/24, the relay/rendezvous at .1) and, per peer, a NAT router and a
// host behind it (192.168.<i>.0/24). A "cone" NAT is Linux masquerade (it keeps the source port when it can,
// so one mapping serves every destination); a "symmetric" NAT picks a random port per destination
// (`masquerade fully-random`). Every NAT router drops unsolicited inbound packets, as home routers do. All
// links are made inside namespaces this helper created (veth ends are created in place, never in the root
// namespace), and close() deletes them all.

/**
 * A peer's place in the network: behind a "cone" NAT (masquerade, port kept: endpoint-independent mapping,
 * replies only), a "full-cone" one (the same, and its host's `port` is forwarded from the NAT's public address
 * to anyone: endpoint-independent filtering), or a "symmetric" one (a random port per destination).
 */
export interface NatPeer {
  readonly name: string;
  readonly nat: "cone" | "full-cone" | "symmetric";
  /** The UDP port a full-cone NAT forwards to its host. Default 4500. */
  readonly port?: number;
}

/** A built network. */
export interface NatNet {
  /** The namespace of `pub` (relay), or of a peer host `name`, or of its router `nat-<name>`. */
  ns(name: string): string;
  /** The relay's public address. */
  readonly relayAddr: string;
  /** A peer's NAT's public address. */
  publicAddr(peer: string): string;
  /** A peer host's own (private) address. */
  privateAddr(peer: string): string;
  /** Runs a command in a namespace and returns its output (throws on a non-zero exit). */
  exec(ns: string, args: readonly string[]): Promise<string>;
  /** Starts a command in a namespace, stdout piped; close() kills it. */
  spawn(ns: string, argv: readonly string[]): Deno.ChildProcess;
  /** {@linkcode NatNet.spawn} of `deno run -A --unstable-net SCRIPT ARGS`. */
  spawnDeno(ns: string, script: string, args: readonly string[]): Deno.ChildProcess;
  /**
   * Rebinds a peer's NAT: from now on it maps its host to another port range, and every UDP mapping it holds
   * is forgotten, so the host's next packet leaves from a new public port (as a home router's reboot or a
   * mapping timeout does).
   */
  rebind(peer: string): Promise<void>;
  /** Switches a peer's NAT between cone and symmetric; its UDP mappings are forgotten. */
  setNat(peer: string, nat: "cone" | "symmetric"): Promise<void>;
  /** Kills what spawnDeno started, then deletes every namespace (and so every link) this net made. */
  close(): Promise<void>;
}

/** Why a test that makes a TUN interface cannot run here (root and /dev/net/tun), or undefined. */
export function tunUnavailable(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (a TUN interface)";
  try {
    Deno.statSync("/dev/net/tun");
    return undefined;
  } catch {
    return "needs /dev/net/tun";
  }
}

/** The first line a child prints (its "ready ..." line). */
export async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const r = await child.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
  return (r.value ?? "").trim();
}

/** Why the namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (network namespaces)";
  for (const tool of ["ip", "nft", "conntrack"]) {
    const found = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].some((d) => {
      try {
        Deno.statSync(`${d}/${tool}`);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) return `needs ${tool} (Debian ${{ ip: "iproute2", nft: "nftables" }[tool] ?? tool})`;
  }
  return undefined;
}

async function sh(args: readonly string[]): Promise<string> {
  const out = await new Deno.Command(args[0] ?? "true", {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  return dec.decode(out.stdout);
}

/** Builds the network for `peers` (see the module comment). */
export async function buildNatNet(peers: readonly NatPeer[]): Promise<NatNet> {
  // Unique per process and call: parallel tests never share a name.
  const tag = `gl${Deno.pid % 10000}${Math.floor(Math.random() * 1000)}`;
  const net = 10 + Math.floor(Math.random() * 200);
  const created: string[] = [];
  const children: Deno.ChildProcess[] = [];
  const ns = (name: string): string => `${tag}-${name}`;
  const inNs = (name: string, args: readonly string[]) => sh(["ip", "netns", "exec", ns(name), ...args]);
  // A veth pair made with both ends already in their namespaces (never in the root namespace).
  const veth = (a: string, aName: string, b: string, bName: string) =>
    sh(["ip", "link", "add", aName, "netns", ns(a), "type", "veth", "peer", "name", bName, "netns", ns(b)]);
  const close = async (): Promise<void> => {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch {
        // exited
      }
      await c.status;
      await c.stdout.cancel().catch(() => {});
    }
    for (const n of created.reverse()) await sh(["ip", "netns", "del", n]).catch(() => {});
  };
  try {
    const addNs = async (name: string): Promise<void> => {
      await sh(["ip", "netns", "add", ns(name)]);
      created.push(ns(name));
      await inNs(name, ["ip", "link", "set", "lo", "up"]);
    };
    await addNs("pub");
    await inNs("pub", ["ip", "link", "add", "br0", "type", "bridge"]);
    await inNs("pub", ["ip", "addr", "add", `10.${net}.0.1/24`, "dev", "br0"]);
    await inNs("pub", ["ip", "link", "set", "br0", "up"]);
    for (const [i, p] of peers.entries()) {
      const router = `nat-${p.name}`;
      await addNs(router);
      await addNs(p.name);
      // Router <-> public bridge.
      await veth(router, "out0", "pub", `p${i}`);
      await inNs("pub", ["ip", "link", "set", `p${i}`, "master", "br0"]);
      await inNs("pub", ["ip", "link", "set", `p${i}`, "up"]);
      await inNs(router, ["ip", "addr", "add", `10.${net}.0.${i + 2}/24`, "dev", "out0"]);
      await inNs(router, ["ip", "link", "set", "out0", "up"]);
      // Router <-> host.
      await veth(router, "in0", p.name, "eth0");
      await inNs(router, ["ip", "addr", "add", `192.168.${i + 1}.1/24`, "dev", "in0"]);
      await inNs(router, ["ip", "link", "set", "in0", "up"]);
      await inNs(p.name, ["ip", "addr", "add", `192.168.${i + 1}.2/24`, "dev", "eth0"]);
      await inNs(p.name, ["ip", "link", "set", "eth0", "up"]);
      await inNs(p.name, ["ip", "route", "add", "default", "via", `192.168.${i + 1}.1`]);
      await inNs(router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const rules = [
        "table ip nat {",
        "  chain post { type nat hook postrouting priority 100; policy accept;",
        `    oifname "out0" masquerade${p.nat === "symmetric" ? " fully-random" : ""}`,
        "  }",
        ...(p.nat === "full-cone"
          ? [
            "  chain pre { type nat hook prerouting priority -100; policy accept;",
            `    iifname "out0" udp dport ${p.port ?? 4500} dnat to 192.168.${i + 1}.2:${p.port ?? 4500}`,
            "  }",
          ]
          : []),
        "}",
        "table inet fw {",
        "  chain input { type filter hook input priority 0; policy accept;",
        '    iifname "out0" ct state new drop',
        "  }",
        "}",
      ].join("\n");
      const file = await Deno.makeTempFile({ suffix: ".nft" });
      try {
        await Deno.writeTextFile(file, rules);
        await inNs(router, ["nft", "-f", file]);
      } finally {
        await Deno.remove(file).catch(() => {});
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const spawn = (name: string, argv: readonly string[]): Deno.ChildProcess => {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", name, ...argv],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    children.push(child);
    return child;
  };
  const index = (peer: string): number => {
    const i = peers.findIndex((p) => p.name === peer);
    if (i < 0) throw new Error(`no peer ${peer}`);
    return i;
  };
  return {
    ns,
    relayAddr: `10.${net}.0.1`,
    publicAddr: (peer) => `10.${net}.0.${index(peer) + 2}`,
    privateAddr: (peer) => `192.168.${index(peer) + 1}.2`,
    exec: (name, args) => sh(["ip", "netns", "exec", name, ...args]),
    rebind: async (peer) => {
      const router = `nat-${peer}`;
      index(peer);
      await inNs(router, ["nft", "flush", "chain", "ip", "nat", "post"]);
      const rule = ["nft", "add", "rule", "ip", "nat", "post", "oifname", "out0"];
      await inNs(router, [...rule, "meta", "l4proto", "udp", "masquerade", "to", ":20000-29999"]);
      await inNs(router, [...rule, "masquerade"]);
      await inNs(router, ["conntrack", "-D", "-p", "udp"]).catch(() => {}); // exits 1 when nothing matched
    },
    setNat: async (peer, nat) => {
      const router = `nat-${peer}`;
      index(peer);
      await inNs(router, ["nft", "flush", "chain", "ip", "nat", "post"]);
      const rule = ["nft", "add", "rule", "ip", "nat", "post", "oifname", "out0", "masquerade"];
      await inNs(router, nat === "symmetric" ? [...rule, "fully-random"] : rule);
      await inNs(router, ["conntrack", "-D", "-p", "udp"]).catch(() => {}); // exits 1 when nothing matched
    },
    spawn,
    spawnDeno: (name, script, args) =>
      spawn(name, [Deno.execPath(), "run", "-A", "--unstable-net", script, ...args]),
    close,
  };
}
