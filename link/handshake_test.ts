import assert from "node:assert/strict";
import fc from "fast-check";
import { HandshakeError, initiate, linkIdentity, respond } from "./handshake.ts";
import { LinkSession, REPLAY_WINDOW, SEAL_OVERHEAD } from "./session.ts";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const alice = linkIdentity(seed(1));
const bob = linkIdentity(seed(2));
const mallory = linkIdentity(seed(3));
const te = new TextEncoder();

function pair() {
  const i = initiate(alice, bob.publicKey);
  const r = respond(bob, i.init);
  const { fin, session: si } = i.onResponse(r.resp);
  const sr = r.onFinish(fin);
  return { si, sr, r };
}

Deno.test("handshake: both sides get one pair of keys and know who the other is", () => {
  const { si, sr, r } = pair();
  assert.deepEqual(r.peer, alice.publicKey);
  assert.deepEqual(si.peer, bob.publicKey);
  assert.deepEqual(sr.peer, alice.publicKey);
  const p = si.seal(te.encode("ping"));
  assert.equal(p.length, 4 + SEAL_OVERHEAD);
  assert.deepEqual(sr.open(p), te.encode("ping"));
  assert.deepEqual(si.open(sr.seal(te.encode("pong"))), te.encode("pong"));
  // Each direction has its own key: a packet cannot be reflected back to its sender.
  assert.equal(si.open(si.seal(te.encode("echo"))), "forged");
});

Deno.test("handshake: the same ephemerals give the same keys; new ones give unrelated keys", () => {
  const run = (ei: Uint8Array, er: Uint8Array) => {
    const i = initiate(alice, bob.publicKey, ei);
    const r = respond(bob, i.init, er);
    const { fin, session } = i.onResponse(r.resp);
    return { si: session, sr: r.onFinish(fin) };
  };
  const a = run(seed(7), seed(8)), b = run(seed(7), seed(8)), c = run(seed(7), seed(9));
  const packet = a.si.seal(te.encode("x"));
  assert.deepEqual(b.sr.open(packet), te.encode("x"));
  assert.equal(c.sr.open(packet), "forged");
});

Deno.test("handshake: a responder that is not the expected peer is refused", () => {
  const i = initiate(alice, bob.publicKey);
  const r = respond(mallory, i.init);
  assert.throws(() => i.onResponse(r.resp), /not the expected peer/);
});

Deno.test("handshake: a man in the middle who changes INIT or RESP is caught by the signatures", () => {
  // Mallory swaps the initiator's ephemeral key for her own: Bob signs her INIT, which Alice never sent.
  const i = initiate(alice, bob.publicKey);
  const forgedInit = i.init.slice();
  forgedInit.set(linkIdentity(seed(9)).publicKey, 33);
  const r = respond(bob, forgedInit);
  assert.throws(() => i.onResponse(r.resp), /Bad RESP signature/);
  // She claims to be Alice in INIT: she cannot make FIN under Alice's key.
  const claim = i.init.slice();
  const r2 = respond(bob, claim);
  const fake = initiate(mallory, bob.publicKey);
  const r3 = respond(bob, fake.init);
  const { fin: malloryFin } = fake.onResponse(r3.resp);
  assert.throws(() => r2.onFinish(malloryFin), /Bad FIN signature/);
});

Deno.test("handshake: bad lengths and versions are clear errors", () => {
  const i = initiate(alice);
  assert.throws(() => respond(bob, i.init.subarray(1)), HandshakeError);
  const v2 = i.init.slice();
  v2[0] = 2;
  assert.throws(() => respond(bob, v2), /Unsupported handshake version 2/);
  const r = respond(bob, i.init);
  assert.throws(() => i.onResponse(r.resp.subarray(0, 100)), /Bad RESP/);
  assert.throws(() => r.onFinish(new Uint8Array(63)), /Bad FIN/);
  const bad = r.resp.slice();
  bad[70] = (bad[70] ?? 0) ^ 1;
  assert.throws(() => i.onResponse(bad), /Bad RESP signature/);
});

Deno.test("session: replays, forgeries and packets older than the window are refused", () => {
  const { si, sr } = pair();
  const first = si.seal(te.encode("1"));
  assert.deepEqual(sr.open(first), te.encode("1"));
  assert.equal(sr.open(first), "replayed");
  const tampered = si.seal(te.encode("2"));
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  assert.equal(sr.open(tampered), "forged");
  assert.equal(sr.open(new Uint8Array(10)), "short");
  // A forged packet with a huge counter does not move the window.
  const huge = si.seal(te.encode("h"));
  new DataView(huge.buffer).setBigUint64(0, 1n << 50n);
  assert.equal(sr.open(huge), "forged");
  const old = si.seal(te.encode("old"));
  for (let n = 0; n < REPLAY_WINDOW + 5; n++) sr.open(si.seal(te.encode("n")));
  assert.equal(sr.open(old), "too_old");
});

Deno.test("session property: any order with duplicates inside the window, each packet is accepted once", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      fc.integer(),
      (n, dupIdx, shuffleSeed) => {
        const { si, sr } = pair();
        const packets = Array.from({ length: n }, (_, k) => si.seal(Uint8Array.of(k & 0xff, k >> 8)));
        const sends = [...packets, ...dupIdx.map((d) => packets[d % n] as Uint8Array)];
        // Deterministic shuffle from the seed.
        let s = shuffleSeed >>> 0;
        for (let k = sends.length - 1; k > 0; k--) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const j = s % (k + 1);
          [sends[k], sends[j]] = [sends[j] as Uint8Array, sends[k] as Uint8Array];
        }
        const got = new Set<number>();
        for (const p of sends) {
          const r = sr.open(p);
          if (typeof r === "string") {
            assert.equal(r, "replayed");
            continue;
          }
          const k = (r[0] ?? 0) | ((r[1] ?? 0) << 8);
          assert.ok(!got.has(k), `packet ${k} accepted twice`);
          got.add(k);
        }
        assert.equal(got.size, n);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("session property: a sealed packet is the counter and RFC 8439 ChaCha20-Poly1305 (checked against @noble/ciphers)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 1500 }),
      fc.nat(5),
      (key, plain, skip) => {
        const s = new LinkSession(key, key, new Uint8Array(32));
        for (let i = 0; i < skip; i++) s.seal(new Uint8Array(1));
        const packet = s.seal(plain);
        const nonce = new Uint8Array(12);
        new DataView(nonce.buffer).setBigUint64(4, BigInt(skip));
        assert.deepEqual(packet.subarray(0, 8), nonce.subarray(4));
        assert.deepEqual(packet.subarray(8), chacha20poly1305(key, nonce).encrypt(plain));
        const r = new LinkSession(key, key, new Uint8Array(32));
        assert.deepEqual(r.open(packet), plain);
      },
    ),
    { numRuns: 200 },
  );
});
