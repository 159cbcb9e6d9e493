/**
 * The command line explains itself: `help`, unknown flags, `check-config` warnings and
 * `--probe` against fake upstreams, and where the config comes from (flag > LLMPOOL_CONFIG >
 * ./llmpool.yaml > embedded default). main() runs in-process with its output captured.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli.js";
import { EMBEDDED, findConfigFile, loadEffectiveConfig } from "../src/config/source.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";

const dir = mkdtempSync(join(tmpdir(), "llmpool-check-"));

async function run(args: string[]) {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((stderr += String(s)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe("llmpool help and flags", () => {
  it("`llmpool help` prints the usage", async () => {
    const r = await run(["help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage:");
    expect(r.stdout).toContain("check-config FILE");
  });

  it("an unknown flag is named, with a suggestion and the usage, not parseArgs' text", async () => {
    const r = await run(["serve", "--prot", "6000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^llmpool: unknown option --prot \(did you mean --port\?\)\n\nllmpool /);
    expect(r.stderr).not.toContain("To specify a positional argument");
    const missing = await run(["serve", "--port"]);
    expect(missing.stderr).toMatch(/^llmpool: option --port needs a value/);
  });
});

describe("check-config", () => {
  let up: FakeUpstream;
  let down: FakeUpstream;
  beforeAll(async () => {
    up = await startFakeOpenAI("up", ["gpt-4o-mini", "gpt-4o"]);
    down = await startFakeOpenAI("down");
    await down.kill(); // connection refused from now on
  });
  afterAll(async () => {
    await up.close();
    await down.close();
  });

  it("warns when an OpenAI-type base_url lacks /v1", async () => {
    const f = file("nov1.yaml", "providers:\n  - name: a\n    type: openai\n    base_url: http://127.0.0.1:8000\n    api_key: k\n    models: [m]\n");
    const r = await run(["check-config", f]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: providers[0].base_url: http://127.0.0.1:8000 does not end in /v1");
    expect(r.stderr).toContain("likely http://127.0.0.1:8000/v1");
    const ok = await run(["check-config", file("v1.yaml", "providers:\n  - name: a\n    type: openai\n    base_url: http://127.0.0.1:8000/v1\n    api_key: k\n    models: [m]\n")]);
    expect(ok.stderr).toBe("");
  });

  it("--probe asks each provider's models endpoint and reports what it found", async () => {
    const f = file(
      "probe.yaml",
      [
        "providers:",
        "  - name: good",
        "    type: openai",
        `    base_url: ${up.url}`,
        "    api_key: sk-test-secret-value",
        "    models: [gpt-4o-mini, gpt-5-typo]",
        "  - name: denied",
        "    type: openai",
        `    base_url: ${down.url}`,
        "    api_key: sk-test-secret-value",
        "    models: [gpt-4o-mini]",
        "  - name: m",
        "    type: mock",
        "    models: [mock]",
      ].join("\n"),
    );
    const r = await run(["check-config", f, "--probe"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAIL good (openai): reachable at ${up.url}: 2 model(s): gpt-4o-mini, gpt-4o; configured but not listed: gpt-5-typo`);
    expect(r.stdout).toMatch(/FAIL denied \(openai\): failed at .*(ECONNREFUSED|connect|refused)/i);
    expect(r.stdout).not.toContain("sk-test-secret-value");
    expect(r.stdout).not.toContain(" m (mock)");
    expect(up.requests.some((q) => q.method === "GET" && q.path.endsWith("/v1/models"))).toBe(true);

    const fine = file("probe-ok.yaml", `providers:\n  - name: good\n    type: openai\n    base_url: ${up.url}\n    api_key: k\n    models: [gpt-4o]\n`);
    const ok = await run(["check-config", fine, "--probe"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ok   good (openai): reachable");
  });
});

describe("where the config comes from", () => {
  it("flag > LLMPOOL_CONFIG > ./llmpool.yaml > embedded default", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "llmpool-cwd-"));
    const local = join(cwd, "llmpool.yaml");
    const fromEnv = file("env.yaml", "providers:\n  - name: from-env\n    type: mock\n    models: [mock]\n");
    const fromFlag = file("flag.yaml", "providers:\n  - name: from-flag\n    type: mock\n    models: [mock]\n");
    expect(findConfigFile(undefined, {}, cwd)).toBeUndefined();
    writeFileSync(local, "providers:\n  - name: from-cwd\n    type: mock\n    models: [mock]\n");
    expect(findConfigFile(undefined, {}, cwd)).toBe(local);
    expect(findConfigFile(undefined, { LLMPOOL_CONFIG: fromEnv }, cwd)).toBe(fromEnv);
    expect(findConfigFile(fromFlag, { LLMPOOL_CONFIG: fromEnv }, cwd)).toBe(fromFlag);
    const loaded = await loadEffectiveConfig({ env: { LLMPOOL_CONFIG: fromEnv }, cwd });
    expect(loaded.config.providers.map((p) => p.name)).toEqual(["from-env"]);
    const none = await loadEffectiveConfig({ env: {}, cwd: dir });
    expect(none.source).toBe(EMBEDDED);
  });
});
