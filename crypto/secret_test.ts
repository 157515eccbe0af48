import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Secret } from "./secret.ts";

Deno.test("Secret never prints its bytes and can be wiped", () => {
  const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
  const s = Secret.from(bytes);
  for (
    const text of [
      String(s),
      `${s}`,
      JSON.stringify({ s }),
      Deno.inspect(s),
      Deno.inspect({ nested: [s] }),
      inspect(s),
    ]
  ) {
    assert.ok(!/222|173|deadbeef|de, ad/i.test(text), text);
    assert.match(text, /redacted/);
  }
  assert.equal(s.use((b) => b.length), 4);
  s.wipe();
  assert.deepEqual([...bytes], [0, 0, 0, 0]);
  assert.equal(s.wiped, true);
  assert.throws(() => s.expose(), TypeError);
  s.wipe();
});

Deno.test("Secret.copy() and clone() own separate buffers; equals() compares content", () => {
  const raw = new Uint8Array([1, 2, 3]);
  const a = Secret.copy(raw);
  const b = a.clone();
  assert.ok(a.equals(b));
  a.wipe();
  assert.deepEqual([...raw], [1, 2, 3]);
  assert.deepEqual([...b.expose()], [1, 2, 3]);
  assert.ok(!Secret.fromText("x").equals(Secret.fromText("y")));
  assert.equal(Secret.fromText("héllo").exposeText(), "héllo");
});
