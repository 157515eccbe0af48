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
          { events: number; dns: number; height: number; rows: number; overflow: boolean }
        >(`({
          events: Number(document.body.dataset.events),
          dns: Number(document.getElementById("chart-dns_qps")?.dataset.points ?? 0),
          height: Number(document.getElementById("chart-chain_height")?.dataset.points ?? 0),
          rows: document.querySelectorAll("#services tr").length,
          overflow: document.documentElement.scrollWidth > innerWidth + 1,
        })`);
        assert.ok(state.events >= 4, `few live events: ${JSON.stringify(state)}`);
        assert.ok(state.dns >= 3, `the DNS chart has no points: ${JSON.stringify(state)}`);
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
