import assert from "node:assert/strict";
import {
  authTranscript,
  CLIENT_PROOF_DOMAIN,
  clientAddressMatches,
  SERVER_PROOF_DOMAIN,
} from "./auth_transcript.ts";
import { generateIdentity, identityFromSeed, verifyEd25519 } from "./node_identity.ts";

const binding = {
  alpn: "ghostbridge/1",
  serverName: "localhost",
  serverPort: 4450,
  clientHost: "127.0.0.1",
  clientPort: 50000,
  clientNonce: new Uint8Array(32).fill(1),
  serverNonce: new Uint8Array(32).fill(2),
  clientKey: new Uint8Array(32).fill(3),
  serverKey: new Uint8Array(32).fill(4),
};

Deno.test("authTranscript() separates domains and binds every field", () => {
  const a = authTranscript(CLIENT_PROOF_DOMAIN, binding);
  assert.notDeepEqual(a, authTranscript(SERVER_PROOF_DOMAIN, binding));
  assert.notDeepEqual(a, authTranscript(CLIENT_PROOF_DOMAIN, { ...binding, clientPort: 50001 }));
  assert.notDeepEqual(
    a,
    authTranscript(CLIENT_PROOF_DOMAIN, { ...binding, serverNonce: new Uint8Array(32) }),
  );
  assert.deepEqual(a, authTranscript(CLIENT_PROOF_DOMAIN, { ...binding, clientHost: "::ffff:127.0.0.1" }));
  assert.equal(new TextDecoder().decode(a.subarray(1, 1 + CLIENT_PROOF_DOMAIN.length)), CLIENT_PROOF_DOMAIN);
});

Deno.test("clientAddressMatches() needs equal ports and equal hosts unless wildcard", () => {
  assert.equal(clientAddressMatches({ host: "0.0.0.0", port: 5 }, { host: "10.0.0.1", port: 5 }), true);
  assert.equal(clientAddressMatches({ host: "::", port: 5 }, { host: "::1", port: 6 }), false);
  assert.equal(
    clientAddressMatches({ host: "127.0.0.1", port: 5 }, { host: "::ffff:127.0.0.1", port: 5 }),
    true,
  );
  assert.equal(clientAddressMatches({ host: "127.0.0.2", port: 5 }, { host: "127.0.0.1", port: 5 }), false);
});

Deno.test("identityFromSeed() matches RFC 8032 test 1 and verifies its own signatures", async () => {
  // RFC 8032 §7.1 TEST 1: secret key 9d61b1..., public key d75a98...
  const seed = Uint8Array.from(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60".match(/../g) ?? [],
    (h) => parseInt(h, 16),
  );
  const id = await identityFromSeed(seed);
  assert.equal(
    Array.from(id.publicKey, (b) => b.toString(16).padStart(2, "0")).join(""),
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  );
  const sig = await id.sign(new Uint8Array(0));
  assert.equal(await verifyEd25519(id.publicKey, new Uint8Array(0), sig), true);
  const other = await generateIdentity();
  assert.equal(await verifyEd25519(other.publicKey, new Uint8Array(0), sig), false);
  assert.equal(await verifyEd25519(new Uint8Array(3), new Uint8Array(0), sig), false);
});
