/**
 * The Deno adapter that runs a node: files (genesis, node key), Deno KV, the QUIC listener, timers, the
 * signature-verifier worker pool, and the follower loop. {@linkcode runChainNode} is what chain/worker.ts
 * and `mod.ts chain run` call.
 *
 * @module
 */

import {
  addressFromPublicKey,
  blake3,
  Ed25519BatchVerifier,
  ed25519PublicKey,
  parsePublicKey,
} from "../crypto/mod.ts";
import { connectQuic, QuicServer } from "../transport/mod.ts";
import { MetricsRegistry } from "../core/mod.ts";
import type { ChainConfig } from "./config.ts";
import { formatChainHostPort, parseChainHostPort } from "./config.ts";
import { CHAIN_CONSENSUS_ALPN, ConsensusDriver } from "./deno_consensus.ts";
import { MAX_GOSSIP_BYTES } from "./consensus_codec.ts";
import { DenoKvChainStore } from "./deno_kv_store.ts";
import { ChainError } from "./errors.ts";
import { devnetGenesisJson, parseGenesis } from "./genesis.ts";
import { ChainNode } from "./node.ts";
import { fromHex, toHex } from "./_pb.ts";
import { ChainService } from "./blockchain_service.ts";
import { CHAIN_SYNC_ALPN, chainSyncHandler, followChain } from "./sync.ts";

/** TLS material (PEM). */
export interface ChainTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** Options of {@linkcode runChainNode}. */
export interface RunChainNodeOptions {
  /** The node's only read/write directory (KV database, node key, genesis, dev key). */
  readonly dataDir: string;
  readonly tls: ChainTls;
  readonly log?: (
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
  /** Clock (default `Date.now`). */
  readonly now?: () => number;
  /** Called after each committed block (produced or followed), after the atomic commit resolved. */
  readonly onCommit?: (height: number) => void;
  /** DNSSEC trust anchors a new devnet genesis publishes as TXT of `dns.ghost` (cns/README.md "Trust chain"). */
  readonly dnsAnchors?: readonly string[];
}

/** A running node. */
export interface RunningChainNode {
  readonly node: ChainNode;
  readonly service: ChainService;
  /** The bound `ghostchain-sync/1` address. */
  readonly addr: { readonly hostname: string; readonly port: number };
  readonly metrics: MetricsRegistry;
  /** Stops producing/following, closes the listener, the verifier and the store. */
  close(): Promise<void>;
}

async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function writeSecretFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.rename(tmp, path);
}

/** Loads the 32-byte key seed from `path` (64 hex chars), creating it (0600) when absent. */
export async function loadOrCreateKey(path: string): Promise<Uint8Array> {
  const text = await readTextIfExists(path);
  if (text !== undefined) {
    const hex = text.trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new TypeError(`Invalid key file ${path}: expected 64 lowercase hex characters`);
    }
    return fromHex(hex);
  }
  const seed = crypto.getRandomValues(new Uint8Array(32));
  await writeSecretFile(path, toHex(seed) + "\n");
  return seed;
}

/**
 * Writes a devnet genesis at `path` unless one exists: `validatorKey` validates, and a dev account (key
 * created in `<dir>/dev.key`) is funded. Returns whether it wrote one.
 */
export async function ensureDevnetGenesis(
  path: string,
  validatorKey: Uint8Array,
  devKeyPath: string,
  now: number,
  dnsAnchors: readonly string[] = [],
): Promise<boolean> {
  if ((await readTextIfExists(path)) !== undefined) return false;
  const dev = await loadOrCreateKey(devKeyPath);
  const devAddress = addressFromPublicKey(parsePublicKey("ed25519", ed25519PublicKey(dev)));
  const json = devnetGenesisJson({
    validatorKey: toHex(ed25519PublicKey(validatorKey)),
    devAddress,
    timeMs: now,
    dnsAnchors,
  });
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(json, null, 2) + "\n");
  await Deno.rename(tmp, path);
  return true;
}

/** Starts a node from `config` (see the module doc). */
export async function runChainNode(
  config: ChainConfig,
  opts: RunChainNodeOptions,
): Promise<RunningChainNode> {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? Date.now;
  const dir = opts.dataDir.replace(/\/+$/, "");
  const keyPath = config.nodeKeyFile || `${dir}/node.key`;
  const genesisPath = config.genesisFile || `${dir}/genesis.json`;
  const key = await loadOrCreateKey(keyPath);
  if (
    config.devnet && config.role === "validator" &&
    await ensureDevnetGenesis(genesisPath, key, `${dir}/dev.key`, now(), opts.dnsAnchors)
  ) {
    log("info", "wrote devnet genesis", { path: genesisPath });
  }
  const text = await readTextIfExists(genesisPath);
  if (text === undefined) {
    throw new ChainError(
      "FAILED_PRECONDITION",
      "GENESIS",
      `Cannot start chain: no genesis file at ${genesisPath} (copy the validator's)`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ChainError(
      "INVALID_ARGUMENT",
      "GENESIS",
      `Invalid genesis ${genesisPath}: ${e instanceof Error ? e.message : e}`,
    );
  }
  const genesis = parseGenesis(raw);
  const store = await DenoKvChainStore.open(`${dir}/chain.kv`);
  const verifier = new Ed25519BatchVerifier();
  // The verifier's workers live as long as the node: start them now, not on the first transaction.
  await verifier.warm().catch((e) => log("warn", "verifier workers did not start", { error: String(e) }));
  let node: ChainNode;
  try {
    node = await ChainNode.open({
      store,
      genesis,
      verify: (items) => verifier.verify(items),
      now,
      ...(config.role === "validator" ? { validatorKey: key } : {}),
      mempool: { maxCount: config.mempoolMaxCount, maxBytes: config.mempoolMaxBytes },
    });
  } catch (e) {
    verifier.close();
    store.close();
    throw e;
  }
  node.subscribe((b) => opts.onCommit?.(b.header.height));
  const service = new ChainService(node, { log });
  const metrics = new MetricsRegistry();
  // Finality as this node sees it: from a client's transaction entering its mempool to its block committed here.
  const committedTxs = metrics.counter(
    "ghost_chain_transactions_committed_total",
    "Transactions in committed blocks",
  );
  const finality = metrics.histogram("ghost_chain_finality_seconds", "Admission here to commit here", {
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const admittedAt = new Map<string, number>();
  node.onAdmitted((_tx, hash) => {
    if (admittedAt.size < config.mempoolMaxCount) admittedAt.set(toHex(hash), performance.now());
  });
  node.subscribe((b) => {
    committedTxs.inc(b.transactions.length);
    if (admittedAt.size === 0) return;
    const t = performance.now();
    for (const tx of b.transactions) {
      const k = toHex(blake3(tx));
      const at = admittedAt.get(k);
      if (at === undefined) continue;
      admittedAt.delete(k);
      finality.observe((t - at) / 1000);
    }
  });
  const stop = new AbortController();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      stop.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
  const tasks: Promise<void>[] = [];
  let consensus: ConsensusDriver | undefined;
  if (config.role === "validator") {
    try {
      consensus = await ConsensusDriver.open({
        node,
        key,
        dataDir: dir,
        verify: (items) => verifier.verify(items),
        timeouts: {
          proposeMs: config.timeoutProposeMs,
          proposeDeltaMs: config.timeoutProposeDeltaMs,
          voteMs: config.timeoutVoteMs,
          voteDeltaMs: config.timeoutVoteDeltaMs,
        },
        blockIntervalMs: config.blockIntervalMs,
        emptyBlockIntervalMs: config.emptyBlockIntervalMs,
        produceEmptyBlocks: config.produceEmptyBlocks,
        gossipMs: config.gossipIntervalMs,
        peers: config.peers.map(formatChainHostPort),
        connect: (peer) => {
          const hp = parseChainHostPort(peer, "peer");
          return connectQuic(
            {
              hostname: hp.hostname,
              port: hp.port,
              serverName: config.peerServerName,
              alpn: CHAIN_CONSENSUS_ALPN,
            },
            { caCerts: [opts.tls.caPem], limits: { maxMessageBytes: MAX_GOSSIP_BYTES } },
          );
        },
        metrics,
        log,
        now,
      });
    } catch (e) {
      verifier.close();
      store.close();
      throw e;
    }
    const driver = consensus;
    service.consensus = () => {
      const c = driver.info();
      return { ...c, evidenceCount: c.evidence.length };
    };
  }
  const server = new QuicServer({
    hostname: config.listen.hostname,
    port: config.listen.port,
    cert: opts.tls.certPem,
    key: opts.tls.keyPem,
    handlers: {
      [CHAIN_SYNC_ALPN]: { handle: chainSyncHandler(service), limits: { maxMessageBytes: 2 << 20 } },
      ...(consensus !== undefined
        ? {
          [CHAIN_CONSENSUS_ALPN]: {
            handle: consensus.handler(),
            limits: { maxMessageBytes: MAX_GOSSIP_BYTES },
          },
        }
        : {}),
    },
    limits: { maxConnections: config.maxConnections, drainTimeoutMs: 1000 },
    metrics,
  });
  for (const peer of config.role === "follower" ? config.peers : []) {
    tasks.push(
      followChain(node, {
        connect: () =>
          connectQuic(
            {
              hostname: peer.hostname,
              port: peer.port,
              serverName: config.peerServerName,
              alpn: CHAIN_SYNC_ALPN,
            },
            { caCerts: [opts.tls.caPem], limits: { maxMessageBytes: 2 << 20 } },
          ),
        signal: stop.signal,
        sleep,
        log: (message, fields) => log("info", message, { peer: formatChainHostPort(peer), ...fields }),
      }).catch((e) =>
        log("error", "follower stopped", { error: e instanceof Error ? e.message : String(e) })
      ),
    );
  }
  log("info", "chain node started", {
    chainId: genesis.chainId,
    height: node.height,
    role: config.role,
    addr: formatChainHostPort({ hostname: server.addr.hostname, port: server.addr.port }),
    // A follower has a node key too, but it validates nothing: say which key is whose.
    ...(config.role === "validator"
      ? { validator: toHex(ed25519PublicKey(key)) }
      : { node_id: toHex(ed25519PublicKey(key)) }),
  });
  let closing: Promise<void> | undefined;
  return {
    node,
    service,
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    metrics,
    close: () =>
      closing ??= (async () => {
        stop.abort();
        await consensus?.close();
        await server.close();
        await Promise.all(tasks);
        // Let an in-flight commit finish before closing the store.
        await node.settle();
        verifier.close();
        store.close();
      })(),
  };
}
