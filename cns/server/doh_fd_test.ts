// DoH out of file descriptors: its accept loop fails, it says so, keeps UDP answering, and serves again by itself.
import assert from "node:assert/strict";
import { fromHex } from "../../core/mod.ts";
import { collectLines } from "../../tests/_lines.ts";

/** A DNS query for a.test/A as RFC 8484 base64url, and as raw bytes for UDP. */
const QUERY = fromHex("abcd01000001000000000000" + "0161" + "0474657374" + "00" + "0001" + "0001");
const B64 = btoa(String.fromCharCode(...QUERY)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

Deno.test({
  name: "DoH out of file descriptors restarts its listener while UDP keeps answering, and serves again",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const script = new URL("./_testdata/doh_server.ts", import.meta.url).pathname;
    const child = new Deno.Command("bash", {
      args: ["-c", `ulimit -n 128 && exec "${Deno.execPath()}" run -A ${script}`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const ports = { udp: Promise.withResolvers<number>(), doh: Promise.withResolvers<number>() };
    void collectLines(child.stdout, lines, (line) => {
      const m = /^(UDP|DOH) (\d+)$/.exec(line);
      if (m?.[1] === "UDP") ports.udp.resolve(Number(m[2]));
      if (m?.[1] === "DOH") ports.doh.resolve(Number(m[2]));
    });
    const stderr = (async () => {
      let t = "";
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) t += c;
      return t;
    })();
    const udpPort = await ports.udp.promise;
    const dohPort = await ports.doh.promise;
    const udpAnswers = async (): Promise<boolean> => {
      const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      try {
        await sock.send(QUERY, { hostname: "127.0.0.1", port: udpPort, transport: "udp" });
        const t = setTimeout(() => sock.close(), 2_000);
        const [reply] = await sock.receive();
        clearTimeout(t);
        return reply.length > 12 && reply[0] === 0xab;
      } catch {
        return false;
      } finally {
        try {
          sock.close();
        } catch { /* closed */ }
      }
    };
    const idle: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        try {
          idle.push(await Deno.connect({ hostname: "127.0.0.1", port: dohPort }));
        } catch {
          break; // the listener is restarting
        }
      }
      const deadline = Date.now() + 5_000;
      while (!lines.some((l) => l.startsWith("EVENT doh accept failing")) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(lines.some((l) => l.startsWith("EVENT doh accept failing")), lines.join("\n"));
      assert.ok(await udpAnswers(), "UDP answers while DoH is out of descriptors");
      for (const c of idle.splice(0)) c.close();
      let ok = false;
      for (let i = 0; i < 60 && !ok; i++) {
        const out = await new Deno.Command("curl", {
          args: [
            "-sk",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            `https://127.0.0.1:${dohPort}/dns-query?dns=${B64}`,
          ],
          stdout: "piped",
        }).output();
        ok = new TextDecoder().decode(out.stdout) === "200";
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, `DoH never answered again:\n${lines.join("\n")}`);
      assert.ok(lines.some((l) => l.startsWith("EVENT doh accepting again")), lines.join("\n"));
    } finally {
      for (const c of idle) c.close();
      await child.stdin.close();
      const st = await child.status;
      const err = await stderr;
      assert.equal(st.code, 0, err.slice(-2000));
    }
  },
});
