/**
 * The GhostChain schema (`ghostchain.proto`) as text, plus a lazily parsed protobufjs root for tools (CLI JSON
 * output, tests, the bridge).
 *
 * @module
 */

import protobuf from "protobufjs";
import ghostchainProtoText from "./ghostchain.proto" with { type: "text" };

/** The text of chain/ghostchain.proto (a static text import: part of the module graph, so a worker needs no
 * read permission for it and `deno compile` embeds it). */
export const GHOSTCHAIN_PROTO: string = ghostchainProtoText;

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
