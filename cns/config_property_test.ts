// Property tests: config parsing, zone-file lines and CIDRs give only their own errors on any input.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError } from "../core/mod.ts";
import { parseCnsConfig } from "./config.ts";
import { parseCidr } from "./proto/ip_prefix.ts";
import { parseRecordText } from "./proto/record_text.ts";

const KEYS = [
  "listen",
  "doq_listen",
  "upstreams",
  "recursion_allow",
  "local_zones",
  "records",
  "edns_udp_max",
];
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 40 }), { maxLength: 4 }),
  fc.constant(null),
);

Deno.test("parseCnsConfig() gives a config or a ConfigError naming a [cns] key (property)", () => {
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...KEYS, "bogus"), value), (table) => {
      try {
        parseCnsConfig(table);
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.key, /^cns\./);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("parseRecordText() and parseCidr() throw only RangeError/TypeError/SyntaxError on any line (property)", () => {
  const known = (e: unknown): boolean =>
    e instanceof RangeError || e instanceof TypeError || e instanceof SyntaxError;
  const tokens = fc.constantFrom(
    "a.test",
    "60",
    "IN",
    "A",
    "AAAA",
    "TXT",
    "MX",
    "SRV",
    "192.0.2.1",
    "::1",
    '"x"',
    "10",
  );
  const line = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.array(tokens, { maxLength: 8 }).map((t) => t.join(" ")),
  );
  fc.assert(
    fc.property(line, (text) => {
      try {
        parseRecordText(text);
      } catch (e) {
        assert.ok(known(e), String(e));
      }
      try {
        parseCidr(text);
      } catch (e) {
        assert.ok(known(e), String(e));
      }
    }),
    { numRuns: 1000 },
  );
});
