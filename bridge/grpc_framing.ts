/**
 * gRPC over HTTP/2 message framing (grpc/grpc `doc/PROTOCOL-HTTP2.md`, "Length-Prefixed-Message"), sans-IO:
 * `compressed flag (u8) | length (u32 BE) | message`. A push decoder with an explicit message limit checked
 * before allocating. Compressed messages are refused: the bridge carries messages as opaque, uncompressed bytes.
 *
 * @module
 */

import { BridgeError, GrpcStatus } from "./errors.ts";

/** Encodes one length-prefixed message. */
export function encodeGrpcMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  out[0] = 0; // Compressed-Flag 0: identity
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** Push decoder of length-prefixed gRPC messages. */
export class GrpcMessageDecoder {
  readonly #max: number;
  readonly #header = new Uint8Array(5);
  #headerFill = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #failed: BridgeError | undefined;

  /** Creates a decoder accepting messages up to `maxMessageBytes`. */
  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** True while a message is incomplete. */
  get pending(): boolean {
    return this.#headerFill > 0 || this.#body !== undefined;
  }

  /**
   * Adds bytes; returns the messages they complete. Throws {@linkcode BridgeError}: RESOURCE_EXHAUSTED over the
   * limit, UNIMPLEMENTED for a compressed message, INTERNAL for a bad flag.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw this.#failed;
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.#body === undefined) {
        const take = Math.min(5 - this.#headerFill, chunk.length - off);
        this.#header.set(chunk.subarray(off, off + take), this.#headerFill);
        this.#headerFill += take;
        off += take;
        if (this.#headerFill < 5) break;
        this.#headerFill = 0;
        const flag = this.#header[0] ?? 0;
        const length = new DataView(this.#header.buffer).getUint32(1);
        if (flag === 1) {
          throw (this.#failed = new BridgeError(
            GrpcStatus.UNIMPLEMENTED,
            "Cannot relay a compressed gRPC message: the bridge accepts identity encoding only",
          ));
        }
        if (flag !== 0) {
          throw (this.#failed = new BridgeError(
            GrpcStatus.INTERNAL,
            `Cannot decode gRPC message: compressed flag ${flag} is not 0 or 1`,
          ));
        }
        if (length > this.#max) {
          throw (this.#failed = new BridgeError(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `Cannot decode gRPC message: length ${length} exceeds ${this.#max}`,
          ));
        }
        if (length === 0) {
          out.push(new Uint8Array(0));
          continue;
        }
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      } else {
        const body = this.#body;
        const take = Math.min(body.length - this.#bodyFill, chunk.length - off);
        body.set(chunk.subarray(off, off + take), this.#bodyFill);
        this.#bodyFill += take;
        off += take;
        if (this.#bodyFill === body.length) {
          out.push(body);
          this.#body = undefined;
        }
      }
    }
    return out;
  }
}
