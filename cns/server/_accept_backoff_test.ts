import assert from "node:assert/strict";
import { AcceptBackoff } from "./_accept_backoff.ts";

Deno.test("AcceptBackoff doubles from 5 ms and resets on success", async () => {
  const b = new AcceptBackoff();
  assert.equal(await b.wait(), 5);
  assert.equal(await b.wait(), 10);
  assert.equal(await b.wait(), 20);
  b.reset();
  assert.equal(await b.wait(), 5);
});
