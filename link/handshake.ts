/**
 * The ghostlink session handshake, sans-IO: two peers named by their Ed25519 keys agree on session keys that
 * only they hold, over any channel (a direct QUIC link, or a relay that forwards the bytes). Deno's QUIC API
 * exposes neither the peer's certificate nor a TLS exporter, so TLS cannot tell who is at the other end; this
 * handshake does, and its keys make a relayed link end-to-end (the relay sees ciphertext only).
 *
 * A SIGMA-style exchange: each side brings an X25519 ephemeral key and signs the transcript with its Ed25519
 * identity key.
 *
 * ```
 * INIT  (initiator -> responder): version, initiator identity key, initiator ephemeral key
 * RESP  (responder -> initiator): responder identity key, responder ephemeral key,
 *                                 sig_R(DOMAIN || "resp" || H(INIT || RESP-without-signature))
 * FIN   (initiator -> responder): sig_I(DOMAIN || "fin" || H(INIT || RESP))
 * keys = HKDF-SHA256(X25519(e_i, e_r), salt = H(INIT || RESP), info = DOMAIN || "keys") -> i->r key, r->i key
 * ```
 *
 * Each side checks the other's signature before it uses the keys; the initiator also checks that the
 * responder is the peer it meant to reach. Fresh ephemerals give forward secrecy; a replayed INIT or RESP
 * meets a new ephemeral and yields keys nobody holds.
 *
 * @module
 */

import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "../core/mod.ts";
import { LinkSession } from "./session.ts";

/** Handshake version in INIT. */
export const HANDSHAKE_VERSION = 1;
const DOMAIN = new TextEncoder().encode("ghostlink/1 handshake ");
const enc = new TextEncoder();

/** Bytes of each message. */
export const INIT_BYTES = 1 + 32 + 32;
export const RESP_BYTES = 32 + 32 + 64;
export const FIN_BYTES = 64;

/** A handshake failure (bad length, version, signature or peer). */
export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
}

/** An identity: the Ed25519 secret key (32-byte seed) and its public key. */
export interface LinkIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The identity of a 32-byte Ed25519 seed. */
export function linkIdentity(secretKey: Uint8Array): LinkIdentity {
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

function sign(id: LinkIdentity, label: string, transcript: Uint8Array): Uint8Array {
  return ed25519.sign(concatBytes(DOMAIN, enc.encode(label), sha256(transcript)), id.secretKey);
}

function verify(publicKey: Uint8Array, label: string, transcript: Uint8Array, sig: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, concatBytes(DOMAIN, enc.encode(label), sha256(transcript)), publicKey);
  } catch {
    return false;
  }
}

function sessionOf(
  shared: Uint8Array,
  transcript: Uint8Array,
  initiator: boolean,
  peer: Uint8Array,
): LinkSession {
  if (shared.every((b) => b === 0)) throw new HandshakeError("Cannot agree on keys: low-order ephemeral key");
  const okm = hkdf(sha256, shared, sha256(transcript), concatBytes(DOMAIN, enc.encode("keys")), 64);
  const i2r = okm.slice(0, 32), r2i = okm.slice(32, 64);
  return new LinkSession(initiator ? i2r : r2i, initiator ? r2i : i2r, peer);
}

/** The initiator's state between INIT and RESP. */
export interface Initiator {
  /** INIT, to send. */
  readonly init: Uint8Array;
  /**
   * Takes RESP: checks the responder's signature (and, when given, that it is `expectedPeer`), returns FIN to
   * send and the session.
   */
  onResponse(resp: Uint8Array): { fin: Uint8Array; session: LinkSession };
}

/** Starts a handshake as the initiator; `expectedPeer` is the identity key the other side must prove. */
export function initiate(id: LinkIdentity, expectedPeer?: Uint8Array, ephemeral?: Uint8Array): Initiator {
  const eSecret = ephemeral ?? x25519.utils.randomSecretKey();
  const init = concatBytes(Uint8Array.of(HANDSHAKE_VERSION), id.publicKey, x25519.getPublicKey(eSecret));
  return {
    init,
    onResponse(resp) {
      if (resp.length !== RESP_BYTES) {
        throw new HandshakeError(`Bad RESP: ${resp.length} bytes, want ${RESP_BYTES}`);
      }
      const peer = resp.slice(0, 32), peerEph = resp.slice(32, 64), sig = resp.slice(64);
      if (expectedPeer !== undefined && !equal(peer, expectedPeer)) {
        throw new HandshakeError("The responder is not the expected peer");
      }
      const body = concatBytes(init, resp.subarray(0, 64));
      if (!verify(peer, "resp", body, sig)) throw new HandshakeError("Bad RESP signature");
      const transcript = concatBytes(init, resp);
      const fin = sign(id, "fin", transcript);
      return { fin, session: sessionOf(x25519.getSharedSecret(eSecret, peerEph), transcript, true, peer) };
    },
  };
}

/** The responder's state between RESP and FIN. */
export interface Responder {
  /** The initiator's identity key (from INIT; proven only by FIN). */
  readonly peer: Uint8Array;
  /** RESP, to send. */
  readonly resp: Uint8Array;
  /** Takes FIN: checks the initiator's signature and returns the session. */
  onFinish(fin: Uint8Array): LinkSession;
}

/** Answers INIT as the responder. */
export function respond(id: LinkIdentity, init: Uint8Array, ephemeral?: Uint8Array): Responder {
  if (init.length !== INIT_BYTES) {
    throw new HandshakeError(`Bad INIT: ${init.length} bytes, want ${INIT_BYTES}`);
  }
  if (init[0] !== HANDSHAKE_VERSION) throw new HandshakeError(`Unsupported handshake version ${init[0]}`);
  const peer = init.slice(1, 33), peerEph = init.slice(33, 65);
  const eSecret = ephemeral ?? x25519.utils.randomSecretKey();
  const head = concatBytes(id.publicKey, x25519.getPublicKey(eSecret));
  const resp = concatBytes(head, sign(id, "resp", concatBytes(init, head)));
  const transcript = concatBytes(init, resp);
  return {
    peer,
    resp,
    onFinish(fin) {
      if (fin.length !== FIN_BYTES) {
        throw new HandshakeError(`Bad FIN: ${fin.length} bytes, want ${FIN_BYTES}`);
      }
      if (!verify(peer, "fin", transcript, fin)) throw new HandshakeError("Bad FIN signature");
      return sessionOf(x25519.getSharedSecret(eSecret, peerEph), transcript, false, peer);
    },
  };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
