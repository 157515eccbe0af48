/**
 * The `cns` service's descriptor: the DNS server. Its permissions are `net` for its listeners, upstreams and the
 * upstream bind wildcards (see {@linkcode cnsNetPermissions}), its mesh node and the chain's; nothing on disk;
 * `ffi` only with `udp_io = "ffi"`.
 * It asks the chain's devnet genesis to publish the DNSSEC trust anchors of its chain zones.
 *
 * @module
 */
import { permissionSet, type ServiceDescriptor } from "../core/mod.ts";
import { CNS_CONFIG, type CnsConfig, cnsNetPermissions } from "./config.ts";
import { dnsAnchors } from "./resolver/dnssec_anchors.ts";

/** The `cns` service. */
export const cnsService: ServiceDescriptor<CnsConfig> = {
  name: "cns",
  summary: "DNS server: UDP, TCP, DNS-over-QUIC (RFC 9250) and DNS-over-HTTPS (RFC 8484), cache, forwarding",
  config: CNS_CONFIG,
  entry: new URL("./worker.ts", import.meta.url),
  tls: "server",
  // The .ghost/.zns zones follow the chain through the bridge.
  mesh: { calls: ["chain"], listen: "127.0.0.1:4453", anchors: dnsAnchors },
  permissions: (config, ctx) => {
    const net = cnsNetPermissions(config);
    return permissionSet({
      net: net === true ? true : [...new Set([...net, ...ctx.meshNet])],
      // Batched UDP through libc is an option; only then does this worker (and no other) get FFI. Deno's pointer
      // operations need the unscoped permission, so it cannot be narrowed to libc's path.
      ffi: config.udpIo === "ffi" ? true : [],
    });
  },
};
