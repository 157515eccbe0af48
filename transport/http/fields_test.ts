import assert from "node:assert/strict";
import fc from "fast-check";
import { declaredContentLength, fieldSectionProblem, type HeaderField } from "./fields.ts";

const GET: HeaderField[] = [[":method", "GET"], [":scheme", "https"], [":authority", "a.test"], [
  ":path",
  "/",
]];

Deno.test("well-formed requests, responses and trailers pass", () => {
  assert.equal(fieldSectionProblem(GET, "request"), undefined);
  assert.equal(
    fieldSectionProblem([...GET.filter(([n]) => n !== ":authority"), ["host", "a.test"]], "request"),
    undefined,
  );
  assert.equal(
    fieldSectionProblem([[":method", "CONNECT"], [":authority", "a.test:443"]], "request"),
    undefined,
  );
  assert.equal(
    fieldSectionProblem(
      [...GET.slice(0, 1), [":protocol", "websocket"], ...GET.slice(1)].map(
        ([n, v]): HeaderField => n === ":method" ? [n, "CONNECT"] : [n, v],
      ),
      "request",
    ),
    undefined,
  );
  assert.equal(fieldSectionProblem([[":status", "204"], ["te", "trailers"]], "response"), undefined);
  assert.equal(fieldSectionProblem([["grpc-status", "0"]], "trailers"), undefined);
});

Deno.test("each malformation is named (RFC 9113 §8.2-§8.3, RFC 9114 §4.2-§4.3)", () => {
  const cases: [HeaderField[], "request" | "response" | "trailers", RegExp][] = [
    [[...GET, ["X-Up", "1"]], "request", /not lowercase/],
    [[...GET, ["x", "a\r\nb"]], "request", /forbidden characters/],
    [[["x", "1"], ...GET], "request", /after a regular field/],
    [[...GET, [":ghost-backend", "b"]], "request", /unknown pseudo-header :ghost-backend/],
    [[...GET, [":path", "/2"]], "request", /:path repeated/],
    [[...GET, ["transfer-encoding", "chunked"]], "request", /connection-specific/],
    [[...GET, ["te", "gzip"]], "request", /te other than trailers/],
    [GET.slice(1), "request", /:method missing/],
    [GET.filter(([n]) => n !== ":path"), "request", /:scheme or :path missing/],
    [GET.map(([n, v]): HeaderField => [n, n === ":path" ? "" : v]), "request", /:path empty/],
    [GET.filter(([n]) => n !== ":authority"), "request", /:authority and host missing/],
    [
      [[":method", "CONNECT"], [":authority", "a:1"], [":path", "/"]],
      "request",
      /CONNECT with :scheme or :path/,
    ],
    [[[":method", "CONNECT"]], "request", /CONNECT without :authority/],
    [[...GET, [":protocol", "websocket"]], "request", /:protocol outside extended CONNECT/],
    [[["x", "1"]], "response", /:status missing/],
    [[[":status", "20"]], "response", /not a 3-digit code/],
    [[[":status", "200"]], "trailers", /pseudo-header in trailers/],
    [[[":path", "/"], [":status", "200"]], "response", /unknown pseudo-header :path/],
  ];
  for (const [fields, kind, why] of cases) {
    assert.match(fieldSectionProblem(fields, kind) ?? "well formed", why, JSON.stringify(fields));
  }
});

Deno.test("declaredContentLength reads one number, agreeing repeats, and refuses the rest", () => {
  assert.equal(declaredContentLength(GET), undefined);
  assert.equal(declaredContentLength([["content-length", "12"]]), 12);
  assert.equal(declaredContentLength([["content-length", "5, 5"], ["content-length", "5"]]), 5);
  for (const bad of ["", "-1", "1x", "0x10", "1 2", "5, 6", "1e3", "9999999999999999"]) {
    assert.equal(declaredContentLength([["content-length", bad]]), null, bad);
  }
});

Deno.test("fieldSectionProblem and declaredContentLength never throw (property)", () => {
  const field = fc.tuple(
    fc.oneof(fc.string(), fc.constantFrom(":method", ":path", ":status", "content-length")),
    fc.string(),
  );
  fc.assert(
    fc.property(
      fc.array(field, { maxLength: 12 }),
      fc.constantFrom("request", "response", "trailers"),
      (fields, kind) => {
        const problem = fieldSectionProblem(fields, kind as "request");
        assert.ok(problem === undefined || typeof problem === "string");
        const length = declaredContentLength(fields);
        assert.ok(length === undefined || length === null || (Number.isSafeInteger(length) && length >= 0));
      },
    ),
  );
});
