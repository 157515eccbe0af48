/**
 * Deno adapter: the forwarder's {@linkcode UpstreamTransport} over real sockets. Each UDP query binds a fresh
 * socket on port 0, so the OS picks a random ephemeral source port per query (RFC 5452 §4.5), and only
 * datagrams from the upstream's exact address and port are even considered. TCP is a fresh connection per
 * query with a 2-byte length prefix (RFC 1035 §4.2.2).
 *
 * Permissions: `net` for each upstream `host:port`, and for the wildcard bind address of its family
 * (`0.0.0.0` or `[::]`, any port) so the per-query sockets can bind.
 *
 * @module
 */

import { encodeLengthPrefixed } from "../../transport/mod.ts";
import type { UpstreamTarget, UpstreamTransport } from "../resolver/forwarder.ts";
import { parseIp } from "../proto/ip_prefix.ts";

function sameAddress(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]);
}

function bindFor(target: UpstreamTarget): string {
  return (parseIp(target.hostname)?.length ?? 4) === 16 ? "::" : "0.0.0.0";
}

/** Runs `work` against a deadline; on timeout calls `onTimeout` (which must make `work` settle) and returns undefined. */
async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      onTimeout();
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    if (timedOut) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
  }
}

/** Upstream exchanges over Deno sockets. */
export class DenoUpstreamTransport implements UpstreamTransport {
  /** One UDP exchange from a fresh random port. */
  async udp(
    target: UpstreamTarget,
    query: Uint8Array,
    options: { readonly timeoutMs: number; readonly accept: (bytes: Uint8Array) => boolean },
  ): Promise<Uint8Array | undefined> {
    const sock = Deno.listenDatagram({ transport: "udp", hostname: bindFor(target), port: 0 });
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      try {
        sock.close();
      } catch {
        // already closed
      }
    };
    try {
      await sock.send(query, { transport: "udp", hostname: target.hostname, port: target.port });
      const receive = async (): Promise<Uint8Array | undefined> => {
        const buf = new Uint8Array(65_535);
        while (true) {
          const [data, from] = await sock.receive(buf);
          // Off-path answers from any other address or port are ignored, as are mismatched ones.
          if (
            from.transport !== "udp" || from.port !== target.port ||
            !sameAddress(from.hostname, target.hostname)
          ) {
            continue;
          }
          const copy = data.slice();
          if (options.accept(copy)) return copy;
        }
      };
      return await withDeadline(receive(), options.timeoutMs, close);
    } finally {
      close();
    }
  }

  /** One TCP exchange on a fresh connection. */
  async tcp(
    target: UpstreamTarget,
    query: Uint8Array,
    options: { readonly timeoutMs: number },
  ): Promise<Uint8Array | undefined> {
    let conn: Deno.TcpConn | undefined;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      try {
        conn?.close();
      } catch {
        // already closed
      }
    };
    const work = async (): Promise<Uint8Array | undefined> => {
      conn = await Deno.connect({ transport: "tcp", hostname: target.hostname, port: target.port });
      if (closed) {
        conn.close();
        return undefined;
      }
      const framed = encodeLengthPrefixed(query, 2);
      let off = 0;
      while (off < framed.length) off += await conn.write(framed.subarray(off));
      const head = await readExactly(conn, 2);
      if (!head) return undefined;
      const len = ((head[0] ?? 0) << 8) | (head[1] ?? 0);
      return await readExactly(conn, len);
    };
    try {
      return await withDeadline(work(), options.timeoutMs, close);
    } finally {
      close();
    }
  }
}

async function readExactly(conn: Deno.TcpConn, n: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) return undefined;
    off += got;
  }
  return out;
}
