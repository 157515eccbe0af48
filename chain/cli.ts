/**
 * `mod.ts chain <sub>`: queries against a running node, a transfer signed with a key file, and a node runner.
 *
 * Queries speak `ghostchain-sync/1` over QUIC to the node's sync listener. Every subcommand has its own
 * `--help`; `--json` prints the machine form (the same field names as the BlockchainService's JSON) instead of
 * the readable one. Defaults follow the effective configuration (`ghost.toml`, `GHOST_*`), so the node is found
 * where `mod.ts chain` or `mod.ts up` put it.
 *
 * Exit codes: 0 success; 1 a failure (node unreachable, name not found, rejected transaction); 2 a usage mistake.
 *
 * @module
 */

import { connectQuic, ensureDevPki } from "../transport/mod.ts";
import {
  addressFromPayload,
  addressFromPublicKey,
  ed25519PublicKey,
  parseAddress,
  parsePublicKey,
} from "../crypto/mod.ts";
import {
  type CommandSpec,
  formatHelp,
  formatIp,
  type OptionSpec,
  parseCommand,
  type ParsedCommand,
  type ToolContext,
  UsageError,
} from "../core/mod.ts";
import { DEFAULT_CHAIN_CONFIG, formatChainHostPort, parseChainConfig, parseChainHostPort } from "./config.ts";
import { runChainNode } from "./deno_node.ts";
import { ChainError } from "./errors.ts";
import { bytesEqual, fromHex, PbReader, PbWriter, toHex, utf8 } from "./_pb.ts";
import { protoToJson } from "./proto.ts";
import { decodeStateProof, verifyStateProof } from "./sparse_merkle_tree.ts";
import { accountKey, decodeNameEntry, nameKey } from "./state.ts";
import { CHAIN_SYNC_ALPN, ChainSyncClient } from "./sync.ts";
import { signTransaction, type TxBody } from "./transaction.ts";

/** Settings when run without the supervisor's config (tests, `deno run chain/cli.ts`). */
const NO_SETTINGS: ToolContext = { setting: () => undefined };

function queryOptions(ctx: ToolContext): OptionSpec[] {
  const dataDir = ctx.setting("GHOST_DATA_DIR") ?? "data";
  const ca = ctx.setting("GHOST_TLS_CA_FILE") || `${dataDir}/pki/ca.pem`;
  return [
    {
      name: "peer",
      value: "HOST:PORT",
      default: ctx.setting("GHOST_CHAIN_LISTEN") ?? formatChainHostPort(DEFAULT_CHAIN_CONFIG.listen),
      help: "the node's sync listener (config chain.listen)",
    },
    {
      name: "ca",
      value: "FILE",
      default: ca,
      help: "CA certificate the node's TLS certificate is checked against",
    },
    {
      name: "server-name",
      value: "NAME",
      default: ctx.setting("GHOST_CHAIN_PEER_SERVER_NAME") ?? DEFAULT_CHAIN_CONFIG.peerServerName,
      help: "TLS name of the node",
    },
    { name: "json", help: "print JSON instead of text" },
  ];
}

/** Every subcommand's spec, from the effective settings (their defaults come from the config). */
export function chainCommands(ctx: ToolContext = NO_SETTINGS): Record<string, CommandSpec> {
  const q = queryOptions(ctx);
  const dataDir = ctx.setting("GHOST_DATA_DIR") ?? "data";
  return {
    status: {
      usage: "mod.ts chain status [options]",
      summary: "Shows the node's chain id, height, head block, state root, genesis hash and mempool size.",
      options: q,
      examples: ["mod.ts chain status", "mod.ts chain status --peer 127.0.0.1:4470 --json"],
    },
    block: {
      usage: "mod.ts chain block HEIGHT|latest|HASH [options]",
      summary: "Shows a block: its header, hash and transactions.",
      args: [1, 1],
      argHelp: [["HEIGHT|latest|HASH", "a height, latest, or a block hash (64 hex)"]],
      options: q,
      examples: ["mod.ts chain block latest", "mod.ts chain block 12 --json"],
    },
    tx: {
      usage: "mod.ts chain tx HASH [options]",
      summary: "Shows a transaction, decoded, with its block and receipt (or that it is still pending).",
      args: [1, 1],
      argHelp: [["HASH", "the transaction hash (64 hex), as send and the wallet print it"]],
      options: q,
      examples: ["mod.ts chain tx 3f1c...e9 --json"],
    },
    account: {
      usage: "mod.ts chain account ADDRESS [options]",
      summary: "Shows an account's balance and nonce, checked against the state root with its Merkle proof.",
      args: [1, 1],
      argHelp: [["ADDRESS", "a ghost1... address"]],
      options: q,
      examples: ["mod.ts chain account ghost1..."],
    },
    resolve: {
      usage: "mod.ts chain resolve NAME [options]",
      summary:
        "Shows a .ghost or .zns name: owner, expiry and records (AAAA and A as addresses, TXT as text),\n" +
        "checked against the state root with its Merkle proof. Exits 1 when the name is not registered.",
      args: [1, 1],
      argHelp: [["NAME", "a name such as dev.ghost"]],
      options: q,
      examples: ["mod.ts chain resolve dev.ghost", "mod.ts chain resolve alice.ghost --json"],
    },
    send: {
      usage: "mod.ts chain send --to ADDRESS --amount N [options]",
      summary:
        "Signs a transfer with an Ed25519 key file (64 hex characters) and submits it to the node. Amounts\n" +
        "and fees are in the chain's smallest unit. The wallet's `send` is the usual way; this is the node's own.",
      options: [
        { name: "to", value: "ADDRESS", help: "the receiving ghost1... address (required)" },
        { name: "amount", value: "N", help: "amount in the smallest unit (required)" },
        { name: "fee", value: "N", default: "1", help: "fee in the smallest unit" },
        {
          name: "key-file",
          value: "FILE",
          default: `${dataDir}/chain/dev.key`,
          help: "the sender's key (hex seed)",
        },
        ...q,
      ],
      examples: ["mod.ts chain send --to ghost1... --amount 5"],
    },
    "validator-update": {
      usage: "mod.ts chain validator-update --validator HEX --power N [options]",
      summary:
        "Signs a validator_update with the validator admin's key file and submits it: the validator (an Ed25519\n" +
        "public key, 64 hex) gets that power from the height after next; power 0 removes it. Only the genesis's\n" +
        "params.validatorAdmin may send it (a devnet's dev key). Add the new validator to every peer list.",
      options: [
        { name: "validator", value: "HEX", help: "the validator's public key, 64 hex characters (required)" },
        { name: "power", value: "N", help: "its voting power; 0 removes it (required)" },
        { name: "fee", value: "N", default: "1", help: "fee in the smallest unit" },
        {
          name: "key-file",
          value: "FILE",
          default: `${dataDir}/chain/dev.key`,
          help: "the validator admin's key (hex seed)",
        },
        ...q,
      ],
      examples: ["mod.ts chain validator-update --validator 3f2a... --power 1"],
    },
    run: {
      usage: "mod.ts chain run [options]",
      summary:
        "Runs a node in this process, without the supervisor (for tests and experiments; `mod.ts chain`\n" +
        "runs it as a service). Ctrl-C stops it.",
      options: [
        {
          name: "data-dir",
          value: "DIR",
          default: `${dataDir}/chain`,
          help: "KV store, genesis and node key",
        },
        {
          name: "listen",
          value: "HOST:PORT",
          default: formatChainHostPort(DEFAULT_CHAIN_CONFIG.listen),
          help: "sync listener",
        },
        {
          name: "follow",
          value: "HOST:PORT",
          repeat: true,
          help: "follow this node (makes this one a follower)",
        },
        { name: "follower", help: "run as a follower" },
        {
          name: "peer",
          value: "HOST:PORT",
          repeat: true,
          help: "a consensus peer: another validator's listener (validators)",
        },
        {
          name: "pki",
          value: "DIR",
          default: `${dataDir}/pki`,
          help: "dev PKI directory (made when missing)",
        },
        { name: "genesis", value: "FILE", help: "genesis file (default <data-dir>/genesis.json)" },
        {
          name: "block-interval-ms",
          value: "N",
          default: String(DEFAULT_CHAIN_CONFIG.blockIntervalMs),
          help: "time after a commit before the next height starts",
        },
        {
          name: "empty-block-interval-ms",
          value: "N",
          default: String(DEFAULT_CHAIN_CONFIG.emptyBlockIntervalMs),
          help: "with no transactions, time between empty blocks",
        },
        { name: "print-commits", help: "print each committed height on stdout" },
      ],
      examples: ["mod.ts chain run --data-dir /tmp/c --listen 127.0.0.1:4480"],
    },
  };
}

function chainUsage(specs: Record<string, CommandSpec>): string {
  const w = Math.max(...Object.keys(specs).map((k) => k.length));
  const lines = Object.entries(specs).map(([k, s]) => `  ${k.padEnd(w)}  ${s.summary.split("\n")[0]}`);
  return `Usage: mod.ts chain <subcommand> [args] [options]
       mod.ts chain [global options]      run the chain service (see "mod.ts help" for global options)

The GhostChain node's own tool. Subcommands:
${lines.join("\n")}

"mod.ts chain <subcommand> --help" shows a subcommand's arguments and options.

Examples:
  mod.ts chain status
  mod.ts chain resolve dev.ghost`;
}

/** Prints JSON: bigints as strings, bytes as hex. */
function printJson(v: unknown): void {
  console.log(
    JSON.stringify(
      v,
      (_, x) => (typeof x === "bigint" ? x.toString() : x instanceof Uint8Array ? toHex(x) : x),
      2,
    ),
  );
}

async function withClient<T>(p: ParsedCommand, fn: (c: ChainSyncClient) => Promise<T>): Promise<T> {
  const peerText = p.value("peer") ?? "";
  const peer = parseChainHostPort(peerText, "--peer");
  const caPath = p.value("ca") ?? "";
  let ca: string;
  try {
    ca = await Deno.readTextFile(caPath);
  } catch (e) {
    throw new UnreachableError(
      `Cannot read the CA certificate ${caPath} (${e instanceof Error ? e.name : e}); ` +
        "start the devnet with ./deno task start, or pass --ca FILE",
    );
  }
  let conn;
  try {
    conn = await connectQuic(
      {
        hostname: peer.hostname,
        port: peer.port,
        serverName: p.value("server-name") ?? "localhost",
        alpn: CHAIN_SYNC_ALPN,
      },
      { caCerts: [ca], limits: { maxMessageBytes: 2 << 20 } },
    );
  } catch (e) {
    throw new UnreachableError(
      `Cannot reach the chain node at ${peerText} (${e instanceof Error ? e.message : e}); ` +
        "start it with ./deno task start (or mod.ts chain), or pass --peer HOST:PORT",
    );
  }
  try {
    return await fn(new ChainSyncClient(conn));
  } finally {
    conn.close();
  }
}

/** The node could not be reached: say what was tried and what to do. */
class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnreachableError";
  }
}

function u64(field: number, v: bigint | number): Uint8Array {
  return new PbWriter().uint64(field, BigInt(v)).finish().slice();
}

async function runNode(p: ParsedCommand): Promise<number> {
  const dataDir = p.value("data-dir") ?? "data/chain";
  await Deno.mkdir(dataDir, { recursive: true });
  const pki = await ensureDevPki({ dir: p.value("pki") ?? "data/pki" });
  const follow = p.values("follow");
  const config = parseChainConfig({
    listen: p.value("listen") ?? formatChainHostPort(DEFAULT_CHAIN_CONFIG.listen),
    role: p.has("follower") || follow.length > 0 ? "follower" : "validator",
    peers: follow.length > 0 ? [...follow] : [...p.values("peer")],
    blockIntervalMs: Number(p.value("block-interval-ms") ?? DEFAULT_CHAIN_CONFIG.blockIntervalMs),
    emptyBlockIntervalMs: Number(
      p.value("empty-block-interval-ms") ?? DEFAULT_CHAIN_CONFIG.emptyBlockIntervalMs,
    ),
    genesisFile: p.value("genesis") ?? "",
  });
  const printCommits = p.has("print-commits");
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

function blockRequest(arg: string): Uint8Array {
  if (arg === "latest") return new PbWriter().bool(3, true).finish().slice();
  if (/^[0-9a-f]{64}$/i.test(arg)) {
    return new PbWriter().bytes(2, fromHex(arg.toLowerCase())).finish().slice();
  }
  if (/^\d{1,15}$/.test(arg)) return u64(1, BigInt(arg));
  throw new UsageError(
    `Invalid block ${JSON.stringify(arg.slice(0, 80))}: a height, latest, or a 64-hex hash`,
  );
}

/** A name's records as lines of text: addresses as addresses, TXT as text. */
function recordLines(records: ReturnType<typeof decodeNameEntry>["records"]): string[] {
  return [
    ...records.aaaa.map((b) => `AAAA   ${formatIp(b)}`),
    ...records.a.map((b) => `A      ${formatIp(b)}`),
    ...records.txt.map((t) => `TXT    ${JSON.stringify(t)}`),
    ...(records.cname !== "" ? [`CNAME  ${records.cname}`] : []),
    ...records.mx.map((m) => `MX     ${m.preference} ${m.exchange}`),
    ...records.srv.map((s) => `SRV    ${s.priority} ${s.weight} ${s.port} ${s.target}`),
  ];
}

async function run(cmd: string, p: ParsedCommand): Promise<number> {
  const json = p.has("json");
  const arg = p.positional[0] ?? "";
  switch (cmd) {
    case "run":
      return await runNode(p);
    case "status":
      return await withClient(p, async (c) => {
        const s = await c.status();
        const doc = {
          chainId: s.chainId,
          height: s.height,
          headHash: s.headHash,
          stateRoot: s.stateRoot,
          genesisHash: s.genesisHash,
          mempoolSize: s.mempoolSize,
          headTimeMs: s.headTimeMs,
          validator: s.validator,
          consensus: s.step === "" ? null : {
            height: s.consensusHeight,
            round: s.round,
            step: s.step,
            lockedRound: s.lockedRound,
            evidence: s.evidenceCount,
          },
          validators: s.validators.map((v) => ({
            publicKey: v.publicKey,
            power: v.power.toString(),
            lastVote: v.voteType === 0 ? null : {
              type: v.voteType === 1 ? "prevote" : "precommit",
              round: v.voteRound,
              blockHash: v.voteHash.length === 0 ? "nil" : toHex(v.voteHash),
            },
          })),
          peers: s.peers.map((p) => ({
            addr: p.addr,
            connected: p.connected,
            height: p.height,
            nodeKey: p.nodeKey,
          })),
        };
        if (json) printJson(doc);
        else {
          console.log(`chain ${s.chainId}  height ${s.height}  head ${toHex(s.headHash)}`);
          console.log(`state root ${toHex(s.stateRoot)}  genesis ${toHex(s.genesisHash)}`);
          console.log(`block time ${new Date(Number(s.headTimeMs)).toISOString()}  mempool ${s.mempoolSize}`);
          if (s.validator.length > 0) console.log(`validator ${toHex(s.validator)}`);
          if (s.step !== "") {
            console.log(
              `consensus height ${s.consensusHeight}  round ${s.round}  step ${s.step}  locked ${
                s.lockedRound < 0 ? "no" : `round ${s.lockedRound}`
              }  evidence ${s.evidenceCount}`,
            );
          }
          if (s.validators.length > 0) {
            console.log(`validators (${s.validators.length}):`);
            for (const v of s.validators) {
              const vote = v.voteType === 0
                ? "no vote yet"
                : `${v.voteType === 1 ? "prevote" : "precommit"} r${v.voteRound} ${
                  v.voteHash.length === 0 ? "nil" : toHex(v.voteHash).slice(0, 16)
                }`;
              const me = bytesEqual(v.publicKey, s.validator) ? " (this node)" : "";
              console.log(`  ${toHex(v.publicKey)}  power ${v.power}  last vote: ${vote}${me}`);
            }
          }
          for (const p of s.peers) {
            console.log(`peer ${p.addr}  ${p.connected ? "connected" : "unreachable"}  height ${p.height}`);
          }
        }
        return 0;
      });
    case "block":
      return await withClient(p, async (c) => {
        const resp = protoToJson("GetBlockResponse", await c.call("GetBlock", blockRequest(arg)));
        const block = typeof resp.block === "string" ? protoToJson("Block", fromHex(resp.block)) : {};
        const doc = { ...resp, decoded: block };
        if (json) printJson(doc);
        else {
          const header = (block.header ?? {}) as Record<string, unknown>;
          const txs = Array.isArray(block.transactions) ? block.transactions.length : 0;
          console.log(`block ${resp.height ?? 0}  hash ${String(resp.blockHash ?? "")}`);
          console.log(`parent ${String(header.parentHash ?? "")}  time ${String(header.timeMs ?? "")}`);
          console.log(`proposer ${String(header.proposer ?? "")}  transactions ${txs}`);
          console.log(`state root ${String(header.stateRoot ?? "")}`);
        }
        return 0;
      });
    case "tx": {
      if (!/^[0-9a-f]{64}$/i.test(arg)) {
        throw new UsageError(`Invalid hash ${JSON.stringify(arg.slice(0, 80))}: 64 hex`);
      }
      return await withClient(p, async (c) => {
        const req = new PbWriter().bytes(1, fromHex(arg.toLowerCase())).finish().slice();
        const resp = protoToJson("GetTransactionResponse", await c.call("GetTransaction", req));
        const txHex = typeof resp.transaction === "string" ? resp.transaction : "";
        const signed = protoToJson("SignedTransaction", fromHex(txHex));
        const body = typeof signed.body === "string" ? protoToJson("Transaction", fromHex(signed.body)) : {};
        if (json) printJson({ ...resp, decoded: body });
        else {
          const receipt = (resp.receipt ?? {}) as Record<string, unknown>;
          const where = resp.pending === true ? "pending in the mempool" : `in block ${resp.height ?? 0}`;
          console.log(`transaction ${arg.toLowerCase()}  ${where}`);
          console.log(`nonce ${String(body.nonce ?? 0)}  fee ${String(body.fee ?? 0)}`);
          if (resp.pending !== true) {
            const status = Number(receipt.status ?? 0);
            console.log(
              status === 0 ? "status applied" : `status failed: ${String(receipt.reason ?? status)}`,
            );
          }
        }
        return 0;
      });
    }
    case "account":
      return await withClient(p, async (c) => {
        const address = parseAddress(arg).payload;
        const bytes = await c.call("GetAccount", new PbWriter().string(1, arg).finish().slice());
        const j = protoToJson("GetAccountResponse", bytes);
        const { value, proof, root } = extractProof(bytes, 6, 7, 5);
        const ok = verifyStateProof(root, utf8(accountKey(address)), value.length ? value : null, proof);
        if (json) printJson({ ...j, proofVerified: ok });
        else {
          console.log(`${arg}  balance ${String(j.balance ?? 0)}  nonce ${String(j.nonce ?? 0)}`);
          console.log(`at height ${String(j.height ?? 0)}; state proof ${ok ? "verified" : "FAILED"}`);
        }
        return ok ? 0 : 1;
      });
    case "resolve":
      return await withClient(p, async (c) => {
        const bytes = await c.call("ResolveName", new PbWriter().string(1, arg).finish().slice());
        const j = protoToJson("ResolveNameResponse", bytes);
        const { value, proof, root } = extractProof(bytes, 6, 7, 8);
        const ok = verifyStateProof(root, utf8(nameKey(arg)), value.length ? value : null, proof);
        const found = value.length > 0;
        if (json) printJson({ ...j, found, proofVerified: ok });
        else if (!found) {
          console.log(`${arg}: not found (state proof of absence ${ok ? "verified" : "FAILED"})`);
        } else {
          const entry = decodeNameEntry(value);
          console.log(`${arg}  owner ${addressFromPayload(entry.owner)}  expires at height ${entry.expiry}`);
          for (const line of recordLines(entry.records)) console.log(`  ${line}`);
          if (entry.znsContract.length > 0) console.log(`  contract 0x${toHex(entry.znsContract)}`);
          console.log(`state proof ${ok ? "verified" : "FAILED"} at height ${String(j.height ?? 0)}`);
        }
        if (!found && !json) console.error(`error: ${arg} is not registered`);
        return found && ok ? 0 : 1;
      });
    case "send": {
      const toText = p.value("to");
      const amountText = p.value("amount");
      if (toText === undefined) throw new UsageError("Missing --to ADDRESS");
      if (amountText === undefined || !/^\d{1,20}$/.test(amountText)) {
        throw new UsageError("Missing or bad --amount N (an integer in the smallest unit)");
      }
      const feeText = p.value("fee") ?? "1";
      if (!/^\d{1,20}$/.test(feeText)) {
        throw new UsageError(`Bad --fee ${JSON.stringify(feeText.slice(0, 40))}`);
      }
      let to: Uint8Array;
      try {
        to = parseAddress(toText).payload;
      } catch (e) {
        throw new UsageError(`Bad --to: ${e instanceof Error ? e.message : e}`);
      }
      return await signAndSubmit(p, feeText, { kind: "transfer", to, amount: BigInt(amountText) });
    }
    case "validator-update": {
      const keyHex = p.value("validator") ?? "";
      const powerText = p.value("power");
      if (!/^[0-9a-f]{64}$/.test(keyHex)) {
        throw new UsageError("Missing or bad --validator HEX (64 lowercase hex)");
      }
      if (powerText === undefined || !/^\d{1,13}$/.test(powerText)) {
        throw new UsageError("Missing or bad --power N (0 removes the validator)");
      }
      const feeText = p.value("fee") ?? "1";
      if (!/^\d{1,20}$/.test(feeText)) {
        throw new UsageError(`Bad --fee ${JSON.stringify(feeText.slice(0, 40))}`);
      }
      return await signAndSubmit(p, feeText, {
        kind: "validator_update",
        publicKey: fromHex(keyHex),
        power: BigInt(powerText),
      });
    }
  }
  throw new UsageError(`Unknown subcommand ${cmd}`);
}

/** Signs `body` with `--key-file` at the sender's next nonce and submits it; prints the hash. */
async function signAndSubmit(p: ParsedCommand, feeText: string, body: TxBody): Promise<number> {
  const keyPath = p.value("key-file") ?? "";
  const secret = fromHex((await Deno.readTextFile(keyPath)).trim(), `key file ${keyPath}`);
  return await withClient(p, async (c) => {
    const s = await c.status();
    const pub = ed25519PublicKey(secret);
    const from = addressFromPublicKey(parsePublicKey("ed25519", pub));
    const acct = protoToJson(
      "GetAccountResponse",
      await c.call("GetAccount", new PbWriter().string(1, from).finish().slice()),
    );
    const nonce = BigInt(typeof acct.nonce === "string" ? acct.nonce : 0);
    const tx = signTransaction(
      { chainId: s.chainId, nonce, fee: BigInt(feeText), sender: pub, body },
      secret,
    );
    await c.call("SubmitTransaction", new PbWriter().bytes(1, tx.bytes).finish().slice());
    if (p.has("json")) printJson({ txHash: tx.hash, from, nonce });
    else console.log(`submitted ${toHex(tx.hash)} from ${from} (nonce ${nonce})`);
    return 0;
  });
}

/** Runs `chain ...`; returns the exit code. `ctx` carries the effective configuration's settings. */
export async function chainCli(args: readonly string[], ctx: ToolContext = NO_SETTINGS): Promise<number> {
  const specs = chainCommands(ctx);
  const [cmd, ...rest] = args;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    const sub = cmd === "help" ? rest[0] : undefined;
    const spec = sub !== undefined ? specs[sub] : undefined;
    if (sub !== undefined && spec === undefined) {
      console.error(`error: Unknown subcommand chain ${sub.slice(0, 64)}; see "mod.ts chain --help"`);
      return 2;
    }
    console.log(spec !== undefined ? formatHelp(spec) : chainUsage(specs));
    return 0;
  }
  const spec = specs[cmd];
  if (spec === undefined) {
    console.error(`error: Unknown subcommand chain ${cmd.slice(0, 64)}; see "mod.ts chain --help"`);
    return 2;
  }
  let parsed: ParsedCommand;
  try {
    parsed = parseCommand(spec, rest);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}\nsee "mod.ts chain ${cmd} --help"`);
    return 2;
  }
  if (parsed.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  try {
    return await run(cmd, parsed);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\nsee "mod.ts chain ${cmd} --help"`);
      return 2;
    }
    if (e instanceof ChainError) console.error(`error: ${e.status} ${e.reason}: ${e.message}`);
    else console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await chainCli(Deno.args));
