// Private: the benchmark table type and its markdown rendering (no imports, so every bench can use it
// without importing the runner, whose top-level await would make an import cycle deadlock).

/** One row of a benchmark table: column name to cell. */
export type BenchRow = Readonly<Record<string, string | number>>;

/** Renders rows as a markdown table; columns come from the first row's keys, in order. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const first = rows[0];
  if (first === undefined) return "(no rows)";
  const cols = Object.keys(first);
  const cell = (v: string | number | undefined): string =>
    v === undefined ? "" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v;
  return [
    `| ${cols.join(" | ")} |`,
    `|${cols.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(" | ")} |`),
  ].join("\n");
}
