// Private test helpers: an in-memory dev PKI and a server on loopback random ports.
import { createDevCa, createDevLeaf } from "../transport/mod.ts";
import { type CnsConfig, parseCnsConfig } from "./config.ts";
import { type CnsServer, type CnsServerOptions, startCnsServer } from "./server/cns_server.ts";

/** A CA and a leaf for localhost / 127.0.0.1 / ::1, made in memory. */
export async function testPki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const now = new Date();
  const ca = await createDevCa({ now, days: 2 });
  const leaf = await createDevLeaf({
    caPem: ca.certPem,
    caKey: ca.key,
    names: ["localhost", "127.0.0.1", "::1"],
    now,
    days: 2,
  });
  return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

/** Config for loopback random ports; `raw` overrides [cns] keys. */
export function loopbackConfig(raw: Record<string, unknown> = {}): CnsConfig {
  return parseCnsConfig({
    listen: ["127.0.0.1:0"],
    doq_listen: "127.0.0.1:0",
    doh_listen: "127.0.0.1:0",
    rrl_responses_per_second: 0,
    ...raw,
  });
}

/** Starts a server; the endpoint ports by name. */
export async function startTestServer(
  options: Omit<CnsServerOptions, "config"> & { config?: CnsConfig },
): Promise<CnsServer & { port: (name: string) => number }> {
  const server = await startCnsServer({ config: options.config ?? loopbackConfig(), ...options });
  return {
    ...server,
    port: (name: string) => {
      const e = server.endpoints.find((x) => x.name === name);
      if (!e) throw new Error(`no ${name} endpoint`);
      return e.port;
    },
  };
}
