// Private: packs Ed25519 verification items into one transferable buffer for the batch workers, and back.
// Layout per item: public key (32) | signature (64) | message length (u32 BE) | message. Items whose key or
// signature has the wrong length are never packed (the caller marks them invalid up front).

/** One signature to verify. */
export interface Ed25519BatchItem {
  /** 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The signed message. */
  readonly message: Uint8Array;
  /** 64-byte signature. */
  readonly signature: Uint8Array;
}

const ITEM_HEADER = 32 + 64 + 4;

/** Packs items into one ArrayBuffer. */
export function packVerifyBatch(items: readonly Ed25519BatchItem[]): ArrayBuffer {
  let size = 0;
  for (const it of items) size += ITEM_HEADER + it.message.length;
  const buf = new ArrayBuffer(size);
  const bytes = new Uint8Array(buf);
  const view = new DataView(buf);
  let off = 0;
  for (const it of items) {
    bytes.set(it.publicKey, off);
    bytes.set(it.signature, off + 32);
    view.setUint32(off + 96, it.message.length, false);
    bytes.set(it.message, off + ITEM_HEADER);
    off += ITEM_HEADER + it.message.length;
  }
  return buf;
}

/** Unpacks a buffer made by {@linkcode packVerifyBatch}; views share the buffer. */
export function unpackVerifyBatch(buf: ArrayBuffer): Ed25519BatchItem[] {
  const bytes = new Uint8Array(buf);
  const view = new DataView(buf);
  const items: Ed25519BatchItem[] = [];
  let off = 0;
  while (off + ITEM_HEADER <= bytes.length) {
    const len = view.getUint32(off + 96, false);
    const end = off + ITEM_HEADER + len;
    if (end > bytes.length) throw new RangeError("Cannot unpack verify batch: item exceeds the buffer");
    items.push({
      publicKey: bytes.subarray(off, off + 32),
      signature: bytes.subarray(off + 32, off + 96),
      message: bytes.subarray(off + ITEM_HEADER, end),
    });
    off = end;
  }
  if (off !== bytes.length) throw new RangeError("Cannot unpack verify batch: trailing bytes");
  return items;
}

/** A request to a verify worker. */
export interface VerifyRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
}

/** A worker's answer: one byte per item, 1 = valid. */
export interface VerifyResponse {
  readonly id: number;
  readonly results: Uint8Array;
}
