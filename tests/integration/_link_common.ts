// Private helper of the ghostlink namespace tests' peer scripts: TLS options from a dev PKI directory, and the
// rendezvous mode both scripts share (`rdv SEED IP PORT PKI`: prints "ready <key>" and serves until killed).
import { type LinkIdentity, linkIdentity, LinkNode } from "../../link/mod.ts";
import { fromHex, toHex } from "../../core/mod.ts";

/** TLS options of a node from a dev PKI directory. */
export function pkiOptions(
  dir: string,
): { cert: string; key: string; caCerts: string[]; serverName: string } {
  return {
    cert: Deno.readTextFileSync(`${dir}/cert.pem`),
    key: Deno.readTextFileSync(`${dir}/key.pem`),
    caCerts: [Deno.readTextFileSync(`${dir}/ca.pem`)],
    serverName: "localhost",
  };
}

/** Runs the rendezvous when the arguments ask for it (never returns then). */
export async function maybeRendezvous(args: readonly string[]): Promise<void> {
  const [mode = "", seed = "", ip = "", port = "", dir = ""] = args;
  if (mode !== "rdv") return;
  const identity = linkIdentity(fromHex(seed));
  // Dial-backs (AutoNAT) come from the next port: an address the members never sent to.
  await LinkNode.start({
    identity,
    hostname: ip,
    port: Number(port),
    dialBackPort: Number(port) + 1,
    ...pkiOptions(dir),
  });
  console.log(`ready ${toHex(identity.publicKey)}`);
  await new Promise(() => {});
}

/** Starts a member node from `PORT RDV_IP RDV_PORT RDV_KEY PKI ...` (the arguments after mode and seed). */
export function startMember(identity: LinkIdentity, args: readonly string[]): Promise<LinkNode> {
  const [port = "", rdvIp = "", rdvPort = "", rdvKey = "", dir = ""] = args;
  return LinkNode.start({
    identity,
    hostname: "0.0.0.0",
    port: Number(port),
    ...pkiOptions(dir),
    rendezvous: { hostname: rdvIp, port: Number(rdvPort), publicKey: fromHex(rdvKey) },
  });
}
