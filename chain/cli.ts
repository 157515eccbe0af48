/**
 * `mod.ts chain ...`: a node runner and queries against a running node.
 *
 * Queries speak `ghostchain-sync/1` over QUIC to the node's sync listener (the bridge's gRPC will serve the
 * same BlockchainService later). Subcommands:
 * ```
 * chain status                       head, state root, genesis hash, mempool size
 * chain block <height|latest|hash>   a block as JSON (decoded with the embedded schema)
 * chain tx <hash>                    a transaction with its receipt
 * chain account <ghost1...>          balance and nonce (with a state proof check)
 * chain resolve <name>               a name with its state proof check
 * chain send --key-file F --to ghost1... --amount N [--fee N]   sign and submit a transfer
 * chain run [--data-dir D] [--listen H:P] [--follow H:P]... [--pki DIR] [--block-interval-ms N]
 *           [--print-commits]        run a node in this process (devnet without the supervisor)
 * ```
 * Query flags: `--peer H:P` (default 127.0.0.1:4460), `--ca FILE` (default data/pki/ca.pem),
 * `--server-name NAME` (default localhost). Output is JSON on stdout; errors go to stderr with exit code 1.
 *
 * @module
 */

import { connectQuic, ensureDevPki } from "../transport/mod.ts";
import { addressFromPublicKey, ed25519PublicKey, parseAddress, parsePublicKey } from "../crypto/mod.ts";
import { DEFAULT_CHAIN_CONFIG, formatChainHostPort, parseChainConfig, parseChainHostPort } from "./config.ts";
import { runChainNode } from "./deno_node.ts";
import { ChainError } from "./errors.ts";
import { fromHex, PbReader, PbWriter, toHex, utf8 } from "./_pb.ts";
import { protoToJson } from "./proto.ts";
import { decodeStateProof, verifyStateProof } from "./sparse_merkle_tree.ts";
import { accountKey, nameKey } from "./state.ts";
import { CHAIN_SYNC_ALPN, ChainSyncClient } from "./sync.ts";
import { signTransaction } from "./transaction.ts";

const USAGE = `usage: chain <status|block|tx|account|resolve|send|run> [args] [--peer host:port] [--ca file]`;

interface Flags {
  readonly positional: string[];
  readonly values: Map<string, string[]>;
  readonly switches: Set<string>;
}

const SWITCHES = new Set(["print-commits", "follower", "help"]);

function parseFlags(args: string[]): Flags {
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split("=", 2) as [string, string | undefined];
    if (SWITCHES.has(name)) {
      switches.add(name);
      continue;
    }
    const v = inline ?? args[++i];
    if (v === undefined) throw new TypeError(`Missing value for --${name}`);
    values.set(name, [...(values.get(name) ?? []), v]);
  }
  return { positional, values, switches };
}

function one(f: Flags, name: string, def: string): string {
  return f.values.get(name)?.at(-1) ?? def;
}

function print(v: unknown): void {
  console.log(
    JSON.stringify(
      v,
      (_, x) => (typeof x === "bigint" ? x.toString() : x instanceof Uint8Array ? toHex(x) : x),
      2,
    ),
  );
}

async function withClient<T>(f: Flags, fn: (c: ChainSyncClient) => Promise<T>): Promise<T> {
  const peer = parseChainHostPort(one(f, "peer", "127.0.0.1:4460"), "--peer");
  const ca = await Deno.readTextFile(one(f, "ca", "data/pki/ca.pem"));
  const conn = await connectQuic(
    {
      hostname: peer.hostname,
      port: peer.port,
      serverName: one(f, "server-name", "localhost"),
      alpn: CHAIN_SYNC_ALPN,
    },
    { caCerts: [ca], limits: { maxMessageBytes: 2 << 20 } },
  );
  try {
    return await fn(new ChainSyncClient(conn));
  } finally {
    conn.close();
  }
}

function u64(field: number, v: bigint | number): Uint8Array {
  return new PbWriter().uint64(field, BigInt(v)).finish().slice();
}

async function runNode(f: Flags): Promise<number> {
  const dataDir = one(f, "data-dir", "data/chain");
  await Deno.mkdir(dataDir, { recursive: true });
  const pki = await ensureDevPki({ dir: one(f, "pki", "data/pki") });
  const follow = f.values.get("follow") ?? [];
  const config = parseChainConfig({
    listen: one(f, "listen", formatChainHostPort(DEFAULT_CHAIN_CONFIG.listen)),
    role: f.switches.has("follower") || follow.length > 0 ? "follower" : "validator",
    peers: follow,
    blockIntervalMs: Number(one(f, "block-interval-ms", String(DEFAULT_CHAIN_CONFIG.blockIntervalMs))),
    genesisFile: one(f, "genesis", ""),
  });
  const printCommits = f.switches.has("print-commits");
  const running = await runChainNode(config, {
    dataDir,
    tls: pki,
    log: (level, message, fields) => {
      if (level !== "debug") console.error(JSON.stringify({ level, message, ...fields }));
    },
    // Printed only after the block's atomic KV commit resolved.
    ...(printCommits ? { onCommit: (h: number) => console.log(`committed height ${h}`) } : {}),
  });
  console.error(`chain node listening on ${formatChainHostPort(running.addr)} (ALPN ${CHAIN_SYNC_ALPN})`);
  const done = Promise.withResolvers<void>();
  const stop = () => done.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await done.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await running.close();
  return 0;
}

/** Runs `chain ...`; returns the exit code. */
export async function chainCli(args: string[]): Promise<number> {
  let f: Flags;
  try {
    f = parseFlags(args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
  const [cmd, arg] = f.positional;
  try {
    switch (cmd) {
      case "run":
        return await runNode(f);
      case "status":
        await withClient(f, async (c) => {
          const s = await c.status();
          print({
            chainId: s.chainId,
            height: s.height,
            headHash: s.headHash,
            stateRoot: s.stateRoot,
            genesisHash: s.genesisHash,
            mempoolSize: s.mempoolSize,
            headTimeMs: s.headTimeMs,
            validator: s.validator,
          });
        });
        return 0;
      case "block": {
        if (arg === undefined) throw new TypeError("usage: chain block <height|latest|hash>");
        const req = arg === "latest"
          ? new PbWriter().bool(3, true).finish().slice()
          : /^[0-9a-f]{64}$/.test(arg)
          ? new PbWriter().bytes(2, fromHex(arg)).finish().slice()
          : /^\d+$/.test(arg)
          ? u64(1, BigInt(arg))
          : (() => {
            throw new TypeError(`Invalid block ${JSON.stringify(arg)}: a height, "latest" or a 64-hex hash`);
          })();
        await withClient(
          f,
          async (c) => print(protoToJson("GetBlockResponse", await c.call("GetBlock", req))),
        );
        return 0;
      }
      case "tx": {
        if (arg === undefined || !/^[0-9a-f]{64}$/.test(arg)) {
          throw new TypeError("usage: chain tx <64-hex hash>");
        }
        await withClient(f, async (c) => {
          const resp = protoToJson(
            "GetTransactionResponse",
            await c.call("GetTransaction", new PbWriter().bytes(1, fromHex(arg)).finish().slice()),
          );
          const txHex = typeof resp.transaction === "string" ? resp.transaction : "";
          const signed = protoToJson("SignedTransaction", fromHex(txHex));
          const body = typeof signed.body === "string"
            ? protoToJson("Transaction", fromHex(signed.body))
            : {};
          print({ ...resp, decoded: body });
        });
        return 0;
      }
      case "account": {
        if (arg === undefined) throw new TypeError("usage: chain account <ghost1...>");
        await withClient(f, async (c) => {
          const bytes = await c.call("GetAccount", new PbWriter().string(1, arg).finish().slice());
          const j = protoToJson("GetAccountResponse", bytes);
          const { value, proof, root } = extractProof(bytes, 6, 7, 5);
          const ok = verifyStateProof(
            root,
            utf8(accountKey(parseAddress(arg).payload)),
            value.length ? value : null,
            proof,
          );
          print({ ...j, proofVerified: ok });
        });
        return 0;
      }
      case "resolve": {
        if (arg === undefined) throw new TypeError("usage: chain resolve <name.ghost>");
        await withClient(f, async (c) => {
          const bytes = await c.call("ResolveName", new PbWriter().string(1, arg).finish().slice());
          const j = protoToJson("ResolveNameResponse", bytes);
          const { value, proof, root } = extractProof(bytes, 6, 7, 8);
          print({
            ...j,
            proofVerified: verifyStateProof(root, utf8(nameKey(arg)), value.length ? value : null, proof),
          });
        });
        return 0;
      }
      case "send": {
        const keyText = (await Deno.readTextFile(one(f, "key-file", "data/chain/dev.key"))).trim();
        const secret = fromHex(keyText, "key file");
        const to = parseAddress(one(f, "to", "")).payload;
        const amount = BigInt(one(f, "amount", "0"));
        const fee = BigInt(one(f, "fee", "1"));
        await withClient(f, async (c) => {
          const s = await c.status();
          const pub = ed25519PublicKey(secret);
          const from = addressFromPublicKey(parsePublicKey("ed25519", pub));
          const acct = protoToJson(
            "GetAccountResponse",
            await c.call("GetAccount", new PbWriter().string(1, from).finish().slice()),
          );
          const nonce = BigInt(typeof acct.nonce === "string" ? acct.nonce : 0);
          const tx = signTransaction({
            chainId: s.chainId,
            nonce,
            fee,
            sender: pub,
            body: { kind: "transfer", to, amount },
          }, secret);
          await c.call("SubmitTransaction", new PbWriter().bytes(1, tx.bytes).finish().slice());
          print({ txHash: tx.hash, from, nonce });
        });
        return 0;
      }
      default:
        console.error(USAGE);
        return cmd === undefined || f.switches.has("help") ? 0 : 2;
    }
  } catch (e) {
    if (e instanceof ChainError) console.error(`error: ${e.status} ${e.reason}: ${e.message}`);
    else console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

function extractProof(bytes: Uint8Array, valueField: number, proofField: number, rootField: number) {
  let value = new Uint8Array(0), proofBytes = new Uint8Array(0), root = new Uint8Array(0);
  const r = new PbReader(bytes, "response");
  while (r.next()) {
    if (r.field === valueField) value = r.bytes(1 << 16).slice();
    else if (r.field === proofField) proofBytes = r.message(1 << 16).slice();
    else if (r.field === rootField) root = r.bytes(64).slice();
    else r.skip();
  }
  return { value, proof: decodeStateProof(proofBytes), root };
}

if (import.meta.main) Deno.exit(await chainCli(Deno.args));
