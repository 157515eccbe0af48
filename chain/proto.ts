/**
 * The GhostChain schema (`ghostchain.proto`) embedded as text, because a service worker cannot read source
 * files at run time, plus a lazily parsed protobufjs root for tools (CLI JSON output, tests, the bridge).
 * `proto_test.ts` keeps this constant equal to the file.
 *
 * @module
 */

import protobuf from "protobufjs";

/** The text of chain/ghostchain.proto. */
export const GHOSTCHAIN_PROTO: string =
  `// GhostChain consensus data and the BlockchainService. Consensus messages are encoded canonically by
// chain/_pb.ts (fields ascending, defaults omitted, no unknown fields, minimal varints); this schema
// describes their wire format exactly, and chain/proto_test.ts checks protobufjs agrees byte for byte.
// Kept equal to GHOSTCHAIN_PROTO in chain/proto.ts by a test.
syntax = "proto3";

package ghostchain.v1;

// ---- transactions ----

message Transfer {
  bytes to = 1;        // 20-byte account address (bech32m payload of ghost1...)
  uint64 amount = 2;
}
message NameCommit {
  bytes commitment = 1; // BLAKE3("ghostchain/v1/name-commit" || u8 len || name || owner || secret)
}
message MxRecord {
  uint32 preference = 1;
  string exchange = 2;
}
message SrvRecord {
  uint32 priority = 1;
  uint32 weight = 2;
  uint32 port = 3;
  string target = 4;
}
message NameRecords {
  repeated bytes aaaa = 1;  // 16 bytes each
  repeated bytes a = 2;     // 4 bytes each
  repeated string txt = 3;
  string cname = 4;
  repeated MxRecord mx = 5;
  repeated SrvRecord srv = 6;
}
message NameRegister {
  string name = 1;
  bytes secret = 2;
  uint64 duration_blocks = 3;
  bytes records = 4;        // encoded NameRecords
  bytes zns_contract = 5;   // .zns only
}
message NameUpdate {
  string name = 1;
  bytes records = 2;        // encoded NameRecords
  bytes zns_contract = 3;
}
message NameTransfer {
  string name = 1;
  bytes new_owner = 2;
}
message NameRenew {
  string name = 1;
  uint64 duration_blocks = 2;
}
message ContractDeploy { // reserved for the vm
  bytes code = 1;
}
message ContractCall { // reserved for the vm
  bytes contract = 1;
  bytes data = 2;
}
message Transaction {
  string chain_id = 1;
  uint64 nonce = 2;
  uint64 fee = 3;
  bytes sender = 4;  // Ed25519 public key
  oneof body {
    Transfer transfer = 10;
    NameCommit name_commit = 11;
    NameRegister name_register = 12;
    NameUpdate name_update = 13;
    NameTransfer name_transfer = 14;
    NameRenew name_renew = 15;
    ContractDeploy contract_deploy = 16;
    ContractCall contract_call = 17;
  }
}
message SignedTransaction {
  bytes body = 1;       // encoded Transaction, exactly the bytes signed (wallet TRANSACTION domain)
  bytes signature = 2;  // Ed25519, 64 bytes
}
message Receipt {
  uint32 status = 1;    // gRPC status code of the body; 0 = applied
  string reason = 2;
  uint64 fee_paid = 3;
}

// ---- blocks ----

message BlockHeader {
  string chain_id = 1;
  uint64 height = 2;
  bytes parent_hash = 3;
  uint64 time_ms = 4;
  bytes proposer = 5;
  bytes tx_root = 6;
  bytes receipts_root = 7;
  bytes state_root = 8;
  uint32 round = 9;
}
message CommitSig {
  bytes validator = 1;
  bytes signature = 2;
}
message Commit {
  uint32 round = 1;
  bytes block_hash = 2;
  repeated CommitSig signatures = 3;
}
message Block {
  BlockHeader header = 1;
  repeated bytes transactions = 2;  // encoded SignedTransaction
  Commit commit = 3;
}
message Vote {
  string chain_id = 1;
  uint64 height = 2;
  uint32 round = 3;
  bytes block_hash = 4;
}

// ---- state ----

message Account {
  uint64 balance = 1;
  uint64 nonce = 2;
}
message NameEntry {
  bytes owner = 1;
  uint64 expiry = 2;
  bytes records = 3;       // encoded NameRecords
  bytes zns_contract = 4;
}
message NameCommitment {
  bytes owner = 1;
  uint64 height = 2;
}
message ChainParams {
  uint64 min_fee = 1;
  uint64 min_commit_age = 2;
  uint64 max_commit_age = 3;
  uint64 grace_period = 4;
  uint64 name_price_per_block = 5;
  uint64 min_name_duration = 6;
  uint64 max_name_duration = 7;
  uint32 max_block_bytes = 8;
  uint32 max_block_txs = 9;
}
message Validator {
  bytes public_key = 1;
  uint64 power = 2;
}
message ValidatorSet {
  repeated Validator validators = 1;
}
message StateProof {
  repeated bytes siblings = 1;  // root first; empty = the empty-subtree hash (32 zero bytes)
  bytes leaf_path = 2;
  bytes leaf_value_hash = 3;
}

// ---- BlockchainService ----

message SubmitTransactionRequest { bytes transaction = 1; }  // encoded SignedTransaction
message SubmitTransactionResponse { bytes tx_hash = 1; }
message GetTransactionRequest { bytes tx_hash = 1; }
message GetTransactionResponse {
  bytes transaction = 1;   // encoded SignedTransaction
  uint64 height = 2;
  uint32 index = 3;
  Receipt receipt = 4;
  bytes block_hash = 5;
  bool pending = 6;        // in the mempool, not yet in a block
}
message GetBlockRequest {
  oneof by {
    uint64 height = 1;
    bytes hash = 2;
  }
  bool latest = 3;
}
message GetBlockResponse {
  bytes block = 1;         // encoded Block
  bytes block_hash = 2;
  uint64 height = 3;
}
message StreamBlocksRequest { uint64 from_height = 1; }
message StreamBlocksResponse {
  bytes block = 1;
  bytes block_hash = 2;
  uint64 height = 3;
}
message GetAccountRequest { string address = 1; }  // ghost1...
message GetAccountResponse {
  string address = 1;
  uint64 balance = 2;
  uint64 nonce = 3;
  uint64 height = 4;
  bytes state_root = 5;
  bytes value = 6;         // encoded Account (empty when absent)
  StateProof proof = 7;
}
message ResolveNameRequest { string name = 1; }
message ResolveNameResponse {
  bool found = 1;
  string owner = 2;        // ghost1...
  uint64 expiry = 3;
  NameRecords records = 4;
  bytes zns_contract = 5;
  bytes value = 6;         // encoded NameEntry: verify with the proof against state_root
  StateProof proof = 7;
  bytes state_root = 8;
  uint64 height = 9;
  bytes header = 10;       // encoded BlockHeader of height (its state_root is state_root)
}
message ListNamesRequest {
  string owner = 1;        // ghost1...
  uint32 limit = 2;
  string start_after = 3;
}
message ListNamesResponse {
  repeated string names = 1;
  string next = 2;         // pass as start_after; empty at the end
}
message GetStatusRequest {}
message GetStatusResponse {
  string chain_id = 1;
  uint64 height = 2;
  bytes head_hash = 3;
  bytes state_root = 4;
  bytes genesis_hash = 5;
  uint64 mempool_size = 6;
  uint64 head_time_ms = 7;
  bytes validator = 8;     // this node's validator key, if any
}

service BlockchainService {
  rpc SubmitTransaction(SubmitTransactionRequest) returns (SubmitTransactionResponse);
  rpc GetTransaction(GetTransactionRequest) returns (GetTransactionResponse);
  rpc GetBlock(GetBlockRequest) returns (GetBlockResponse);
  rpc StreamBlocks(StreamBlocksRequest) returns (stream StreamBlocksResponse);
  rpc GetAccount(GetAccountRequest) returns (GetAccountResponse);
  rpc ResolveName(ResolveNameRequest) returns (ResolveNameResponse);
  rpc ListNames(ListNamesRequest) returns (ListNamesResponse);
  rpc GetStatus(GetStatusRequest) returns (GetStatusResponse);
}

// ---- ghostchain-sync/1 (QUIC) envelope: one request per bidirectional stream ----

message RpcRequest {
  string method = 1;       // e.g. "StreamBlocks"
  bytes request = 2;
}
message RpcResponse {
  uint32 status = 1;       // gRPC status code
  string reason = 2;
  string message = 3;
  bytes response = 4;
}
`;

let root: protobuf.Root | undefined;

/** The parsed schema (protobufjs), package `ghostchain.v1`. */
export function ghostchainProtoRoot(): protobuf.Root {
  return root ??= protobuf.parse(GHOSTCHAIN_PROTO, { keepCase: false }).root;
}

/** Decodes `bytes` as message `type` (e.g. `"Block"`) into plain JSON-able values (bytes as hex). */
export function protoToJson(type: string, bytes: Uint8Array): Record<string, unknown> {
  const t = ghostchainProtoRoot().lookupType(`ghostchain.v1.${type}`);
  const obj = t.toObject(t.decode(bytes), { longs: String, bytes: Array, defaults: false, oneofs: true });
  return hexify(obj) as Record<string, unknown>;
}

function hexify(v: unknown): unknown {
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number")) {
    return v.map((x: number) => x.toString(16).padStart(2, "0")).join("");
  }
  if (Array.isArray(v)) return v.map(hexify);
  if (v instanceof Uint8Array) return Array.from(v, (x) => x.toString(16).padStart(2, "0")).join("");
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hexify(x)]));
  }
  return v;
}
