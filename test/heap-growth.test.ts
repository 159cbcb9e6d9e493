/**
 * server.heap_growth_percent reaches V8: `llmpool serve` sets --heap-growing-percent from the
 * config at start (src/server/heap-growth.ts). A preload records every V8 flag the process sets.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";

const dir = mkdtempSync(join(tmpdir(), "llmpool-heap-"));
const SPY =
  'data:text/javascript,import v8 from "node:v8"; const set = v8.setFlagsFromString; v8.setFlagsFromString = (f) => { process.stderr.write("V8FLAG " + f + "\\n"); set(f); };';

async function serveWith(yaml: string): Promise<{ flags: string[]; startup: Record<string, unknown> }> {
  const config = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(config, yaml);
  const child = spawn(process.execPath, ["--import", SPY, "--import", "tsx", "src/cli.ts", "serve", "--config", config, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const flags: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (l.startsWith("V8FLAG ")) flags.push(l.slice(7));
  });
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (String(j.msg).startsWith("llmpool serving")) return { flags, startup: j };
    }
    throw new Error("llmpool did not start");
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

const base = "log: { level: info }\ncost: { ledger: { path: ':memory:' } }\nproviders: [{ name: m, type: mock, models: [mock] }]\n";

describe("server.heap_growth_percent", () => {
  it("is set in V8 when serve starts, 20 by default, and shown in the startup line", async () => {
    const dflt = await serveWith(base);
    expect(dflt.flags).toContain("--heap-growing-percent=20");
    expect(dflt.startup.heap_growth_percent).toBe(20);
    const custom = await serveWith(`server: { heap_growth_percent: 35 }\n${base}`);
    expect(custom.flags).toContain("--heap-growing-percent=35");
    const off = await serveWith(`server: { heap_growth_percent: 0 }\n${base}`);
    expect(off.flags).toContain("--heap-growing-percent=0"); // V8's own dynamic factor
  });

  it("is documented in the README's Performance section with an example that validates", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("\n## Performance\n"));
    const block = /\*\*Memory\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 5)))?.[1];
    expect(block).toBeDefined();
    const { config } = validateConfig(parseConfigText(block! + base, "README"), "README", {});
    expect(config.server.heap_growth_percent).toBe(20);
  });

  it("rejects a value out of range, naming the key", () => {
    expect(() => validateConfig({ server: { heap_growth_percent: 500 } }, "t", {})).toThrow(/server\.heap_growth_percent.*<= 300/);
  });

  it("ships entry points that cap the young generation at Node 20's default (Node 24 grows it 4x)", () => {
    expect(readFileSync("Dockerfile", "utf8")).toMatch(/^ENTRYPOINT \["node", "--max-semi-space-size=16", "dist\/src\/cli\.js"\]$/m);
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe("node --max-semi-space-size=16 dist/src/cli.js serve");
  });
});
