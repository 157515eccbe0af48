/**
 * The structure rules of the repository, as a pure function over a module graph: no import cycle between
 * top-level folders, no cycle between files, and no import that reaches into another top-level folder past
 * its public surface (`mod.ts`, or a service's descriptor `service.ts`).
 *
 * @module
 */

/** One module and the local modules it imports (paths relative to the repository root, `/`-separated). */
export interface GraphModule {
  readonly path: string;
  readonly imports: readonly string[];
}

/** What the check found. */
export interface StructureReport {
  /** Folder cycles, each as the folders in order (`["a", "b", "a"]`). */
  readonly folderCycles: readonly string[][];
  /** File cycles, each as the files in order, first repeated last. */
  readonly fileCycles: readonly string[][];
  /** Imports past another folder's public surface: `from -> to`. */
  readonly pastSurface: readonly string[];
  /** Folder-level edges with one example import each (for reports). */
  readonly folderEdges: ReadonlyMap<string, string>;
}

/** Files another folder may import: the folder's `mod.ts` and a service's descriptor. */
const PUBLIC_FILES = new Set(["mod.ts", "service.ts"]);

/** Folders whose files may import anything (tests and tools reach inside on purpose). */
const UNRESTRICTED = new Set(["tests"]);

/** The top-level folder of a path; files at the root belong to `.`. */
export function folderOf(path: string): string {
  const i = path.indexOf("/");
  return i < 0 ? "." : path.slice(0, i);
}

function isTestFile(path: string): boolean {
  return /_test\.ts$/.test(path) || /(^|\/)_test_[a-z_]*\.ts$/.test(path) || /(^|\/)_testing\.ts$/.test(path);
}

/** Whether `to` is a public surface of its folder (`<folder>/mod.ts`, `<folder>/service.ts`, `<folder>/<sub>/mod.ts`). */
export function isPublicSurface(to: string): boolean {
  const parts = to.split("/");
  const base = parts[parts.length - 1] ?? "";
  if (parts.length === 2) return PUBLIC_FILES.has(base);
  return base === "mod.ts";
}

/** Strongly connected components of size > 1 (or self-loops), each returned as one cycle through them. */
function cycles(nodes: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  // Iterative Tarjan: deep graphs must not overflow the call stack.
  for (const root of nodes) {
    if (idx.has(root)) continue;
    const work: { node: string; it: Iterator<string> }[] = [];
    const enter = (n: string): void => {
      idx.set(n, index);
      low.set(n, index);
      index++;
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, it: (edges.get(n) ?? new Set<string>()).values() });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (top === undefined) break;
      const next = top.it.next();
      if (!next.done) {
        const m = next.value;
        if (!idx.has(m)) enter(m);
        else if (onStack.has(m)) low.set(top.node, Math.min(low.get(top.node) ?? 0, idx.get(m) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) {
        low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(top.node) ?? 0));
      }
      if (low.get(top.node) === idx.get(top.node)) {
        const comp: string[] = [];
        for (;;) {
          const n = stack.pop();
          if (n === undefined) break;
          onStack.delete(n);
          comp.push(n);
          if (n === top.node) break;
        }
        const selfLoop = edges.get(top.node)?.has(top.node) ?? false;
        if (comp.length > 1 || selfLoop) out.push(pathThrough(comp, edges));
      }
    }
  }
  return out;
}

/** One concrete cycle inside a strongly connected component (breadth-first back to its first node). */
function pathThrough(comp: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const members = new Set(comp);
  const start = [...comp].sort()[0] ?? "";
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const n = queue.shift() ?? "";
    for (const m of edges.get(n) ?? []) {
      if (!members.has(m)) continue;
      if (m === start) {
        const path = [start];
        for (let c: string | undefined = n; c !== undefined && c !== start; c = prev.get(c)) {
          path.splice(1, 0, c);
        }
        path.push(start);
        return path;
      }
      if (!prev.has(m)) {
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  return [start, start];
}

/** Applies the structure rules to a graph of local modules. */
export function checkStructure(modules: readonly GraphModule[]): StructureReport {
  const fileEdges = new Map<string, Set<string>>();
  const folderEdgeSets = new Map<string, Set<string>>();
  const folderEdges = new Map<string, string>();
  const pastSurface: string[] = [];
  for (const m of modules) {
    const from = folderOf(m.path);
    const set = fileEdges.get(m.path) ?? new Set<string>();
    fileEdges.set(m.path, set);
    for (const to of m.imports) {
      set.add(to);
      const target = folderOf(to);
      if (target === from) continue;
      // Test files beside the code and tests/ import what they test; they never count as edges between folders.
      if (UNRESTRICTED.has(from) || isTestFile(m.path)) continue;
      const fset = folderEdgeSets.get(from) ?? new Set<string>();
      folderEdgeSets.set(from, fset);
      fset.add(target);
      if (!folderEdges.has(`${from} -> ${target}`)) {
        folderEdges.set(`${from} -> ${target}`, `${m.path} -> ${to}`);
      }
      if (target !== "." && !isPublicSurface(to)) pastSurface.push(`${m.path} -> ${to}`);
    }
  }
  const files = [...fileEdges.keys()].sort();
  const folders = [
    ...new Set([...folderEdgeSets.keys(), ...[...folderEdgeSets.values()].flatMap((s) => [...s])]),
  ]
    .sort();
  return {
    folderCycles: cycles(folders, folderEdgeSets),
    fileCycles: cycles(files, fileEdges),
    pastSurface: pastSurface.sort(),
    folderEdges,
  };
}

/** A human-readable report; empty when the structure holds. */
export function formatReport(report: StructureReport): string {
  const lines: string[] = [];
  for (const c of report.folderCycles) {
    lines.push(`folder cycle: ${c.join(" -> ")}`);
    for (let i = 0; i + 1 < c.length; i++) {
      const example = report.folderEdges.get(`${c[i]} -> ${c[i + 1]}`);
      if (example !== undefined) lines.push(`  e.g. ${example}`);
    }
  }
  for (const c of report.fileCycles) lines.push(`file cycle: ${c.join(" -> ")}`);
  for (const p of report.pastSurface) lines.push(`import past mod.ts: ${p}`);
  return lines.join("\n");
}
