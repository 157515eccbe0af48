/**
 * GhostChain node (the seed's ghostd): canonical protobuf transactions and blocks signed under the wallet's
 * TRANSACTION domain, state (accounts, the .ghost/.zns name registry) committed by a BLAKE3 sparse Merkle
 * tree with membership and non-membership proofs, commit-reveal name registration, deterministic block
 * execution, one atomic Deno KV commit per block, a fee-ordered bounded mempool, round-robin proof-of-authority
 * block production, follower sync over QUIC (`ghostchain-sync/1`), and the BlockchainService as byte-level
 * handlers for the bridge. See chain/README.md.
 *
 * @example
 * ```ts
 * import { ChainNode, ChainService, MemoryChainStore, parseGenesis } from "./mod.ts";
 * import { ed25519Keypair, ed25519Verify } from "../crypto/mod.ts";
 * import { toHex } from "../core/mod.ts";
 *
 * const { publicKey, secretKey } = ed25519Keypair();
 * const genesis = parseGenesis({
 *   chainId: "example",
 *   timeMs: 0,
 *   validators: [{ publicKey: toHex(publicKey) }],
 *   accounts: [],
 * });
 * const node = await ChainNode.open({
 *   store: new MemoryChainStore(),
 *   genesis,
 *   verify: (items) => Promise.all(items.map((i) => ed25519Verify(i.publicKey, i.message, i.signature))),
 *   now: Date.now,
 *   validatorKey: secretKey,
 * });
 * await node.produceBlock();
 * const status = await new ChainService(node).handle("GetStatus", new Uint8Array(0));
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./transaction.ts";
export * from "./block.ts";
export * from "./merkle.ts";
export * from "./sparse_merkle_tree.ts";
export * from "./names.ts";
export * from "./state.ts";
export * from "./execute.ts";
export * from "./genesis.ts";
export * from "./mempool.ts";
export * from "./chain_store.ts";
export * from "./deno_kv_store.ts";
export * from "./node.ts";
export * from "./blockchain_service.ts";
export * from "./bridge_service.ts";
export * from "./sync.ts";
export * from "./config.ts";
export * from "./deno_node.ts";
export * from "./proto.ts";
export { chainCli } from "./cli.ts";
export * from "./name_index.ts";
export * from "./local_validators.ts";
