/**
 * `deno task structure`: reads the module graph of every TypeScript file in the repository with
 * `deno info --json` and fails on a folder cycle, a file cycle or an import past another folder's `mod.ts`
 * (rules in `module_graph.ts`; layers in README.md "Layout").
 *
 * @module
 */
import { checkStructure, formatReport, type GraphModule } from "./module_graph.ts";

const ROOT = new URL("../../", import.meta.url);
const SKIP = new Set([".tools", "data", "node_modules", ".git", "deploy/dist"]);

async function* tsFiles(dir: URL, rel = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = rel === "" ? e.name : `${rel}/${e.name}`;
    if (SKIP.has(path) || e.name.startsWith(".") || e.name === "node_modules") continue;
    if (e.isDirectory) yield* tsFiles(new URL(`${e.name}/`, dir), path);
    else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) yield path;
  }
}

interface InfoDependency {
  readonly code?: { readonly specifier?: string };
  readonly type?: { readonly specifier?: string };
}
interface InfoModule {
  readonly specifier?: string;
  readonly dependencies?: readonly InfoDependency[];
}

/** The graph of every local module, read with `deno info --json`. */
export async function readGraph(): Promise<GraphModule[]> {
  const files: string[] = [];
  for await (const f of tsFiles(ROOT)) files.push(f);
  const rootPath = new URL(ROOT).pathname;
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import ${JSON.stringify(`file://${rootPath}${f}`)};`).join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", `${rootPath}deno.json`, entry],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules?: InfoModule[] };
    const prefix = `file://${rootPath}`;
    const local = (s: string | undefined): string | undefined =>
      s !== undefined && s.startsWith(prefix) ? s.slice(prefix.length) : undefined;
    const graph: GraphModule[] = [];
    for (const m of info.modules ?? []) {
      const path = local(m.specifier);
      if (path === undefined) continue;
      const imports = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const to = local(s);
          if (to !== undefined && to.endsWith(".ts")) imports.add(to);
        }
      }
      graph.push({ path, imports: [...imports] });
    }
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

if (import.meta.main) {
  const graph = await readGraph();
  const text = formatReport(checkStructure(graph));
  if (text === "") {
    console.log(`structure ok: ${graph.length} modules, no folder or file cycles, no import past mod.ts`);
  } else {
    console.error(text);
    Deno.exit(1);
  }
}
