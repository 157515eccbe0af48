/**
 * ghostlink: peer-to-peer links between nodes named by their Ed25519 keys: the session handshake (SIGMA over
 * X25519 + Ed25519, end-to-end keys even through a relay), packet protection with a replay window, peer ids,
 * DHT keys and distances, mesh IPv6 addresses, fragmentation of IP packets into QUIC datagrams, the control
 * frames, and `LinkNode` (identify, rendezvous, hole punching by simultaneous open). See README.md for what
 * exists and what comes next.
 *
 * @example
 * ```ts
 * import { initiate, linkIdentity, respond } from "./mod.ts";
 *
 * const alice = linkIdentity(new Uint8Array(32).fill(1));
 * const bob = linkIdentity(new Uint8Array(32).fill(2));
 * const i = initiate(alice, bob.publicKey);
 * const r = respond(bob, i.init);
 * const { fin, session } = i.onResponse(r.resp);
 * const bobSession = r.onFinish(fin);
 * console.log(new TextDecoder().decode(bobSession.open(session.seal(new TextEncoder().encode("hi"))) as Uint8Array)); // hi
 * ```
 *
 * @module
 */
export * from "./handshake.ts";
export * from "./session.ts";
export * from "./peer.ts";
export * from "./fragment.ts";
export * from "./wire.ts";
export * from "./node.ts";
export * from "./tun.ts";
export * from "./mesh.ts";
