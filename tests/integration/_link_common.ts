// Private helper of the ghostlink namespace tests' peer scripts: TLS options from a dev PKI directory, and the
// rendezvous mode both scripts share (`rdv SEED IP PORT PKI`: prints "ready <key>" and serves until killed).
import { type LinkIdentity, linkIdentity, LinkNode } from "../../link/mod.ts";
import { fromHex, toHex } from "../../core/mod.ts";

/** The hex seed of test identity `n` (32 bytes of n), as the peer scripts take it. */
export const seedHex = (n: number): string => toHex(new Uint8Array(32).fill(n));

/** The hex public key of test identity `n`. */
export const keyHex = (n: number): string => toHex(linkIdentity(new Uint8Array(32).fill(n)).publicKey);

/** The NAT net most ghostlink tests build: a and b behind cone NATs, c behind a symmetric one. */
export const CONE_CONE_SYMMETRIC = [
  { name: "a", nat: "cone" },
  { name: "b", nat: "cone" },
  { name: "c", nat: "symmetric" },
] as const;

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
