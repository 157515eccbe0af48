/**
 * HPACK's Huffman coder (RFC 7541 §5.2, code table in Appendix B). Pure.
 *
 * Decoding walks a binary trie built once from the table, bit by bit; what RFC 7541 §5.2 requires of the end of a
 * string is checked: padding of at most 7 bits, all ones (the EOS prefix), and no EOS symbol inside.
 *
 * @module
 */
import { HUFFMAN_TABLE } from "./hpack_huffman_table.ts";

const EOS = 256;

/** A trie node: children at [2n], [2n+1]; a leaf holds `-(symbol + 1)`. */
const TRIE: Int32Array = buildTrie();

function buildTrie(): Int32Array {
  // 257 leaves need at most 256 inner nodes; each node has two slots.
  const t = new Int32Array(2 * 512);
  let next = 1;
  HUFFMAN_TABLE.forEach(([code, len], sym) => {
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        t[slot] = -(sym + 1);
      } else {
        if (t[slot] === 0) t[slot] = next++;
        node = t[slot] ?? 0;
      }
    }
  });
  return t;
}

/** The length in bytes of `bytes` Huffman-encoded. */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (const b of bytes) bits += HUFFMAN_TABLE[b]?.[1] ?? 0;
  return (bits + 7) >>> 3;
}

/** Huffman-encodes `bytes`, padding the last byte with the most significant bits of EOS (all ones). */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(bytes));
  let acc = 0; // pending bits, right-aligned
  let n = 0; // how many
  let at = 0;
  for (const b of bytes) {
    const [code, len] = HUFFMAN_TABLE[b] ?? [0, 0];
    // Codes are at most 30 bits: feed them in two halves so `acc` stays within 32 bits.
    for (let left = len; left > 0;) {
      const take = Math.min(left, 16);
      left -= take;
      acc = (acc << take) | ((code >>> left) & ((1 << take) - 1));
      n += take;
      while (n >= 8) {
        n -= 8;
        out[at++] = (acc >>> n) & 0xff;
      }
      acc &= (1 << n) - 1;
    }
  }
  if (n > 0) out[at] = ((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xff;
  return out;
}

/** Why a Huffman string did not decode. */
export class HuffmanError extends SyntaxError {
  /** Creates an error naming the rule broken. */
  constructor(message: string) {
    super(message);
    this.name = "HuffmanError";
  }
}

/** Decodes a Huffman-encoded string; at most `maxLength` output bytes. Throws {@linkcode HuffmanError}. */
export function huffmanDecode(bytes: Uint8Array, maxLength: number): Uint8Array {
  // Every symbol takes at least 5 bits: the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.min(maxLength, Math.ceil((bytes.length * 8) / 5)));
  let at = 0;
  let node = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true; // those bits were all 1
  for (const byte of bytes) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >>> i) & 1;
      const v = TRIE[2 * node + bit] ?? 0;
      depth++;
      allOnes &&= bit === 1;
      if (v < 0) {
        const sym = -v - 1;
        if (sym === EOS) throw new HuffmanError("Cannot decode Huffman string: it contains EOS");
        if (at >= out.length) {
          throw new HuffmanError(`Cannot decode Huffman string: longer than ${maxLength} bytes`);
        }
        out[at++] = sym;
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (v === 0) {
        throw new HuffmanError("Cannot decode Huffman string: invalid code");
      } else {
        node = v;
      }
    }
  }
  // RFC 7541 §5.2: padding longer than 7 bits, or not the EOS prefix, is a decoding error.
  if (depth > 7) throw new HuffmanError("Cannot decode Huffman string: padding longer than 7 bits");
  if (!allOnes) throw new HuffmanError("Cannot decode Huffman string: padding is not the EOS prefix");
  return out.subarray(0, at);
}
