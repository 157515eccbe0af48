/**
 * Domain name helpers over the dotted text form dns-packet uses: normalizing for comparison (RFC 4343: ASCII
 * case-insensitive), zone membership, and validation of names we take from configuration.
 *
 * @module
 */

/** Lower-cases ASCII and drops the trailing dot; the root is `""`. */
export function normalizeName(name: string): string {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  return n.toLowerCase();
}

/** True when `name` is `zone` or below it. Both normalized. */
export function isInZone(name: string, zone: string): boolean {
  return zone === "" || name === zone || name.endsWith("." + zone);
}

/** Case-insensitive name equality (RFC 4343). */
export function sameName(a: string, b: string): boolean {
  return normalizeName(a) === normalizeName(b);
}

const LABEL = /^(?:\*|[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)$/;

/**
 * Validates a configured name: letters, digits, `_`, `-` (and a whole-label `*`), labels of 1..63 bytes, at
 * most 253 characters (255 on the wire). Returns it normalized.
 *
 * @throws {RangeError} naming the problem
 */
export function parseDomainName(text: string): string {
  const n = normalizeName(text.trim());
  if (n === "") return "";
  if (n.length > 253) throw new RangeError(`Cannot use name "${text}": longer than 253 characters`);
  for (const label of n.split(".")) {
    if (!LABEL.test(label)) {
      throw new RangeError(
        `Cannot use name "${text}": label "${label}" must be 1..63 letters, digits, _ or -`,
      );
    }
  }
  return n;
}
