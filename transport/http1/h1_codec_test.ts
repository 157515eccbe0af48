import assert from "node:assert/strict";
import fc from "fast-check";
import {
  contentLengthOf,
  encodeChunk,
  encodeLastChunk,
  encodeRequestHead,
  H1Error,
  type H1ResponseEvent,
  H1ResponseParser,
} from "./h1_codec.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function parseAll(method: string, text: string | Uint8Array, split = 0): H1ResponseEvent[] {
  const p = new H1ResponseParser();
  p.next(method);
  const bytes = typeof text === "string" ? te.encode(text) : text;
  const out: H1ResponseEvent[] = [];
  if (split <= 0) out.push(...p.push(bytes));
  else for (let i = 0; i < bytes.length; i += split) out.push(...p.push(bytes.slice(i, i + split)));
  return out;
}

function summary(events: H1ResponseEvent[]): string {
  let body = "";
  const parts: string[] = [];
  for (const e of events) {
    if (e.type === "data") body += td.decode(e.data);
    else if (e.type === "head") parts.push(`head ${e.status} ${JSON.stringify(e.fields)} ka=${e.keepAlive}`);
    else if (e.type === "trailers") parts.push(`trailers ${JSON.stringify(e.fields)}`);
    else if (e.type === "informational") parts.push(`info ${e.status}`);
    else parts.push(`end body=${body}`);
  }
  return parts.join("\n");
}

Deno.test("H1ResponseParser reads content-length, chunked with trailers, and 1xx before the final response", () => {
  assert.equal(
    summary(parseAll("GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello")),
    'head 200 [["content-length","5"],["x-a","b"]] ka=true\nend body=hello',
  );
  const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\n\r\n";
  const expected =
    'head 200 [["transfer-encoding","chunked"]] ka=true\ntrailers [["grpc-status","0"]]\nend body=hello world';
  assert.equal(summary(parseAll("POST", chunked)), expected);
  // The same bytes in every split give the same events.
  for (const split of [1, 2, 3, 7]) assert.equal(summary(parseAll("POST", chunked, split)), expected);
  assert.equal(
    summary(parseAll("GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")),
    "info 100\nhead 204 [] ka=true\nend body=",
  );
});

Deno.test("H1ResponseParser: HEAD, 304 and 204 have no body; close-delimited bodies end at EOF; keep-alive rules", () => {
  assert.equal(
    summary(parseAll("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")),
    'head 200 [["content-length","99"]] ka=true\nend body=',
  );
  const p = new H1ResponseParser();
  p.next("GET");
  const ev = p.push(te.encode("HTTP/1.1 200 OK\r\n\r\nstream"));
  assert.equal(summary([...ev, ...p.finish()]), "head 200 [] ka=false\nend body=stream");
  assert.match(summary(parseAll("GET", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")), /ka=false/);
  assert.match(
    summary(parseAll("GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")),
    /ka=true/,
  );
  assert.match(
    summary(parseAll("GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")),
    /ka=false/,
  );
  // One parser serves many responses on a kept-alive connection.
  const q = new H1ResponseParser();
  for (let i = 0; i < 3; i++) {
    q.next("GET");
    assert.equal(
      summary(q.push(te.encode(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${i}`))).endsWith(`body=${i}`),
      true,
    );
    assert.equal(q.idle, true);
  }
});

Deno.test("H1ResponseParser refuses what splits or smuggles messages", () => {
  const bad = [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n",
    "HTTP/2 200\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
  ];
  for (const text of bad) assert.throws(() => parseAll("GET", text), H1Error, JSON.stringify(text));
  // Duplicate identical lengths are one length (RFC 9112 §6.3 item 5).
  assert.equal(contentLengthOf([["content-length", "3, 3"], ["content-length", "3"]]), 3);
});

Deno.test("H1ResponseParser bounds the head, the field count and chunk-size lines", () => {
  const p = new H1ResponseParser({ maxHeadBytes: 1024, maxFields: 4 });
  p.next("GET");
  assert.throws(() => p.push(te.encode("HTTP/1.1 200 OK\r\nX: " + "a".repeat(2000))), /too large/);
  assert.throws(
    () => parseAll("GET", "HTTP/1.1 200 OK\r\n" + "a: 1\r\n".repeat(101) + "\r\n"),
    /more than 100/,
  );
  assert.throws(
    () => parseAll("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "1".repeat(2000)),
    /chunk-size line too long/,
  );
  const cut = new H1ResponseParser();
  cut.next("GET");
  cut.push(te.encode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  assert.throws(() => cut.finish(), /closed mid-response/);
});

Deno.test("H1ResponseParser gives only H1Error on random and mutated input, and any split gives the same events (property)", () => {
  const valid = [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx: y\r\n\r\n",
    "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop",
    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  ].map((t) => te.encode(t));
  const run = (bytes: Uint8Array, split: number) => {
    try {
      return summary(parseAll("GET", bytes, split));
    } catch (error) {
      if (!(error instanceof H1Error)) throw error;
      return "error";
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void run(b, 0)), { numRuns: 2000 });
  fc.assert(
    fc.property(
      fc.constantFrom(...valid),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 1, max: 9 }),
      (b, at, v, split) => {
        const m = b.slice();
        m[at % m.length] = v;
        assert.equal(run(m, split), run(m, 0));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("encodeRequestHead and the chunk encoders write RFC 9112 bytes and refuse CR/LF injection", () => {
  assert.equal(
    td.decode(encodeRequestHead("GET", "/a?b=1", [["host", "example.com"], ["x-y", "z"]])),
    "GET /a?b=1 HTTP/1.1\r\nhost: example.com\r\nx-y: z\r\n\r\n",
  );
  assert.equal(td.decode(encodeChunk(te.encode("hello world!"))), "c\r\nhello world!\r\n");
  assert.equal(encodeChunk(new Uint8Array(0)).length, 0);
  assert.equal(td.decode(encodeLastChunk([["grpc-status", "0"]])), "0\r\ngrpc-status: 0\r\n\r\n");
  assert.throws(() => encodeRequestHead("GET", "/", [["x", "a\r\nevil: 1"]]), H1Error);
  assert.throws(() => encodeRequestHead("GET", "/ HTTP/1.1\r\n", []), H1Error);
  assert.throws(() => encodeRequestHead("G ET", "/", []), H1Error);
  assert.throws(() => encodeRequestHead("GET", "/", [["bad name", "1"]]), H1Error);
});
