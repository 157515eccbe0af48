// A local network of validator processes for the BFT fault tests: each validator is `mod.ts chain run` in its own
// process (so a test can SIGKILL it), with its own data dir, key and port, all on one genesis
// (chain/local_validators.ts). Transfers are submitted and state read over ghostchain-sync/1.
import { connectQuic, ensureDevPki } from "../../transport/mod.ts";
import {
  CHAIN_SYNC_ALPN,
  ChainSyncClient,
  decodeBlockResponse,
  localValidatorNames,
  prepareLocalValidators,
  protoToJson,
  signTransaction,
} from "../../chain/mod.ts";
import { addressFromPublicKey, ed25519PublicKey, parsePublicKey } from "../../crypto/mod.ts";
import { PbWriter } from "../../chain/_pb.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** The command line of one validator process (`mod.ts chain run`), as the fault tests and the bench start it. */
export function validatorArgs(
  opts: {
    dir: string;
    listen: string;
    pki: string;
    peers: readonly string[];
    blockIntervalMs: number;
    extra?: string[];
  },
): string[] {
  return [
    "run",
    "-A",
    "--unstable-net",
    "--unstable-kv",
    "--no-check",
    MOD,
    "chain",
    "run",
    "--data-dir",
    opts.dir,
    "--listen",
    opts.listen,
    "--pki",
    opts.pki,
    "--block-interval-ms",
    String(opts.blockIntervalMs),
    ...(opts.extra ?? []),
    ...opts.peers.flatMap((p) => ["--peer", p]),
  ];
}

/** One validator process. */
export interface ValidatorProc {
  readonly index: number;
  readonly dir: string;
  readonly port: number;
  /** Highest height it printed as committed (printed only after the atomic commit). */
  committed: number;
  child: Deno.ChildProcess | undefined;
  exited: Promise<Deno.CommandStatus> | undefined;
  stderr: string[];
}

/** A network of N validators on consecutive ports. */
export class BftNet {
  readonly root: string;
  readonly n: number;
  readonly basePort: number;
  readonly validators: ValidatorProc[];
  caPem = "";
  /** The address validator `from` dials to reach validator `to` (a fault relay can stand between them). */
  peerAddr: (from: number, to: number) => string = (_from, to) => `127.0.0.1:${this.basePort + to}`;
  #nonce = 0n;
  #dev: Uint8Array = new Uint8Array(0);

  private constructor(root: string, n: number, basePort: number) {
    this.root = root;
    this.n = n;
    this.basePort = basePort;
    this.validators = localValidatorNames(n).map((name, index) => ({
      index,
      dir: `${root}/${name}`,
      port: basePort + index,
      committed: -1,
      child: undefined,
      exited: undefined,
      stderr: [],
    }));
  }

  /** Makes keys, genesis and PKI; starts every validator. */
  static async start(
    n: number,
    opts: { readonly peerAddr?: (net: BftNet, from: number, to: number) => string } = {},
  ): Promise<BftNet> {
    const root = await Deno.makeTempDir({ prefix: "bft-" });
    const net = new BftNet(root, n, 21000 + Math.floor(Math.random() * 20000));
    const peerAddr = opts.peerAddr;
    if (peerAddr !== undefined) net.peerAddr = (from, to) => peerAddr(net, from, to);
    await prepareLocalValidators({ dataDir: root, n, now: Date.now() });
    net.caPem = (await ensureDevPki({ dir: `${root}/pki` })).caPem;
    net.#dev = hex((await Deno.readTextFile(`${root}/chain/dev.key`)).trim());
    for (const v of net.validators) net.spawn(v.index);
    return net;
  }

  /** Starts (or restarts) validator `i`. */
  spawn(i: number): void {
    const v = this.validators[i];
    if (v === undefined) throw new RangeError(`no validator ${i}`);
    const child = new Deno.Command(Deno.execPath(), {
      args: validatorArgs({
        dir: v.dir,
        listen: `127.0.0.1:${v.port}`,
        pki: `${this.root}/pki`,
        peers: this.validators.filter((p) => p.index !== i).map((p) => this.peerAddr(i, p.index)),
        blockIntervalMs: 50,
        extra: ["--empty-block-interval-ms", "200", "--print-commits"],
      }),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    v.child = child;
    v.exited = child.status;
    const lines = async (stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) => {
      let buf = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      }
    };
    lines(child.stdout, (l) => {
      const m = /^committed height (\d+)$/.exec(l);
      if (m) v.committed = Math.max(v.committed, Number(m[1]));
    }).catch(() => {});
    lines(child.stderr, (l) => {
      v.stderr.push(l);
      if (v.stderr.length > 200) v.stderr.shift();
    }).catch(() => {});
  }

  /** SIGKILLs validator `i` and waits for it to be gone. */
  async kill(i: number): Promise<void> {
    const v = this.validators[i];
    if (v?.child === undefined) return;
    try {
      v.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await v.exited;
    v.child = undefined;
  }

  /** Waits until `cond()` holds (polling), or throws naming `what` with each validator's recent log. */
  async until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const logs = this.validators.map((v) =>
      `--- validator ${v.index} (committed ${v.committed})\n${v.stderr.slice(-8).join("\n")}`
    );
    throw new Error(`timed out waiting for ${what}\n${logs.join("\n")}`);
  }

  /** Runs `fn` with a sync client to validator `i`. */
  async client<T>(i: number, fn: (c: ChainSyncClient) => Promise<T>): Promise<T> {
    const conn = await connectQuic(
      { hostname: "127.0.0.1", port: this.basePort + i, serverName: "localhost", alpn: CHAIN_SYNC_ALPN },
      { caCerts: [this.caPem] },
    );
    try {
      return await fn(new ChainSyncClient(conn));
    } finally {
      conn.close();
    }
  }

  /** The block hash at `height` on validator `i` (hex). */
  blockHash(i: number, height: number): Promise<string> {
    return this.client(i, async (c) => {
      const req = new PbWriter().uint64(1, BigInt(height)).finish().slice();
      const { hash } = decodeBlockResponse(await c.call("GetBlock", req));
      return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
    });
  }

  /** The dev account's address. */
  get devAddress(): string {
    return addressFromPublicKey(parsePublicKey("ed25519", ed25519PublicKey(this.#dev)));
  }

  /** The dev account's committed nonce, read from validator `i`. */
  nonce(i: number): Promise<bigint> {
    return this.client(i, async (c) => {
      const acct = protoToJson(
        "GetAccountResponse",
        await c.call("GetAccount", new PbWriter().string(1, this.devAddress).finish().slice()),
      );
      return BigInt(typeof acct.nonce === "string" ? acct.nonce : 0);
    });
  }

  /** Forgets the nonces this client assumed (after a crash the mempool's transactions may be gone). */
  resetNonce(): void {
    this.#nonce = 0n;
  }

  /** Submits `count` transfers from the dev account to validator `i` (next nonces). */
  async submit(i: number, count: number): Promise<void> {
    await this.client(i, async (c) => {
      if (this.#nonce === 0n) this.#nonce = await this.nonce(i);
      for (let k = 0; k < count; k++) {
        const tx = signTransaction({
          chainId: "ghostchain-devnet",
          nonce: this.#nonce,
          fee: 10n,
          sender: ed25519PublicKey(this.#dev),
          body: { kind: "transfer", to: hex("11".repeat(20)), amount: 1n },
        }, this.#dev);
        await c.call("SubmitTransaction", new PbWriter().bytes(1, tx.bytes).finish().slice());
        this.#nonce++;
      }
    });
  }

  /** Stops every validator and removes the data. */
  async close(): Promise<void> {
    for (const v of this.validators) await this.kill(v.index);
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
