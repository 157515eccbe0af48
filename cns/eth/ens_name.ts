/**
 * ENS names: ENSIP-15 normalisation (through `@adraffy/ens-normalize`, the reference implementation, so the
 * tables are the standard's own) and the ENSIP-1 namehash. Pure.
 *
 * @module
 */
import { ens_normalize } from "@adraffy/ens-normalize";
import { keccak256 } from "../../crypto/mod.ts";

/** An ENS name that does not normalise (ENSIP-15: disallowed characters, mixed scripts, ...). */
export class EnsNameError extends TypeError {
  /** Builds the error for `name` with the normaliser's reason. */
  constructor(name: string, reason: string) {
    super(`Cannot normalise ENS name ${JSON.stringify(name.slice(0, 100))}: ${reason}`);
    this.name = "EnsNameError";
  }
}

/** ENSIP-15 normalisation of a whole name (labels joined by dots). */
export function normalizeEnsName(name: string): string {
  try {
    return ens_normalize(name);
  } catch (error) {
    throw new EnsNameError(name, error instanceof Error ? error.message : String(error));
  }
}

const enc = new TextEncoder();

/** keccak256 of one label's UTF-8 bytes (ENSIP-1 `labelhash`). */
export function labelhash(label: string): Uint8Array {
  return keccak256(enc.encode(label));
}

/**
 * ENSIP-1 namehash of an already normalised name: `namehash("") = 0x00..00`,
 * `namehash(label + "." + rest) = keccak256(namehash(rest) || labelhash(label))`.
 */
export function namehash(normalized: string): Uint8Array {
  let node: Uint8Array = new Uint8Array(32);
  if (normalized === "") return node;
  const labels = normalized.split(".");
  for (let i = labels.length - 1; i >= 0; i--) {
    const buf = new Uint8Array(64);
    buf.set(node, 0);
    buf.set(labelhash(labels[i] ?? ""), 32);
    node = keccak256(buf);
  }
  return node;
}
