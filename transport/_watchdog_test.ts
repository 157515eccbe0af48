import assert from "node:assert/strict";
import { CoarseDeadlines, TIMED_OUT } from "./_deadline.ts";
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

Deno.test("CoarseDeadlines fires long deadlines on its tick, in order of expiry, and stops ticking when none is left", async () => {
  const d = new CoarseDeadlines(10); // ten ticks = 100 ms: deadlines from 100 ms are coarse
  const fired: string[] = [];
  const start = performance.now();
  const at: Record<string, number> = {};
  const mark = (name: string) => () => {
    fired.push(name);
    at[name] = performance.now() - start;
  };
  d.add(160, mark("b"));
  assert.equal(d.ticking, true);
  d.add(100, mark("a"));
  const cancelled = d.add(120, mark("never"));
  assert.equal(d.pending, 3);
  d.cancel(cancelled);
  d.cancel(cancelled); // twice is harmless
  await after(300, 0);
  assert.deepEqual(fired, ["a", "b"]);
  assert.ok((at["a"] ?? 0) >= 99 && (at["b"] ?? 0) >= 159, "never early");
  assert.equal(d.pending, 0);
  assert.equal(d.ticking, false, "the first tick with nothing pending stopped it");
});

Deno.test("CoarseDeadlines gives short deadlines a timer of their own, which cancel clears", async () => {
  const d = new CoarseDeadlines(100);
  let n = 0;
  d.add(5, () => n++);
  d.cancel(d.add(5, () => (n += 10)));
  assert.equal(d.pending, 0, "short deadlines are not on the tick");
  await after(40, 0);
  assert.equal(n, 1);
});

Deno.test("CoarseDeadlines: a throwing callback does not stop the others", async () => {
  const d = new CoarseDeadlines(5);
  let ran = false;
  const errors: unknown[] = [];
  const onError = (e: ErrorEvent): void => {
    e.preventDefault();
    errors.push(e.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    d.add(50, () => {
      throw new Error("boom");
    });
    d.add(50, () => (ran = true));
    await after(120, 0);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  assert.ok(ran);
  assert.equal(String(errors[0]), "Error: boom");
});
