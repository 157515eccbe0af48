/**
 * Worker entry of {@linkcode Ed25519BatchVerifier}: receives packed batches, verifies each item with the
 * same {@linkcode ed25519Verify} the main thread uses, and answers one byte per item.
 *
 * @module
 */

import { ed25519Verify } from "./ed25519.ts";
import { unpackVerifyBatch, type VerifyRequest, type VerifyResponse } from "./_verify_batch_codec.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<VerifyRequest>) => void) | null;
  postMessage(message: VerifyResponse, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (event: MessageEvent<VerifyRequest>): Promise<void> => {
  const { id, buffer } = event.data;
  const items = unpackVerifyBatch(buffer);
  const results = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it !== undefined && await ed25519Verify(it.publicKey, it.message, it.signature)) results[i] = 1;
  }
  scope.postMessage({ id, results }, [results.buffer]);
};
