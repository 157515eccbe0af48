import assert from "node:assert/strict";
import { TIMED_OUT } from "./_deadline.ts";
import { Watchdog } from "./_watchdog.ts";

function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(() => r(value), ms));
}

// Margins are wide (operations of a few ms against a 100 ms period) so a loaded machine cannot flip a result.

Deno.test("Watchdog lets operations that keep making progress run past its period", async () => {
  const w = new Watchdog(100);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 250) assert.equal(await w.watch(after(2, n)), n++);
  w.stop();
});

Deno.test("Watchdog times out an operation without progress and swallows its late rejection", async () => {
  const w = new Watchdog(30);
  assert.equal(await w.watch(new Promise<number>(() => {})), TIMED_OUT);
  const late = new Promise<number>((_, reject) => setTimeout(() => reject(new Error("late")), 40));
  assert.equal(await w.watch(late), TIMED_OUT);
  await after(30, 0); // the late rejection happens here and must not be unhandled
  w.stop();
});

Deno.test("Watchdog starts the stall clock when an operation starts, not at the previous one", async () => {
  const w = new Watchdog(100);
  await w.watch(after(1, 0));
  await after(150, 0); // idle between operations, longer than the period, does not count
  assert.equal(await w.watch(after(5, "ok")), "ok");
  w.stop();
});
