// The admin endpoint's status page in headless Chromium on a running devnet under a little DNS load: it loads
// with no console errors or failed loads (every asset is local), its charts get data points from the live
// stream, the services table lists the services, and the layout holds at a phone's width. Screenshots are kept
// as test artifacts (in $TEST_ARTIFACTS, default a temp dir; the path is printed).
import assert from "node:assert/strict";
import { startDevnet } from "./_devnet.ts";
import { openPage } from "./_cdp.ts";

async function dnsLoad(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Deno.Command("dig", {
      args: ["@127.0.0.1", "-p", String(port), "dev.ghost", "AAAA", "+short", "+tries=1", "+time=1"],
      stdout: "null",
    }).output();
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "status page: loads clean in Chromium, charts fill from the live stream, holds at phone width",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const devnet = await startDevnet("ghost-page-");
    const artifacts = Deno.env.get("TEST_ARTIFACTS") ?? await Deno.makeTempDir({ prefix: "status-page-" });
    await Deno.mkdir(artifacts, { recursive: true });
    try {
      // Wait for the admin endpoint and the services.
      for (let i = 0; i < 150; i++) {
        const ok = await fetch(`${devnet.admin}/healthz`).then((r) => r.ok, () => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const page = await openPage(`${devnet.admin}/`);
      try {
        await dnsLoad(devnet.dnsPort, 6000);
        const state = await page.eval<
          { events: number; dns: number; dnsTime: number; height: number; rows: number; overflow: boolean }
        >(`({
          events: Number(document.body.dataset.events),
          dns: Number(document.getElementById("chart-dns_qps")?.dataset.points ?? 0),
          dnsTime: Number(document.getElementById("chart-dns_latency")?.dataset.points ?? 0),
          height: Number(document.getElementById("chart-chain_height")?.dataset.points ?? 0),
          rows: document.querySelectorAll("#services tr").length,
          overflow: document.documentElement.scrollWidth > innerWidth + 1,
        })`);
        assert.ok(state.events >= 4, `few live events: ${JSON.stringify(state)}`);
        assert.ok(state.dns >= 3, `the DNS chart has no points: ${JSON.stringify(state)}`);
        assert.ok(state.dnsTime >= 3, `the DNS latency chart has no points: ${JSON.stringify(state)}`);
        assert.ok(state.height >= 3, `the chain chart has no points: ${JSON.stringify(state)}`);
        assert.ok(state.rows >= 5, `services table: ${JSON.stringify(state)}`);
        assert.equal(state.overflow, false);
        await Deno.writeFile(`${artifacts}/status_page.png`, await page.screenshot());
        await page.viewport(390, 844);
        await new Promise((r) => setTimeout(r, 1500));
        const phone = await page.eval<{ overflow: boolean; width: number }>(
          `({ overflow: document.documentElement.scrollWidth > innerWidth + 1, width: innerWidth })`,
        );
        assert.equal(phone.width, 390);
        assert.equal(phone.overflow, false, "the page scrolls sideways at phone width");
        await Deno.writeFile(`${artifacts}/status_page_phone.png`, await page.screenshot());
        assert.deepEqual(page.errors, []);
        console.log(`screenshots: ${artifacts}/status_page.png, ${artifacts}/status_page_phone.png`);
      } finally {
        await page.close();
      }
    } finally {
      await devnet.stop();
    }
  },
});

/** The Prometheus naming rules this project keeps (https://prometheus.io/docs/practices/naming/). */
function metricNameProblems(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t?.[1] && t[2]) types.set(t[1], t[2]);
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? \S+$/.exec(line);
    if (m === null) {
      problems.push(`unparsable line: ${line.slice(0, 100)}`);
      continue;
    }
    const name = m[1] ?? "";
    const base = name.replace(/_(bucket|sum|count)$/, "");
    series.set(base, (series.get(base) ?? 0) + 1);
    for (const label of (m[3] ?? "").matchAll(/([^=,]+)="/g)) {
      if (!/^[a-z][a-z0-9_]*$/.test(label[1] ?? "")) problems.push(`${name}: label ${label[1]}`);
    }
  }
  for (const [name, type] of types) {
    if (!/^ghost_[a-z0-9]+(_[a-z0-9]+)+$/.test(name)) {
      problems.push(`${name}: not ghost_<service>_<what>_<unit>`);
    }
    if (type === "counter" && !name.endsWith("_total")) {
      problems.push(`${name}: a counter not ending in _total`);
    }
    if (type !== "counter" && name.endsWith("_total")) problems.push(`${name}: a ${type} ending in _total`);
    if (type === "histogram" && !/_(seconds|bytes)$/.test(name)) {
      problems.push(`${name}: a histogram without a unit`);
    }
    if ((series.get(name) ?? 0) > 500) {
      problems.push(`${name}: ${series.get(name)} series (unbounded labels?)`);
    }
  }
  return problems;
}

Deno.test({
  name:
    "metrics: every service's names follow ghost_<service>_<what>_<unit> and pass promtool when installed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const devnet = await startDevnet("ghost-metrics-");
    try {
      for (let i = 0; i < 150; i++) {
        if (await fetch(`${devnet.admin}/healthz`).then((r) => r.ok, () => false)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await dnsLoad(devnet.dnsPort, 500);
      const text = await (await fetch(`${devnet.admin}/metrics`)).text();
      for (const svc of ["cns", "chain", "bridge", "wallet", "wraith"]) {
        assert.match(text, new RegExp(`service="${svc}"`), `no metrics from ${svc}`);
      }
      assert.deepEqual(metricNameProblems(text), []);
      // docs/METRICS.md lists every family.
      const doc = await Deno.readTextFile(new URL("../../docs/METRICS.md", import.meta.url));
      const missing = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]).filter((n) =>
        !doc.includes(`\`${n}\``)
      );
      assert.deepEqual(missing, [], "metrics missing from docs/METRICS.md");
      const promtool = await new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      })
        .spawn();
      const w = promtool.stdin.getWriter();
      await w.write(new TextEncoder().encode(text));
      await w.close();
      const out = await promtool.output();
      const report = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, report);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      console.log("promtool not installed: checked with the naming rules only");
    } finally {
      await devnet.stop();
    }
  },
});
