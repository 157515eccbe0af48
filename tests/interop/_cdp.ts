// Headless Chromium driven over the DevTools protocol (a WebSocket): open a page, let it run in real time (a page
// fed by Server-Sent Events never finishes loading, so --dump-dom and virtual time do not fit), read values from
// it, collect console errors and exceptions, take screenshots. Only what the status page test needs.

/** A page in a headless Chromium. */
export interface CdpPage {
  /** Evaluates an expression in the page; returns its JSON value. */
  eval<T>(expression: string): Promise<T>;
  /** PNG screenshot of the viewport. */
  screenshot(): Promise<Uint8Array>;
  /** Sets the viewport (a phone: 390 x 844). */
  viewport(width: number, height: number): Promise<void>;
  /** Console errors, failed loads and uncaught exceptions seen so far. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Starts Chromium and opens `url`. */
export async function openPage(
  url: string,
  opts: { width?: number; height?: number } = {},
): Promise<CdpPage> {
  const profile = await Deno.makeTempDir({ prefix: "cdp-" });
  const child = new Deno.Command("chromium", {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      `--window-size=${opts.width ?? 1280},${opts.height ?? 1600}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Chromium prints "DevTools listening on ws://..." once the port is open.
  let wsUrl = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + 30_000;
  while (wsUrl === "" && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
    if (m?.[1]) wsUrl = m[1];
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  if (wsUrl === "") throw new Error(`Chromium did not start: ${buf.slice(-500)}`);
  const port = new URL(wsUrl).port;
  const target = await (await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: "PUT" }))
    .json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 1;
  const waiting = new Map<number, (msg: Record<string, unknown>) => void>();
  const errors: string[] = [];
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (typeof msg.id === "number") {
      waiting.get(msg.id)?.(msg);
      waiting.delete(msg.id);
    } else if (msg.method === "Runtime.exceptionThrown") {
      errors.push(
        `exception: ${
          msg.params.exceptionDetails?.exception?.description ?? msg.params.exceptionDetails?.text
        }`,
      );
    } else if (msg.method === "Runtime.consoleAPICalled" && msg.params.type === "error") {
      errors.push(
        `console.error: ${JSON.stringify(msg.params.args?.map((a: { value?: unknown }) => a.value))}`,
      );
    } else if (msg.method === "Log.entryAdded" && msg.params.entry.level === "error") {
      errors.push(`log: ${msg.params.entry.text} ${msg.params.entry.url ?? ""}`);
    }
  };
  const send = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, (msg) => (msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Runtime.enable");
  await send("Log.enable");
  await send("Page.enable");
  await send("Page.navigate", { url });
  return {
    errors,
    async eval<T>(expression: string): Promise<T> {
      const r = await send("Runtime.evaluate", { expression, returnByValue: true });
      return ((r.result as { result?: { value?: T } })?.result?.value) as T;
    },
    async screenshot(): Promise<Uint8Array> {
      const r = await send("Page.captureScreenshot", { format: "png" });
      const data = (r.result as { data: string }).data;
      return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    },
    async viewport(width: number, height: number): Promise<void> {
      await send("Emulation.setDeviceMetricsOverride", {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: width < 600,
      });
    },
    async close(): Promise<void> {
      try {
        ws.close();
      } catch {
        // closed
      }
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
