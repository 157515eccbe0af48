/**
 * `.eth` through ENS: an authoritative {@linkcode Resolver} that reads the ENS registry and the name's
 * resolver over Ethereum JSON-RPC (`eth_call`), with a bounded answer cache.
 *
 * Resolution (ENSIP-1, ENSIP-15): the DNS name is normalised with ENSIP-15, hashed with namehash, the registry's
 * `resolver(node)` gives the resolver contract (zero address: the name does not exist, NXDOMAIN), and the
 * resolver's `addr(node)` and `contenthash(node)` give the data. Mapping onto DNS (cns/README.md "ETH"):
 * - TXT: `eth=0x<40 hex>` for a non-zero address, `contenthash=0x<hex>` for a non-empty contenthash;
 * - every other type: NODATA (ENS holds no A/AAAA here); the apex `eth` answers its SOA;
 * - TTL: the registry's `ttl(node)` when set, else `ens_ttl_s`; negative answers carry the `eth.` SOA.
 * A resolver that does not implement a function (the call reverts) just has no such record. An unreachable or
 * failing RPC endpoint is a thrown error, which the server answers with SERVFAIL.
 *
 * @module
 */
import { type DnsQuestion, type DnsRecord, RCODE } from "../proto/message.ts";
import { normalizeName } from "../proto/name.ts";
import type { Resolver, ResolveRequest, ResolveResult } from "../resolver/resolver.ts";
import { namehash, normalizeEnsName } from "./ens_name.ts";
import { bytesToHex, decodeAddress, decodeBytes, decodeUint64, encodeCall, hexToBytes } from "./eth_abi.ts";

/** `eth_call(to, data)` at the latest block; resolves to the return data. */
export type EthCall = (to: Uint8Array, data: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>;

/** The called contract reverted (for a resolver: it does not implement the function). */
export class EthCallReverted extends Error {
  /** Builds the error with the node's message. */
  constructor(message: string) {
    super(`eth_call reverted: ${message}`);
    this.name = "EthCallReverted";
  }
}

/** The JSON-RPC endpoint failed (unreachable, timeout, HTTP error, malformed answer). */
export class EthRpcError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EthRpcError";
  }
}

/** Options of {@linkcode jsonRpcEthCall}. */
export interface JsonRpcOptions {
  /** Per-call timeout. Default 2,000 ms. */
  readonly timeoutMs?: number;
  /** Largest response body read. Default 256 KiB. */
  readonly maxResponseBytes?: number;
}

async function readBounded(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw new EthRpcError(`JSON-RPC response exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

/** An {@linkcode EthCall} over an Ethereum JSON-RPC HTTP endpoint (Deno adapter: `fetch`). */
export function jsonRpcEthCall(url: string, opts: JsonRpcOptions = {}): EthCall {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const max = opts.maxResponseBytes ?? 256 * 1024;
  let id = 0;
  return async (to, data, signal) => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: ++id,
      method: "eth_call",
      params: [{ to: bytesToHex(to), data: bytesToHex(data) }, "latest"],
    });
    const timeout = AbortSignal.timeout(timeoutMs);
    let text: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new EthRpcError(`JSON-RPC endpoint answered HTTP ${res.status}`);
      }
      text = await readBounded(res, max);
    } catch (error) {
      if (error instanceof EthRpcError) throw error;
      throw new EthRpcError(
        timeout.aborted
          ? `JSON-RPC endpoint did not answer within ${timeoutMs} ms`
          : `JSON-RPC endpoint unreachable: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (error) {
      throw new EthRpcError("JSON-RPC response is not JSON", { cause: error });
    }
    if (typeof msg !== "object" || msg === null) throw new EthRpcError("JSON-RPC response is not an object");
    const m = msg as { result?: unknown; error?: { message?: unknown; code?: unknown } };
    if (m.error !== undefined) {
      const text = typeof m.error?.message === "string" ? m.error.message.slice(0, 200) : "error";
      if (/revert/i.test(text)) throw new EthCallReverted(text);
      throw new EthRpcError(`JSON-RPC error: ${text}`);
    }
    try {
      return hexToBytes(m.result, max);
    } catch (error) {
      throw new EthRpcError(error instanceof Error ? error.message : String(error));
    }
  };
}

/** The ENS registry's address on Ethereum mainnet (and most testnets). */
export const ENS_MAINNET_REGISTRY = "0x00000000000C2E074eC69A0bFb2997BA6C7d2e1e";

/** Options of {@linkcode EnsResolver}. */
export interface EnsResolverOptions {
  /** `eth_call` transport. */
  readonly call: EthCall;
  /** The ENS registry address (20 bytes). */
  readonly registry: Uint8Array;
  /** TTL when the registry sets none, seconds. */
  readonly ttlS: number;
  /** Cached answers at most. Default 10,000. */
  readonly cacheMaxEntries?: number;
  /** Clock (ms). */
  readonly now?: () => number;
}

const MAX_CONTENTHASH = 1024;

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** `.eth` names from ENS (see the module doc). */
export class EnsResolver implements Resolver {
  /** Always `"ens"`. */
  readonly name = "ens";
  readonly #opts: EnsResolverOptions;
  readonly #cache = new Map<string, { result: ResolveResult; expires: number }>();
  readonly #now: () => number;

  /** Builds the resolver. */
  constructor(opts: EnsResolverOptions) {
    if (opts.registry.length !== 20) throw new RangeError("Cannot use ENS registry: address is not 20 bytes");
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** True for `eth` and names under it. */
  owns(qname: string): boolean {
    return qname === "eth" || qname.endsWith(".eth");
  }

  /** Answers from ENS (cached for the answer's TTL). */
  async resolve(request: ResolveRequest): Promise<ResolveResult> {
    const q = request.question;
    const key = `${normalizeName(q.name)}|${q.type.toUpperCase()}`;
    const hit = this.#cache.get(key);
    if (hit && hit.expires > this.#now()) return hit.result;
    const result = await this.#lookup(q, request.signal);
    const ttl = Math.min(
      ...[...result.answers, ...result.authorities].map((r) => r.ttl ?? 0),
      this.#opts.ttlS,
    );
    if (ttl > 0) {
      this.#cache.delete(key);
      this.#cache.set(key, { result, expires: this.#now() + ttl * 1000 });
      const max = this.#opts.cacheMaxEntries ?? 10_000;
      while (this.#cache.size > max) {
        const oldest = this.#cache.keys().next().value;
        if (oldest === undefined) break;
        this.#cache.delete(oldest);
      }
    }
    return result;
  }

  async #lookup(q: DnsQuestion, signal?: AbortSignal): Promise<ResolveResult> {
    const qtype = q.type.toUpperCase();
    const dnsName = normalizeName(q.name);
    if (dnsName === "eth") {
      return qtype === "SOA" ? this.#result(RCODE.NOERROR, [this.#soa()], []) : this.#negative(RCODE.NOERROR);
    }
    let ensName: string;
    try {
      ensName = normalizeEnsName(q.name.replace(/\.$/, ""));
    } catch {
      // Not a valid ENS name: it cannot exist.
      return this.#negative(RCODE.NXDOMAIN);
    }
    const node = namehash(ensName);
    const call = this.#opts.call;
    const resolver = decodeAddress(
      await call(this.#opts.registry, encodeCall("resolver(bytes32)", node), signal),
    );
    if (isZero(resolver)) return this.#negative(RCODE.NXDOMAIN);
    const registryTtl = decodeUint64(
      await call(this.#opts.registry, encodeCall("ttl(bytes32)", node), signal),
    );
    const ttl = registryTtl > 0n ? Number(registryTtl > 86_400n ? 86_400n : registryTtl) : this.#opts.ttlS;
    if (qtype !== "TXT" && qtype !== "ANY") return this.#negative(RCODE.NOERROR);
    const optional = async (fn: () => Promise<Uint8Array>): Promise<Uint8Array | undefined> => {
      try {
        return await fn();
      } catch (error) {
        if (error instanceof EthCallReverted) return undefined;
        throw error;
      }
    };
    const addrData = await optional(() => call(resolver, encodeCall("addr(bytes32)", node), signal));
    const chData = await optional(() => call(resolver, encodeCall("contenthash(bytes32)", node), signal));
    const answers: DnsRecord[] = [];
    const owner = q.name.replace(/\.$/, "");
    if (addrData !== undefined && addrData.length > 0) {
      const addr = decodeAddress(addrData);
      if (!isZero(addr)) {
        answers.push({ name: owner, type: "TXT", class: "IN", ttl, data: `eth=${bytesToHex(addr)}` });
      }
    }
    if (chData !== undefined && chData.length > 0) {
      const ch = decodeBytes(chData, MAX_CONTENTHASH);
      if (ch.length > 0) {
        answers.push({ name: owner, type: "TXT", class: "IN", ttl, data: `contenthash=${bytesToHex(ch)}` });
      }
    }
    return answers.length > 0 ? this.#result(RCODE.NOERROR, answers, []) : this.#negative(RCODE.NOERROR);
  }

  #soa(): DnsRecord {
    const ttl = this.#opts.ttlS;
    return {
      name: "eth",
      type: "SOA",
      class: "IN",
      ttl,
      data: {
        mname: "ns.eth",
        rname: "hostmaster.eth",
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: ttl,
      },
    };
  }

  #negative(rcode: number): ResolveResult {
    return this.#result(rcode, [], [this.#soa()]);
  }

  #result(rcode: number, answers: DnsRecord[], authorities: DnsRecord[]): ResolveResult {
    return { rcode, answers, authorities, additionals: [], authoritative: true, source: "zone" };
  }
}
