import assert from "node:assert/strict";
import { ChainError } from "./errors.ts";
import { EMPTY_RECORDS, labelProblem, parseName, recordsProblem, registrableProblem } from "./names.ts";

Deno.test("parseName() accepts lowercase LDH labels and A-labels under .ghost/.zns", () => {
  for (const n of ["abc.ghost", "a-b.ghost", "xn--bcher-kva.ghost", "a1.zns", "x".repeat(63) + ".ghost"]) {
    assert.equal(parseName(n).name, n);
  }
});

Deno.test("parseName() refuses uppercase, non-ASCII, bad hyphens, long labels, subdomains, other TLDs", () => {
  for (
    const n of [
      "Abc.ghost",
      "bücher.ghost",
      "-ab.ghost",
      "ab-.ghost",
      "ab--cd.ghost",
      "x".repeat(64) + ".ghost",
      "a.b.ghost",
      "abc.eth",
      "abc",
      ".ghost",
      "a_b.ghost",
    ]
  ) {
    assert.throws(
      () => parseName(n),
      (e: unknown) => e instanceof ChainError && e.reason === "NAME_INVALID",
      n,
    );
  }
  assert.match(labelProblem("ABC") ?? "", /uppercase/);
  assert.match(labelProblem("bücher") ?? "", /punycode/);
});

Deno.test("registrableProblem() reserves short and listed labels", () => {
  assert.ok(registrableProblem(parseName("ab.ghost")));
  assert.ok(registrableProblem(parseName("wallet.ghost")));
  assert.equal(registrableProblem(parseName("alice.ghost")), undefined);
});

Deno.test("recordsProblem() checks lengths, CNAME exclusivity and host names", () => {
  assert.equal(recordsProblem(EMPTY_RECORDS), undefined);
  assert.ok(recordsProblem({ ...EMPTY_RECORDS, a: [new Uint8Array(3)] }));
  assert.ok(recordsProblem({ ...EMPTY_RECORDS, cname: "x.example", txt: ["t"] }));
  assert.ok(recordsProblem({ ...EMPTY_RECORDS, mx: [{ preference: 1, exchange: "Bad_Host" }] }));
  assert.ok(recordsProblem({ ...EMPTY_RECORDS, txt: Array(17).fill("x") }));
});
