/**
 * Smart contracts on the chain: ContractDeploy and ContractCall transactions executed by vm/ (ZVM) against the
 * block's state overlay. Everything here is consensus-relevant and deterministic: gas is exact (vm/ meters by
 * instrumentation), there is no clock, and the state the contract sees is the overlay's.
 *
 * State keys (under the same sparse Merkle root as everything else, so code and storage have proofs):
 * | key                               | value                        |
 * |-----------------------------------|------------------------------|
 * | `code/<hex address>`              | the contract's original wasm |
 * | `store/<hex address>/<hex key>`   | one storage value            |
 * Contract balances are ordinary accounts (`acct/<hex address>`).
 *
 * Rules:
 * - **Address** of a deployed contract: `BLAKE3("ghostchain/v1/contract" || sender(20) || nonce u64 BE)[0..20]`,
 *   so it is known before the deploy is included and two deploys never collide.
 * - **Gas price**: one unit of balance per {@linkcode GAS_PER_UNIT} gas, rounded up. The whole gas limit
 *   (at most {@linkcode MAX_TX_GAS}) is reserved from the sender before execution (inclusion requires
 *   balance >= fee + reserve + value); the unused part is refunded; the gas cost goes to the proposer with the
 *   fee. Deploy costs `DEPLOY_BASE_GAS + DEPLOY_GAS_PER_BYTE * code length` gas.
 * - **Failure**: a revert, trap, out-of-gas or invalid call/deploy still pays its fee and gas and bumps the
 *   nonce, and changes nothing else (its storage writes, transfers and events are discarded); the receipt
 *   says why (`ABORTED REVERTED`, `RESOURCE_EXHAUSTED OUT_OF_GAS`, `FAILED_PRECONDITION CONTRACT_TRAP`,
 *   `INVALID_ARGUMENT BAD_CONTRACT`/`NO_METHOD`/`NO_CONTRACT`).
 * - **Receipts** carry gas used, return data (at most {@linkcode CHAIN_VM_LIMITS}`.maxReturnBytes`), the
 *   events of a successful call, and the new address of a deploy.
 *
 * @module
 */
import {
  DEFAULT_EXECUTION_LIMITS,
  executeCompiled,
  type ExecutionLimits,
  type ExecutionResult,
  ModuleCache,
  type StateAccess,
} from "../vm/mod.ts";
import { blake3 } from "../crypto/mod.ts";
import { toHex, utf8 } from "./_pb.ts";
import { GrpcStatus } from "./errors.ts";
import type { BlockContext, Receipt } from "./receipt.ts";
import type { StateOverlay } from "./state.ts";
import type { ContractCallBody, ContractDeployBody, VerifiedTransaction } from "./transaction.ts";

/** Gas per unit of balance (consensus constant). */
export const GAS_PER_UNIT = 1000n;
/** Largest gas limit of one transaction (consensus constant). */
export const MAX_TX_GAS = 50_000_000n;
/** Gas of a deploy: a base plus a price per code byte (consensus constants). */
export const DEPLOY_BASE_GAS = 20_000n;
export const DEPLOY_GAS_PER_BYTE = 200n;

/**
 * Execution limits on chain (consensus): tighter than vm's defaults so that a receipt and a transaction's
 * writes stay small enough for a block's single KV commit.
 */
export const CHAIN_VM_LIMITS: ExecutionLimits = Object.freeze({
  ...DEFAULT_EXECUTION_LIMITS,
  maxInputBytes: 8 * 1024,
  maxReturnBytes: 1024,
  maxValueBytes: 4 * 1024,
  maxEvents: 16,
  maxEventBytes: 1024,
  maxLogs: 16,
});

// One compiled-module cache for the node (keyed by code hash; compiling is deterministic).
const CACHE = new ModuleCache();

/** State key of a contract's code. */
export function codeKey(address: Uint8Array): string {
  return `code/${toHex(address)}`;
}

/** State key of one storage value of a contract. */
export function storageKey(address: Uint8Array, key: Uint8Array): string {
  return `store/${toHex(address)}/${toHex(key)}`;
}

/** The address a deploy by `sender` (20-byte account) with `nonce` creates. */
export function contractAddress(sender: Uint8Array, nonce: bigint): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, nonce, false);
  const tag = utf8("ghostchain/v1/contract");
  const input = new Uint8Array(tag.length + 28);
  input.set(tag);
  input.set(sender, tag.length);
  input.set(n, tag.length + 20);
  return blake3(input).slice(0, 20);
}

function gasCost(gas: bigint): bigint {
  return (gas + GAS_PER_UNIT - 1n) / GAS_PER_UNIT;
}

/** What a contract body may take from its sender beyond the fee: the whole gas limit's cost plus the value. */
export function contractSpend(body: ContractDeployBody | ContractCallBody): bigint {
  return gasCost(body.gasLimit) + (body.kind === "contract_call" ? body.value : 0n);
}

/** Why a contract body cannot be included given the balance left after the fee, or undefined. */
export function contractInclusionProblem(
  body: ContractDeployBody | ContractCallBody,
  balanceAfterFee: bigint,
): string | undefined {
  if (body.gasLimit === 0n || body.gasLimit > MAX_TX_GAS) {
    return `gas limit ${body.gasLimit} is outside 1..${MAX_TX_GAS}`;
  }
  const value = body.kind === "contract_call" ? body.value : 0n;
  const need = gasCost(body.gasLimit) + value;
  if (balanceAfterFee < need) return `balance after fee ${balanceAfterFee} < gas reserve + value ${need}`;
  if (body.kind === "contract_call" && body.contract.length !== 20) return "contract address is not 20 bytes";
  return undefined;
}

/** Whether a contract is deployed at `address`. */
export function contractExists(state: StateOverlay, address: Uint8Array): boolean {
  return state.get(codeKey(address)) !== undefined;
}

/** vm's synchronous view of the overlay. */
function stateAccess(state: StateOverlay): StateAccess {
  return {
    storageGet: (contract, key) => state.get(storageKey(contract, key)),
    balanceOf: (account) => state.account(account).balance,
    codeOf: (contract) => state.get(codeKey(contract)),
  };
}

function failure(status: number, reason: string, gasUsed: bigint, returnData?: Uint8Array) {
  return { status, reason, gasUsed, ...(returnData && returnData.length > 0 ? { returnData } : {}) };
}

/** Maps a vm result that is not "ok" to a receipt status and reason. */
function vmFailure(r: ExecutionResult): { status: number; reason: string } {
  switch (r.status) {
    case "revert":
      return { status: GrpcStatus.ABORTED, reason: "REVERTED" };
    case "out_of_gas":
      return { status: GrpcStatus.RESOURCE_EXHAUSTED, reason: "OUT_OF_GAS" };
    case "trap":
      return { status: GrpcStatus.FAILED_PRECONDITION, reason: "CONTRACT_TRAP" };
    default:
      return { status: GrpcStatus.INVALID_ARGUMENT, reason: r.error?.code ?? "INVALID" };
  }
}

/**
 * Applies a contract transaction after its fee and nonce were taken (execute.ts `applyTransaction`): reserves
 * the gas, runs, applies the changes of a success inside a checkpoint, refunds unused gas, pays the proposer.
 */
export function applyContract(
  state: StateOverlay,
  tx: VerifiedTransaction,
  body: ContractDeployBody | ContractCallBody,
  ctx: BlockContext,
): Receipt {
  const from = tx.from;
  const reserve = gasCost(body.gasLimit);
  const before = state.account(from);
  state.setAccount(from, { balance: before.balance - reserve, nonce: before.nonce });
  state.checkpoint();
  let outcome: { status: number; reason: string; gasUsed: bigint; returnData?: Uint8Array };
  let events: Receipt["events"] = undefined;
  let created: Uint8Array | undefined;
  if (body.kind === "contract_deploy") {
    const gas = DEPLOY_BASE_GAS + DEPLOY_GAS_PER_BYTE * BigInt(body.code.length);
    const address = contractAddress(from, tx.tx.nonce);
    let valid = true;
    try {
      CACHE.getSync(body.code);
    } catch {
      valid = false;
    }
    if (gas > body.gasLimit) outcome = failure(GrpcStatus.RESOURCE_EXHAUSTED, "OUT_OF_GAS", body.gasLimit);
    else if (!valid) outcome = failure(GrpcStatus.INVALID_ARGUMENT, "BAD_CONTRACT", gas);
    else if (contractExists(state, address)) {
      outcome = failure(GrpcStatus.ALREADY_EXISTS, "CONTRACT_EXISTS", gas);
    } else {
      state.set(codeKey(address), body.code.slice());
      created = address;
      outcome = { status: 0, reason: "", gasUsed: gas };
    }
  } else {
    const code = state.get(codeKey(body.contract));
    if (code === undefined) {
      outcome = failure(GrpcStatus.NOT_FOUND, "NO_CONTRACT", 0n);
    } else {
      let compiled;
      try {
        compiled = CACHE.getSync(code);
      } catch {
        compiled = undefined;
      }
      if (compiled === undefined) outcome = failure(GrpcStatus.INVALID_ARGUMENT, "BAD_CONTRACT", 0n);
      else {
        const r = executeCompiled(compiled, {
          method: body.method,
          input: body.data,
          gasLimit: Number(body.gasLimit),
          state: stateAccess(state),
          context: {
            caller: from,
            contract: body.contract,
            value: body.value,
            blockHeight: ctx.height,
            // Block time is not part of execution (chain/README.md): contracts see the height only.
            blockTime: 0n,
          },
          limits: CHAIN_VM_LIMITS,
          cache: CACHE,
        });
        if (r.status === "ok") {
          for (const c of r.storageChanges) state.set(storageKey(c.contract, c.key), c.value ?? null);
          for (const b of r.balanceChanges) {
            state.setAccount(b.account, { balance: b.balance, nonce: state.account(b.account).nonce });
          }
          events = r.events.map((e) => ({ contract: e.contract, topic: e.topic, data: e.data }));
          outcome = { status: 0, reason: "", gasUsed: BigInt(r.gasUsed), returnData: r.returnData };
        } else {
          const f = vmFailure(r);
          outcome = failure(f.status, f.reason, BigInt(r.gasUsed), r.returnData);
        }
      }
    }
  }
  if (outcome.status === 0) state.commitCheckpoint();
  else state.revertCheckpoint();
  // Refund what the gas used did not cost; the cost goes to the proposer with the fee.
  const cost = gasCost(outcome.gasUsed);
  const after = state.account(from);
  state.setAccount(from, { balance: after.balance + reserve - cost, nonce: after.nonce });
  const prop = state.account(ctx.proposer);
  state.setAccount(ctx.proposer, { balance: prop.balance + cost, nonce: prop.nonce });
  return {
    status: outcome.status,
    reason: outcome.reason,
    feePaid: tx.tx.fee + cost,
    gasUsed: outcome.gasUsed,
    ...(outcome.returnData && outcome.returnData.length > 0 ? { returnData: outcome.returnData } : {}),
    ...(events && events.length > 0 ? { events } : {}),
    ...(created ? { contract: created } : {}),
  };
}
