// Private helper of netns_mesh_test.ts, run inside a namespace as root: `rdv SEED IP PORT PKI` runs the
// rendezvous; `member SEED PORT RDV_IP RDV_PORT RDV_KEY PKI MESH KEY1,KEY2,...` joins it, creates the TUN
// interface gl0 with its mesh address, and forwards packets to the other members; it prints "ready <address>".
import { linkIdentity, Mesh, Tun } from "../../link/mod.ts";
import { formatIp, fromHex } from "../../core/mod.ts";
import { maybeRendezvous, startMember } from "./_link_common.ts";

const LIBC = Deno.build.arch === "aarch64"
  ? "/lib/aarch64-linux-gnu/libc.so.6"
  : "/lib/x86_64-linux-gnu/libc.so.6";
const [, seed = "", ...rest] = Deno.args;
const identity = linkIdentity(fromHex(seed));
await maybeRendezvous(Deno.args);
const [, , , , , meshName = "", keys = ""] = rest;
const node = await startMember(identity, rest);
const tun = new Tun("gl0", LIBC);
const mesh = Mesh.start({
  node,
  tun,
  meshName,
  members: keys.split(",").map((k) => fromHex(k)),
  onEvent: (e, f) => console.error(e, JSON.stringify(f)),
});
const addr = formatIp(mesh.address);
// MTU 1280 (IPv6's minimum), the address and up, through the same ioctls `mod.ts link up` uses.
tun.configure({ address: mesh.address, prefixLength: 48, mtu: Number(Deno.env.get("MESH_MTU") ?? "1280") });
console.log(`ready ${addr}`);
await new Promise(() => {});
