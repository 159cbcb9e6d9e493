/**
 * server.heap_growth_percent reaches V8: `llmpool serve` sets --heap-growing-percent from the
 * config at start (src/server/heap-growth.ts). A preload records every V8 flag the process sets.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { startReplica } from "./helpers/replicas.js";
import { heapGrowthProblem } from "../src/server/heap-growth.js";

const SPY =
  'data:text/javascript,import v8 from "node:v8"; const set = v8.setFlagsFromString; v8.setFlagsFromString = (f) => { process.stderr.write("V8FLAG " + f + "\\n"); set(f); };';

async function serveWith(server: Record<string, unknown>): Promise<{ flags: string[]; startup: Record<string, unknown> }> {
  const r = await startReplica({ ...base, server }, {}, ["--import", SPY]);
  try {
    const startup = await r.logLine((l) => String(l.msg).startsWith("llmpool serving"));
    const flags = r.stderr().split("\n").filter((l) => l.startsWith("V8FLAG ")).map((l) => l.slice(7));
    return { flags, startup };
  } finally {
    await r.stop();
  }
}

const base = { log: { level: "info" }, cost: { ledger: { path: ":memory:" } }, providers: [{ name: "m", type: "mock", models: ["mock"] }] };

describe("server.heap_growth_percent", () => {
  it("is set in V8 when serve starts, 20 by default, and shown in the startup line", async () => {
    const dflt = await serveWith({});
    expect(dflt.flags).toContain("--heap-growing-percent=20");
    expect(dflt.startup.heap_growth_percent).toBe(20);
    const custom = await serveWith({ heap_growth_percent: 35 });
    expect(custom.flags).toContain("--heap-growing-percent=35");
    const off = await serveWith({ heap_growth_percent: 0 });
    expect(off.flags).toContain("--heap-growing-percent=0"); // V8's own dynamic factor
  });

  it("is documented in the README's Performance section with an example that validates", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("\n## Performance\n"));
    const block = /\*\*Memory\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 5)))?.[1];
    expect(block).toBeDefined();
    const { config } = validateConfig({ ...base, ...(parseConfigText(block!, "README") as object) }, "README", {});
    expect(config.server.heap_growth_percent).toBe(20);
  });

  it("rejects a value out of range, naming the key", () => {
    expect(() => validateConfig({ server: { heap_growth_percent: 500 } }, "t", {})).toThrow(/server\.heap_growth_percent.*<= 300/);
  });

  it("ships entry points that cap the young generation at Node 20's default (Node 24 grows it 4x) and give the default growth on the command line", () => {
    expect(readFileSync("Dockerfile", "utf8")).toMatch(/^ENTRYPOINT \["node", "--max-semi-space-size=16", "--heap-growing-percent=20", "dist\/src\/cli\.js"\]$/m);
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe("node --max-semi-space-size=16 --heap-growing-percent=20 dist/src/cli.js serve");
  });

  it("says when the config asks for a growth the runtime reads only at start-up (V8 13 and later)", () => {
    expect(heapGrowthProblem(20, ["--heap-growing-percent=20"], "13.6.233.10")).toBeUndefined();
    expect(heapGrowthProblem(35, [], "11.3.244.8")).toBeUndefined(); // Node 20: set at run time
    expect(heapGrowthProblem(35, ["--max-semi-space-size=16", "--heap-growing-percent=20"], "13.6.233.10")).toMatch(
      /server\.heap_growth_percent is 35, .*reads it only at start-up: the process keeps --heap-growing-percent=20\. Start node with --heap-growing-percent=35\./,
    );
    expect(heapGrowthProblem(20, [], "13.6.233.10")).toMatch(/keeps V8's own factor .*Start node with --heap-growing-percent=20/);
  });

  it("warns at start when the process cannot take the configured growth, naming the key", async () => {
    const r = await startReplica({ ...base, server: { heap_growth_percent: 35 } }, {}, ["--heap-growing-percent=20"]);
    try {
      await r.logLine((l) => String(l.msg).startsWith("llmpool serving"));
      const warned = r.logs.some((l) => l.path === "server.heap_growth_percent");
      expect(warned).toBe(Number.parseInt(process.versions.v8, 10) >= 13);
    } finally {
      await r.stop();
    }
  });
});
