import assert from "node:assert/strict";
import { parseCli } from "./cli.ts";

Deno.test("parseCli() runs every service for up and one for its name", () => {
  const up = parseCli(["up"]);
  assert.equal(up.kind, "run");
  assert.ok(up.kind === "run" && up.services.includes("ping"));
  const one = parseCli(["--data-dir", "/tmp/x", "ping", "--log-level=debug"]);
  assert.deepEqual(one, {
    kind: "run",
    services: ["ping"],
    global: { flags: { data_dir: "/tmp/x", "log.level": "debug" } },
  });
});

Deno.test("parseCli(): `link up` runs the link service with its flags; `link status` is its tool", () => {
  assert.deepEqual(parseCli(["link", "up", "--mesh", "office", "--data-dir", "/d"]), {
    kind: "run",
    services: ["link"],
    global: { flags: { "link.mesh": "office", data_dir: "/d" } },
  });
  assert.deepEqual(parseCli(["link"]), { kind: "run", services: ["link"], global: { flags: {} } });
  const up = parseCli(["up"]);
  assert.ok(up.kind === "run" && up.up === true && up.services.includes("link"), "up lists it; inUp decides");
  assert.deepEqual(parseCli(["link", "status", "--json"]), {
    kind: "tool",
    tool: "link",
    args: ["status", "--json"],
    global: { flags: {} },
  });
  assert.deepEqual(parseCli(["link", "up", "--help"]), {
    kind: "tool",
    tool: "link",
    args: ["up", "--help"],
    global: { flags: {} },
  });
  assert.match(JSON.stringify(parseCli(["link", "up", "extra"])), /Unexpected argument extra/);
});

Deno.test("parseCli() gives help and version", () => {
  assert.equal(parseCli([]).kind, "help");
  assert.equal(parseCli(["--help"]).kind, "help");
  assert.equal(parseCli(["up", "-h"]).kind, "help");
  assert.equal(parseCli(["-V"]).kind, "version");
  const help = parseCli(["help"]);
  assert.ok(help.kind === "help" && help.text.includes("status") && help.text.includes("GHOST_LOG_LEVEL"));
});

Deno.test("parseCli() reports unknown commands, bad flags and missing values as errors", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /Unknown command frobnicate/],
    [["--frob", "up"], /Unknown option --frob/],
    [["up", "--config"], /--config needs a value/],
    [["up", "extra"], /Unexpected argument extra/],
    [["up", "--json"], /only for status/],
    [["chain", "--upstream", "http://127.0.0.1:1"], /--upstream is an option of wraith, not of chain/],
    [["wraith", "--upstream"], /--upstream needs a value/],
  ];
  for (const [args, re] of cases) {
    const c = parseCli(args);
    assert.equal(c.kind, "error", args.join(" "));
    assert.match(c.kind === "error" ? c.message : "", re);
  }
});

Deno.test("parseCli() maps a service's own options onto its section: wraith --upstream and --listen", () => {
  assert.deepEqual(parseCli(["wraith", "--upstream", "http://127.0.0.1:8080", "--listen=127.0.0.1:8443"]), {
    kind: "run",
    services: ["wraith"],
    global: { flags: { "wraith.upstream": "http://127.0.0.1:8080", "wraith.listen": "127.0.0.1:8443" } },
  });
  const help = parseCli(["wraith", "--help"]);
  assert.ok(
    help.kind === "help" && help.text.includes("--upstream VALUE") &&
      help.text.includes("GHOST_WRAITH_ROUTES"),
  );
});

Deno.test("parseCli() reads -c/--config and status --json", () => {
  assert.deepEqual(parseCli(["-c", "g.toml", "status", "--json"]), {
    kind: "status",
    json: true,
    global: { configPath: "g.toml", flags: {} },
  });
  assert.deepEqual(parseCli(["--config=g.toml", "config"]), {
    kind: "config",
    global: { configPath: "g.toml", flags: {} },
  });
});

Deno.test("parseCli() hands `chain <sub> ...` to the chain's own CLI, flags included", () => {
  assert.deepEqual(parseCli(["--data-dir", "d", "chain", "block", "3", "--peer", "127.0.0.1:4460"]), {
    kind: "tool",
    tool: "chain",
    args: ["block", "3", "--peer", "127.0.0.1:4460"],
    global: { flags: { data_dir: "d" } },
  });
  assert.deepEqual(parseCli(["chain"]).kind, "run");
});

Deno.test("parseCli() runs the chain service when only options follow its name", () => {
  assert.deepEqual(parseCli(["chain", "--data-dir", "d"]), {
    kind: "run",
    services: ["chain"],
    global: { flags: { data_dir: "d" } },
  });
});

Deno.test("parseCli() routes help to the command asked about", () => {
  assert.deepEqual(parseCli(["chain", "--help"]), {
    kind: "tool",
    tool: "chain",
    args: ["--help"],
    global: { flags: {} },
  });
  assert.deepEqual(parseCli(["help", "chain", "run"]), {
    kind: "tool",
    tool: "chain",
    args: ["run", "--help"],
    global: { flags: {} },
  });
  assert.deepEqual(parseCli(["chain", "help", "send"]), {
    kind: "tool",
    tool: "chain",
    args: ["send", "--help"],
    global: { flags: {} },
  });
  const cns = parseCli(["cns", "--help"]);
  assert.ok(cns.kind === "help" && cns.text.startsWith("Usage: deno run -A --unstable-net mod.ts cns"));
  assert.ok(cns.kind === "help" && cns.text.includes("GHOST_CNS_UPSTREAMS"));
  for (const c of ["up", "status", "config"]) {
    const h = parseCli(["help", c]);
    assert.ok(h.kind === "help" && h.text.startsWith(`Usage: deno run -A mod.ts ${c}`), c);
  }
  assert.equal(parseCli(["help", "nope"]).kind, "error");
});
