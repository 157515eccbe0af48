// Private helper of netns_punch_test.ts, run inside a namespace: `rdv <ip> <port> <pkiDir>` introduces the first
// two peers that connect (each gets the other's address as the rendezvous saw it); `peer <name> <port> <rdvIp>
// <rdvPort> <pkiDir>` connects to it from one QUIC endpoint that also listens, then dials the other peer while
// accepting from it (a simultaneous open), and prints one JSON line: whether a direct link came up, and how.
const [role = "", a1 = "", a2 = "", a3 = "", a4 = "", a5 = ""] = Deno.args;
const alpn = ["ghostlink-punch-test"];

if (role === "rdv") {
  const pki = { cert: Deno.readTextFileSync(`${a3}/cert.pem`), key: Deno.readTextFileSync(`${a3}/key.pem`) };
  const ep = new Deno.QuicEndpoint({ hostname: a1, port: Number(a2) });
  const listener = ep.listen({ ...pki, alpnProtocols: alpn });
  console.log("ready");
  const peers: { conn: Deno.QuicConn; addr: string }[] = [];
  while (peers.length < 2) {
    const conn = await (await listener.incoming()).accept();
    const r = conn.remoteAddr as Deno.NetAddr;
    peers.push({ conn, addr: `${r.hostname}:${r.port}` });
  }
  for (const [i, p] of peers.entries()) {
    const w = (await p.conn.createUnidirectionalStream()).getWriter();
    await w.write(new TextEncoder().encode(peers[1 - i]?.addr ?? ""));
    await w.close();
  }
  await new Promise((r) => setTimeout(r, 10_000));
  Deno.exit(0);
}

const [name, port, rdvIp, rdvPort, pkiDir] = [a1, Number(a2), a3, Number(a4), a5];
const pki = {
  cert: Deno.readTextFileSync(`${pkiDir}/cert.pem`),
  key: Deno.readTextFileSync(`${pkiDir}/key.pem`),
};
const ca = Deno.readTextFileSync(`${pkiDir}/ca.pem`);
const ep = new Deno.QuicEndpoint({ hostname: "0.0.0.0", port });
const listener = ep.listen({ ...pki, alpnProtocols: alpn });
const dial = (hostname: string, p: number) =>
  Deno.connectQuic({
    endpoint: ep,
    hostname,
    port: p,
    alpnProtocols: alpn,
    caCerts: [ca],
    serverName: "localhost",
  });
const rdv = await dial(rdvIp, rdvPort);
const { value: stream } = await rdv.incomingUnidirectionalStreams.getReader().read();
let other = "";
for await (const c of (stream as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream())) other += c;
const host = other.slice(0, other.lastIndexOf(":"));
const otherPort = Number(other.slice(other.lastIndexOf(":") + 1));
const t0 = performance.now();
const accepted = (async () => ({ conn: await (await listener.incoming()).accept(), how: "accepted" }))();
const dialed = (async () => ({ conn: await dial(host, otherPort), how: "dialed" }))().catch(() =>
  new Promise<never>(() => {})
);
const won = await Promise.race([
  accepted,
  dialed,
  new Promise<undefined>((r) => setTimeout(() => r(undefined), 6000)),
]);
const remote = won?.conn.remoteAddr as Deno.NetAddr | undefined;
console.log(JSON.stringify({
  name,
  other,
  direct: won !== undefined,
  how: won?.how ?? "",
  ms: Math.round(performance.now() - t0),
  remote: remote ? `${remote.hostname}:${remote.port}` : "",
}));
Deno.exit(0);
