import assert from "node:assert/strict";
import { checkStructure, folderOf, formatReport, isPublicSurface } from "./module_graph.ts";
import { readGraph } from "./check.ts";

Deno.test("checkStructure() finds a folder cycle and names an import on each edge", () => {
  const r = checkStructure([
    { path: "a/mod.ts", imports: ["b/mod.ts"] },
    { path: "b/mod.ts", imports: ["a/mod.ts"] },
  ]);
  assert.equal(r.folderCycles.length, 1);
  assert.match(formatReport(r), /folder cycle: a -> b -> a/);
});

Deno.test("checkStructure() finds a file cycle inside one folder", () => {
  const r = checkStructure([
    { path: "a/x.ts", imports: ["a/y.ts"] },
    { path: "a/y.ts", imports: ["a/z.ts"] },
    { path: "a/z.ts", imports: ["a/x.ts"] },
  ]);
  assert.deepEqual(r.folderCycles, []);
  assert.deepEqual(r.fileCycles, [["a/x.ts", "a/y.ts", "a/z.ts", "a/x.ts"]]);
});

Deno.test("checkStructure() refuses an import past another folder's mod.ts, but not from tests", () => {
  const r = checkStructure([
    { path: "a/x.ts", imports: ["b/internal.ts", "b/mod.ts", "b/service.ts", "c/sub/mod.ts"] },
    { path: "tests/t.ts", imports: ["b/internal.ts"] },
    { path: "a/x_test.ts", imports: ["b/internal.ts"] },
  ]);
  assert.deepEqual(r.pastSurface, ["a/x.ts -> b/internal.ts"]);
});

Deno.test("checkStructure() passes a layered graph", () => {
  const r = checkStructure([
    { path: "mod.ts", imports: ["supervisor/mod.ts"] },
    { path: "supervisor/mod.ts", imports: ["cns/service.ts", "core/mod.ts"] },
    { path: "cns/service.ts", imports: ["core/mod.ts"] },
    { path: "core/mod.ts", imports: [] },
  ]);
  assert.equal(formatReport(r), "");
});

Deno.test("folderOf() and isPublicSurface() read paths", () => {
  assert.equal(folderOf("mod.ts"), ".");
  assert.equal(folderOf("cns/mod.ts"), "cns");
  assert.ok(isPublicSurface("cns/mod.ts") && isPublicSurface("cns/service.ts"));
  assert.ok(!isPublicSurface("cns/config.ts") && !isPublicSurface("cns/sub/service.ts"));
});

Deno.test("the repository has no folder cycle, no file cycle and no import past a folder's mod.ts", async () => {
  const graph = await readGraph();
  assert.ok(graph.length > 100, `read only ${graph.length} modules`);
  assert.equal(formatReport(checkStructure(graph)), "");
});
