import assert from "node:assert/strict";
import { CloseCode, TransportError } from "./errors.ts";
import { encodeLengthPrefixed } from "./framing.ts";
import { MessagePartReader, MessageReader, MessageWriter, readAll } from "./stream.ts";

/** A readable that yields `chunks` and then ends, or stays open forever when `end` is false. */
function source(chunks: Uint8Array[], end = true): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller): Promise<void> | void {
      const c = chunks[i++];
      if (c) return controller.enqueue(c);
      if (end) return controller.close();
      return new Promise(() => {}); // a peer that goes quiet
    },
  }, { highWaterMark: 0 });
}

function isCode(code: number): (e: unknown) => boolean {
  return (e) => e instanceof TransportError && e.code === code;
}

Deno.test("MessageReader reads messages split across chunks and returns null at the end", async () => {
  const wire = new Uint8Array([
    ...encodeLengthPrefixed(Uint8Array.of(1, 2, 3), 4),
    ...encodeLengthPrefixed(Uint8Array.of(9), 4),
  ]);
  const reader = new MessageReader(source([wire.subarray(0, 2), wire.subarray(2, 6), wire.subarray(6)]));
  const got: number[][] = [];
  for await (const m of reader) got.push([...m]);
  assert.deepEqual(got, [[1, 2, 3], [9]]);
  assert.equal(await reader.read(), null);
});

Deno.test("MessageReader rejects an oversized message and reports the violation", async () => {
  const seen: TransportError[] = [];
  const reader = new MessageReader(source([Uint8Array.of(0, 1, 0x11, 0x70)]), {
    maxMessageBytes: 65_535,
    onViolation: (e) => seen.push(e),
  });
  await assert.rejects(reader.read(), (e: unknown) => {
    assert.ok(e instanceof TransportError);
    assert.equal(e.code, CloseCode.MESSAGE_TOO_LARGE);
    assert.equal(e.message, "Cannot decode message: length 70000 exceeds 65535");
    assert.equal(e.source, "downstream");
    return true;
  });
  assert.equal(seen.length, 1);
});

Deno.test("MessageReader times out a peer that stalls mid-message with STALLED", async () => {
  const reader = new MessageReader(source([Uint8Array.of(0, 10, 1, 2)], false), {
    prefix: 2,
    stallTimeoutMs: 30,
  });
  await assert.rejects(
    reader.read(),
    (e: unknown) => isCode(CloseCode.STALLED)(e) && /stalled for 30 ms/.test(String(e)),
  );
});

Deno.test("MessageReader waits between messages unless idleTimeoutMs is set", async () => {
  const reader = new MessageReader(source([], false), { idleTimeoutMs: 20, stallTimeoutMs: 0 });
  await assert.rejects(reader.read(), isCode(CloseCode.TIMEOUT));
});

Deno.test("MessageReader rejects a stream that ends inside a message with PROTOCOL_ERROR", async () => {
  const reader = new MessageReader(source([Uint8Array.of(0, 0, 0, 5, 1)]));
  await assert.rejects(
    reader.read(),
    (e: unknown) => isCode(CloseCode.PROTOCOL_ERROR)(e) && /stream ended/.test(String(e)),
  );
});

Deno.test("MessageWriter frames messages and waits for each write (backpressure)", async () => {
  const written: Uint8Array[] = [];
  let release: () => void = () => {};
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      written.push(chunk.slice());
      return new Promise<void>((r) => release = r);
    },
  }, { highWaterMark: 1 });
  const writer = new MessageWriter(sink, { prefix: 2, stallTimeoutMs: 0 });
  let done = false;
  const p = writer.write(Uint8Array.of(7, 8)).then(() => done = true);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(done, false, "write() waits until the stream took the bytes");
  release();
  await p;
  assert.deepEqual(written, [Uint8Array.of(0, 2, 7, 8)]);
  // Large payloads go as prefix + payload without a copy.
  const big = new Uint8Array(20_000);
  const q = writer.write(big);
  await new Promise((r) => setTimeout(r, 0));
  release();
  await new Promise((r) => setTimeout(r, 0));
  release();
  await q;
  assert.deepEqual(written[1], Uint8Array.of(0x4e, 0x20));
  assert.equal(written[2]?.length, 20_000);
});

Deno.test("MessageWriter refuses oversized messages locally and times out a peer that does not read", async () => {
  const stuck = new WritableStream<Uint8Array>({ write: () => new Promise(() => {}) });
  const writer = new MessageWriter(stuck, { prefix: 2, stallTimeoutMs: 20 });
  await assert.rejects(
    writer.write(new Uint8Array(70_000)),
    (e: unknown) => isCode(CloseCode.MESSAGE_TOO_LARGE)(e) && (e as TransportError).source === "internal",
  );
  await assert.rejects(writer.write(Uint8Array.of(1)), isCode(CloseCode.STALLED));
  assert.throws(
    () => new MessageWriter(new WritableStream(), { prefix: 2, maxMessageBytes: 70_000 }),
    RangeError,
  );
});

Deno.test("readAll() bounds size and time", async () => {
  assert.deepEqual(
    await readAll(source([Uint8Array.of(1), Uint8Array.of(2, 3)]), { maxBytes: 3, timeoutMs: 1000 }),
    Uint8Array.of(1, 2, 3),
  );
  await assert.rejects(
    readAll(source([Uint8Array.of(1, 2), Uint8Array.of(3, 4)]), { maxBytes: 3, timeoutMs: 1000 }),
    (e: unknown) => isCode(CloseCode.MESSAGE_TOO_LARGE)(e) && /length 4 exceeds 3/.test(String(e)),
  );
  await assert.rejects(
    readAll(source([Uint8Array.of(1)], false), { maxBytes: 3, timeoutMs: 20 }),
    isCode(CloseCode.TIMEOUT),
  );
});

/** A byte stream (as Deno's sockets and QUIC streams are) that yields `chunks`, then ends or goes quiet. */
function byteSource(chunks: Uint8Array[], end = true): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller): Promise<void> | void {
      const c = chunks[i++];
      if (c) return controller.enqueue(c.slice());
      if (end) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      return new Promise(() => {});
    },
  }) as ReadableStream<Uint8Array>;
}

/** A seeded generator of integers in [0, n) (an LCG: enough to vary sizes and splits reproducibly). */
function seeded(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
}

/** `bytes` cut at random points, into pieces of up to `small` or up to `large` bytes. */
function randomSplit(
  bytes: Uint8Array,
  rand: (n: number) => number,
  small: number,
  large: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + rand(rand(2) === 0 ? small : large);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

Deno.test("readAll() on a byte stream: any split and size up to the limit comes back whole, one byte more is refused (property)", async () => {
  const rand = seeded(12345);
  const kept: [Uint8Array, Uint8Array][] = [];
  for (let round = 0; round < 300; round++) {
    const size = rand(3) === 0 ? rand(20_000) : rand(300);
    const data = new Uint8Array(size).map((_, i) => (i * 7 + round) & 0xff);
    const chunks = randomSplit(data, rand, 64, 9000);
    // Exactly the size, a little under it, or far above it (the common case: a pooled first buffer).
    const pick = rand(3);
    const maxBytes = pick === 0 ? 100_000 : pick === 1 ? size : Math.max(0, size - 1 - rand(5));
    const read = readAll(byteSource(chunks), { maxBytes, timeoutMs: 5000 });
    if (size <= maxBytes) kept.push([await read, data]);
    else await assert.rejects(read, isCode(CloseCode.MESSAGE_TOO_LARGE), `round ${round}`);
  }
  // Compared only after every read: a result sharing a buffer that later reads reuse would show here.
  for (const [got, want] of kept) assert.deepEqual(got, want, `${want.length} bytes`);
});

Deno.test("MessageReader on a byte stream: messages of any size across any split come back whole and stay intact (property)", async () => {
  const rand = seeded(777);
  for (let round = 0; round < 100; round++) {
    const messages = Array.from(
      { length: 1 + rand(12) },
      (_, m) =>
        new Uint8Array(rand(4) === 0 ? rand(150_000) : rand(200)).map((_, i) => (i + m * 31 + round) & 0xff),
    );
    const wire = new Uint8Array(messages.reduce((n, m) => n + 4 + m.length, 0));
    let off = 0;
    for (const m of messages) {
      wire.set(encodeLengthPrefixed(m, 4), off);
      off += 4 + m.length;
    }
    const chunks = randomSplit(wire, rand, 100, 70_000);
    const got: Uint8Array[] = [];
    for await (const m of new MessageReader(byteSource(chunks), { maxMessageBytes: 200_000 })) got.push(m);
    // Compared only after every read: a buffer reused by a later read would show here.
    assert.deepEqual(got, messages, `round ${round}`);
  }
});

Deno.test("readAll() on a byte stream that goes quiet ends at its deadline", async () => {
  await assert.rejects(
    readAll(byteSource([Uint8Array.of(1, 2)], false), { maxBytes: 100, timeoutMs: 30 }),
    isCode(CloseCode.TIMEOUT),
  );
});

Deno.test("MessagePartReader yields zero-copy parts that add up to each message", async () => {
  const a = crypto.getRandomValues(new Uint8Array(100));
  const wire = new Uint8Array([
    ...encodeLengthPrefixed(a, 4),
    ...encodeLengthPrefixed(new Uint8Array(0), 4),
    ...encodeLengthPrefixed(Uint8Array.of(7), 4),
  ]);
  const chunks = [wire.subarray(0, 30), wire.subarray(30, 70), wire.subarray(70)];
  const parts = [];
  for await (const p of new MessagePartReader(source(chunks), { maxMessageBytes: 100 })) parts.push(p);
  assert.deepEqual(parts.map((p) => [p.messageLength, p.offset, p.bytes.length, p.last]), [
    [100, 0, 26, false],
    [100, 26, 40, false],
    [100, 66, 34, true],
    [0, 0, 0, true],
    [1, 0, 1, true],
  ]);
  assert.equal(parts[0]?.bytes.buffer, wire.buffer, "parts are views, not copies");
  assert.deepEqual(new Uint8Array(parts.slice(0, 3).flatMap((p) => [...p.bytes])), a);
  await assert.rejects(
    new MessagePartReader(source([Uint8Array.of(0, 0, 1, 0)]), { maxMessageBytes: 100 }).read(),
    isCode(CloseCode.MESSAGE_TOO_LARGE),
  );
  const stalled = new MessagePartReader(source([Uint8Array.of(0, 0, 0, 9, 1)], false), {
    stallTimeoutMs: 20,
  });
  assert.equal((await stalled.read())?.bytes.length, 1, "the first byte arrives as a part");
  await assert.rejects(stalled.read(), isCode(CloseCode.STALLED));
});
