// Private test helper: loads a JSON vector file from tests/vectors/ (each file names its source).

/** Parsed JSON of `tests/vectors/<name>`. */
export function loadVectors<T>(name: string): T {
  const url = new URL(`../tests/vectors/${name}`, import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url)) as T;
}

/** Hex to bytes for trusted test data. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** Bytes to lowercase hex. */
export function toHexString(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
