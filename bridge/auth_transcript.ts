/**
 * The bytes each side signs during peer authentication (README "Authentication"), pure. Both transcripts bind
 * the signature to this connection as both ends can see it: the ALPN, the server name the client asked for, the
 * server's UDP port, the client's address (as the client states it and the server checks it against the packet
 * source), both nonces and both public keys. Deno's QUIC API exposes neither a TLS exporter nor the peer's
 * certificate, so these connection facts stand in for a TLS channel binding.
 *
 * @module
 */

import { ByteWriter } from "./_wire.ts";

/** Domain prefix of the client's proof (used until wallet/'s BRIDGE_CHALLENGE signing domain is available). */
export const CLIENT_PROOF_DOMAIN = "ghostbridge/1 challenge";

/** Domain prefix of the server's signature in the challenge. */
export const SERVER_PROOF_DOMAIN = "ghostbridge/1 server";

/** The connection facts both sides put into the transcript. */
export interface AuthBinding {
  /** The negotiated ALPN (`ghostbridge/1`). */
  readonly alpn: string;
  /** The TLS server name the client used (SNI). */
  readonly serverName: string;
  /** The server's UDP port. */
  readonly serverPort: number;
  /** The client's IP as stated in the proof (`0.0.0.0` / `::` when bound to a wildcard). */
  readonly clientHost: string;
  /** The client's UDP port. */
  readonly clientPort: number;
  /** The client's 32-byte nonce (AUTH hello). */
  readonly clientNonce: Uint8Array;
  /** The server's 32-byte nonce (AUTH challenge). */
  readonly serverNonce: Uint8Array;
  /** The client's Ed25519 public key. */
  readonly clientKey: Uint8Array;
  /** The server's Ed25519 public key. */
  readonly serverKey: Uint8Array;
}

/** The transcript under `domain`: `domain || 0x00 || alpn str8 || serverName str8 || serverPort u16 || ...`. */
export function authTranscript(domain: string, b: AuthBinding): Uint8Array {
  return new ByteWriter(256)
    .str(domain, 1, "domain").u8(0)
    .str(b.alpn, 1, "alpn")
    .str(b.serverName.toLowerCase(), 1, "server name")
    .u16(b.serverPort)
    .str(normalizeHost(b.clientHost), 1, "client host")
    .u16(b.clientPort)
    .bytes(b.clientNonce).bytes(b.serverNonce).bytes(b.clientKey).bytes(b.serverKey)
    .finish();
}

/** Lower-cases and strips an IPv4-mapped IPv6 prefix, so `::ffff:127.0.0.1` equals `127.0.0.1`. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h.startsWith("::ffff:") && h.includes(".") ? h.slice(7) : h;
}

/** True for `0.0.0.0` and `::` (a wildcard bind: the client does not know its own address). */
export function isUnspecifiedHost(host: string): boolean {
  const h = normalizeHost(host);
  return h === "0.0.0.0" || h === "::" || h === "";
}

/**
 * Whether the address the client states matches the packet source the server sees: the ports must be equal and
 * the hosts too unless the client is bound to a wildcard.
 */
export function clientAddressMatches(
  stated: { readonly host: string; readonly port: number },
  observed: { readonly host: string; readonly port: number },
): boolean {
  if (stated.port !== observed.port) return false;
  return isUnspecifiedHost(stated.host) || normalizeHost(stated.host) === normalizeHost(observed.host);
}
