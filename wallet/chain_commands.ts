/**
 * The wallet CLI's chain commands: `mod.ts wallet balance | send | name register | name set | name transfer |
 * name renew`. They build real transactions, have the wallet sign them (unlocking with the passphrase), submit
 * them to BlockchainService **through the bridge** (the central bridge's gRPC ingress, which relays over QUIC
 * to the chain's bridge node) and wait for inclusion in a block.
 *
 * @module
 */
import { Http2Target } from "../bridge/mod.ts";
import { toHex } from "../core/mod.ts";
import { CliUsageError, type WalletChainCommand, type WalletChainEnv } from "./cli.ts";
import { parseAddress } from "../crypto/mod.ts";
import { type AccountInfo } from "./wallet_service.ts";
import {
  accountOf,
  BlockchainClient,
  ChainError,
  type ChainTxStatus,
  decodeResolvedName,
  encodeSignedTransaction,
  encodeTransaction,
  nameCommitment,
  type NameRecords,
  parseName,
  parseRecordsJson,
  type TxBody,
} from "../chain/mod.ts";

/** Default gRPC ingress of the central bridge. */
export const DEFAULT_BRIDGE_GRPC = "127.0.0.1:50051";

const COMMON_FLAGS = {
  bridge: { value: true },
  account: { value: true },
  fee: { value: true },
  "no-wait": { value: false },
  "timeout-ms": { value: true },
} as const;

const RECORD_FLAGS = {
  aaaa: { value: true, repeat: true },
  a: { value: true, repeat: true },
  txt: { value: true, repeat: true },
  cname: { value: true },
  mx: { value: true, repeat: true },
  srv: { value: true, repeat: true },
  contract: { value: true },
} as const;

const COMMON_HELP = `  --account REF           the sending account (id, label or address; default: the first)
  --fee N                 fee in the smallest unit (default 1)
  --bridge HOST:PORT      the bridge's gRPC ingress (default GHOST_BRIDGE_GRPC_LISTEN or ${DEFAULT_BRIDGE_GRPC})
  --no-wait               return after submitting instead of waiting for the block
  --timeout-ms MS         how long to wait for inclusion (default 30000)`;

const RECORDS_HELP = `  --aaaa IPV6 --a IPV4 --txt TEXT (each repeatable) --cname HOST
  --mx "PREF HOST" --srv "PRIO WEIGHT PORT TARGET" (repeatable)
  --contract 0x<40 hex>   the contract a .zns name points at`;

function bridgeEndpoint(env: WalletChainEnv): string {
  const addr = env.flag("bridge") ?? env.env("GHOST_BRIDGE_GRPC_LISTEN") ?? DEFAULT_BRIDGE_GRPC;
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(addr)) {
    throw new CliUsageError(
      `--bridge must be host:port or [ipv6]:port, got ${JSON.stringify(addr.slice(0, 80))}`,
    );
  }
  return `http://${addr}`;
}

function bigintFlag(env: WalletChainEnv, name: string, fallback: bigint, min = 0n): bigint {
  const v = env.flag(name);
  if (v === undefined) return fallback;
  if (!/^\d{1,20}$/.test(v) || BigInt(v) < min || BigInt(v) >= 1n << 64n) {
    throw new CliUsageError(
      `--${name} must be an integer from ${min} to 2^64-1, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  }
  return BigInt(v);
}

function intFlag(env: WalletChainEnv, name: string, fallback: number, min: number, max: number): number {
  const v = env.flag(name);
  if (v === undefined) return fallback;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new CliUsageError(
      `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v.slice(0, 40))}`,
    );
  }
  return Number(v);
}

function addressPayload(text: string, what: string): Uint8Array {
  try {
    return parseAddress(text).payload;
  } catch (e) {
    throw new CliUsageError(`${what} is not a ghost1 address: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function onePositional(env: WalletChainEnv, what: string): string {
  const [first, ...more] = env.positionals;
  if (first === undefined || more.length > 0) throw new CliUsageError(`expected exactly one ${what}`);
  return first;
}

async function withClient<T>(env: WalletChainEnv, fn: (c: BlockchainClient) => Promise<T>): Promise<T> {
  const endpoint = bridgeEndpoint(env);
  const target = new Http2Target(endpoint, { maxMessageBytes: 4 * 1024 * 1024 });
  try {
    return await fn(new BlockchainClient(target, { timeoutMs: 10_000 }));
  } catch (error) {
    // Say what was tried and what to do, not just the status.
    if (error instanceof ChainError && error.status === "UNAVAILABLE") {
      throw new ChainError(
        "UNAVAILABLE",
        error.reason,
        `Cannot reach the chain through the bridge's gRPC ingress at ${endpoint.replace(/^http:\/\//, "")} ` +
          `(${error.message}); start the devnet with ./deno task start, or pass --bridge HOST:PORT`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    target.close();
  }
}

async function signer(env: WalletChainEnv): Promise<AccountInfo> {
  const account = await env.account(env.flag("account") ?? "");
  if (account.keyType !== "KEY_TYPE_ED25519") {
    throw new CliUsageError(
      `account ${account.address} is not an Ed25519 account; GhostChain transactions are signed with Ed25519 accounts`,
    );
  }
  return account;
}

/** Builds, signs, submits and (unless --no-wait) waits for one transaction of `account`. */
async function transact(
  env: WalletChainEnv,
  client: BlockchainClient,
  account: AccountInfo,
  body: TxBody,
  opts: { readonly nonce?: bigint; readonly wait?: boolean } = {},
): Promise<{ hash: Uint8Array; nonce: bigint; status: ChainTxStatus | undefined }> {
  const chain = await client.status();
  const nonce = opts.nonce ?? (await client.account(account.address)).nonce;
  const bodyBytes = encodeTransaction({
    chainId: chain.chainId,
    nonce,
    fee: bigintFlag(env, "fee", 1n),
    sender: account.publicKey,
    body,
  });
  const signature = await env.signTransaction(account.id, chain.chainId, bodyBytes);
  const hash = await client.submit(encodeSignedTransaction(bodyBytes, signature));
  const wait = opts.wait ?? !env.has("no-wait");
  if (!wait) return { hash, nonce, status: undefined };
  const status = await client.waitForInclusion(hash, {
    timeoutMs: intFlag(env, "timeout-ms", 30_000, 100, 3_600_000),
  });
  return { hash, nonce, status };
}

/** Prints a transaction result; exit 1 when the receipt reports a failure. */
function report(
  env: WalletChainEnv,
  what: string,
  r: Awaited<ReturnType<typeof transact>>,
  extra = {},
): number {
  const machine: Record<string, unknown> = { txHash: toHex(r.hash), nonce: r.nonce.toString(), ...extra };
  if (r.status === undefined) {
    env.out(`${what}: submitted ${toHex(r.hash)} (nonce ${r.nonce})`, { ...machine, included: false });
    return 0;
  }
  machine.included = true;
  machine.height = r.status.height;
  machine.status = r.status.status;
  machine.reason = r.status.reason;
  machine.feePaid = r.status.feePaid.toString();
  const rc = r.status.receipt;
  if (rc?.gasUsed !== undefined) machine.gasUsed = rc.gasUsed.toString();
  if (rc?.returnData !== undefined) machine.returnData = toHex(rc.returnData);
  if (rc?.contract !== undefined) machine.contract = `0x${toHex(rc.contract)}`;
  if (rc?.events !== undefined) {
    machine.events = rc.events.map((e) => ({
      contract: `0x${toHex(e.contract)}`,
      topic: new TextDecoder().decode(e.topic),
      data: toHex(e.data),
    }));
  }
  if (r.status.status !== 0) {
    env.out(`${what} failed in block ${r.status.height}: ${r.status.reason} (tx ${toHex(r.hash)})`, machine);
    return 1;
  }
  const lines = [
    `${what}: included in block ${r.status.height} (tx ${toHex(r.hash)}, fee ${r.status.feePaid})`,
  ];
  if (rc?.contract !== undefined) lines.push(`contract: 0x${toHex(rc.contract)}`);
  if (rc?.gasUsed !== undefined) lines.push(`gas used: ${rc.gasUsed}`);
  if (rc?.returnData !== undefined) lines.push(`return:   ${toHex(rc.returnData)}`);
  for (const e of rc?.events ?? []) {
    lines.push(`event:    ${new TextDecoder().decode(e.topic)} ${toHex(e.data)}`);
  }
  env.out(lines.join("\n"), machine);
  return 0;
}

function recordsFromFlags(env: WalletChainEnv): NameRecords {
  const split = (v: string, n: number, flag: string): string[] => {
    const parts = v.trim().split(/\s+/);
    if (parts.length !== n) {
      throw new CliUsageError(`--${flag} takes ${n} fields, got ${JSON.stringify(v.slice(0, 80))}`);
    }
    return parts;
  };
  const num = (s: string | undefined): number => /^\d{1,5}$/.test(s ?? "") ? Number(s) : -1;
  try {
    return parseRecordsJson(
      {
        aaaa: env.flagValues("aaaa"),
        a: env.flagValues("a"),
        txt: env.flagValues("txt"),
        ...(env.flag("cname") !== undefined ? { cname: env.flag("cname") } : {}),
        mx: env.flagValues("mx").map((v) => {
          const [pref, exchange] = split(v, 2, "mx");
          return { preference: num(pref), exchange };
        }),
        srv: env.flagValues("srv").map((v) => {
          const [priority, weight, port, target] = split(v, 4, "srv");
          return { priority: num(priority), weight: num(weight), port: num(port), target };
        }),
      },
      "records",
      "records",
    );
  } catch (e) {
    if (e instanceof CliUsageError) throw e;
    throw new CliUsageError(e instanceof Error ? e.message : String(e));
  }
}

function contractFlag(env: WalletChainEnv): Uint8Array {
  const v = env.flag("contract");
  if (v === undefined) return new Uint8Array(0);
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new CliUsageError(`--contract must be 0x and 40 hex digits`);
  return Uint8Array.from(v.slice(2).match(/../g) ?? [], (b) => parseInt(b, 16));
}

function checkedName(text: string): string {
  try {
    return parseName(text).name;
  } catch (e) {
    throw new CliUsageError(e instanceof Error ? e.message : String(e));
  }
}

const balance: WalletChainCommand = {
  summary: "an account's balance and nonce on the chain",
  help: `Usage: mod.ts wallet balance [--account ACCOUNT] [--bridge HOST:PORT] [--json]

Reads the account from the chain through the bridge (BlockchainService.GetAccount): its balance and nonce, in
the chain's smallest unit. ACCOUNT may also be given as the only argument (mod.ts wallet balance dev).
  --account REF           the account (id, label or address; default: the first)

Example:
  mod.ts wallet balance --account dev --json`,
  flags: { bridge: COMMON_FLAGS.bridge, account: { value: true } },
  run: async (env) => {
    if (env.positionals.length > 1) throw new CliUsageError("expected at most one ACCOUNT");
    if (env.positionals.length === 1 && env.flag("account") !== undefined) {
      throw new CliUsageError("give the account once: --account ACCOUNT or ACCOUNT, not both");
    }
    const account = await env.account(env.flag("account") ?? env.positionals[0] ?? "");
    const a = await withClient(env, (c) => c.account(account.address));
    env.out(`${a.address}\nbalance: ${a.balance}\nnonce:   ${a.nonce}\nheight:  ${a.height}`, {
      address: a.address,
      balance: a.balance.toString(),
      nonce: a.nonce.toString(),
      height: a.height,
    });
    return 0;
  },
};

const send: WalletChainCommand = {
  summary: "transfer to an address and wait for the block",
  help: `Usage: mod.ts wallet send --to ADDRESS --amount N [flags]

Signs a transfer with the wallet and submits it to the chain through the bridge.

Example:
  mod.ts wallet send --account dev --to ghost1... --amount 5
${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, to: { value: true }, amount: { value: true } },
  run: async (env) => {
    const to = addressPayload(env.flag("to") ?? "", "--to");
    if (env.flag("amount") === undefined) throw new CliUsageError("--amount is required");
    const amount = bigintFlag(env, "amount", 0n, 1n);
    const account = await signer(env);
    const r = await withClient(env, (c) => transact(env, c, account, { kind: "transfer", to, amount }));
    return report(env, `sent ${amount} to ${env.flag("to")}`, r, { from: account.address });
  },
};

const nameRegister: WalletChainCommand = {
  summary: "register a .ghost or .zns name (commit, then reveal)",
  help: `Usage: mod.ts wallet name register NAME [--blocks N] [records] [flags]

Registers NAME with commit-reveal: a commitment transaction first (so nobody can front-run the name), then,
once the commitment is old enough, the registration with its records.
  --blocks N              registration length in blocks (default 100000)
${RECORDS_HELP}

Example:
  mod.ts wallet name register alice.ghost --account dev --aaaa 2001:db8::7 --txt "hello"
${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, ...RECORD_FLAGS, blocks: { value: true } },
  run: async (env) => {
    const name = checkedName(onePositional(env, "NAME"));
    const records = recordsFromFlags(env);
    const znsContract = contractFlag(env);
    const durationBlocks = bigintFlag(env, "blocks", 100_000n, 1n);
    const account = await signer(env);
    const secret = crypto.getRandomValues(new Uint8Array(32));
    return await withClient(env, async (c) => {
      // Refuse a live name before anything is signed: commit and reveal would both pay their fee and fail.
      const existing = decodeResolvedName(await c.resolveName(name));
      if (existing.found && BigInt(existing.height) <= existing.expiry) {
        throw new ChainError(
          "ALREADY_EXISTS",
          "NAME_TAKEN",
          `Cannot register ${name}: it belongs to ${existing.owner} until height ${existing.expiry}; nothing was sent`,
        );
      }
      const commitment = nameCommitment(name, accountOf(account.publicKey), secret);
      const commit = await transact(env, c, account, { kind: "name_commit", commitment }, { wait: true });
      if (commit.status === undefined || commit.status.status !== 0) {
        return report(env, `commitment for ${name}`, commit);
      }
      env.note(`commitment for ${name} in block ${commit.status.height}; revealing\n`);
      // The reveal must come at least minCommitAge blocks after the commitment; the chain says how old it
      // is when it refuses (COMMITMENT_TOO_NEW), so retry until the next block makes it old enough.
      const deadline = Date.now() + intFlag(env, "timeout-ms", 30_000, 100, 3_600_000);
      for (;;) {
        try {
          const r = await transact(env, c, account, {
            kind: "name_register",
            name,
            secret,
            durationBlocks,
            records,
            znsContract,
          }, { nonce: commit.nonce + 1n });
          return report(env, `registered ${name}`, r, { name, owner: account.address });
        } catch (e) {
          if (!(e instanceof ChainError) || e.reason !== "COMMITMENT_TOO_NEW" || Date.now() > deadline) {
            throw e;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    });
  },
};

const nameSet: WalletChainCommand = {
  summary: "replace a name's records (or .zns contract)",
  help: `Usage: mod.ts wallet name set NAME [records] [flags]

Replaces all records of NAME (owner only); records not given are removed.
${RECORDS_HELP}

Example:
  mod.ts wallet name set alice.ghost --aaaa 2001:db8::8
${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, ...RECORD_FLAGS },
  run: async (env) => {
    const name = checkedName(onePositional(env, "NAME"));
    const body: TxBody = {
      kind: "name_update",
      name,
      records: recordsFromFlags(env),
      znsContract: contractFlag(env),
    };
    const account = await signer(env);
    return report(env, `updated ${name}`, await withClient(env, (c) => transact(env, c, account, body)), {
      name,
    });
  },
};

const nameTransfer: WalletChainCommand = {
  summary: "give a name to another address",
  help:
    `Usage: mod.ts wallet name transfer NAME --to ADDRESS [flags]\n\n\nExample:\n  mod.ts wallet name transfer alice.ghost --to ghost1...\n${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, to: { value: true } },
  run: async (env) => {
    const name = checkedName(onePositional(env, "NAME"));
    const newOwner = addressPayload(env.flag("to") ?? "", "--to");
    const account = await signer(env);
    const r = await withClient(
      env,
      (c) => transact(env, c, account, { kind: "name_transfer", name, newOwner }),
    );
    return report(env, `transferred ${name} to ${env.flag("to")}`, r, { name });
  },
};

const nameRenew: WalletChainCommand = {
  summary: "extend a name's registration",
  help:
    `Usage: mod.ts wallet name renew NAME --blocks N [flags]\n\n\nExample:\n  mod.ts wallet name renew alice.ghost --blocks 50000\n${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, blocks: { value: true } },
  run: async (env) => {
    const name = checkedName(onePositional(env, "NAME"));
    if (env.flag("blocks") === undefined) throw new CliUsageError("--blocks is required");
    const durationBlocks = bigintFlag(env, "blocks", 0n, 1n);
    const account = await signer(env);
    const r = await withClient(
      env,
      (c) => transact(env, c, account, { kind: "name_renew", name, durationBlocks }),
    );
    return report(env, `renewed ${name} by ${durationBlocks} blocks`, r, { name });
  },
};

function hexBytes(v: string, what: string, length?: number): Uint8Array {
  const hex = v.startsWith("0x") ? v.slice(2) : v;
  if (!/^([0-9a-fA-F]{2})*$/.test(hex) || (length !== undefined && hex.length !== 2 * length)) {
    throw new CliUsageError(
      `${what} must be ${length !== undefined ? `${length} bytes of ` : ""}hex (0x...)`,
    );
  }
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

const CONTRACT_HELP =
  `  --gas N                 gas limit (default 1000000; its cost is reserved, the unused part refunded)`;

const deploy: WalletChainCommand = {
  summary: "deploy a WebAssembly contract (vm/)",
  help: `Usage: mod.ts wallet deploy FILE.wasm [--gas N] [flags]

Deploys the contract and prints its address (derived from the sender and nonce).
${CONTRACT_HELP}

Example:
  mod.ts wallet deploy counter.wasm --gas 1000000
${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, gas: { value: true } },
  run: async (env) => {
    const file = onePositional(env, "FILE.wasm");
    let code: Uint8Array;
    try {
      const st = await Deno.stat(file);
      if (st.size > 8000) {
        throw new CliUsageError(`${file} is ${st.size} bytes; a transaction holds at most ~8 KB`);
      }
      code = await Deno.readFile(file);
    } catch (e) {
      if (e instanceof CliUsageError) throw e;
      throw new CliUsageError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, 1);
    }
    const gasLimit = bigintFlag(env, "gas", 1_000_000n, 1n);
    const account = await signer(env);
    const r = await withClient(
      env,
      (c) => transact(env, c, account, { kind: "contract_deploy", code, gasLimit }),
    );
    return report(env, `deployed ${file}`, r);
  },
};

const callCommand: WalletChainCommand = {
  summary: "call a contract method (input as hex)",
  help: `Usage: mod.ts wallet call CONTRACT METHOD [--input HEX] [--value N] [--gas N] [flags]

Calls METHOD of the contract at CONTRACT (0x + 40 hex) in a transaction; prints gas used, return data and
events from the receipt.
${CONTRACT_HELP}
  --input HEX             input bytes (default none)
  --value N               amount moved to the contract before the method runs (default 0)

Example:
  mod.ts wallet call 0x<40 hex> increment --gas 100000
${COMMON_HELP}`,
  flags: { ...COMMON_FLAGS, gas: { value: true }, input: { value: true }, value: { value: true } },
  run: async (env) => {
    const [addr, method, ...more] = env.positionals;
    if (addr === undefined || method === undefined || more.length > 0) {
      throw new CliUsageError("expected CONTRACT and METHOD");
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(method)) {
      throw new CliUsageError(`METHOD ${JSON.stringify(method.slice(0, 70))} is not an export name`);
    }
    const body: TxBody = {
      kind: "contract_call",
      contract: hexBytes(addr, "CONTRACT", 20),
      method,
      data: hexBytes(env.flag("input") ?? "", "--input"),
      gasLimit: bigintFlag(env, "gas", 1_000_000n, 1n),
      value: bigintFlag(env, "value", 0n),
    };
    const account = await signer(env);
    return report(env, `called ${method}`, await withClient(env, (c) => transact(env, c, account, body)), {
      method,
    });
  },
};

/** The chain commands the supervisor hands to `walletCli`. */
export const WALLET_CHAIN_COMMANDS: Readonly<Record<string, WalletChainCommand>> = {
  balance,
  send,
  "name register": nameRegister,
  "name set": nameSet,
  "name transfer": nameTransfer,
  "name renew": nameRenew,
  deploy,
  call: callCommand,
};
