/**
 * Receipts (the outcome of one transaction, with their canonical encoding) and the block context execution runs
 * in. Shared by the state transition (`execute.ts`) and contract execution (`contracts.ts`).
 *
 * @module
 */
import { malformed, PbReader, PbWriter } from "./_pb.ts";
import type { ChainParams } from "./state.ts";
/** An event a contract emitted, as kept in its receipt. */
export interface ReceiptEvent {
  readonly contract: Uint8Array;
  readonly topic: Uint8Array;
  readonly data: Uint8Array;
}

/** The outcome of one transaction. Contract transactions fill the optional fields. */
export interface Receipt {
  /** gRPC status code of the body: 0 = applied. */
  readonly status: number;
  /** Machine reason of a failure ("" on success). */
  readonly reason: string;
  /** The fee plus, for contract transactions, the gas cost. */
  readonly feePaid: bigint;
  readonly gasUsed?: bigint;
  readonly returnData?: Uint8Array;
  readonly events?: readonly ReceiptEvent[];
  /** The address a deploy created. */
  readonly contract?: Uint8Array;
}

/** Largest encoded receipt (bounded by the chain's contract limits, chain/contracts.ts). */
export const MAX_RECEIPT_BYTES = 64 * 1024;

/** Encodes `Receipt` canonically (fields ascending, defaults omitted). */
export function encodeReceipt(r: Receipt): Uint8Array {
  const w = new PbWriter().uint32(1, r.status).string(2, r.reason).uint64(3, r.feePaid)
    .uint64(4, r.gasUsed ?? 0n).bytes(5, r.returnData ?? new Uint8Array(0));
  for (const e of r.events ?? []) {
    w.message(6, new PbWriter().bytes(1, e.contract).bytes(2, e.topic).bytes(3, e.data).finish());
  }
  return w.bytes(7, r.contract ?? new Uint8Array(0)).finish().slice();
}

/** Decodes a receipt. */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  if (bytes.length > MAX_RECEIPT_BYTES) throw malformed("receipt", "too long");
  const r = new PbReader(bytes, "receipt");
  let status = 0, reason = "", feePaid = 0n, gasUsed = 0n;
  let returnData = new Uint8Array(0), contract = new Uint8Array(0);
  const events: ReceiptEvent[] = [];
  while (r.next()) {
    if (r.field === 1) status = r.uint32();
    else if (r.field === 2) reason = r.string(64);
    else if (r.field === 3) feePaid = r.uint64();
    else if (r.field === 4) gasUsed = r.uint64();
    else if (r.field === 5) returnData = r.bytes(MAX_RECEIPT_BYTES).slice();
    else if (r.field === 6) {
      const er = new PbReader(r.message(MAX_RECEIPT_BYTES, true), "event");
      let c = new Uint8Array(0), topic = new Uint8Array(0), data = new Uint8Array(0);
      while (er.next()) {
        if (er.field === 1) c = er.bytes(64).slice();
        else if (er.field === 2) topic = er.bytes(MAX_RECEIPT_BYTES).slice();
        else if (er.field === 3) data = er.bytes(MAX_RECEIPT_BYTES).slice();
        else er.unknown();
      }
      events.push({ contract: c, topic, data });
    } else if (r.field === 7) contract = r.bytes(64).slice();
    else r.unknown();
  }
  return {
    status,
    reason,
    feePaid,
    ...(gasUsed > 0n ? { gasUsed } : {}),
    ...(returnData.length > 0 ? { returnData } : {}),
    ...(events.length > 0 ? { events } : {}),
    ...(contract.length > 0 ? { contract } : {}),
  };
}

/** What a block's execution needs besides state. */
export interface BlockContext {
  readonly chainId: string;
  readonly height: bigint;
  /** The proposer's account address (fees go there). */
  readonly proposer: Uint8Array;
  readonly params: ChainParams;
}
